"""SQL sums over a unit's subtree × a period (PRODUCT.md §2.1): numerators and denominators are summed,
never ratios averaged; `last` indicators take each unit's latest figure in the period first; rollup `none`
reads the unit's own figure only. Month-or-longer periods read the monthly pre-aggregate, days the raw table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.periods import Period


@dataclass(frozen=True)
class Basis:
    numerator: float | None
    denominator: float | None
    value_sum: float | None
    units_reporting: int


def _source(period: Period, time_aggregation: str) -> str:
    """A subquery of one row per reporting unit with its figure for the period."""
    if period.granularity == "day":
        return (
            "SELECT org_id, numerator AS num, denominator AS den, value AS val FROM observations "
            "WHERE indicator_id = :ind AND obs_date = :start"
        )
    if time_aggregation == "sum":
        return (
            "SELECT org_id, sum(sum_numerator) AS num, sum(sum_denominator) AS den, sum(sum_value) AS val "
            "FROM observation_months WHERE indicator_id = :ind AND month BETWEEN :start AND :end "
            "GROUP BY org_id"
        )
    return (
        "SELECT org_id, last_numerator AS num, last_denominator AS den, last_value AS val FROM ("
        "SELECT org_id, last_numerator, last_denominator, last_value, row_number() OVER "
        "(PARTITION BY org_id ORDER BY month DESC) AS rn FROM observation_months "
        "WHERE indicator_id = :ind AND month BETWEEN :start AND :end) latest WHERE rn = 1"
    )


async def rollup(
    session: AsyncSession,
    *,
    indicator_id: int,
    time_aggregation: str,
    rollup_rule: str,
    root_ids: Sequence[int],
    period: Period,
) -> dict[int, Basis]:
    """Basis per root unit: Σ over the root and its descendants (or the root alone for rollup 'none')."""
    own_only = "AND p.depth = 0" if rollup_rule == "none" else ""
    source = _source(period, time_aggregation)
    stmt = text(
        f"SELECT p.ancestor_id, sum(f.num), sum(f.den), sum(f.val), count(*) FROM ({source}) f "
        f"JOIN org_unit_paths p ON p.descendant_id = f.org_id WHERE p.ancestor_id IN :roots {own_only} "
        "GROUP BY p.ancestor_id"
    ).bindparams(bindparam("roots", expanding=True))
    rows = await session.execute(
        stmt, {"ind": indicator_id, "start": period.start, "end": period.end, "roots": list(root_ids)}
    )
    return {a: Basis(n, d, v, c) for a, n, d, v, c in rows}


async def units_expected(
    session: AsyncSession, *, indicator_id: int, rollup_rule: str, root_ids: Sequence[int], period: Period
) -> dict[int, int]:
    """Units of each subtree valid in the period at the levels that report this indicator (a street-level
    indicator expects every street, not the district's own office); rollup 'none' expects the unit alone."""
    own_only = "AND p.depth = 0" if rollup_rule == "none" else ""
    stmt = text(
        "SELECT p.ancestor_id, count(*) FROM org_unit_paths p JOIN org_units u ON u.id = p.descendant_id "
        f"WHERE p.ancestor_id IN :roots {own_only} AND u.valid_from <= :end "
        "AND (u.valid_to IS NULL OR u.valid_to >= :start) AND u.level IN ("
        "SELECT DISTINCT r.level FROM observation_months m JOIN org_units r ON r.id = m.org_id "
        "WHERE m.indicator_id = :ind) GROUP BY p.ancestor_id"
    ).bindparams(bindparam("roots", expanding=True))
    rows = await session.execute(
        stmt, {"ind": indicator_id, "start": period.start, "end": period.end, "roots": list(root_ids)}
    )
    return {a: c for a, c in rows}
