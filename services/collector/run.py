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
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.collector import faults, record, runtime, subtotals
from services.collector import fetch as fetching
from services.collector import scope as scoping
from services.collector.mapping import ParsedExport, iter_export
from services.collector.readers import ExportLimits
from services.collector.sources import SourceConfig, SourceMisconfigured
from shared.core import clock
from shared.core.errors import InvalidInput, Problem, ScorecardError
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
    """Ingest the source's export for `day`; returns the recorded run (status succeeded, empty, skipped,
    not_modified, busy or failed). A `running` record is committed first and overwritten at the end."""
    url = f"file:{local.name}" if local else source.url_for(day)
    run = record.new_run(source.id, url, day)
    try:
        await record.start(sessions, run)
        async with sessions() as session, session.begin():
            if not await locks.try_source_lock(session, source.id):
                return await record.finish(session, run, "busy", "another collector is ingesting this source now")
            # We hold the source's lock, so a `running` run of this source found now was killed mid-run.
            if await ingest_store.abandon_stale(session, source.id, keep=run.id):
                log.warning("source %s: an earlier run was found unfinished and marked abandoned", source.id)
            await _ingest(session, run, source, day=day, settings=settings, client=client, local=local,
                          backoff_seconds=backoff_seconds)
            return await record.finish(session, run, run.status, run.message)
    except fetching.FetchError as exc:
        return await record.fail(sessions, run, "fetch", str(exc), [])
    except SourceMisconfigured as exc:
        return await record.fail(sessions, run, "config", exc.message, exc.details_json())
    except ScorecardError as exc:  # the export: its columns, encoding, size
        return await record.fail(sessions, run, "export", exc.message, exc.details_json())
    except OSError as exc:  # the temporary file: disk full, permissions
        faults.log_fault(log, source.id, day, exc)
        return await record.fail(sessions, run, "disk", f"cannot write the export to a temporary file: "
                                 f"{exc.strerror or 'input/output error'}; nothing was written", [])
    except Exception as exc:  # noqa: BLE001 — any fault: nothing was written, record it and go on
        faults.log_fault(log, source.id, day, exc)
        return await record.fail(sessions, run, faults.kind(exc), faults.describe(exc), [])


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
        scope = await scoping.load(session, source)
        c = settings.collector
        limits = ExportLimits(max_unpacked_mb=c.xlsx_max_unpacked_mb, max_ratio=c.xlsx_max_ratio,
                              max_rows=c.xlsx_max_rows, json_max_mb=c.json_max_mb)
        chunks = iter_export(source, spool, filename=fetched.filename, today=clock.today(), known_names=known,
                             limits=limits)
        with runtime.gc_paused(), runtime.quick_gil_handover():
            await _write(session, run, source, chunks, settings, scope)


async def _write(session: AsyncSession, run: IngestRun, source: SourceConfig, chunks: Iterator[ParsedExport],
                 settings: Settings, scope: scoping.Scope) -> None:
    actor = f"{ACTOR}:{source.id}"
    unit_column = source.unit.code_column or source.unit.name_column or ""
    tally = record.Tally()
    rows_read = rows_skipped = duplicates = 0
    if source.kind == "ratings":
        # A day's rating detail is small, and its daily figures are counted once from all of it: held whole, so
        # only up to a bound (~0.8 KB a rating).
        whole = ParsedExport()
        limit = settings.collector.ratings_max_rows
        async with aclosing(_ahead(chunks, _same)) as parsed:
            async for chunk in parsed:
                whole.absorb(chunk)
                if whole.rows_read > limit:
                    message = (f"the ratings export has more than {limit:,} rows, the most read at once "
                               "(SCORECARD_COLLECTOR__RATINGS_MAX_ROWS); nothing was written — ask the platform for "
                               "one day per export, or raise the limit if the machine has the memory")
                    raise InvalidInput(message, [Problem(message, field="format")])
        scoping.keep_ratings(scope, whole, unit_column)
        result = await rating_store.write_ratings(
            session, whole.ratings, source=source.id, actor=actor, settings=settings.ratings
        )
        tally.reject(whole.errors)
        tally.reject([Problem(p.message, whole.rating_rows[p.row] if p.row is not None else None, p.field)
                      for p in result.rejected])
        tally.remark(whole.warnings)
        tally.remark([Problem(_CORRECTED_RATING, whole.rating_rows[i], None) for i in result.corrected])
        written = result.figures
        rows_read, rows_skipped, duplicates = whole.rows_read, whole.rows_skipped, whole.duplicates
    else:
        writer = await FigureWriter.open(session, source=source.id, actor=actor, partial=True, chunked=True,
                                         indicators=[f.indicator for f in source.figures],
                                         max_figure=settings.observations.max_figure)
        # The next chunk is parsed and validated in a worker thread while PostgreSQL merges this one.
        def prepare(c: ParsedExport) -> tuple[Any, ParsedExport]:
            c = subtotals.drop(scoping.keep_figures(scope, c, unit_column), scope.parent_of, unit_column)
            return writer.prepare(c.figures, c.figure_rows), c

        async with aclosing(_ahead(chunks, prepare)) as prepared:
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
    if rows_read == 0:
        # A header and nothing under it is what a broken report job sends too: never a silent success.
        run.status = "empty"
        run.message = (f"the export has a header but no data rows ({rows_skipped} blank, note or total rows "
                       "skipped); nothing was written — if the platform had figures for this day, ask it to resend")
        return
    run.status = "succeeded"
    run.message = (
        f"{run.rows_accepted} rows accepted, {run.rows_rejected} rejected; figures: {run.inserted} new, "
        f"{run.updated} corrected, {run.unchanged} unchanged"
    )


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


_CORRECTED_RATING = ("replaces the rating stored under this 评价编号 (another level, unit, time or item): a corrected "
                     "export; the days it left and joined were recounted, the old values are in the audit log")
