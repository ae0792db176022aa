"""Subtotal rows that carry a unit's code: 青山区 listed with the sum of its streets beside them.

The roll-up adds a unit's own figures to those of every unit under it, so a subtotal stored as the district's own
figure would count each street twice. A row is a subtotal when each of its figures equals the sum of the same
indicator and day over at least two units with figures directly under its unit, among the figures given together
(a collector's chunk, a push body), not all zero: a hall with nothing to count is not a subtotal. A district's own
hall (青山区政务服务中心) has figures of its own, which do not add up to its streets'. The collector skips such a
row with a warning (services/collector/run.py), a push is refused (store.write_observations).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from shared.observations.types import Figure


def parent_codes(units: Iterable[tuple[str, int, int | None]]) -> dict[str, str]:
    """{code: its parent's code} of (code, id, parent id) units, for the parents among them."""
    listed = list(units)
    code_of = {unit_id: code for code, unit_id, _ in listed}
    return {code: code_of[parent] for code, _, parent in listed if parent in code_of}


def subtotal_rows(figures: Sequence[Figure], rows: Sequence[int], parent_of: Mapping[str, str]) -> dict[int, int]:
    """{row: how many units under it its figures add up}, for each row whose every figure is such a sum."""
    orgs = {f.org for f in figures}
    if not any(parent_of.get(org) in orgs for org in orgs):  # no unit with one under it here: most bodies
        return {}
    children: dict[tuple[str, str, date], list[Figure]] = defaultdict(list)
    for f in figures:
        if (parent := parent_of.get(f.org)) is not None:
            children[f.indicator, parent, f.date].append(f)
    verdict: dict[int, bool] = {}  # row → every figure of it is a subtotal so far
    under: dict[int, int] = {}
    for f, row in zip(figures, rows, strict=True):
        below = children.get((f.indicator, f.org, f.date), [])
        verdict[row] = verdict.get(row, True) and _adds_up(f, below)
        under.setdefault(row, len({c.org for c in below}))
    return {row: under[row] for row, every in verdict.items() if every}


def _adds_up(figure: Figure, below: list[Figure]) -> bool:
    counted = [c for c in below if c.numerator or c.denominator or c.value]
    if len({c.org for c in counted}) < 2:  # one unit with figures: its own equal to the district's is no sum
        return False
    if figure.numerator is None and figure.denominator is None:  # a count: its value
        pairs = [(figure.value, [c.value for c in counted])]
    else:  # a ratio: its counts (the value is recomputed from them)
        pairs = [(figure.numerator, [c.numerator for c in counted]),
                 (figure.denominator, [c.denominator for c in counted])]
    # fsum: the exact sum of the counts, compared exactly.
    compared = [(own, math.fsum(x or 0.0 for x in xs)) for own, xs in pairs if own is not None]
    return any(own != 0 for own, _ in compared) and all(own == total for own, total in compared)
