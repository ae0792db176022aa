"""The dashboard's view of the collector's sources (SCORECARD_DASHBOARD__SOURCES, the API may not import the
collector) agrees with the shipped sources.yaml: the same ids, each cron schedule's interval, the same scope."""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.cron import CronTrigger

from services.collector.sources import load_sources
from shared.core import clock
from shared.core.settings import DashboardSettings


def interval_minutes(cron: str) -> int:
    trigger = CronTrigger.from_crontab(cron, timezone=clock.SHANGHAI)
    first = trigger.get_next_fire_time(None, datetime(2022, 7, 5, 0, 0, 30, tzinfo=clock.SHANGHAI))
    second = trigger.get_next_fire_time(first, first)
    assert first is not None and second is not None
    return int((second - first).total_seconds() // 60)


def test_default_sources_match_the_shipped_sources_file() -> None:
    shipped = {s.id: (interval_minutes(s.schedule), s.scope) for s in load_sources()}
    configured = {k: (v.every_minutes, v.scope) for k, v in DashboardSettings().sources.items()}
    assert configured == shipped
