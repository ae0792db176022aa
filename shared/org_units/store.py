"""All SQL about org units and their closure table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.errors import NotFound
from shared.org_units.models import OrgUnit, OrgUnitPath


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    level: str | None
    parent: str | None
    valid_from: date | None = None
    valid_to: date | None = None


async def get_by_code(session: AsyncSession, code: str) -> OrgUnit:
    unit = (await session.execute(select(OrgUnit).where(OrgUnit.code == code))).scalar_one_or_none()
    if unit is None:
        raise NotFound(
            f"org unit '{code}' does not exist; GET /v1/org-units lists the known codes",
            details=[{"field": "org", "value": code}],
        )
    return unit


async def list_units(
    session: AsyncSession,
    *,
    parent: str | None = None,
    subtree: str | None = None,
    level: str | None = None,
    kind: str | None = None,
) -> Sequence[OrgUnit]:
    stmt = select(OrgUnit).order_by(OrgUnit.code)
    if parent is not None:
        stmt = stmt.where(OrgUnit.parent_id == (await get_by_code(session, parent)).id)
    if subtree is not None:
        root = await get_by_code(session, subtree)
        stmt = stmt.join(OrgUnitPath, OrgUnitPath.descendant_id == OrgUnit.id).where(OrgUnitPath.ancestor_id == root.id)
    if level is not None:
        stmt = stmt.where(OrgUnit.level == level)
    if kind is not None:
        stmt = stmt.where(OrgUnit.kind == kind)
    return (await session.execute(stmt)).scalars().all()


async def codes_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    rows = await session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(ids)))
    return {i: c for i, c in rows}


async def units_by_code(session: AsyncSession) -> dict[str, OrgUnit]:
    return {u.code: u for u in (await session.execute(select(OrgUnit))).scalars()}


async def is_within(session: AsyncSession, ancestor_id: int, descendant_id: int) -> bool:
    found = await session.execute(
        select(OrgUnitPath.depth).where(
            OrgUnitPath.ancestor_id == ancestor_id, OrgUnitPath.descendant_id == descendant_id
        )
    )
    return found.first() is not None


async def subtree_ids(session: AsyncSession, root_id: int) -> set[int]:
    rows = await session.execute(select(OrgUnitPath.descendant_id).where(OrgUnitPath.ancestor_id == root_id))
    return set(rows.scalars())


async def upsert_units(session: AsyncSession, specs: Sequence[UnitSpec]) -> int:
    """Insert or update units (parents first) and rebuild the closure table. Returns how many changed."""
    by_code = await units_by_code(session)
    changed = 0
    for spec in specs:
        parent_id = None
        if spec.parent is not None:
            if spec.parent not in by_code:
                raise NotFound(f"parent '{spec.parent}' of unit '{spec.code}' is not defined before it")
            parent_id = by_code[spec.parent].id
        unit = by_code.get(spec.code)
        fields = {
            "name": spec.name,
            "kind": spec.kind,
            "level": spec.level,
            "parent_id": parent_id,
            "valid_from": spec.valid_from or date(2000, 1, 1),
            "valid_to": spec.valid_to,
        }
        if unit is None:
            unit = OrgUnit(code=spec.code, **fields)
            session.add(unit)
            by_code[spec.code] = unit
            changed += 1
        elif any(getattr(unit, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(unit, k, v)
            changed += 1
        await session.flush()
    if changed:
        await rebuild_paths(session)
    return changed


async def rebuild_paths(session: AsyncSession) -> None:
    """Recompute the closure table from the parent links (small: a province has a few thousand units)."""
    parents = {i: p for i, p in await session.execute(select(OrgUnit.id, OrgUnit.parent_id))}
    await session.execute(delete(OrgUnitPath))
    rows = []
    for unit_id in parents:
        depth = 0
        seen: set[int] = set()
        current: int | None = unit_id
        while current is not None and current not in seen:  # `seen` guards against a cycle in bad data
            seen.add(current)
            rows.append({"ancestor_id": current, "descendant_id": unit_id, "depth": depth})
            current, depth = parents[current], depth + 1
    if rows:
        await session.execute(insert(OrgUnitPath), rows)


async def ancestor_chains(
    session: AsyncSession, unit_ids: Sequence[int]
) -> dict[int, list[tuple[str, str | None, str]]]:
    """For each unit: itself and its ancestors, nearest first, as (code, level, kind) — for target scopes."""
    rows = await session.execute(
        select(OrgUnitPath.descendant_id, OrgUnit.code, OrgUnit.level, OrgUnit.kind)
        .join(OrgUnit, OrgUnit.id == OrgUnitPath.ancestor_id)
        .where(OrgUnitPath.descendant_id.in_(unit_ids))
        .order_by(OrgUnitPath.descendant_id, OrgUnitPath.depth)
    )
    chains: dict[int, list[tuple[str, str | None, str]]] = {}
    for unit_id, code, level, kind in rows:
        chains.setdefault(unit_id, []).append((code, level, kind))
    return chains


async def children_of(session: AsyncSession, unit_id: int) -> Sequence[OrgUnit]:
    rows = await session.execute(select(OrgUnit).where(OrgUnit.parent_id == unit_id).order_by(OrgUnit.code))
    return rows.scalars().all()
