"""The one write path for figures (`write_observations`, used by the push API and the collector) and the SQL
that keeps the monthly pre-aggregate in step. Stage → history → merge → pre-aggregate, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.core import clock
from shared.core.db import analyze_temp_table, reset_temp_table
from shared.core.errors import InvalidInput, Problem
from shared.indicators.models import Indicator
from shared.observations import preaggregate, validate
from shared.observations.models import ObservationHistory
from shared.observations.types import ObservationIn
from shared.org_units.models import OrgUnit

STAGE = "_obs_stage"
_COLUMNS = "indicator_id, org_id, obs_date, numerator, denominator, value"


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Problem] = field(default_factory=list)


async def catalogue_maps(
    session: AsyncSession,
) -> tuple[dict[str, validate.IndicatorInfo], dict[str, validate.UnitInfo]]:
    indicators = {
        code: validate.IndicatorInfo(i, m, f)
        for code, i, m, f in await session.execute(
            select(Indicator.code, Indicator.id, Indicator.measure, Indicator.factor)
        )
    }
    units = {
        code: validate.UnitInfo(i, vf, vt)
        for code, i, vf, vt in await session.execute(
            select(OrgUnit.code, OrgUnit.id, OrgUnit.valid_from, OrgUnit.valid_to)
        )
    }
    return indicators, units


async def write_observations(
    session: AsyncSession,
    items: Sequence[ObservationIn],
    *,
    source: str,
    actor: str,
    today: date | None = None,
    partial: bool = False,
) -> WriteResult:
    """Validate every figure and write them in the caller's transaction (监测数据, PRODUCT.md §2.1).

    All-or-nothing by default: any bad row raises InvalidInput listing every problem and nothing is written.
    With partial=True (the collector) the good rows are written and the problems returned in `rejected`.
    A changed figure replaces the current one and the old one goes to observation_history; a resent identical
    figure is counted as unchanged and writes nothing.
    """
    indicators, units = await catalogue_maps(session)
    good, problems = validate.check_figures(items, indicators=indicators, units=units, today=today or clock.today())
    if problems and not partial:
        raise InvalidInput(
            f"{len({p.row for p in problems})} of {len(items)} rows are not valid; nothing was "
            "written — fix the rows listed in details and resend",
            problems,
        )
    result = WriteResult(rejected=problems)
    if good:
        await _lock_indicators(session, sorted({g.indicator_id for g in good}))
        await _stage(session, good)
        result.inserted, result.updated, result.unchanged = await _merge(session, actor=actor, source=source)
        if result.inserted or result.updated:
            await preaggregate.refresh(session, STAGE)
    await audit.record(
        session,
        actor=actor,
        action="write",
        entity="observations",
        entity_key=source,
        after={
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected_rows": len({p.row for p in problems}),
        },
    )
    return result


async def _lock_indicators(session: AsyncSession, indicator_ids: Sequence[int]) -> None:
    """Writers of the same indicator take turns (PostgreSQL advisory locks, held to the end of the transaction).

    Every write rebuilds shared pre-aggregate rows (a province's month), so two concurrent writers would
    otherwise deadlock on them. Taking the locks in ascending order cannot deadlock. SQLite's BEGIN IMMEDIATE
    already serialises writers.
    """
    if (await session.connection()).dialect.name != "postgresql":
        return
    for indicator_id in indicator_ids:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"observations:{indicator_id}"}
        )


async def _stage(session: AsyncSession, rows: Sequence[validate.CheckedFigure]) -> None:
    await reset_temp_table(
        session,
        STAGE,
        "indicator_id integer, org_id integer, obs_date date, numerator double precision, "
        "denominator double precision, value double precision",
    )
    tuples = [(r.indicator_id, r.org_id, r.date, r.numerator, r.denominator, r.value) for r in rows]
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        async with raw.cursor() as cur, cur.copy(f"COPY {STAGE} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "int4", "date", "float8", "float8", "float8"])
            for t in tuples:
                await copy.write_row(t)
    else:
        await session.execute(
            text(f"INSERT INTO {STAGE} ({_COLUMNS}) VALUES (:i, :o, :d, :n, :den, :v)"),
            [{"i": t[0], "o": t[1], "d": t[2], "n": t[3], "den": t[4], "v": t[5]} for t in tuples],
        )
    await analyze_temp_table(session, STAGE)


_CHANGED = "(o.numerator IS NOT s.numerator OR o.denominator IS NOT s.denominator OR o.value IS NOT s.value)"
_CHANGED_PG = "(o.numerator, o.denominator, o.value) IS DISTINCT FROM (s.numerator, s.denominator, s.value)"
_EXCLUDED_CHANGED = (
    "(observations.numerator IS NOT excluded.numerator OR observations.denominator IS NOT "
    "excluded.denominator OR observations.value IS NOT excluded.value)"
)
_JOIN = "o.indicator_id = s.indicator_id AND o.org_id = s.org_id AND o.obs_date = s.obs_date"


_MERGE_PG = f"""
WITH old AS MATERIALIZED (
    SELECT s.indicator_id, s.org_id, s.obs_date, s.numerator, s.denominator, s.value,
           o.indicator_id IS NOT NULL AS existed, o.indicator_id IS NOT NULL AND {_CHANGED_PG} AS changed,
           o.numerator AS o_num, o.denominator AS o_den, o.value AS o_val, o.source AS o_source,
           o.recorded_at AS o_at, o.recorded_by AS o_by
    FROM {STAGE} s LEFT JOIN observations o ON {_JOIN}
), history AS (
    INSERT INTO observation_history (indicator_id, org_id, obs_date, numerator, denominator, value, source,
                                     recorded_at, recorded_by, replaced_at, replaced_by)
    SELECT indicator_id, org_id, obs_date, o_num, o_den, o_val, o_source, o_at, o_by, :now, :actor
    FROM old WHERE changed
), merged AS (
    INSERT INTO observations ({_COLUMNS}, source, recorded_at, recorded_by)
    SELECT {_COLUMNS}, :source, :now, :actor FROM old WHERE changed OR NOT existed
    ORDER BY indicator_id, org_id, obs_date  -- index order: the upsert touches the key's pages in sequence
    ON CONFLICT (indicator_id, org_id, obs_date) DO UPDATE SET numerator = excluded.numerator,
        denominator = excluded.denominator, value = excluded.value, source = excluded.source,
        recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by
)
SELECT count(*), count(*) FILTER (WHERE existed), count(*) FILTER (WHERE changed) FROM old
"""


async def _merge(session: AsyncSession, *, actor: str, source: str) -> tuple[int, int, int]:
    """Returns (inserted, updated, unchanged). Resending known figures writes nothing."""
    pg = (await session.connection()).dialect.name == "postgresql"
    now = clock.now()
    if pg:
        # One join of the staged rows with the current figures feeds the history and the upsert (one pass).
        total, existing, updated = (
            await session.execute(text(_MERGE_PG), {"now": now, "actor": actor, "source": source})
        ).one()
        return total - existing, updated, existing - updated
    return await _merge_portable(session, actor=actor, source=source, now=now)


async def _merge_portable(session: AsyncSession, *, actor: str, source: str, now: datetime) -> tuple[int, int, int]:
    """The same merge in three statements for SQLite (no data-modifying WITH)."""
    changed = _CHANGED
    total, existing, updated = (
        await session.execute(
            text(
                f"SELECT count(*), count(o.indicator_id), "
                f"coalesce(sum(CASE WHEN o.indicator_id IS NOT NULL AND {changed} THEN 1 ELSE 0 END), 0) "
                f"FROM {STAGE} s LEFT JOIN observations o ON {_JOIN}"
            )
        )
    ).one()
    if updated:
        await session.execute(
            text(
                "INSERT INTO observation_history (indicator_id, org_id, obs_date, numerator, denominator, value, "
                "source, recorded_at, recorded_by, replaced_at, replaced_by) "
                "SELECT o.indicator_id, o.org_id, o.obs_date, o.numerator, o.denominator, o.value, o.source, "
                f"o.recorded_at, o.recorded_by, :now, :actor FROM {STAGE} s JOIN observations o ON {_JOIN} "
                f"WHERE {changed}"
            ),
            {"now": now, "actor": actor},
        )
    if total > existing or updated:
        on_conflict = (
            "DO UPDATE SET numerator = excluded.numerator, denominator = excluded.denominator, "
            "value = excluded.value, source = excluded.source, recorded_at = excluded.recorded_at, "
            f"recorded_by = excluded.recorded_by WHERE {_EXCLUDED_CHANGED}"
            if updated
            else "DO NOTHING"
        )
        await session.execute(
            text(
                f"INSERT INTO observations ({_COLUMNS}, source, recorded_at, recorded_by) "
                f"SELECT {_COLUMNS}, :source, :now, :actor FROM {STAGE} WHERE true "
                f"ON CONFLICT (indicator_id, org_id, obs_date) {on_conflict}"
            ),
            {"source": source, "now": now, "actor": actor},
        )
    return total - existing, updated, existing - updated


async def history_of(session: AsyncSession, *, indicator_id: int, org_id: int, day: date) -> list[ObservationHistory]:
    rows = await session.execute(
        select(ObservationHistory)
        .where(
            ObservationHistory.indicator_id == indicator_id,
            ObservationHistory.org_id == org_id,
            ObservationHistory.obs_date == day,
        )
        .order_by(ObservationHistory.id)
    )
    return list(rows.scalars())
