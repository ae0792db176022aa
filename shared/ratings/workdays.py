"""Working days on the Chinese calendar (法定节假日 and 调休 working weekends), for 好差评 rectification deadlines.

Pure: the holiday table ships with the `chinesecalendar` package; no session, no clock.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def is_working_day(day: date) -> bool:
    """A day of work on the State Council's calendar; Monday–Friday for years the package does not cover."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # The package covers only the years whose holiday notice is published (2004 … the next year at best).
        return day.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """The deadline n working days after `start` (限期整改, PRODUCT.md §2.4): `start` itself never counts.

    Holidays and weekends are skipped and 调休 Saturdays/Sundays count, so 2022-09-30 + 1 is 2022-10-08.
    """
    if n < 0:
        raise ValueError(f"n must be ≥ 0, got {n}")
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day
