"""A scheme's scores and rankings from its stored entries: the scheme as scoring sees it, every unit's half-year or
annual score, and the units of one ranking kind in rank order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.db import is_postgres
from shared.core.errors import InvalidInput, Problem
from shared.schemes.store import SchemeTree
from shared.schemes.types import MethodKind, RankingKind
from shared.scores import assess, compute, rollup
from shared.scores import store as score_store


def view(tree: SchemeTree) -> compute.SchemeView:
    section_of = {g.id: s.number for s in tree.sections for g in tree.groups[s.id]}
    return compute.SchemeView(
        methods=[compute.MethodView(m.code, m.name, Fraction(m.weight), MethodKind(m.kind)) for m in tree.methods],
        sections=[compute.SectionView(s.number, s.title, Fraction(s.points)) for s in tree.sections],
        items=[
            compute.ItemView(
                i.number,
                section_of[i.group_id],
                tree.maxima.items[i.number].points,
                tuple(x.code for x in tree.leads.get(i.id, [])),
            )
            for i in tree.all_items()
        ],
        excluded=frozenset(tree.excluded),
    )


async def unit_scores(
    session: AsyncSession,
    tree: SchemeTree,
    period: str,
    *,
    normalise: bool,
    orgs: Collection[str] | None = None,
    itemised: bool = False,
) -> dict[str, compute.UnitScore]:
    """Scores of the scheme's units (or `orgs`) for a half-year ("2022H1") or the year ("2022").

    `itemised` keeps every item's result and entries (the explanation, a publication); without it, and on
    PostgreSQL, the database sums the points (rollup.py) and the scores carry sections, not items."""
    year = str(tree.scheme.year)
    if period != year and assess.check_period(period, tree.scheme.year) is not None:
        raise InvalidInput(
            f"period '{period}' is not {year}H1, {year}H2 or {year} of this scheme",
            [Problem("use a half-year or the scheme's year", field="period")],
        )
    halves = [f"{year}H1", f"{year}H2"] if period == year else [period]
    targets = list(tree.units) if orgs is None else list(orgs)
    v = view(tree)
    if itemised or not is_postgres(session):
        org_ids = None if orgs is None else [tree.units[o][0].id for o in targets]
        by_org: dict[str, list[compute.Entry]] = defaultdict(list)
        for e in await score_store.entries(session, tree, set(halves), org_ids=org_ids):
            by_org[e.org].append(e)
        scored = {(o, h): compute.half_year(v, o, h, by_org[o], normalise=normalise) for o in targets for h in halves}
    else:
        found = await rollup.method_inputs(session, tree, v, halves, targets)
        scored = {
            (o, h): compute.scored_half_year(v, o, h, found.by_unit[(o, h)], normalise=normalise)
            if (o, h) in found.by_unit
            else compute.missing(o, h)
            for o in targets
            for h in halves
        }
    if period != year:
        return {o: scored[(o, period)] for o in targets}
    return {o: compute.annual(scored[(o, halves[0])], scored[(o, halves[1])], year) for o in targets}


async def ranking(
    session: AsyncSession, tree: SchemeTree, period: str, kind: RankingKind, *, normalise: bool
) -> list[tuple[compute.UnitScore, int | None]]:
    """The units of one ranking kind, scored and ranked."""
    mine = [org for org, (_, k) in tree.units.items() if k == kind]
    return ranked(tree, await unit_scores(session, tree, period, normalise=normalise, orgs=mine), kind)


def ranked(
    tree: SchemeTree, scores: dict[str, compute.UnitScore], kind: RankingKind
) -> list[tuple[compute.UnitScore, int | None]]:
    """The units of one ranking kind, best first, with competition ranks (missing totals last, unranked)."""
    mine = [s for org, s in scores.items() if tree.units[org][1] == kind]
    rank_of = compute.ranks([(s.org, s.total) for s in mine])
    mine.sort(key=lambda s: (rank_of[s.org] is None, rank_of[s.org] or 0, s.org))
    return [(s, rank_of[s.org]) for s in mine]
