"""A chunk's subtotal rows (shared/observations/subtotals.py) are skipped, each with a warning on its row."""

from __future__ import annotations

from collections.abc import Mapping

from services.collector.mapping import ParsedExport
from shared.core.errors import Problem
from shared.observations.subtotals import subtotal_rows


def drop(chunk: ParsedExport, parent_of: Mapping[str, str], column: str) -> ParsedExport:
    """The chunk without its subtotal rows; each is skipped with a warning saying how many units it adds up."""
    subtotals = subtotal_rows(chunk.figures, chunk.figure_rows, parent_of)
    if not subtotals:
        return chunk
    units = {row: org for org, row in zip((f.org for f in chunk.figures), chunk.figure_rows, strict=True)}
    chunk.warnings += [
        Problem(f"read as a subtotal, not as the unit's own figures ({units[row]}: its figures equal the sum of the "
                f"{n} units under it in this export); skipped", row, column)
        for row, n in sorted(subtotals.items())
    ]
    kept = [i for i, row in enumerate(chunk.figure_rows) if row not in subtotals]
    chunk.figures = [chunk.figures[i] for i in kept]
    chunk.figure_rows = [chunk.figure_rows[i] for i in kept]
    chunk.rows_read -= len(subtotals)
    chunk.rows_skipped += len(subtotals)
    return chunk
