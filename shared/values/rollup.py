"""SQL sums over a unit's subtree × a period (PRODUCT.md §2.1): numerators and denominators are summed,
never ratios averaged; `last` indicators take each unit's latest figure in the period first; rollup `none`
reads the unit's own figure only. Days read the raw table; longer periods the per-unit monthly pre-aggregate,
or — when it is provably the same answer — the region-level one (a dozen rows for a province-year)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.periods import Period


@dataclass(frozen=True)
class Basis:
    """Sums over a subtree × period. Summed exactly (NUMERIC) in SQL and handed on as the nearest double:
    a JSON number, exact for every sum of up to 15 significant digits. `value_sum` sums counts' values only
    (figures without a numerator), as `sum_value` does: a ratio's value is recomputed from the sums."""

    numerator: float | None
    denominator: float | None
    value_sum: float | None
    units_reporting: int


def _number(x: Decimal | float | None) -> float | None:
    return None if x is None else float(x)


def _basis(num: Decimal | float | None, den: Decimal | float | None, val: Decimal | float | None, units: int) -> Basis:
    return Basis(_number(num), _number(den), _number(val), units)


def _source(period: Period, time_aggregation: str) -> str:
    """A subquery of one row per reporting unit with its figure for the period."""
    if period.granularity == "day":
        return (
            "SELECT org_id, numerator AS num, denominator AS den, CASE WHEN numerator IS NULL THEN value END AS val "
            "FROM observations "
            "WHERE indicator_id = :ind AND obs_date = :start"
        )
    if time_aggregation == "sum":
        return (
            "SELECT org_id, sum(sum_numerator) AS num, sum(sum_denominator) AS den, sum(sum_value) AS val "
            "FROM observation_months WHERE indicator_id = :ind AND month BETWEEN :start AND :end "
            "GROUP BY org_id"
        )
    return _latest_month("observation_months", "last_numerator AS num, last_denominator AS den, "
                         "CASE WHEN last_numerator IS NULL THEN last_value END AS val")


def _latest_month(table: str, columns: str, where: str = "") -> str:
    """Each org's row of the latest month in the period that has one (for `last` indicators)."""
    return (
        f"SELECT org_id, {columns} FROM (SELECT *, row_number() OVER (PARTITION BY org_id ORDER BY month DESC) "
        f"AS rn FROM {table} WHERE indicator_id = :ind {where} AND month BETWEEN :start AND :end) latest WHERE rn = 1"
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
        "SELECT p.ancestor_id, sum(CAST(f.num AS NUMERIC)), sum(CAST(f.den AS NUMERIC)), "
        f"sum(CAST(f.val AS NUMERIC)), count(*) FROM ({source}) f "
        f"JOIN org_unit_paths p ON p.descendant_id = f.org_id WHERE p.ancestor_id IN :roots {own_only} "
        "GROUP BY p.ancestor_id"
    ).bindparams(bindparam("roots", expanding=True))
    rows = await session.execute(
        stmt, {"ind": indicator_id, "start": period.start, "end": period.end, "roots": list(root_ids)}
    )
    return {a: _basis(n, d, v, c) for a, n, d, v, c in rows}


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
        "SELECT level FROM indicator_levels WHERE indicator_id = :ind) GROUP BY p.ancestor_id"
    ).bindparams(bindparam("roots", expanding=True))
    rows = await session.execute(
        stmt, {"ind": indicator_id, "start": period.start, "end": period.end, "roots": list(root_ids)}
    )
    return {a: c for a, c in rows}


def _region_source(time_aggregation: str) -> str:
    if time_aggregation == "sum":
        return (
            "SELECT org_id, sum(sum_numerator), sum(sum_denominator), sum(sum_value), max(units), count(*) "
            "FROM rollup_months WHERE indicator_id = :ind AND org_id IN :roots AND month BETWEEN :start AND :end "
            "GROUP BY org_id"
        )
    return _latest_month(
        "rollup_months", "last_numerator, last_denominator, last_value, units, 1", "AND org_id IN :roots"
    )


async def rolled_up(
    session: AsyncSession,
    *,
    indicator_id: int,
    time_aggregation: str,
    rollup_rule: str,
    root_ids: Sequence[int],
    period: Period,
) -> tuple[dict[int, Basis], dict[int, int]]:
    """(basis per root, units expected per root). Reads the region-level pre-aggregate where its answer is
    exact and falls back to the per-unit roll-up for the roots where it cannot be proven so."""
    expected = await units_expected(
        session, indicator_id=indicator_id, rollup_rule=rollup_rule, root_ids=root_ids, period=period
    )
    if rollup_rule == "none" or period.granularity == "day":
        return await rollup(
            session,
            indicator_id=indicator_id,
            time_aggregation=time_aggregation,
            rollup_rule=rollup_rule,
            root_ids=root_ids,
            period=period,
        ), expected
    stmt = text(_region_source(time_aggregation)).bindparams(bindparam("roots", expanding=True))
    rows = await session.execute(
        stmt, {"ind": indicator_id, "start": period.start, "end": period.end, "roots": list(root_ids)}
    )
    bases: dict[int, Basis] = {}
    unsure: list[int] = []
    # Roots without region rows: units without descendants (their own monthly rows are read by the per-unit
    # roll-up, see preaggregate._HAS_CHILDREN), or no figures at all.
    missing = set(root_ids)
    for org_id, num, den, val, units, months in rows:
        missing.discard(org_id)
        # Exact when one month is read, or when every expected unit reported in the month(s) read: then
        # `units` is the distinct count (sum) and each unit's latest figure lies in the latest month (last).
        if months == 1 and time_aggregation == "sum" or units >= expected.get(org_id, 0):
            bases[org_id] = _basis(num, den, val, units)
        else:
            unsure.append(org_id)
    unsure += sorted(missing)
    if unsure:
        bases.update(
            await rollup(
                session,
                indicator_id=indicator_id,
                time_aggregation=time_aggregation,
                rollup_rule=rollup_rule,
                root_ids=unsure,
                period=period,
            )
        )
    return bases, expected
