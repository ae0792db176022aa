"""One ingest run of one source: lock → fetch → same-content skip → parse → validate & write → record the run.

Data and the run record are written in one transaction; a run that fails writes no figures and records why.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.collector import fetch as fetching
from services.collector.mapping import ParsedExport, parse_export
from services.collector.sources import SourceConfig
from shared.core import clock
from shared.core.errors import Problem, ScorecardError
from shared.core.settings import Settings
from shared.ingest import locks
from shared.ingest import store as ingest_store
from shared.ingest.models import IngestRun
from shared.observations import store as observation_store
from shared.ratings import store as rating_store

log = logging.getLogger("scorecard.collector")
ACTOR = "collector"
# Figures per write_observations call. Each call joins its rows with the current figures once, so small chunks
# multiply that join (100k-figure chunks halved the 1 M-row throughput); this bounds only huge exports.
WRITE_CHUNK = 2_000_000


@dataclass(frozen=True)
class LocalFile:
    """An export read from disk instead of the source URL (`run SOURCE --file PATH`)."""

    content: bytes
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
    except (fetching.FetchError, ScorecardError, OSError) as exc:
        message = exc.message if isinstance(exc, ScorecardError) else str(exc)
        details = exc.details_json() if isinstance(exc, ScorecardError) else []
        return await _record_failure(sessions, run, message, details)
    except Exception as exc:  # noqa: BLE001 — any fault: nothing was written, record it and go on
        log.exception("source %s: run failed", source.id)
        return await _record_failure(sessions, run, f"{type(exc).__name__}: {exc}", [])


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
    if local is not None:
        fetched = fetching.Fetched(content=local.content, filename=local.name)
    else:
        fetched = await fetching.fetch(
            client,
            source,
            run.url or "",
            backoff_seconds=backoff_seconds,
            etag=previous.etag if previous else None,
            last_modified=previous.last_modified if previous else None,
        )
    run.etag, run.last_modified = fetched.etag, fetched.last_modified
    if fetched.content is None:
        run.status, run.message = "not_modified", "the platform says the export has not changed (HTTP 304)"
        run.content_hash = previous.content_hash if previous else None
        return
    run.content_hash = hashlib.sha256(fetched.content).hexdigest()
    if previous is not None and previous.content_hash == run.content_hash:
        run.status, run.message = "skipped", f"identical to the export ingested by run {previous.id}"
        return
    parsed = parse_export(source, fetched.content, filename=fetched.filename, today=clock.today())
    log.info("source %s %s: %d rows read, writing…", source.id, day, parsed.rows_read)
    await _write(session, run, source, parsed, settings)


async def _write(
    session: AsyncSession, run: IngestRun, source: SourceConfig, parsed: ParsedExport, settings: Settings
) -> None:
    actor = f"{ACTOR}:{source.id}"
    rejected: list[Problem] = list(parsed.errors)
    if source.kind == "ratings":
        result = await rating_store.write_ratings(
            session, parsed.ratings, source=source.id, actor=actor, settings=settings.ratings
        )
        rejected += _file_rows(result.rejected, parsed.rating_rows)
        run.inserted, run.updated, run.unchanged = (
            result.figures.inserted,
            result.figures.updated,
            result.figures.unchanged,
        )
    else:
        # Written in chunks (one transaction still): validation and staging then hold one chunk, not the file.
        for start in range(0, len(parsed.figures), WRITE_CHUNK):
            chunk = parsed.figures[start : start + WRITE_CHUNK]
            written = await observation_store.write_observations(
                session, chunk, source=source.id, actor=actor, partial=True
            )
            rejected += _file_rows(written.rejected, parsed.figure_rows[start : start + WRITE_CHUNK])
            run.inserted += written.inserted
            run.updated += written.updated
            run.unchanged += written.unchanged
            if len(parsed.figures) > WRITE_CHUNK:
                done = min(start + WRITE_CHUNK, len(parsed.figures))
                log.info("source %s: %d of %d figures written", source.id, done, len(parsed.figures))
    run.rows_read, run.rows_skipped = parsed.rows_read, parsed.rows_skipped
    run.rows_rejected = len({p.row for p in rejected})
    run.rows_accepted = parsed.rows_read - parsed.duplicates - run.rows_rejected
    run.errors = [p.as_dict() for p in rejected]
    run.warnings = [p.as_dict() for p in parsed.warnings]
    run.status = "succeeded"
    run.message = (
        f"{run.rows_accepted} rows accepted, {run.rows_rejected} rejected; figures: {run.inserted} new, "
        f"{run.updated} corrected, {run.unchanged} unchanged"
    )


def _file_rows(problems: list[Problem], rows: list[int]) -> list[Problem]:
    """Store problems index the record list; give them the export's own row numbers."""
    return [Problem(p.message, rows[p.row] if p.row is not None else None, p.field) for p in problems]


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
    except Exception:  # noqa: BLE001 — the database itself is down: log it; the next run or catch-up retries
        log.exception("source %s: could not record the failed run", run.source_id)
        failed.message, failed.finished_at = message, clock.now()
        return failed
