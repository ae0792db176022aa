"""Time in Asia/Shanghai: the product's "today" (a figure dated after it is in the future)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(SHANGHAI)


def today() -> date:
    return now().date()


def aware(moment: datetime) -> datetime:
    """A stored moment with its zone. SQLite (`make run`) keeps none, and the product writes every moment as
    `now()`, in Shanghai time; PostgreSQL's timestamptz comes back aware already."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


def in_shanghai(moment: datetime) -> datetime:
    """A stored moment as the product shows it (the published documents too): in Shanghai time, whatever zone
    the database session hands it back in (PostgreSQL's is UTC)."""
    return aware(moment).astimezone(SHANGHAI)
