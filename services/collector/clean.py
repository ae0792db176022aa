"""Per-cell normalisers for messy exports: full-width text, "1,234", "95.2%", dates, 合计 rows.

Plain functions over strings, called once per cell on hot paths; no config and no I/O here.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from itertools import repeat
from operator import mul, sub, truediv
from typing import NamedTuple

# A count printed with its unit: 1281个, 503 件, 12次 — the unit is the column's, the number is the count.
_COUNT_UNIT = re.compile(r"(?<=\d)\s*(?:个|件|项|次|人|家|户|条|笔)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DAY = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:[ T]*(\d{1,2})[:时](\d{1,2})(?:分|[:分](\d{1,2})(?:\.\d+)?秒?)?)?(?:\+08:?00)?$"  # Beijing time
)
_DAY_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_SERIAL = re.compile(r"[34]\d{4}(?:\.\d+)?")  # Excel's day numbers of 1982–2036 (44712 = 2022-05-31)
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
# A date inside a file name or title line; the year must start 19/20 so a division code is never read as one.
_DAY_IN_TEXT = [re.compile(r"(?<!\d)((?:19|20)\d\d)[-/.年_](\d{1,2})[-/.月_](\d{1,2})(?!\d)"),
                re.compile(r"(?<!\d)((?:19|20)\d\d)(\d\d)(\d\d)(?!\d)")]
_MONTH_IN_TEXT = [re.compile(r"(?<!\d)((?:19|20)\d\d)[-/.年_](\d{1,2})(?!\d)"),
                  re.compile(r"(?<!\d)((?:19|20)\d\d)(\d\d)(?!\d)")]


class Percent(NamedTuple):
    """A printed rate: its number, how many decimals were printed, and whether it carried a % sign."""

    value: float
    decimals: int
    percent: bool


def norm(text: str) -> str:
    """NFKC (full-width digits, ％, ，, \u3000 → ASCII) and strip; ASCII cells skip the costly step. A cell kept
    as text for a spreadsheet ('150204004000, or ="150204004000", which exports write so that Excel keeps a long
    code's digits) is its text."""
    s = text.strip() if text.isascii() else unicodedata.normalize("NFKC", text).strip()
    if s and s[0] in "='":
        if s.startswith('="') and s.endswith('"') and len(s) > 2:
            return s[2:-1].strip()
        if s[0] == "'":
            return s[1:].strip()
    return s


# A code a spreadsheet took for a number and printed in exponent form (1.50204E+11): its digits are lost.
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[Ee]\+?\d+")


def compact(text: str) -> str:
    """A label or marker with every space removed, so " 合 计 " and "事项\n总数" compare equal."""
    return "".join(norm(text).replace("\ufeff", "").split())


# A mobile or landline number, or an ID-card number, anywhere in a cell: never quoted. Digit boundaries keep a
# 12-digit division code (and any count) out of it.
_CONTACT = re.compile(r"(?<![\dA-Za-z])(?:1[3-9]\d{9}|\d{17}[\dXx]|\d{15}|0\d{2,3}-?\d{7,8})(?![\dA-Za-z])")


def show(text: str, limit: int = 40) -> str:
    """A cell quoted for a message, cut so one huge cell cannot flood the error list, any phone or ID number in
    it masked (a note or a shifted cell may hold one)."""
    text = masked(text.strip())
    return repr(text if len(text) <= limit else text[:limit] + "…")


def masked(text: str) -> str:
    """`text` with every phone or ID number in it starred out (a free-text cell where a clerk noted a contact)."""
    return _CONTACT.sub(lambda m: "*" * len(m[0]), text) if any(map(str.isdigit, text)) else text


def label_forms(label: str) -> tuple[str, ...]:
    """A header label as written and, when it ends in a unit in brackets (事项总数（个）, 网上可办率(%)), without it."""
    bare = _UNIT_SUFFIX.sub("", label)
    return (label, bare) if bare and bare != label else (label,)


_UNIT_SUFFIX = re.compile(r"[(（][^()（）]{1,4}[)）]$")


def parse_number(text: str) -> float | None:
    """A count or amount: "1281", "１２８１", "1,281", "1，281", "1281个" → 1281.0; empty → None.

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
    s = _COUNT_UNIT.sub("", norm(text))
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
    s = text.strip() if text.isascii() else norm(text)
    if not s:
        return None
    is_percent = s[-1] == "%"
    digits = s[:-1].rstrip() if is_percent else s
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
        serial = " — an Excel day number? format the column as a date" if _EXCEL_SERIAL.fullmatch(s) else ""
        raise ValueError(f"{show(s)} is not a date (expected e.g. 2022-05-31{serial})")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"{show(s)} is not a valid date") from None


def parse_datetime(text: str) -> datetime:
    """"2022-05-31 14:43:40", "2022/5/31 14:43", "2022-05-31T14:43:40", "2022年5月31日 14时43分"; a bare date is
    midnight."""
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


def find_date(text: str, *, month: bool = False) -> date | None:
    """The first valid date in free text ("网办统计（2022年5月31日）", "wangban_2022-05-31.xlsx"); with month,
    a year-month counts too and the result is the first day of that month."""
    text = norm(text)
    for pattern in _DAY_IN_TEXT + (_MONTH_IN_TEXT if month else []):
        for m in pattern.finditer(text):
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]) if pattern.groups == 3 else 1)
            except ValueError:
                continue
            return day.replace(day=1) if month else day
    return None


def is_filler(cells: list[str]) -> bool:
    """A blank line, or a note row ("注：…", "制表人：…", maybe merged across): one distinct text at most, or a
    few, each a note ("制表人：张三 | 联系电话：…": names and phone numbers, never to be read or quoted)."""
    distinct = set(cells)
    distinct.discard("")
    return len(distinct) <= 1 or (len(distinct) <= 3 and all(map(_NOTE.match, distinct)))


# "label：text" with a label of a few characters and no digit: a data cell (a code, a count, a date, a time,
# a unit's name) never has that shape.
_NOTE = re.compile(r"\s*[^\d\s:：]{1,10}\s*[:：]")


def total_pattern(markers: list[str]) -> re.Pattern[str]:
    """One regex for the markers, letting spaces sit between their characters (" 合 计 ", "合\u3000计")."""
    parts = [r"\s*".join(map(re.escape, compact(m))) for m in markers if compact(m)]
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


def is_total_row(cells: list[str], markers: re.Pattern[str] | list[str]) -> bool:
    """True when one of the first 3 cells names a total ("合计", "总计：", " 合 计 ", "全区合计")."""
    if not isinstance(markers, re.Pattern):
        markers = total_pattern(markers)
    # Short cells only: a long text that happens to contain 小计 is data, not a total label.
    return any(cell and len(cell) <= 20 and markers.search(cell) for cell in cells[:3])


def parse_counts(cells: list[str]) -> tuple[list[float], dict[int, str]]:
    """A whole column of counts: (values, {index: reason} for empty, negative or non-numeric cells).

    Bulk first: one C-level float() pass decides a clean column; only a dirty one is redone cell by cell.
    """
    try:
        values = list(map(float, cells))
        if all(map(math.isfinite, values)) and min(values, default=0.0) >= 0 and "_" not in "".join(cells):
            return values, {}
    except ValueError:
        pass
    values, bad = [], {}
    for i, text in enumerate(cells):
        try:
            value = parse_number(text)
        except ValueError as exc:
            value, bad[i] = 0.0, str(exc)
        else:
            if value is None:
                value, bad[i] = 0.0, "empty; a number is required"
            elif value < 0:
                bad[i] = f"{show(text)} is negative; counts cannot be below 0"
        values.append(value)
    return values, bad


def total_rows(columns: list[list[str]], markers: list[str], *, label_only: int = 3) -> set[int]:
    """Indexes of rows whose cell in one of the given (first) columns is a total label: in the first three a
    cell holding one ("全区合计"), in later ones up to `label_only` a cell that is one alone ("合计", "总 计："),
    where a unit or service item's name may contain the word."""
    pattern = total_pattern(markers)
    alone = re.compile(rf"(?:{pattern.pattern})\s*[:：]?\s*", re.IGNORECASE)
    starts = {compact(m)[:1] for m in markers} - {""}
    hits: set[int] = set()
    for j, cells in enumerate(columns[:max(3, label_only)]):
        joined = "\n".join(cells)
        # A plain substring scan of the whole column rules out the usual case of no 合计 anywhere in it.
        if any(s in joined or s.upper() in joined for s in starts) and pattern.search(joined):
            test = pattern.search if j < 3 else alone.fullmatch
            hits.update(i for i, c in enumerate(cells) if c and len(c) <= 20 and test(c.strip()))
    return hits


def rate_remarks(printed: list[str], nums: list[float], dens: list[float]) -> dict[int, str]:
    """rate_remark over whole columns: {index: remark}. Bulk when every cell is "dd.dd%" with one number of
    decimals (what platforms print); otherwise, and for the rows the bulk pass flags, cell by cell."""
    n = len(printed)
    dots = list(map(str.rfind, printed, repeat(".")))
    decimals: set[int] = set()  # stays empty for a column mixing "81%" and "81.06%": cell by cell then
    if dots and min(dots) >= 0:
        decimals = {d - 2 for d in set(map(sub, map(len, printed), dots))}  # "90.63%": 6 - 2 - 2 = 2 decimals
    elif dots and max(dots) < 0:
        decimals = {0}
    suspects: Iterable[int] = range(n)
    if len(decimals) == 1 and all(map(str.endswith, printed, repeat("%"))):
        try:
            values = list(map(float, map(str.rstrip, printed, repeat("%"))))
        except ValueError:
            pass
        else:
            tol = 0.5 * 10 ** -decimals.pop() + 1e-9
            if n and min(dens) > 0:  # all in C: the largest gap between printed and computed rates
                rates = map(truediv, map(mul, nums, repeat(100.0)), dens)
                suspects = [] if max(map(abs, map(sub, values, rates))) <= tol else suspects
            if suspects:
                suspects = [i for i, (v, a, b) in enumerate(zip(values, nums, dens, strict=True))
                            if b and abs(v - 100 * a / b) > tol]
    found = ((i, rate_remark(printed[i], nums[i], dens[i])) for i in suspects)
    return {i: remark for i, remark in found if remark}


def rate_remark(text: str, num: float, den: float) -> str | None:
    """A printed rate off by more than half a unit of its last printed decimal ("95.20%" ± 0.005)."""
    if den == 0 or not text or text.isspace():
        return None
    if text[-1] == "%":  # fast path for the usual "90.63%"
        try:
            dot = text.find(".")
            if abs(float(text[:-1]) - 100 * num / den) <= 0.5 * 10 ** (dot + 2 - len(text) if dot >= 0 else 0) + 1e-9:
                return None
        except ValueError:
            pass
    try:
        printed = parse_percent(text)
    except ValueError:
        return f"printed rate {show(text)} is not a number; the rate is computed from the counts"
    if printed is None:
        return None
    rate = 100 * num / den
    half = 0.5 * 10 ** -printed.decimals + 1e-9
    if abs(printed.value - rate) <= half:
        return None
    # No % sign: a fraction (0.9063, a spreadsheet percent cell) or a bare number (90.63) may be meant.
    if not printed.percent and abs(printed.value * 100 - rate) <= half * 100:
        return None
    return f"printed {norm(text)} but {_plain(num)}/{_plain(den)} = {rate:.{max(2, printed.decimals)}f}%"


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
