"""Target rules (目标值, PRODUCT.md §2.2): reading seed cells, interpolation, achievement and status.

Pure functions: no I/O, no database, no settings. Callers pass the configurable values (cap, near threshold).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

Comparator = Literal[">=", "<=", "="]
Direction = Literal["higher", "lower"]
Status = Literal["met", "near", "behind", "no_data"]

#: Absolute and relative tolerance for comparing figures with targets (float equality).
TOLERANCE: Final = 1e-9

# Cells meaning "no target for that year" (PRODUCT §2.2: "——" is not a text target): only dashes, or empty.
_NO_TARGET_RE: Final = re.compile(r"[-‐‑‒–—―\s]*")
# A leading comparator; ">" and "<" are matched only to be refused with a precise message.
_COMPARATOR_RE: Final = re.compile(r"(>=|<=|==|≥|≧|≤|≦|=|>|<)\s*(.*)", re.DOTALL)
_COMPARATORS: Final[dict[str, Comparator]] = {
    ">=": ">=",
    "≥": ">=",
    "≧": ">=",
    "<=": "<=",
    "≤": "<=",
    "≦": "<=",
    "=": "=",
    "==": "=",
}
# A plain number, optional thousands separators, optional trailing "%" (the unit belongs to the indicator).
_NUMBER_RE: Final = re.compile(r"([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*%?")


@dataclass(frozen=True)
class TargetSpec:
    """What one seed table cell means (目标值).

    * numeric target: ``comparator`` and ``number`` set, ``text`` None;
    * baseline cell (a year column that predates the plan): ``baseline`` True; a bare number keeps
      ``comparator`` None, an explicit comparator written in the cell (e.g. "≥30") is kept as written;
    * text-only target ("根据需求随时布点"): ``comparator`` and ``number`` None, ``text`` the cell — shown,
      never scored.
    """

    comparator: Comparator | None
    number: float | None
    text: str | None
    baseline: bool

    @property
    def scored(self) -> bool:
        """True when the cell is a target that can be scored: a number and a comparator, not a baseline."""
        return self.comparator is not None and self.number is not None and not self.baseline


def _parse_number(text: str) -> float | None:
    """Return the number of ``text`` ("1,270", "100%", "5.7"), or None if it is not one plain number."""
    match = _NUMBER_RE.fullmatch(text)
    if match is None:
        return None
    return float(match.group(1).replace(",", ""))


def parse_target_cell(cell: str, *, baseline: bool) -> TargetSpec | None:
    """Read one seed table cell (PRODUCT.md §2.2, "Reading the seed tables").

    * "——", "—", "-" or an empty cell: no target for that year → None (not a text target).
    * "≥90", ">=90", "≥ 90", "≥90%": (">=", 90); "≤…" / "<=…": ("<=", …); "=…": ("=", …).
    * a bare number ("1250", "100%", "100", "5.7"): in a target year read as ≥ (">=", number); in a
      baseline column kept as the level it states (comparator None, ``baseline=True``).
    * anything else (Chinese text such as "根据需求随时布点"): text-only target, ``text`` = the cell.

    The cell is NFKC-normalised first (full-width digits, "％", "＞＝", "，" become ASCII); a trailing "%" is
    dropped because the unit belongs to the indicator.

    Raises ValueError for a comparator not followed by a number ("≥abc", "≥") and for the strict
    comparators ">" and "<", which no plan uses and the model cannot represent.
    """
    stripped = cell.strip()
    normalised = unicodedata.normalize("NFKC", stripped).strip()
    if _NO_TARGET_RE.fullmatch(normalised):
        return None

    comparator_match = _COMPARATOR_RE.fullmatch(normalised)
    if comparator_match is not None:
        symbol, rest = comparator_match.group(1), comparator_match.group(2).strip()
        comparator = _COMPARATORS.get(symbol)
        if comparator is None:
            raise ValueError(f"target cell {cell!r}: strict comparator {symbol!r} is not supported (use ≥, ≤ or =)")
        number = _parse_number(rest)
        if number is None:
            raise ValueError(f"target cell {cell!r}: comparator {symbol!r} must be followed by a number, got {rest!r}")
        return TargetSpec(comparator=comparator, number=number, text=None, baseline=baseline)

    number = _parse_number(normalised)
    if number is not None:
        return TargetSpec(comparator=None if baseline else ">=", number=number, text=None, baseline=baseline)
    return TargetSpec(comparator=None, number=None, text=stripped, baseline=baseline)


def _require_finite(**figures: float) -> None:
    for name, figure in figures.items():
        if not math.isfinite(figure):
            raise ValueError(f"{name} must be a finite number, got {figure!r}")


def interpolate(baseline_year: int, baseline_value: float, target_year: int, target_value: float, year: int) -> float:
    """Derived target for an intermediate year (PRODUCT.md §2.2: linear between baseline and final target).

    南昌 全程网办率 2022 80 → 2025 87 gives 2023 = 82.333…, 2024 = 84.666…. The caller marks the result
    ``derived``. Raises ValueError unless ``baseline_year < year < target_year`` or if a value is not finite.
    """
    if not baseline_year < year < target_year:
        raise ValueError(
            f"year {year} is not strictly between baseline year {baseline_year} and target year {target_year}"
        )
    _require_finite(baseline_value=baseline_value, target_value=target_value)
    share = (year - baseline_year) / (target_year - baseline_year)
    return baseline_value + (target_value - baseline_value) * share


def whole_count_target(number: float, measure: str | None, *anchors: float) -> float:
    """A derived target of a count indicator is a whole number of items, rounded up (PRODUCT.md §2.2, 目标值):
    南昌 秒批秒办事项数 2022 20 → 2025 100 gives 2023 ≥ 47 and 2024 ≥ 74 (46.67, 73.33 interpolated), since
    "at least 73.33 items" is met only by 74. The product's reading: only where the anchors are whole numbers
    themselves — a count measured in fractions (南昌 政务云资源算力规模 5.7 → 6) keeps its interpolated value."""
    if measure != "count" or not all(float(a).is_integer() for a in anchors):
        return number
    return float(math.ceil(round(number, 9)))  # round first: 20 + 80 × 3/3 must not become 101 by float noise


def achievement(
    value: float | None, target: float | None, direction: Direction, cap: float | None = 1.0
) -> float | None:
    """Achievement of a target (PRODUCT.md §2.2): value / target (higher is better), target / value (lower).

    * None when the value or the target is missing.
    * Capped at ``cap`` (default 1, configurable); ``cap=None`` leaves it uncapped.
    * Higher is better with target 0: any value ≥ 0 meets it → 1.0 (before the cap).
    * Lower is better with value 0: perfect → ``cap`` (``math.inf`` when uncapped); with target 0 too → 1.0.
    * Figures are non-negative in this product (PRODUCT §2.1 validation): a negative or non-finite value or
      target raises ValueError rather than giving a meaningless ratio.
    """
    if value is None or target is None:
        return None
    _require_finite(value=value, target=target)
    if value < 0 or target < 0:
        raise ValueError(f"achievement needs non-negative figures, got value={value!r} target={target!r}")
    if direction == "higher":
        result = 1.0 if target == 0 else value / target
    elif value == 0:
        result = 1.0 if target == 0 else math.inf
    else:
        result = target / value
    return result if cap is None else min(result, cap)


def is_met(value: float | None, comparator: Comparator | None, target: float | None) -> bool | None:
    """`met` = the target's comparator holds for the value (PRODUCT.md §2.2), within TOLERANCE.

    None when there is nothing to compare: no value, or no numeric target (text-only, no target, baseline).
    """
    if value is None or comparator is None or target is None:
        return None
    equal = math.isclose(value, target, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    if comparator == ">=":
        return equal or value > target
    if comparator == "<=":
        return equal or value < target
    return equal


def status(
    value: float | None,
    comparator: Comparator | None,
    target: float | None,
    direction: Direction,
    near_threshold: float = 0.9,
) -> Status | None:
    """Dashboard status of a figure against its target (PRODUCT.md §2.2).

    * None: no numeric target (text-only target, "——", baseline) — never scored, even without a value;
    * "no_data": a target but no value;
    * "met": the comparator holds (within TOLERANCE);
    * "near": not met but uncapped achievement ≥ ``near_threshold`` (default 0.9, configurable);
    * "behind": otherwise.
    """
    if comparator is None or target is None:
        return None
    if value is None:
        return "no_data"
    if is_met(value, comparator, target):
        return "met"
    ratio = achievement(value, target, direction, cap=None)
    if ratio is not None and (ratio >= near_threshold or math.isclose(ratio, near_threshold)):
        return "near"
    return "behind"
