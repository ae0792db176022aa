"""APScheduler 3.x wiring (kept in this one module): a cron job per source, and catch-up at start.

Jobs only call `ingest_once`; exclusion across processes is the advisory lock inside it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.collector.run import ingest_once
from services.collector.sources import SourceConfig
from shared.core import clock
from shared.core.settings import Settings
from shared.ingest import store as ingest_store
from shared.ingest.models import GOOD_STATUSES

log = logging.getLogger("scorecard.collector")


def missing_days(today: date, days: int, done: set[date]) -> list[date]:
    """The last `days` days up to today (oldest first) that have no successful run."""
    return [d for d in (today - timedelta(n) for n in range(days, -1, -1)) if d not in done]


async def catch_up(
    sessions: async_sessionmaker[AsyncSession],
    sources: Sequence[SourceConfig],
    *,
    settings: Settings,
    client: httpx.AsyncClient,
) -> None:
    """After downtime: fetch the missing days of each daily source (PRODUCT.md §4, catch-up)."""
    today = clock.today()
    for source in sources:
        if not source.daily:
            continue
        async with sessions() as session:
            done = {
                r.for_date
                for r in await ingest_store.list_runs(session, source_id=source.id, limit=500)
                if r.status in GOOD_STATUSES and r.for_date
            }
        days = missing_days(today, settings.collector.catch_up_days, done)
        if "{month}" in source.url and "{date}" not in source.url:
            days = sorted({d.replace(day=1) for d in days} - {d.replace(day=1) for d in done}) or [today]
        for day in days:
            run = await ingest_once(sessions, source, day=day, settings=settings, client=client)
            log.info("catch-up %s %s: %s — %s", source.id, day, run.status, run.message)


def build(
    sessions: async_sessionmaker[AsyncSession],
    sources: Sequence[SourceConfig],
    *,
    settings: Settings,
    client: httpx.AsyncClient,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
    for source in sources:

        async def job(source: SourceConfig = source) -> None:
            run = await ingest_once(sessions, source, day=clock.today(), settings=settings, client=client)
            log.info("source %s: %s — %s", source.id, run.status, run.message)

        scheduler.add_job(
            job,
            CronTrigger.from_crontab(source.schedule, timezone=source.timezone),
            id=source.id,
            name=f"ingest {source.id}",  # how APScheduler logs it (it was "build.<locals>.job")
            coalesce=True,
            max_instances=1,
            misfire_grace_time=settings.collector.misfire_grace_seconds,
        )
    return scheduler


async def serve(
    sessions: async_sessionmaker[AsyncSession],
    sources: Sequence[SourceConfig],
    *,
    settings: Settings,
    client: httpx.AsyncClient,
) -> None:
    await catch_up(sessions, sources, settings=settings, client=client)
    scheduler = build(sessions, sources, settings=settings, client=client)
    scheduler.start()
    log.info("collector scheduled %d sources: %s", len(sources), ", ".join(s.id for s in sources))
    try:
        await asyncio.Event().wait()
    finally:
        scheduler.shutdown(wait=False)
