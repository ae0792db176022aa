"""All SQL about org units, their aliases and their closure table. Roll-ups follow a tree change through
shared.observations.org_tree.change_tree (a higher layer), never from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.errors import InvalidInput, NotFound, Problem
from shared.org_units import codes, divisions
from shared.org_units.models import OrgUnit, OrgUnitAlias, OrgUnitPath

EPOCH = date(2000, 1, 1)  # valid_from of a unit whose start the source does not give


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


@dataclass(frozen=True)
class AliasSpec:
    code: str
    alias: str
    product_reading: bool = False
    note: str | None = None


@dataclass(frozen=True)
class TreeChange:
    """What one change of the org tree did, unit by unit."""

    added: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0
    aliases: int = 0  # alias rows inserted or changed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.closed or self.aliases)

    def summary(self) -> str:
        return (f"{self.added} added, {self.updated} updated, {self.closed} closed, {self.unchanged} unchanged"
                + (f", {self.aliases} aliases written" if self.aliases else ""))


async def upsert_units(session: AsyncSession, specs: Sequence[UnitSpec]) -> int:
    """Insert or update units (parents first) and rebuild the closure table. Returns how many changed."""
    added, updated = await _upsert(session, specs, keep_valid_from=False)
    if added or updated:
        await rebuild_paths(session)
    return added + updated


async def apply_tree(
    session: AsyncSession,
    specs: Sequence[UnitSpec],
    *,
    aliases: Sequence[AliasSpec] = (),
    close_under: Sequence[str] = (),
    today: date,
) -> TreeChange:
    """Bring the tree to `specs` (parents first): add, update names/parents/kinds, reopen a unit listed again.
    Regions and zones under a `close_under` root that `specs` no longer lists are closed (valid_to = today),
    never deleted — history keeps its units — and departments are never closed this way.

    Only the tree: a caller that may hold figures uses shared.observations.org_tree.change_tree, which also
    rebuilds the roll-up pre-aggregates."""
    added, updated = await _upsert(session, specs, keep_valid_from=True)
    closed = await _close_missing(session, {s.code for s in specs}, close_under, today)
    alias_count = await _put_aliases(session, aliases)
    if added or updated or closed:
        await rebuild_paths(session)
    return TreeChange(added, updated, closed, len(specs) - added - updated, alias_count)


async def check_parents(session: AsyncSession, rows: Sequence[divisions.Division]) -> None:
    """Every parent_code is in the file or already in the database; else InvalidInput naming the row."""
    in_file = {d.code for d in rows}
    wanted = {d.parent_code for d in rows if d.parent_code and d.parent_code not in in_file}
    known = set((await session.execute(select(OrgUnit.code).where(OrgUnit.code.in_(wanted)))).scalars())
    for d in rows:
        if d.parent_code and d.parent_code not in in_file and d.parent_code not in known:
            message = f"parent {d.parent_code} is neither in the file nor in the database"
            raise InvalidInput(f"row {d.row}, column parent_code: {message}", [Problem(message, d.row, "parent_code")])


async def _close_missing(session: AsyncSession, listed: set[str], roots: Sequence[str], today: date) -> int:
    if not roots:
        return 0
    units = (
        await session.execute(
            select(OrgUnit).where(OrgUnit.kind.in_(("region", "zone")), OrgUnit.valid_to.is_(None))
        )
    ).scalars()
    closed = 0
    for unit in units:
        if unit.code in listed or not codes.is_division_code(unit.code):
            continue
        if any(divisions.within(unit.code, root) for root in roots):
            unit.valid_to = today
            closed += 1
    await session.flush()
    return closed


async def _put_aliases(session: AsyncSession, aliases: Sequence[AliasSpec]) -> int:
    if not aliases:
        return 0
    by_code = await units_by_code(session)
    existing = {a.alias: a for a in (await session.execute(select(OrgUnitAlias))).scalars()}
    changed = 0
    for spec in aliases:
        if spec.code not in by_code:
            raise NotFound(f"alias {spec.alias!r} names unit '{spec.code}', which does not exist")
        fields = {"org_id": by_code[spec.code].id, "product_reading": spec.product_reading, "note": spec.note}
        row = existing.get(spec.alias)
        if row is None:
            session.add(OrgUnitAlias(alias=spec.alias, **fields))
            changed += 1
        elif any(getattr(row, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(row, k, v)
            changed += 1
    await session.flush()
    return changed


async def _upsert(session: AsyncSession, specs: Sequence[UnitSpec], *, keep_valid_from: bool) -> tuple[int, int]:
    """Insert or update units, parents first; (added, updated). With keep_valid_from an existing unit keeps
    its start date when the spec gives none (an official list does not say when a unit began)."""
    by_code = await units_by_code(session)
    added = updated = 0
    for spec in specs:
        parent_id = None
        if spec.parent is not None:
            if spec.parent not in by_code:
                raise NotFound(f"parent '{spec.parent}' of unit '{spec.code}' is not defined before it")
            parent_id = by_code[spec.parent].id
        unit = by_code.get(spec.code)
        start = spec.valid_from or (unit.valid_from if keep_valid_from and unit is not None else EPOCH)
        fields = {
            "name": spec.name,
            "kind": spec.kind,
            "level": spec.level,
            "parent_id": parent_id,
            "valid_from": start,
            "valid_to": spec.valid_to,
        }
        if unit is None:
            unit = OrgUnit(code=spec.code, **fields)
            session.add(unit)
            by_code[spec.code] = unit
            added += 1
            await session.flush()  # its id is needed by the children that follow
        elif any(getattr(unit, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(unit, k, v)
            updated += 1
    await session.flush()
    return added, updated


async def find_by_name(session: AsyncSession, name: str) -> OrgUnit | None:
    """The unit an official name or an alias (稀土高新区, 达茂旗, 审批服务局) denotes, after stripping whitespace;
    a currently valid unit before a closed one of the same name, then the most recently closed."""
    text = "".join(name.split())
    if not text:
        return None
    aliased = select(OrgUnitAlias.org_id).where(OrgUnitAlias.alias == text)
    rows = (
        await session.execute(
            select(OrgUnit)
            .where(or_(OrgUnit.name == text, OrgUnit.id.in_(aliased)))
            .order_by(OrgUnit.valid_to.is_not(None), OrgUnit.valid_to.desc(), OrgUnit.code)
        )
    ).scalars()
    return next(iter(rows), None)


async def names_to_codes(session: AsyncSession) -> dict[str, str]:
    """Official name and alias → code, for mapping named rows (collector exports, seed lead units). A name
    held by several units maps to a currently valid one; an alias beats an official name it repeats."""
    units = (
        await session.execute(select(OrgUnit.name, OrgUnit.code, OrgUnit.valid_to).order_by(OrgUnit.code))
    ).all()
    found: dict[str, str] = {}
    for name, code, _valid_to in sorted(units, key=lambda u: u.valid_to is None):  # valid ones written last
        found[name] = code
    aliases = await session.execute(
        select(OrgUnitAlias.alias, OrgUnit.code).join(OrgUnit, OrgUnit.id == OrgUnitAlias.org_id)
    )
    found.update({alias: code for alias, code in aliases})
    return found


async def aliases_of(session: AsyncSession, code: str) -> Sequence[OrgUnitAlias]:
    unit = await get_by_code(session, code)
    stmt = select(OrgUnitAlias).where(OrgUnitAlias.org_id == unit.id).order_by(OrgUnitAlias.alias)
    rows = await session.execute(stmt)
    return rows.scalars().all()


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
