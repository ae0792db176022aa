"""Automatic monitoring points (PRODUCT.md §2.3): an item linked to an indicator scores max_points × achievement,
clamped to max_points, from the same arithmetic as GET /v1/values. No target or no data → not assessed.

The entries are submitted in the name of the item's first lead unit and counted once the 专班 verifies them,
like any other; each keeps the indicator figures behind it (`basis`)."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import clock
from shared.core.errors import InvalidInput, Problem
from shared.core.periods import parse_period
from shared.core.settings import ScoringSettings
from shared.schemes.store import SchemeTree
from shared.schemes.types import MethodKind
from shared.scores import assess
from shared.scores import store as score_store
from shared.values import query as value_query


def points_for(max_points: Fraction, achievement: float) -> Fraction:
    """max × achievement, never above the maximum nor below 0."""
    return min(max(max_points * Fraction(str(achievement)), Fraction(0)), max_points)  # the float as printed


async def score_linked_items(
    session: AsyncSession, tree: SchemeTree, period: str, *, scoring: ScoringSettings, only_lead: str | None, actor: str
) -> list[int]:
    """Submit automatic points for every linked item (of `only_lead`'s items, for an assessor) and unit."""
    if (complaint := assess.check_period(period, tree.scheme.year)) is not None:
        raise InvalidInput(complaint, [Problem(complaint, field="period")])
    monitoring = next(m for m in tree.methods if m.kind == MethodKind.ITEMS)
    ids: list[int] = []
    for item in tree.all_items():
        leads = [x.code for x in tree.leads.get(item.id, [])]
        if item.indicator_code is None or not leads or (only_lead is not None and only_lead not in leads):
            continue
        lead = only_lead or leads[0]
        for org, (unit, _) in tree.units.items():
            if (item.number, org) in tree.excluded:
                continue
            (row,) = await value_query.values(
                session,
                indicator_codes=[item.indicator_code],
                org=org,
                children=False,
                periods=[parse_period(period)],
                scoring=scoring,
            )
            v = row.value
            if v.achievement is None or v.target is None:
                continue  # no target or no data: not assessed
            points = points_for(tree.maxima.items[item.number].points, v.achievement)
            basis = {
                "indicator": item.indicator_code,
                "period": period,
                "value": v.value,
                "numerator": v.numerator,
                "denominator": v.denominator,
                "target": {
                    "comparator": v.target.comparator,
                    "number": v.target.number,
                    "year": v.target.year,
                    "derived": v.target.derived,
                },
                "achievement": v.achievement,
                "formula": v.formula,
                "points": str(points),
            }
            ids.append(
                await score_store.add_automatic(
                    session,
                    tree,
                    item=item,
                    org_id=unit.id,
                    lead=lead,
                    period=period,
                    method_id=monitoring.id,
                    points=points,
                    basis=basis,
                    actor=actor,
                    at=clock.now(),
                )
            )
    return ids
