"""Periods (统计周期): parse "2022-05-31", "2022-05", "2022Q2", "2022H1", "2022"; bounds; series.

Pure: no clock, no I/O. Bounds are inclusive dates.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Granularity = Literal["day", "month", "quarter", "half", "year"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "month", "quarter", "half", "year")

_PATTERNS: list[tuple[Granularity, re.Pattern[str]]] = [
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarter", re.compile(r"^(\d{4})Q([1-4])$", re.IGNORECASE)),
    ("half", re.compile(r"^(\d{4})H([12])$", re.IGNORECASE)),
    ("year", re.compile(r"^(\d{4})$")),
]


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    granularity: Granularity

    @property
    def label(self) -> str:
        s = self.start
        return {
            "day": s.isoformat(),
            "month": f"{s.year}-{s.month:02d}",
            "quarter": f"{s.year}Q{(s.month - 1) // 3 + 1}",
            "half": f"{s.year}H{1 if s.month <= 6 else 2}",
            "year": str(s.year),
        }[self.granularity]

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def half(self) -> int | None:
        """1 or 2 when the period lies inside one half-year, else None (a whole year)."""
        if self.granularity == "year":
            return None
        return 1 if self.start.month <= 6 else 2


def parse_period(text: str) -> Period:
    """Parse a period label; ValueError says which forms are accepted."""
    text = text.strip()
    for granularity, pattern in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        year = int(m.group(1))
        try:
            if granularity == "day":
                d = date(year, int(m.group(2)), int(m.group(3)))
                return Period(d, d, "day")
            if granularity == "month":
                return containing(date(year, int(m.group(2)), 1), "month")
        except ValueError as exc:
            raise ValueError(f"'{text}' is not a real date: {exc}") from None
        if granularity == "quarter":
            return containing(date(year, 3 * int(m.group(2)) - 2, 1), "quarter")
        if granularity == "half":
            return containing(date(year, 6 * int(m.group(2)) - 5, 1), "half")
        return containing(date(year, 1, 1), "year")
    raise ValueError(f"'{text}' is not a period; use 2022-05-31, 2022-05, 2022Q2, 2022H1 or 2022")


def containing(d: date, granularity: Granularity) -> Period:
    """The period of the given granularity that contains day `d`."""
    if granularity == "day":
        return Period(d, d, "day")
    months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[granularity]
    first_month = (d.month - 1) // months * months + 1
    last_month = first_month + months - 1
    start = date(d.year, first_month, 1)
    end = date(d.year, last_month, calendar.monthrange(d.year, last_month)[1])
    return Period(start, end, granularity)


class TooManyPeriods(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} periods requested")


def series(start: date, end: date, granularity: Granularity, *, limit: int | None = None) -> list[Period]:
    """Consecutive periods covering start..end (the first and last may extend beyond them). With `limit`, more
    than that many raise TooManyPeriods as soon as they are met (9999 years of days are never listed)."""
    if end < start:
        raise ValueError(f"'to' ({end}) is before 'from' ({start})")
    out: list[Period] = []
    p = containing(start, granularity)
    while p.start <= end:
        if limit is not None and len(out) == limit:
            raise TooManyPeriods(limit)
        out.append(p)
        if p.end == date.max:  # 9999-12-31 has no next day
            break
        p = containing(p.end + timedelta(days=1), granularity)
    return out
