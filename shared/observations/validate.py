"""What a figure means (PRODUCT.md §2.1 "Validation of a figure", 监测数据): fits its indicator, unit and date?

Pure: the caller passes the catalogue, the units and today. Syntax (is it a number) is settled before this.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from shared.core.errors import Problem
from shared.observations.types import Figure

# A value sent together with numerator/denominator must agree with them to within rounding to one decimal.
VALUE_TOLERANCE = 0.05
# The domain range of every figure (numerator, denominator, value — the computed value too) is 0 … this, unless
# the caller passes another bound (SCORECARD_OBSERVATIONS__MAX_FIGURE) or the indicator has its own
# (`indicators.max_figure`). Below 10¹² a figure with up to 3 decimals has at most 15 significant digits, so the
# pre-aggregates sum it exactly (NUMERIC, see preaggregate.py) and no sum can overflow a double when read.
MAX_FIGURE = 1e12


@dataclass(frozen=True, slots=True)
class IndicatorInfo:
    id: int
    measure: str  # ratio | count
    factor: float
    max_figure: float = MAX_FIGURE  # the smaller of the global bound and the indicator's own
    whole: bool = False  # its figures count things: no fractions (indicators.whole_numbers)


@dataclass(frozen=True, slots=True)
class UnitInfo:
    id: int
    valid_from: date
    valid_to: date | None
    parent_id: int | None = None


class CheckedFigure(NamedTuple):
    """A figure that passed, in the order of the columns it is staged with (a NamedTuple: COPY writes it as the
    plain tuple it is). `value` is computed for ratios: factor × numerator / denominator, None for 0."""

    indicator_id: int
    org_id: int
    obs_date: date
    numerator: float | None
    denominator: float | None
    value: float | None
    row: int


def computed_value(
    measure: str, factor: float, numerator: float | None, denominator: float | None, value: float | None
) -> float | None:
    """ratio: factor × numerator / denominator (None for denominator 0, never 0 %); count: the figure."""
    if measure == "count":
        return value
    if numerator is None or denominator is None or denominator == 0:
        return None
    return factor * numerator / denominator


def check_figures(
    items: Sequence[Figure],
    *,
    indicators: Mapping[str, IndicatorInfo],
    units: Mapping[str, UnitInfo],
    today: date,
    rows: Sequence[int] | None = None,
) -> tuple[list[CheckedFigure], list[Problem]]:
    """Every rule on every row; returns the good figures and one Problem per broken rule. `rows` numbers the
    items (file rows); by default their list index."""
    numbers = rows if rows is not None else range(len(items))
    good: list[CheckedFigure] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, date], int] = {}
    for i, item in enumerate(items):
        row = numbers[i]
        key = (item.indicator, item.org, item.date)
        first = seen.setdefault(key, row)
        ind, unit = indicators.get(item.indicator), units.get(item.org)
        num, den, value = item.numerator, item.denominator, item.value
        # The usual figure (a known ratio with sane counts, or a count) passes these few tests inline; anything
        # else goes through every rule one by one, so its messages are exact.
        if (
            first == row
            and ind is not None
            and unit is not None
            and item.date <= today
            and unit.valid_from <= item.date
            and (unit.valid_to is None or item.date <= unit.valid_to)
        ):
            top = ind.max_figure
            if ind.measure == "ratio":
                # `0 <= x <= top` is False for NaN, and the bound excludes ±inf.
                if (num is not None and den is not None and value is None and 0 <= num <= top and 0 <= den <= top
                        and (not ind.whole or (num % 1 == 0 and den % 1 == 0))):
                    computed = ind.factor * num / den if den else None
                    if (num <= den or ind.factor != 100) and (computed is None or computed <= top):
                        good.append(CheckedFigure(ind.id, unit.id, item.date, num, den, computed, row))
                        continue
            elif (num is None and den is None and value is not None and 0 <= value <= top
                  and (not ind.whole or value % 1 == 0)):
                good.append(CheckedFigure(ind.id, unit.id, item.date, None, None, value, row))
                continue
        found = _check_one(row, item, indicators, units, today)
        if first != row:
            found.append(Problem(f"duplicate of row {first} (same indicator, org and date)", row, "date"))
        if found:
            problems.extend(found)
            continue
        ind, unit = indicators[item.indicator], units[item.org]
        good.append(CheckedFigure(ind.id, unit.id, item.date, num, den,
                                  computed_value(ind.measure, ind.factor, num, den, value), row))
    return good, problems


def _check_one(
    i: int, item: Figure, indicators: Mapping[str, IndicatorInfo], units: Mapping[str, UnitInfo], today: date
) -> list[Problem]:
    out: list[Problem] = []
    ind = indicators.get(item.indicator)
    if ind is None:
        out.append(Problem(f"unknown indicator '{item.indicator}'; GET /v1/indicators lists the codes", i, "indicator"))
    unit = units.get(item.org)
    if unit is None:
        out.append(Problem(f"unknown org unit '{item.org}'; GET /v1/org-units lists the codes", i, "org"))
    if item.date > today:
        out.append(Problem(f"{item.date} is in the future (today is {today}, Asia/Shanghai)", i, "date"))
    elif unit is not None and not (
        unit.valid_from <= item.date and (unit.valid_to is None or item.date <= unit.valid_to)
    ):
        until = unit.valid_to.isoformat() if unit.valid_to else "today"
        out.append(
            Problem(
                f"{item.date} is outside the validity of unit '{item.org}' ({unit.valid_from} – {until})", i, "date"
            )
        )
    out.extend(_check_numbers(i, item, ind.max_figure if ind is not None else MAX_FIGURE))
    if ind is not None and ind.whole and not out:
        out.extend(_check_whole(i, item, ind.measure))
    if ind is not None and not out:
        out.extend(_check_measure(i, item, ind))
    return out


def _check_numbers(i: int, item: Figure, top: float) -> list[Problem]:
    out = []
    for name in ("numerator", "denominator", "value"):
        v = getattr(item, name)
        if v is None:
            continue
        if not math.isfinite(v):
            out.append(Problem(f"{name} must be a finite number, got {v}", i, name))
        elif v < 0 and name != "value":
            out.append(Problem(f"{name} must be ≥ 0, got {v:g}", i, name))
        elif v > top:
            out.append(Problem(f"{name} {v:g} is above the largest figure accepted for '{item.indicator}' "
                               f"({top:g})", i, name))
    return out


def _check_whole(i: int, item: Figure, measure: str) -> list[Problem]:
    """The counts: a ratio's numerator and denominator (its value is a percentage), a count's value."""
    return [
        Problem(f"{name} {v:g} is not a whole number: '{item.indicator}' counts things (事项, 个, 次)", i, name)
        for name in (("numerator", "denominator") if measure == "ratio" else ("value",))
        if (v := getattr(item, name)) is not None and v % 1 != 0
    ]


def _check_measure(i: int, item: Figure, ind: IndicatorInfo) -> list[Problem]:
    num, den, value = item.numerator, item.denominator, item.value
    if ind.measure == "count":
        if value is None:
            return [Problem(f"'{item.indicator}' is a count: send its figure as value", i, "value")]
        if num is not None or den is not None:
            return [
                Problem(f"'{item.indicator}' is a count: send value only, no numerator/denominator", i, "numerator")
            ]
        if value < 0:
            return [Problem(f"value must be ≥ 0, got {value:g}", i, "value")]
        return []
    if num is None or den is None:
        field = "numerator" if num is None else "denominator"
        return [
            Problem(
                f"'{item.indicator}' is a ratio: send numerator and denominator (a value alone cannot be rolled up)",
                i,
                field,
            )
        ]
    if ind.factor == 100 and num > den:
        return [Problem(f"numerator {num:g} is greater than denominator {den:g} for a percentage", i, "numerator")]
    computed = computed_value(ind.measure, ind.factor, num, den, value)
    if computed is not None and not computed <= ind.max_figure:  # also catches inf and NaN
        return [
            Problem(
                f"numerator/denominator ({num:g}/{den:g}) give the value {computed:g}, above the largest figure "
                f"accepted for '{item.indicator}' ({ind.max_figure:g}); nothing is stored for a value out of range",
                i,
                "denominator",
            )
        ]
    if value is not None and computed is not None and abs(value - computed) > VALUE_TOLERANCE:
        return [
            Problem(
                f"value {value:g} does not agree with numerator/denominator ({num:g}/{den:g} → {computed:.2f})",
                i,
                "value",
            )
        ]
    if value is not None and computed is None:
        return [Problem(f"value {value:g} given but denominator is 0: there is no value", i, "value")]
    return []
