"""Which target applies (PRODUCT.md §2.2, 目标值): derived years between a baseline and a final-year target,
half-year before annual, a unit's own target before a level/kind target of its nearest jurisdiction. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from shared.targets import rules


@dataclass(frozen=True)
class TargetRow:
    indicator: str
    org: str
    applies_to: str  # 'self' or a level/kind name
    year: int
    half: int  # 0 = whole year
    comparator: str | None
    number: float | None
    text: str | None
    baseline: bool
    derived: bool = False
    seed_cell: str | None = None
    measure: str | None = None  # the indicator's (count, ratio): a derived count target is a whole number
    rounded_up: bool = False  # a derived count target rounded up to a whole number (73.33 → 74)


def with_derived(rows: Iterable[TargetRow]) -> list[TargetRow]:
    """Add linearly interpolated targets for the years between two numeric anchors of the same scope where
    the later one is a target (e.g. 南昌 2022 baseline 80 → 2025 target 87 gives 2023 and 2024, derived).
    A count of items is rounded up to a whole number (rules.whole_count_target, PRODUCT.md §2.2)."""
    rows = list(rows)
    by_scope: dict[tuple[str, str, str], list[TargetRow]] = defaultdict(list)
    for r in rows:
        if r.half == 0 and r.number is not None:
            by_scope[(r.indicator, r.org, r.applies_to)].append(r)
    taken = {(r.indicator, r.org, r.applies_to, r.year) for r in rows if r.half == 0}
    derived: list[TargetRow] = []
    for anchors in by_scope.values():
        anchors.sort(key=lambda r: r.year)
        for low, high in zip(anchors, anchors[1:], strict=False):
            if high.baseline or high.year - low.year < 2:
                continue
            assert low.number is not None and high.number is not None
            for year in range(low.year + 1, high.year):
                if (high.indicator, high.org, high.applies_to, year) in taken:
                    continue
                exact = rules.interpolate(low.year, low.number, high.year, high.number, year)
                number = rules.whole_count_target(exact, high.measure, low.number, high.number)
                derived.append(
                    replace(high, year=year, number=number, baseline=False, derived=True, text=None, seed_cell=None,
                            rounded_up=number != exact)
                )
    return sorted(rows + derived, key=lambda r: (r.indicator, r.org, r.applies_to, r.year, r.half))


def applicable(
    rows: Sequence[TargetRow], *, indicator: str, chain: Sequence[tuple[str, str | None, str]], year: int, half: int
) -> TargetRow | None:
    """The target for a unit. `chain` is the unit and its ancestors, nearest first, as (code, level, kind);
    the first entry is the unit itself. Baselines are never targets."""
    unit_code, unit_level, unit_kind = chain[0]
    candidates = [
        r for r in rows if r.indicator == indicator and r.year == year and not r.baseline and r.half in (half, 0)
    ]
    for depth, (code, _level, _kind) in enumerate(chain):
        scoped = [
            r
            for r in candidates
            if r.org == code and (r.applies_to == "self" if depth == 0 else r.applies_to in (unit_level, unit_kind))
        ]
        if scoped:
            # A half-year target beats the annual one.
            return sorted(scoped, key=lambda r: r.half != half)[0]
    return None
