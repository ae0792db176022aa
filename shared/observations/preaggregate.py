"""The pre-aggregates kept in step with every figure write (PRODUCT.md §6: roll-ups in milliseconds):
`observation_months` per unit × month and `rollup_months` per region × month, plus the reporting levels.
Driven by `store.FigureWriter` inside its transaction (start → note per chunk → refresh once); never on its own."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.db import analyze_temp_table, month_start_sql, reset_temp_table

TOUCHED = "_obs_touched"


async def start(session: AsyncSession) -> None:
    """Begin a write: no (indicator, unit, month) touched yet."""
    await reset_temp_table(
        session, TOUCHED, "indicator_id integer, org_id integer, month date, next_month date, "
        "PRIMARY KEY (indicator_id, org_id, month)"
    )


async def note(session: AsyncSession, stage: str) -> None:
    """Remember the (indicator, unit, month)s of the figures in `stage`; `refresh` rebuilds them all at once."""
    dialect = (await session.connection()).dialect.name
    await session.execute(
        text(
            f"INSERT INTO {TOUCHED} SELECT DISTINCT indicator_id, org_id, {month_start_sql(dialect, 'obs_date')}, "
            f"{month_start_sql(dialect, 'obs_date', next_month=True)} FROM {stage} WHERE true ON CONFLICT DO NOTHING"
        )
    )


async def refresh(session: AsyncSession) -> None:
    """Rebuild the pre-aggregate rows of every (indicator, unit, month) noted since `start`."""
    await analyze_temp_table(session, "_obs_touched")
    await session.execute(
        text(
            "DELETE FROM observation_months WHERE EXISTS (SELECT 1 FROM _obs_touched t WHERE "
            "t.indicator_id = observation_months.indicator_id AND t.org_id = observation_months.org_id "
            "AND t.month = observation_months.month)"
        )
    )
    # A date range (not month_of(obs_date) = month) so the primary-key index on observations is used.
    await session.execute(
        text("""
        INSERT INTO observation_months (indicator_id, org_id, month, days, sum_numerator, sum_denominator,
            sum_value, last_date, last_numerator, last_denominator, last_value)
        SELECT indicator_id, org_id, month, count(*), sum(numerator), sum(denominator), sum(value),
            max(obs_date), max(CASE WHEN rn = 1 THEN numerator END), max(CASE WHEN rn = 1 THEN denominator END),
            max(CASE WHEN rn = 1 THEN value END)
        FROM (SELECT o.indicator_id, o.org_id, t.month, o.obs_date, o.numerator, o.denominator, o.value,
                     row_number() OVER (PARTITION BY o.indicator_id, o.org_id, t.month
                                        ORDER BY o.obs_date DESC) AS rn
              FROM observations o JOIN _obs_touched t ON o.indicator_id = t.indicator_id
                   AND o.org_id = t.org_id AND o.obs_date >= t.month AND o.obs_date < t.next_month) ranked
        GROUP BY indicator_id, org_id, month""")
    )
    await reset_temp_table(session, "_obs_touched_up", "indicator_id integer, org_id integer, month date")
    await session.execute(
        text(
            "INSERT INTO _obs_touched_up SELECT DISTINCT t.indicator_id, p.ancestor_id, t.month "
            "FROM _obs_touched t JOIN org_unit_paths p ON p.descendant_id = t.org_id"
        )
    )
    await analyze_temp_table(session, "_obs_touched_up")
    await _rebuild_rollups(session, "_obs_touched_up")
    await session.execute(
        text(
            "INSERT INTO indicator_levels (indicator_id, level) SELECT DISTINCT t.indicator_id, u.level "
            "FROM _obs_touched t JOIN org_units u ON u.id = t.org_id WHERE u.level IS NOT NULL "
            "ON CONFLICT DO NOTHING"
        )
    )


_ROLLUP_INSERT = """
    INSERT INTO rollup_months (indicator_id, org_id, month, units, sum_numerator, sum_denominator, sum_value,
        last_numerator, last_denominator, last_value)
    SELECT a.indicator_id, a.org_id, a.month, count(*), sum(m.sum_numerator), sum(m.sum_denominator),
        sum(m.sum_value), sum(m.last_numerator), sum(m.last_denominator), sum(m.last_value)
    FROM {keys} a JOIN org_unit_paths p ON p.ancestor_id = a.org_id
    JOIN observation_months m ON m.indicator_id = a.indicator_id AND m.org_id = p.descendant_id AND m.month = a.month
    GROUP BY a.indicator_id, a.org_id, a.month"""


async def _rebuild_rollups(session: AsyncSession, keys: str) -> None:
    """Recompute the region-level rows named in the scratch table `keys` (indicator_id, org_id, month)."""
    await session.execute(
        text(
            f"DELETE FROM rollup_months WHERE EXISTS (SELECT 1 FROM {keys} a WHERE "
            "a.indicator_id = rollup_months.indicator_id AND a.org_id = rollup_months.org_id "
            "AND a.month = rollup_months.month)"
        )
    )
    await session.execute(text(_ROLLUP_INSERT.format(keys=keys)))


async def rebuild_all_rollups(session: AsyncSession) -> None:
    """Recompute every region-level row and the reporting levels from `observation_months`: after the org
    tree changed (org_unit_paths rebuilt), or after figures were bulk-loaded around the write path."""
    await session.execute(text("DELETE FROM rollup_months"))
    await reset_temp_table(session, "_obs_touched_up", "indicator_id integer, org_id integer, month date")
    await session.execute(
        text(
            "INSERT INTO _obs_touched_up SELECT DISTINCT m.indicator_id, p.ancestor_id, m.month "
            "FROM observation_months m JOIN org_unit_paths p ON p.descendant_id = m.org_id"
        )
    )
    await session.execute(text(_ROLLUP_INSERT.format(keys="_obs_touched_up")))
    await session.execute(
        text(
            "INSERT INTO indicator_levels (indicator_id, level) SELECT DISTINCT m.indicator_id, u.level "
            "FROM observation_months m JOIN org_units u ON u.id = m.org_id WHERE u.level IS NOT NULL "
            "ON CONFLICT DO NOTHING"
        )
    )
