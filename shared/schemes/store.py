"""All SQL about reading schemes (the tree with effective maxima) and changing them: splits (分值 of groups/items
the seed leaves open) and applicability (which units undertake an item). Loading a scheme file: `load.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.core import clock
from shared.core.errors import InvalidInput, NotFound, Problem
from shared.org_units.models import OrgUnit
from shared.revisions import store as revisions
from shared.schemes import rules as scheme_rules
from shared.schemes.models import (
    ItemExclusion,
    Scheme,
    SchemeGroup,
    SchemeItem,
    SchemeItemLead,
    SchemeMethod,
    SchemeSection,
    SchemeUnit,
)
from shared.schemes.types import RankingKind


@dataclass(frozen=True)
class Lead:
    code: str
    name: str
    seed_name: str
    org_id: int


@dataclass
class SchemeTree:
    """A scheme as read: its rows, lead units per item, units assessed, exclusions and effective maxima."""

    scheme: Scheme
    jurisdiction: OrgUnit
    methods: list[SchemeMethod]
    sections: list[SchemeSection]
    groups: dict[int, list[SchemeGroup]]  # section id → groups
    items: dict[int, list[SchemeItem]]  # group id → items
    leads: dict[int, list[Lead]]  # item id → lead units
    units: dict[str, tuple[OrgUnit, RankingKind]]  # code → (unit, ranking kind)
    excluded: set[tuple[int, str]]  # (item number, org code)
    maxima: scheme_rules.Maxima = field(default_factory=scheme_rules.Maxima)
    verifier: OrgUnit | None = None  # the 专班

    def all_items(self) -> list[SchemeItem]:
        return [i for s in self.sections for g in self.groups[s.id] for i in self.items[g.id]]

    def item(self, number: int) -> SchemeItem | None:
        return next((i for i in self.all_items() if i.number == number), None)

    def method(self, code: str) -> SchemeMethod | None:
        return next((m for m in self.methods if m.code == code), None)

    def code_of(self, org_id: int | None) -> str | None:
        """The code of a unit assessed (e.g. the key's own unit), or None."""
        return next((code for code, (unit, _) in self.units.items() if unit.id == org_id), None)

    def group_label(self, group: SchemeGroup) -> str:
        section = next(s for s in self.sections if s.id == group.section_id)
        return f"{section.number}{group.number}"


async def revision(session: AsyncSession, scheme_id: int) -> int:
    """The scheme's revision (what cached results are keyed by); NotFound for an unknown scheme."""
    found = await session.scalar(select(Scheme.revision).where(Scheme.id == scheme_id))
    if found is None:
        raise NotFound(f"scheme {scheme_id} does not exist; GET /v1/schemes lists them")
    return found


async def changed(session: AsyncSession, scheme_id: int | None = None) -> None:
    """Count a scheme's revision up (every scheme's when None: an org-tree change), in the writing transaction."""
    stmt = update(Scheme).values(revision=Scheme.revision + 1)
    await session.execute(stmt if scheme_id is None else stmt.where(Scheme.id == scheme_id))
    await revisions.changed(session)  # scores and ranks on the dashboard


async def list_schemes(session: AsyncSession) -> Sequence[tuple[Scheme, OrgUnit]]:
    rows = await session.execute(
        select(Scheme, OrgUnit).join(OrgUnit, OrgUnit.id == Scheme.jurisdiction_id).order_by(Scheme.id)
    )
    return [(s, o) for s, o in rows]


async def get_tree(session: AsyncSession, scheme_id: int) -> SchemeTree:
    """The whole scheme in five statements, with every item's effective maximum."""
    scheme = await session.get(Scheme, scheme_id)
    if scheme is None:
        raise NotFound(f"scheme {scheme_id} does not exist; GET /v1/schemes lists them")
    jurisdiction = await session.get(OrgUnit, scheme.jurisdiction_id)
    assert jurisdiction is not None
    methods = list(
        (
            await session.execute(
                select(SchemeMethod).where(SchemeMethod.scheme_id == scheme_id).order_by(SchemeMethod.position)
            )
        ).scalars()
    )
    sections = list(
        (
            await session.execute(
                select(SchemeSection).where(SchemeSection.scheme_id == scheme_id).order_by(SchemeSection.position)
            )
        ).scalars()
    )
    groups: dict[int, list[SchemeGroup]] = {s.id: [] for s in sections}
    group_rows = await session.execute(
        select(SchemeGroup).where(SchemeGroup.section_id.in_(groups)).order_by(SchemeGroup.position)
    )
    for g in group_rows.scalars():
        groups[g.section_id].append(g)
    items: dict[int, list[SchemeItem]] = {g.id: [] for gs in groups.values() for g in gs}
    for i in (
        await session.execute(select(SchemeItem).where(SchemeItem.scheme_id == scheme_id).order_by(SchemeItem.number))
    ).scalars():
        items[i.group_id].append(i)
    tree = SchemeTree(scheme, jurisdiction, methods, sections, groups, items, {}, {}, set())
    tree.verifier = await session.get(OrgUnit, scheme.verifier_id) if scheme.verifier_id else None
    await _read_people(session, tree)
    tree.maxima = scheme_rules.maxima(_tree_defs(tree))
    return tree


async def _read_people(session: AsyncSession, tree: SchemeTree) -> None:
    """Lead units, units assessed and exclusions of a tree."""
    scheme_id = tree.scheme.id
    leads = await session.execute(
        select(SchemeItemLead.item_id, OrgUnit.code, OrgUnit.name, SchemeItemLead.seed_name, OrgUnit.id)
        .join(OrgUnit, OrgUnit.id == SchemeItemLead.org_id)
        .join(SchemeItem, SchemeItem.id == SchemeItemLead.item_id)
        .where(SchemeItem.scheme_id == scheme_id)
        .order_by(SchemeItemLead.item_id, SchemeItemLead.position)
    )
    for item_id, code, name, seed_name, org_id in leads:
        tree.leads.setdefault(item_id, []).append(Lead(code, name, seed_name, org_id))
    units = await session.execute(
        select(OrgUnit, SchemeUnit.ranking_kind)
        .join(SchemeUnit, SchemeUnit.org_id == OrgUnit.id)
        .where(SchemeUnit.scheme_id == scheme_id)
        .order_by(OrgUnit.code)
    )
    tree.units = {u.code: (u, RankingKind(k)) for u, k in units}
    excluded = await session.execute(
        select(SchemeItem.number, OrgUnit.code)
        .join(ItemExclusion, ItemExclusion.item_id == SchemeItem.id)
        .join(OrgUnit, OrgUnit.id == ItemExclusion.org_id)
        .where(SchemeItem.scheme_id == scheme_id)
    )
    tree.excluded = {(n, c) for n, c in excluded}


def _tree_defs(
    tree: SchemeTree, overrides: dict[tuple[str, Any], Decimal | None] | None = None
) -> list[scheme_rules.SectionDef]:
    """The tree as rule input; `overrides` replaces splits (("group", id) / ("item", id) → points) for a check."""
    over = overrides or {}

    def split(kind: str, row: SchemeGroup | SchemeItem) -> Decimal | None:
        return over.get((kind, row.id), row.split_points)

    return [
        scheme_rules.SectionDef(
            s.number,
            s.points,
            [
                scheme_rules.GroupDef(
                    g.number,
                    [scheme_rules.ItemDef(i.number, i.points, split("item", i)) for i in tree.items[g.id]],
                    g.points,
                    split("group", g),
                )
                for g in tree.groups[s.id]
            ],
        )
        for s in tree.sections
    ]


@dataclass(frozen=True)
class Split:
    """Points for a group ("六（一）") or an item the seed leaves without points; None clears a split."""

    points: Decimal | None
    group: str | None = None
    item: int | None = None


def resolve_splits(
    tree: SchemeTree, splits: Sequence[Split]
) -> tuple[dict[tuple[str, Any], Decimal | None], list[Problem]]:
    """Which rows the splits address, and what is wrong with them (unknown, named twice, or points the seed
    already gives)."""
    targets: dict[tuple[str, Any], Decimal | None] = {}
    problems: list[Problem] = []
    by_label = {tree.group_label(g): g for gs in tree.groups.values() for g in gs}
    total, places = scheme_rules.TOTAL_POINTS, scheme_rules.POINT_PLACES
    for row, s in enumerate(splits):
        if s.points is not None and not (0 <= s.points <= total and scheme_rules.within_places(s.points, places)):
            problems.append(Problem(f"points must be 0 … {total} (a part of a {total}-point scheme) with at most "
                                    f"{places} decimals", row=row, field="points"))
        if s.group is not None and s.item is not None:
            problems.append(Problem("name a group or an item, not both", row=row, field="item"))
        elif s.group is not None:
            group = by_label.get(s.group)
            if group is None:
                problems.append(
                    Problem(f"no group '{s.group}'; groups are named like 六（一）", row=row, field="group")
                )
            elif group.points is not None:
                problems.append(Problem(f"group {s.group} has its points from the seed", row=row, field="group"))
            else:
                _target(targets, ("group", group.id), s.points, row, problems)
        elif s.item is not None:
            item = tree.item(s.item)
            if item is None:
                problems.append(Problem(f"no item {s.item} in this scheme", row=row, field="item"))
            elif item.points is not None:
                problems.append(Problem(f"item {s.item} has its points from the seed", row=row, field="item"))
            else:
                _target(targets, ("item", item.id), s.points, row, problems)
        else:
            problems.append(Problem("name a group or an item", row=row))
    return targets, problems


def _target(
    targets: dict[tuple[str, Any], Decimal | None], key: tuple[str, Any], points: Decimal | None, row: int,
    problems: list[Problem],
) -> None:
    # The same group or item twice in one body is ambiguous (which points?): refused, as repeated assessments are.
    if key in targets:
        problems.append(Problem(f"splits the same {key[0]} as an earlier row; give each once", row=row, field=key[0]))
    targets[key] = points


async def set_splits(
    session: AsyncSession, tree: SchemeTree, targets: dict[tuple[str, Any], Decimal | None], *, actor: str
) -> None:
    """Apply splits after checking that every level still adds up (refused with the level and the difference)."""
    problems = scheme_rules.maxima(_tree_defs(tree, targets)).problems
    if problems:
        raise InvalidInput("the split does not add up: " + "; ".join(p.message for p in problems), problems)
    rows: dict[tuple[str, Any], SchemeGroup | SchemeItem] = {
        **{("group", g.id): g for gs in tree.groups.values() for g in gs},
        **{("item", i.id): i for i in tree.all_items()},
    }
    for key, points in targets.items():
        row = rows[key]
        before = row.split_points
        row.split_points = points
        label = tree.group_label(row) if isinstance(row, SchemeGroup) else f"item {row.number}"
        await audit.record(
            session,
            actor=actor,
            action="split",
            entity="scheme",
            entity_key=f"{tree.scheme.id}:{label}",
            before={"points": _num(before)},
            after={"points": _num(points)},
        )
    await changed(session, tree.scheme.id)
    await session.flush()


async def set_applicability(
    session: AsyncSession,
    tree: SchemeTree,
    changes: Sequence[tuple[SchemeItem, OrgUnit, bool, str | None]],
    *,
    actor: str,
) -> None:
    """Mark items (not) applicable to units: (item, unit, applicable, reason)."""
    for item, unit, applicable, reason in changes:
        await session.execute(
            delete(ItemExclusion).where(ItemExclusion.item_id == item.id, ItemExclusion.org_id == unit.id)
        )
        if not applicable:
            session.add(ItemExclusion(item_id=item.id, org_id=unit.id, reason=reason, set_by=actor, set_at=clock.now()))
        await audit.record(
            session,
            actor=actor,
            action="applicability",
            entity="scheme",
            entity_key=f"{tree.scheme.id}:{item.number}:{unit.code}",
            after={"applicable": applicable, "reason": reason},
        )
    await changed(session, tree.scheme.id)
    await session.flush()


def _num(x: Decimal | None) -> str | None:
    return None if x is None else f"{x.normalize():f}"
