"""Values for indicators × units × periods: roll-up, target, achievement and status in one call, for the API
and (later) the dashboard and scoring. Reads only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.periods import Period
from shared.core.settings import ScoringSettings
from shared.indicators import store as indicator_store
from shared.indicators.models import Indicator
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from shared.targets import resolve
from shared.targets import store as target_store
from shared.values import compute, rollup


@dataclass(frozen=True)
class ValueRow:
    indicator: Indicator
    unit: OrgUnit
    period: Period
    value: compute.Value


async def values(
    session: AsyncSession,
    *,
    indicator_codes: Sequence[str],
    org: str,
    children: bool,
    periods: Sequence[Period],
    scoring: ScoringSettings,
) -> list[ValueRow]:
    """One row per (indicator, unit, period); `children` gives the unit's direct children instead of it."""
    indicators = [await indicator_store.get_by_code(session, code) for code in indicator_codes]
    root = await org_store.get_by_code(session, org)
    units = list(await org_store.children_of(session, root.id)) if children else [root]
    if not units:
        return []
    chains = await org_store.ancestor_chains(session, [u.id for u in units])
    targets = resolve.with_derived(await target_store.stored_rows(session, indicator_codes=indicator_codes))
    out: list[ValueRow] = []
    for ind in indicators:
        explanation = compute.formula(ind.measure, ind.factor, ind.time_aggregation, ind.rollup)
        for period in periods:
            ids = [u.id for u in units]
            bases, expected = await rollup.rolled_up(
                session,
                indicator_id=ind.id,
                time_aggregation=ind.time_aggregation,
                rollup_rule=ind.rollup,
                root_ids=ids,
                period=period,
            )
            for unit in units:
                target = resolve.applicable(
                    targets,
                    indicator=ind.code,
                    chain=chains[unit.id],
                    year=period.year,
                    half=period.half or 0,
                )
                value = compute.make_value(
                    measure=ind.measure,
                    factor=ind.factor,
                    direction=ind.direction,
                    basis=bases.get(unit.id),
                    expected=expected.get(unit.id, 0),
                    target=target,
                    cap=scoring.achievement_cap,
                    near=scoring.near_threshold,
                    explanation=explanation,
                )
                out.append(ValueRow(ind, unit, period, value))
    return out
