"""A scheme's scores and rankings from its stored entries: the scheme as scoring sees it, every unit's half-year or
annual score, and the units of one ranking kind in rank order."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.errors import InvalidInput, Problem
from shared.schemes.store import SchemeTree
from shared.schemes.types import MethodKind, RankingKind
from shared.scores import assess, compute
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
    session: AsyncSession, tree: SchemeTree, period: str, *, normalise: bool, orgs: Sequence[str] | None = None
) -> dict[str, compute.UnitScore]:
    """Scores of the scheme's units (or `orgs`) for a half-year ("2022H1") or the year ("2022")."""
    year = str(tree.scheme.year)
    if period != year and assess.check_period(period, tree.scheme.year) is not None:
        raise InvalidInput(
            f"period '{period}' is not {year}H1, {year}H2 or {year} of this scheme",
            [Problem("use a half-year or the scheme's year", field="period")],
        )
    halves = [f"{year}H1", f"{year}H2"] if period == year else [period]
    found = await score_store.entries(session, tree, set(halves))
    v = view(tree)
    out: dict[str, compute.UnitScore] = {}
    for org in orgs or list(tree.units):
        scored = [compute.half_year(v, org, h, found, normalise=normalise) for h in halves]
        out[org] = compute.annual(scored[0], scored[1], year) if period == year else scored[0]
    return out


def ranked(
    tree: SchemeTree, scores: dict[str, compute.UnitScore], kind: RankingKind
) -> list[tuple[compute.UnitScore, int | None]]:
    """The units of one ranking kind, best first, with competition ranks (missing totals last, unranked)."""
    mine = [s for org, s in scores.items() if tree.units[org][1] == kind]
    rank_of = compute.ranks([(s.org, s.total) for s in mine])
    mine.sort(key=lambda s: (rank_of[s.org] is None, rank_of[s.org] or 0, s.org))
    return [(s, rank_of[s.org]) for s in mine]
