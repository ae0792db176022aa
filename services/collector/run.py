"""One ingest run of one source: lock → fetch → same-content skip → parse → validate & write → record the run.

Data and the run record are written in one transaction; a run that fails writes no figures and records why.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.collector import faults, runtime
from services.collector import fetch as fetching
from services.collector.mapping import ParsedExport, iter_export
from services.collector.sources import SourceConfig
from shared.core import clock
from shared.core.errors import Problem, ScorecardError
from shared.core.settings import Settings
from shared.ingest import locks
from shared.ingest import store as ingest_store
from shared.ingest.models import IngestRun
from shared.observations.store import FigureWriter
from shared.org_units import store as org_store
from shared.ratings import store as rating_store

log = logging.getLogger("scorecard.collector")
ACTOR = "collector"
T = TypeVar("T")
PROBLEMS_KEPT = 1_000  # errors (and warnings) listed in a run record; all are counted


@dataclass(frozen=True)
class LocalFile:
    """An export read from disk instead of the source URL (`run SOURCE --file PATH`), or given as bytes."""

    content: bytes | Path
    name: str


async def ingest_once(
    sessions: async_sessionmaker[AsyncSession],
    source: SourceConfig,
    *,
    day: date,
    settings: Settings,
    client: httpx.AsyncClient,
    local: LocalFile | None = None,
    backoff_seconds: float = 1.0,
) -> IngestRun:
    """Ingest the source's export for `day`; returns the recorded run (status succeeded, skipped,
    not_modified, busy or failed)."""
    url = f"file:{local.name}" if local else source.url_for(day)
    run = IngestRun(
        source_id=source.id,
        url=url,
        for_date=day,
        started_at=clock.now(),
        status="running",
        errors=[],
        warnings=[],
        inserted=0,
        updated=0,
        unchanged=0,
    )
    try:
        async with sessions() as session, session.begin():
            if not await locks.try_source_lock(session, source.id):
                return await _record(session, run, "busy", "another collector is ingesting this source now")
            await _ingest(
                session,
                run,
                source,
                day=day,
                settings=settings,
                client=client,
                local=local,
                backoff_seconds=backoff_seconds,
            )
            return await _record(session, run, run.status, run.message)
    except (fetching.FetchError, ScorecardError) as exc:
        message = exc.message if isinstance(exc, ScorecardError) else str(exc)
        details = exc.details_json() if isinstance(exc, ScorecardError) else []
        return await _record_failure(sessions, run, message, details)
    except OSError as exc:  # the temporary file: disk full, permissions
        faults.log_fault(log, source.id, day, exc)
        return await _record_failure(sessions, run, f"cannot write the export to a temporary file: "
                                     f"{exc.strerror or 'input/output error'}; nothing was written", [])
    except Exception as exc:  # noqa: BLE001 — any fault: nothing was written, record it and go on
        faults.log_fault(log, source.id, day, exc)
        return await _record_failure(sessions, run, faults.describe(exc), [])


async def _ingest(
    session: AsyncSession,
    run: IngestRun,
    source: SourceConfig,
    *,
    day: date,
    settings: Settings,
    client: httpx.AsyncClient,
    local: LocalFile | None,
    backoff_seconds: float,
) -> None:
    previous = await ingest_store.last_succeeded(session, source.id, for_date=day)
    # The export goes to a temporary file and is parsed from there in chunks: never whole in memory.
    with tempfile.TemporaryFile(prefix="scorecard-export-") as spool:
        if local is not None:
            fetched = fetching.save_local(local.content, spool, local.name)
        else:
            fetched = await fetching.fetch(
                client,
                source,
                run.url or "",
                spool,
                backoff_seconds=backoff_seconds,
                etag=previous.etag if previous else None,
                last_modified=previous.last_modified if previous else None,
            )
        run.etag, run.last_modified = fetched.etag, fetched.last_modified
        if fetched.content_hash is None:
            run.status, run.message = "not_modified", "the platform says the export has not changed (HTTP 304)"
            run.content_hash = previous.content_hash if previous else None
            return
        run.content_hash = fetched.content_hash
        if previous is not None and previous.content_hash == run.content_hash:
            run.status, run.message = "skipped", f"identical to the export ingested by run {previous.id}"
            return
        # Named rows map through the units' official names and aliases (稀土高新区, 达茂旗) as well.
        known = await org_store.names_to_codes(session) if source.unit.name_column else None
        chunks = iter_export(source, spool, filename=fetched.filename, today=clock.today(), known_names=known)
        with runtime.gc_paused(), runtime.quick_gil_handover():
            await _write(session, run, source, chunks, settings)


async def _write(
    session: AsyncSession, run: IngestRun, source: SourceConfig, chunks: Iterator[ParsedExport], settings: Settings
) -> None:
    actor = f"{ACTOR}:{source.id}"
    tally = _Tally()
    rows_read = rows_skipped = duplicates = 0
    if source.kind == "ratings":
        # A day's rating detail is small, and its daily figures are counted once from all of it.
        whole = ParsedExport()
        async with aclosing(_ahead(chunks, _same)) as parsed:
            async for chunk in parsed:
                whole.absorb(chunk)
        result = await rating_store.write_ratings(
            session, whole.ratings, source=source.id, actor=actor, settings=settings.ratings
        )
        tally.reject(whole.errors)
        tally.reject([Problem(p.message, whole.rating_rows[p.row] if p.row is not None else None, p.field)
                      for p in result.rejected])
        tally.remark(whole.warnings)
        written = result.figures
        rows_read, rows_skipped, duplicates = whole.rows_read, whole.rows_skipped, whole.duplicates
    else:
        writer = await FigureWriter.open(session, source=source.id, actor=actor, partial=True, chunked=True,
                                         indicators=[f.indicator for f in source.figures])
        # The next chunk is parsed and validated in a worker thread while PostgreSQL merges this one.
        async with aclosing(_ahead(chunks, lambda c: (writer.prepare(c.figures, c.figure_rows), c))) as prepared:
            async for ready, chunk in prepared:
                tally.reject(chunk.errors)
                tally.remark(chunk.warnings)
                tally.reject(await writer.write(ready))
                rows_read += chunk.rows_read
                rows_skipped += chunk.rows_skipped
                duplicates += chunk.duplicates
                log.info("source %s: %d rows read, %d figures written so far", source.id, rows_read,
                         writer.result.inserted + writer.result.updated)
        written = await writer.finish()
        rows_skipped += len(written.duplicate_rows)
        duplicates += len(written.duplicate_rows)
    run.inserted, run.updated, run.unchanged = written.inserted, written.updated, written.unchanged
    run.rows_read, run.rows_skipped = rows_read, rows_skipped
    run.rows_rejected = tally.rows_rejected
    run.rows_accepted = rows_read - duplicates - run.rows_rejected
    run.errors, run.warnings = tally.listed()
    run.status = "succeeded"
    run.message = (
        f"{run.rows_accepted} rows accepted, {run.rows_rejected} rejected; figures: {run.inserted} new, "
        f"{run.updated} corrected, {run.unchanged} unchanged"
    )


class _Tally:
    """A run's rejected rows and remarks: all counted, the first PROBLEMS_KEPT of each kept for the run record
    (an export of a million bad rows must not become a million-entry record, nor fill the memory)."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.errors_seen = self.warnings_seen = 0
        self._rejected = bytearray()  # one byte per file row: 1 = rejected

    def reject(self, problems: list[Problem]) -> None:
        for p in problems:
            if p.row is not None:
                if p.row >= len(self._rejected):
                    self._rejected.extend(bytes(max(p.row + 1 - len(self._rejected), len(self._rejected))))
                self._rejected[p.row] = 1
        self.errors_seen += len(problems)
        self.errors += problems[: max(0, PROBLEMS_KEPT - len(self.errors))]

    def remark(self, problems: list[Problem]) -> None:
        self.warnings_seen += len(problems)
        self.warnings += problems[: max(0, PROBLEMS_KEPT - len(self.warnings))]

    @property
    def rows_rejected(self) -> int:
        return self._rejected.count(1)

    def listed(self) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        out = []
        for kept, seen in ((self.errors, self.errors_seen), (self.warnings, self.warnings_seen)):
            items = [p.as_dict() for p in sorted(kept, key=lambda p: p.row or 0)]
            if seen > len(kept):
                items.append(Problem(f"… and {seen - len(kept)} more not listed (the first {len(kept)} are)").as_dict())
            out.append(items)
        return out[0], out[1]


