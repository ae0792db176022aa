"""A source's unit scope (sources.yaml `scope:`): the subtree of units it may write for, and the rows outside it.

A 青山区 export must not write figures for 东河区 or 南昌市, however its rows are coded. Codes that name no unit at all
are left to validation, which reports them as unknown units.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.collector.mapping import ParsedExport
from services.collector.sources import SourceConfig, SourceMisconfigured
from shared.core.errors import NotFound, Problem
from shared.observations import subtotals as subtotal_rules
from shared.org_units import store as org_store

T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    root: str
    name: str
    inside: frozenset[str]  # codes of the root and every unit under it
    known: frozenset[str]   # every unit's code
    parent_of: Mapping[str, str] = field(default_factory=dict)  # code → its parent's code, inside the scope

    def outside(self, org: str) -> bool:
        return org in self.known and org not in self.inside

    def problem(self, org: str, row: int | None, column: str) -> Problem:
        return Problem(f"unit {org} is outside this source's scope: it may write only for {self.root} ({self.name}) "
                       "and the units under it (scope: in sources.yaml); row rejected", row, column)


async def load(session: AsyncSession, source: SourceConfig) -> Scope:
    try:
        root = await org_store.get_by_code(session, source.scope)
    except NotFound:
        message = f"scope {source.scope} of source '{source.id}' is not a known unit; correct scope: in sources.yaml"
        raise SourceMisconfigured(message, [Problem(message, field="scope")]) from None
    units = await org_store.list_units(session, subtree=source.scope)
    parent_of = subtotal_rules.parent_codes((u.code, u.id, u.parent_id) for u in units)
    return Scope(root.code, root.name, frozenset(u.code for u in units),
                 frozenset(await org_store.units_by_code(session)), parent_of)


def keep_figures(scope: Scope, chunk: ParsedExport, column: str) -> ParsedExport:
    """The chunk without figures outside the scope; each of their rows gets one error."""
    bad = _rows_outside(scope, [f.org for f in chunk.figures], chunk.figure_rows, column, chunk)
    chunk.figures, chunk.figure_rows = _without(bad, chunk.figures, chunk.figure_rows)
    return chunk


def keep_ratings(scope: Scope, whole: ParsedExport, column: str) -> ParsedExport:
    bad = _rows_outside(scope, [r.org for r in whole.ratings], whole.rating_rows, column, whole)
    whole.ratings, whole.rating_rows = _without(bad, whole.ratings, whole.rating_rows)
    return whole


def _without(bad: Collection[int], records: list[T], rows: list[int]) -> tuple[list[T], list[int]]:
    """The records (and their file rows) whose row is not in `bad`."""
    if not bad:
        return records, rows
    kept = [i for i, row in enumerate(rows) if row not in bad]
    return [records[i] for i in kept], [rows[i] for i in kept]


def _rows_outside(scope: Scope, orgs: Sequence[str], rows: Sequence[int], column: str,
                  into: ParsedExport) -> Collection[int]:
    if all(o in scope.inside for o in set(orgs)):
        return ()
    bad: dict[int, str] = {}
    for org, row in zip(orgs, rows, strict=True):
        if scope.outside(org):
            bad.setdefault(row, org)
    into.errors += [scope.problem(org, row, column) for row, org in bad.items()]
    return set(bad)
