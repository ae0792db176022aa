"""The one way to change the org tree once figures may exist: apply the change, then rebuild the region-level
roll-up pre-aggregates (rollup_months), which sum over org_unit_paths. Used by the seed load and the import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from shared.observations import preaggregate
from shared.org_units import divisions
from shared.org_units import store as org_store
from shared.schemes import store as scheme_store


async def change_tree(
    session: AsyncSession,
    specs: Sequence[org_store.UnitSpec],
    *,
    aliases: Sequence[org_store.AliasSpec] = (),
    close_under: Sequence[str] = (),
    today: date,
) -> org_store.TreeChange:
    """org_store.apply_tree, and when a unit was added, moved, renamed or closed, rebuild every roll-up
    (a street moved to another county must count in its new county's figures from now on)."""
    change = await org_store.apply_tree(session, specs, aliases=aliases, close_under=close_under, today=today)
    if change.added or change.updated or change.closed:
        await preaggregate.rebuild_all_rollups(session)
        await scheme_store.changed(session)  # names and units in computed scores
    return change


async def import_divisions(
    session: AsyncSession, text: str, *, prefix: str | None = None, today: date
) -> org_store.TreeChange:
    """Import an official division list (shared.org_units.divisions), whole or the subtree of `prefix`:
    regions and zones under the imported roots that the list no longer names are closed. A bad file raises
    InvalidInput (row, column) before anything is written."""
    rows = divisions.parse(text, prefix=prefix)
    await org_store.check_parents(session, rows)
    listed = {d.code for d in rows}
    roots = [divisions.root_code(prefix)] if prefix else [d.code for d in rows if d.parent_code not in listed]
    return await change_tree(session, unit_specs(rows), close_under=roots, today=today)


def unit_specs(rows: Sequence[divisions.Division]) -> list[org_store.UnitSpec]:
    return [org_store.UnitSpec(d.code, d.name, d.kind, d.level, d.parent_code) for d in rows]