def _same(chunk: ParsedExport) -> ParsedExport:
    return chunk


async def _ahead(chunks: Iterator[ParsedExport], then: Callable[[ParsedExport], T]) -> AsyncGenerator[T]:
    """`then(chunk)` for each chunk, the next one already being made in a worker thread meanwhile."""

    def step() -> tuple[T] | None:
        chunk = next(chunks, None)
        return None if chunk is None else (then(chunk),)

    pending = asyncio.ensure_future(asyncio.to_thread(step))
    try:
        while (item := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(step))
            yield item[0]
    finally:
        # A failed write stops here: let the thread finish its chunk (a thread cannot be cancelled) before the
        # file it reads is closed; what it made is dropped.
        await asyncio.gather(pending, return_exceptions=True)


async def _record(session: AsyncSession, run: IngestRun, status: str, message: str | None) -> IngestRun:
    run.status, run.message, run.finished_at = status, message, clock.now()
    return await ingest_store.add_run(session, run)


async def _record_failure(
    sessions: async_sessionmaker[AsyncSession], run: IngestRun, message: str, details: list[object]
) -> IngestRun:
    failed = IngestRun(
        source_id=run.source_id,
        url=run.url,
        for_date=run.for_date,
        started_at=run.started_at,
        status="failed",
        errors=details,
        warnings=[],
        content_hash=run.content_hash,
    )
    log.warning("source %s %s failed: %s", run.source_id, run.for_date, message)
    try:
        async with sessions() as session, session.begin():
            return await _record(session, failed, "failed", message)
    except Exception as exc:  # noqa: BLE001 — the database itself is down: log it; the next run or catch-up retries
        log.error("source %s: could not record the failed run: %s", run.source_id, faults.describe(exc))
        failed.message, failed.finished_at = message, clock.now()
        return failed
