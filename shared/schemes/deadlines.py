"""Deadlines of scheme items (完成时限) as written, and the due date where the text states a month."""

from __future__ import annotations

import calendar
import re
from datetime import date

_MONTH = re.compile(r"(\d{1,2})月")


def due_date(deadline_text: str | None, year: int) -> date | None:
    """The end of the first month the text names ("6月底完成" → 30 June), or None ("持续推进", "按进度推进")."""
    if not deadline_text:
        return None
    found = _MONTH.search(deadline_text)
    if found is None:
        return None
    month = int(found.group(1))
    if not 1 <= month <= 12:
        return None
    return date(year, month, calendar.monthrange(year, month)[1])
