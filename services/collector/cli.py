"""The collector's operator commands as functions: serve, run one source once, backfill a range of days, list
runs, check the sources file. `python -m services.collector` (argparse, __main__.py) and `scorecard collector`
(scorecard/cli.py) both call them; each returns the exit code and prints what it did."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.collector import scheduler
from services.collector.run import LocalFile, ingest_once
from services.collector.sources import SourceConfig, load_sources
from shared.core import clock
from shared.core.db import make_engine, make_sessionmaker
from shared.core.errors import ScorecardError
from shared.core.settings import Settings
from shared.ingest import store as ingest_store
from shared.ingest.models import IngestRun

# Called after each day of a backfill: (days done, days in all, the day's run).
OnDay = Callable[[int, int, IngestRun], None]


def print_run(run: IngestRun, prefix: str = "") -> None:
    status = f"{run.status} ({run.failure})" if run.failure else run.status
    print(f"{prefix}#{run.id if run.id is not None else '?'} {run.source_id} {run.for_date} {status}: "
          f"{run.message or ''}")
    for e in (run.errors or [])[:20]:
        print(f"    row {e.get('row')} {e.get('field') or ''}: {e.get('message')}")


def _source(sources: list[SourceConfig], source_id: str) -> SourceConfig:
    for s in sources:
        if s.id == source_id:
            return s
    raise ScorecardError(f"no source '{source_id}' in the sources file; known: {', '.join(s.id for s in sources)}")


@asynccontextmanager
async def _connected(settings: Settings) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], httpx.AsyncClient]]:
    engine = make_engine(settings.db, "scorecard-collector")
    try:
        async with httpx.AsyncClient(follow_redirects=True) as client:
            yield make_sessionmaker(engine), client
    finally:
        await engine.dispose()


def check_sources(settings: Settings) -> int:
    sources = load_sources(settings.collector.sources_file)
    print(f"{settings.collector.sources_file}: {len(sources)} sources OK ({', '.join(s.id for s in sources)})")
    return 0


async def serve(settings: Settings) -> int:
    sources = load_sources(settings.collector.sources_file)
    async with _connected(settings) as (sessions, client):
        await scheduler.serve(sessions, sources, settings=settings, client=client)
    return 0


async def list_runs(settings: Settings, *, source: str | None = None, limit: int = 20) -> int:
    async with _connected(settings) as (sessions, _), sessions() as session:
        for r in await ingest_store.list_runs(session, source_id=source, limit=limit):
            print_run(r)
    return 0


async def run_once(settings: Settings, source_id: str, *, file: Path | None = None, day: date | None = None) -> int:
    source = _source(load_sources(settings.collector.sources_file), source_id)
    if day is not None:
        _not_after_today(day, "--date")
    if file and not file.is_file():
        what = "no such file" if not file.exists() else "not a regular file (a directory, a pipe or a device)"
        raise ScorecardError(f"--file {file}: {what}; give the path of an export file")
    local = LocalFile(file, file.name) if file else None
    async with _connected(settings) as (sessions, client):
        run = await ingest_once(sessions, source, day=day or clock.today(), settings=settings, client=client,
                                local=local)
    print_run(run)
    return 0 if run.status != "failed" else 1


def _print_day(done: int, days: int, run: IngestRun) -> None:
    print_run(run, prefix=f"[{done}/{days}] ")


MAX_BACKFILL_DAYS = 3660  # one run a day: ten years is hours of fetching, and more is a typo


def _not_after_today(day: date, option: str) -> None:
    # A platform has no export for a day that has not come; every figure of it would be refused as in the future.
    if day > (today := clock.today()):
        raise ScorecardError(f"{option} {day} is after today ({today}, Asia/Shanghai)")


async def backfill(settings: Settings, source_id: str, *, start: date, end: date, on_day: OnDay = _print_day) -> int:
    """One run per day, oldest first; the last line counts the runs by status. Exit 1 if any failed."""
    source = _source(load_sources(settings.collector.sources_file), source_id)
    if end < start:
        raise ScorecardError(f"--to {end} is before --from {start}")
    _not_after_today(end, "--to")
    days = (end - start).days + 1
    if days > MAX_BACKFILL_DAYS:
        raise ScorecardError(f"{days} days from {start} to {end}; a backfill takes at most {MAX_BACKFILL_DAYS} days "
                             "(ten years) — split the range")
    statuses: dict[str, int] = {}
    async with _connected(settings) as (sessions, client):
        for n in range(days):
            run = await ingest_once(sessions, source, day=start + timedelta(days=n), settings=settings, client=client)
            statuses[run.status] = statuses.get(run.status, 0) + 1
            on_day(n + 1, days, run)
    counted = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    print(f"backfill {source_id} {start} … {end}: {days} days, {counted}")
    return 1 if statuses.get("failed") else 0
