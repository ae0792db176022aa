"""Scheduler wiring and catch-up after downtime, end to end against the simulated platform."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select

from services.api.deps import Database
from services.collector import scheduler
from services.collector.sources import load_sources
from services.simulator.app import create_app as create_simulator
from shared.core import clock
from shared.core.settings import CollectorSettings, Settings
from shared.ingest.models import IngestRun


class TestMissingDays:
    def test_oldest_first_without_done_days(self) -> None:
        today = date(2022, 6, 5)
        done = {date(2022, 6, 3), date(2022, 6, 5)}
        assert scheduler.missing_days(today, 3, done) == [date(2022, 6, 2), date(2022, 6, 4)]


class TestBuild:
    def test_one_cron_job_per_source_with_safe_options(self, settings: Settings) -> None:
        sources = load_sources(settings.collector.sources_file)
        sched = scheduler.build(None, sources, settings=settings, client=None)  # type: ignore[arg-type]
        jobs = {j.id: j for j in sched.get_jobs()}
        assert set(jobs) == {"wangban", "yichuang", "haochaping"}
        job = jobs["wangban"]
        assert job.coalesce is True and job.max_instances == 1 and job.name == "ingest wangban"
        assert job.misfire_grace_time == settings.collector.misfire_grace_seconds
        assert str(job.trigger.timezone) == "Asia/Shanghai"


@pytest.fixture
async def simulator() -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_simulator())) as c:
        yield c


class TestCatchUp:
    async def test_fetches_the_missing_days_from_the_platform(
        self, database: Database, settings: Settings, simulator: httpx.AsyncClient, client: httpx.AsyncClient
    ) -> None:
        settings = settings.model_copy(update={"collector": CollectorSettings(catch_up_days=2)})
        sources = [s for s in load_sources(settings.collector.sources_file) if s.id == "wangban"]
        await scheduler.catch_up(database.sessions, sources, settings=settings, client=simulator)
        async with database.sessions() as s:
            runs = (await s.execute(select(IngestRun).order_by(IngestRun.id))).scalars().all()
        today = clock.today()
        assert [(r.for_date, r.status) for r in runs] == [
            (today - timedelta(2), "succeeded"),
            (today - timedelta(1), "succeeded"),
            (today, "succeeded"),
        ]
        r = await client.get("/v1/values", params={"indicator": "QS-07", "org": "150204000000", "period": "today"})
        [v] = r.json()["values"]
        assert v["units_reporting"] == 10 and v["value"] is not None
        # A second start has nothing to catch up: every day already has a successful run.
        await scheduler.catch_up(database.sessions, sources, settings=settings, client=simulator)
        async with database.sessions() as s:
            assert len((await s.execute(select(IngestRun))).all()) == 3
