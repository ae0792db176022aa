"""Per-cell normalisers for messy exports: full-width text, "1,234", "95.2%", dates, 合计 rows.

Plain functions over strings, called once per cell on hot paths; no config and no I/O here.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DAY = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?)?$"
)
_DAY_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")


class Percent(NamedTuple):
    """A printed rate: its number, how many decimals were printed, and whether it carried a % sign."""

    value: float
    decimals: int
    percent: bool


def norm(text: str) -> str:
    """NFKC (full-width digits, ％, ，, \u3000 → ASCII) and strip; ASCII cells skip the costly step."""
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFKC", text).strip()


def compact(text: str) -> str:
    """A label or marker with every space removed, so " 合 计 " and "事项\n总数" compare equal."""
    return "".join(norm(text).replace("\ufeff", "").split())


def show(text: str, limit: int = 40) -> str:
    """A cell quoted for a message, cut so one huge cell cannot flood the error list."""
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "…")


def parse_number(text: str) -> float | None:
    """A count or amount: "1281", "１２８１", "1,281", "1，281" → 1281.0; empty → None.

    Raises ValueError with a reason a person can act on; a percentage is refused here on purpose,
    because counts are what the collector stores.
    """
    s = text.strip()
    if not s:
        return None
    try:
        value = float(s)
    except ValueError:
        return _parse_messy_number(text)
    if "_" in s or not math.isfinite(value):
        raise ValueError(f"{show(text)} is not a number")
    return value


def _parse_messy_number(text: str) -> float | None:
    s = norm(text)
    if not s:
        return None
    if s.endswith("%"):
        raise ValueError(f"{show(text)} is a percentage; a count is expected here")
    if "," in s:
        if not _THOUSANDS.match(s):
            raise ValueError(f"{show(text)} is not a number (misplaced thousands separator)")
        s = s.replace(",", "")
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"{show(text)} is not a number") from None
    if "_" in s or not math.isfinite(value):
        raise ValueError(f"{show(text)} is not a number")
    return value


def parse_percent(text: str) -> Percent | None:
    """A printed rate: "95.20%" → Percent(95.2, 2, True); "0.9520" → Percent(0.952, 4, False)."""
    s = norm(text)
    if not s:
        return None
    is_percent = s.endswith("%")
    digits = s[:-1].strip() if is_percent else s
    value = parse_number(digits)
    if value is None:
        raise ValueError(f"{show(text)} is not a rate")
    decimals = len(digits.rsplit(".", 1)[1]) if "." in digits else 0
    return Percent(value, decimals, is_percent)


def parse_date(text: str) -> date:
    """"2022-05-31", "2022/5/31", "2022年5月31日", "20220531"; a datetime keeps its date part."""
    return _parse_date(norm(text))


@lru_cache(maxsize=4096)
def _parse_date(s: str) -> date:
    # Cached: a daily export repeats the same date string on every row.
    m = _DAY.match(s) or _DAY_COMPACT.match(s)
    if not m:
        raise ValueError(f"{show(s)} is not a date (expected e.g. 2022-05-31)")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"{show(s)} is not a valid date") from None


def parse_datetime(text: str) -> datetime:
    """"2022-05-31 14:43:40", "2022/5/31 14:43", "2022-05-31T14:43:40"; a bare date is midnight."""
    s = norm(text)
    m = _DAY.match(s)
    if not m:
        raise ValueError(f"{show(s)} is not a date and time (expected e.g. 2022-05-31 14:43:40)")
    try:
        return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), int(m[6] or 0))
    except ValueError:
        raise ValueError(f"{show(s)} is not a valid date and time") from None


def parse_month(text: str) -> date:
    """"2022-05", "2022/5", "2022年5月", "202205" (or a full date) → the first day of that month."""
    return _parse_month(norm(text))


@lru_cache(maxsize=1024)
def _parse_month(s: str) -> date:
    m = _MONTH.match(s) or _MONTH_COMPACT.match(s)
    if not m:
        try:
            return _parse_date(s).replace(day=1)
        except ValueError:
            raise ValueError(f"{show(s)} is not a month (expected e.g. 2022-05)") from None
    if not 1 <= int(m[2]) <= 12:
        raise ValueError(f"{show(s)} is not a valid month")
    return date(int(m[1]), int(m[2]), 1)


def is_blank(cells: list[str]) -> bool:
    return not any(c and not c.isspace() for c in cells)


def total_markers(markers: list[str]) -> tuple[str, ...]:
    """Markers prepared once per export for is_total_row."""
    return tuple(compact(m) for m in markers if compact(m))


def is_total_row(cells: list[str], markers: tuple[str, ...]) -> bool:
    """True when one of the first 3 cells names a total ("合计", "总计：", " 合 计 ", "全区合计")."""
    for cell in cells[:3]:
        # Short cells only: a long text that happens to contain 小计 is data, not a total label.
        if cell and len(cell) <= 20:
            c = compact(cell).rstrip(":")
            if any(m in c for m in markers):
                return True
    return False
