"""Subtotal rows that carry a unit's code: a city's export listing 青山区 with the sum of its streets above them.

The roll-up adds a unit's own figures to those of every unit under it, so a subtotal stored as the district's own
figure would count each street twice. A row is read as a subtotal when each of its figures equals the sum of the
same indicator and day over at least two units with figures directly under its unit, in the same chunk of the
export (not all zero: a hall with nothing to count is not a subtotal). A district's own hall (青山区政务服务中心)
has figures of its own, which do not add up to its streets'. Rows labelled 合计 / 小计 never get here
(clean.total_rows).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import date

from services.collector.mapping import ParsedExport
from shared.core.errors import Problem
from shared.observations.types import ObservationIn


def drop(chunk: ParsedExport, parent_of: Mapping[str, str], column: str) -> ParsedExport:
    """The chunk without its subtotal rows; each is skipped with a warning naming the units it adds up."""
    orgs = {f.org for f in chunk.figures}
    if not any(parent_of.get(org) in orgs for org in orgs):  # no unit with one under it here: most chunks
        return chunk
    children: dict[tuple[str, str, date], list[ObservationIn]] = defaultdict(list)
    for f in chunk.figures:
        if (parent := parent_of.get(f.org)) is not None:
            children[f.indicator, parent, f.date].append(f)
    verdict: dict[int, bool] = {}  # file row → every figure of it is a subtotal so far
    for f, row in zip(chunk.figures, chunk.figure_rows, strict=True):
        below = children.get((f.indicator, f.org, f.date), [])
        verdict[row] = verdict.get(row, True) and _adds_up(f, below)
    subtotals = {row for row, every in verdict.items() if every}
    if not subtotals:
        return chunk
    names: dict[int, str] = {}
    for f, row in zip(chunk.figures, chunk.figure_rows, strict=True):
        if row in subtotals and row not in names:
            units = sorted({c.org for c in children[f.indicator, f.org, f.date]})
            names[row] = f"{f.org}: its figures equal the sum of the {len(units)} units under it in this export"
    chunk.warnings += [
        Problem(f"read as a subtotal, not as the unit's own figures ({names[row]}); skipped", row, column)
        for row in sorted(subtotals)
    ]
    kept = [i for i, row in enumerate(chunk.figure_rows) if row not in subtotals]
    chunk.figures = [chunk.figures[i] for i in kept]
    chunk.figure_rows = [chunk.figure_rows[i] for i in kept]
    chunk.rows_read -= len(subtotals)
    chunk.rows_skipped += len(subtotals)
    return chunk


def _adds_up(figure: ObservationIn, below: list[ObservationIn]) -> bool:
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
