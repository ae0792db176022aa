"""Turns a roll-up basis and a target into the value the API returns (PRODUCT.md §2.1–§2.2). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from shared.observations.validate import computed_value
from shared.targets import rules as target_rules
from shared.targets.resolve import TargetRow
from shared.values.rollup import Basis


@dataclass(frozen=True)
class Value:
    numerator: float | None
    denominator: float | None
    value: float | None
    units_reporting: int
    units_expected: int
    target: TargetRow | None
    achievement: float | None
    status: str | None
    formula: str


def formula(measure: str, factor: float, time_aggregation: str, rollup_rule: str) -> str:
    """A sentence saying how the value was computed, returned beside every value."""
    what = f"{factor:g} × Σnumerator / Σdenominator" if measure == "ratio" else "Σ figure"
    per_unit = "each unit's latest figure in the period" if time_aggregation == "last" else "every day's figures"
    scope = "the unit's own figure only" if rollup_rule == "none" else "the unit and all its descendants"
    return f"{what}; {per_unit}; over {scope}"


def make_value(
    *,
    measure: str,
    factor: float,
    direction: str | None,
    basis: Basis | None,
    expected: int,
    target: TargetRow | None,
    cap: float | None,
    near: float,
    explanation: str,
) -> Value:
    if basis is None:
        basis = Basis(None, None, None, 0)
    value = computed_value(measure, factor, basis.numerator, basis.denominator, basis.value_sum)
    number: float | None = None
    comparator: target_rules.Comparator | None = None
    if target is not None and target.number is not None and target.comparator is not None:
        number, comparator = target.number, cast(target_rules.Comparator, target.comparator)
    dir_: Literal["higher", "lower"] = "lower" if direction == "lower" else "higher"
    achievement = target_rules.achievement(value, number, dir_, cap) if number is not None else None
    status: str | None = target_rules.status(value, comparator, number, dir_, near)
    if value is None:
        status = "no_data"  # also without a target: the dashboard must see the gap
    return Value(
        numerator=basis.numerator if measure == "ratio" else None,
        denominator=basis.denominator if measure == "ratio" else None,
        value=value,
        units_reporting=basis.units_reporting,
        units_expected=max(expected, basis.units_reporting),
        target=target,
        achievement=achievement,
        status=status,
        formula=explanation,
    )


def target_json(t: TargetRow | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "year": t.year,
        "half": t.half,
        "comparator": t.comparator,
        "number": t.number,
        "text": t.text,
        "derived": t.derived,
        "rounded_up": t.rounded_up,
        "scope": t.org,
        "applies_to": t.applies_to,
    }
