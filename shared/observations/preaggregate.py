"""The pre-aggregates kept in step with every figure write (PRODUCT.md §6: roll-ups in milliseconds):
`observation_months` per unit × month and `rollup_months` per region × month, plus the reporting levels.
Driven by `store.FigureWriter` inside its transaction (start → note per chunk → refresh once); `rebuild_all`
rebuilds everything from the raw figures and `check` compares every stored row with them (operators, tests).
Sums are NUMERIC (see models.py): every figure enters a sum as CAST(x AS NUMERIC), here and in the reads.
A value enters `sum_value` (and a region's `last_value`) only when it is a count's — a figure without a
numerator (`counted`): a ratio's value is factor × numerator / denominator, which every read recomputes from the
summed numerators and denominators, so its Σ of percentages is never read (and its non-whole cast was the
write path's most costly one)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.db import analyze_temp_table, month_start_sql, reset_temp_table


def exact(column: str) -> str:
    """SQL for a float8 figure as the NUMERIC it adds to a sum: CAST(x AS NUMERIC) (its 15 significant digits).
    A whole number below 10¹⁵ takes the bigint road to the same number: seven times cheaper than the float
    formatting the cast does, and most figures are counts."""
    return (f"CASE WHEN abs({column}) < 1e15 AND {column} = CAST(CAST({column} AS BIGINT) AS DOUBLE PRECISION) "
            f"THEN CAST(CAST({column} AS BIGINT) AS NUMERIC) ELSE CAST({column} AS NUMERIC) END")


def counted(value: str, numerator: str) -> str:
    """SQL for a figure's value as it enters `sum_value` (or a region's `last_value`): its exact value when it
    is a count's (no numerator), else NULL — a ratio's value is never summed (see the module docstring)."""
    return f"CASE WHEN {numerator} IS NULL THEN {exact(value)} END"


TOUCHED = "_obs_touched"  # (indicator, unit, month) touched by this write; `rebuild`: re-aggregate from raw
_REGIONS = "_obs_touched_up"  # (indicator, region, month) whose region row to recompute
_REGION_COLUMNS = "indicator_id integer, org_id integer, month date"
# A month the push's merge cannot keep in step (new and corrected figures at once, or a NULL-ness changed).
_REBUILT = "has_changed AND (has_new OR NOT same_nulls)"


def _has_children(unit: str) -> str:
    """SQL: the unit `unit` has units under it. Region rows are kept for those only: a leaf's region is its own
    monthly rows, which the roll-up reads directly (shared/values/rollup.py), and leaves are most units — most
    of the rows to rewrite."""
    return f"EXISTS (SELECT 1 FROM org_unit_paths c WHERE c.ancestor_id = {unit} AND c.depth = 1)"


# The ancestor `p.ancestor_id` of a path row keeps region rows; one above the unit (depth > 0) has children by
# definition: only the unit itself is looked up.
_HAS_CHILDREN = f"(p.depth > 0 OR {_has_children('p.ancestor_id')})"


def _note_levels(rows: str) -> str:
    """SQL: note the reporting level (`indicator_levels`) of every (indicator_id, org_id) of `rows`."""
    return ("INSERT INTO indicator_levels (indicator_id, level) SELECT DISTINCT k.indicator_id, u.level "
            f"FROM {rows} k JOIN org_units u ON u.id = k.org_id WHERE u.level IS NOT NULL ON CONFLICT DO NOTHING")


_NEW_MONTHS = "_obs_touched_new"  # a bulk chunk's months, on their way into TOUCHED
_MONTH_COLUMNS = ("indicator_id, org_id, month, days, sum_numerator, sum_denominator, sum_value, last_date, "
                  "last_numerator, last_denominator, last_value")
# The sums and the latest figure of (indicator, unit, month) groups over `{rows}` (figures of `observations`
# with obs_date and month): grouped without a sort, then the latest day's figure looked up by its key.
_AGGREGATE = f"""
    SELECT g.indicator_id, g.org_id, g.month, g.days, g.sum_numerator, g.sum_denominator, g.sum_value,
        g.last_date, l.numerator, l.denominator, l.value
    FROM (SELECT indicator_id, org_id, month, count(*) AS days, sum({exact("numerator")}) AS sum_numerator,
                 sum({exact("denominator")}) AS sum_denominator, sum({counted("value", "numerator")}) AS sum_value,
                 max(obs_date) AS last_date
          FROM {{rows}} GROUP BY indicator_id, org_id, month) g
    {{latest}}"""
_LATEST_KEY = "l.indicator_id = g.indicator_id AND l.org_id = g.org_id AND l.obs_date = g.last_date"


def _aggregate(rows: str, dialect: str) -> str:
    """_AGGREGATE over `rows`. PostgreSQL looks each latest figure up by its key (LATERAL: never a scan of the
    whole table, which the planner may choose for tens of thousands of groups over millions of figures)."""
    latest = (f"CROSS JOIN LATERAL (SELECT numerator, denominator, value FROM observations l WHERE {_LATEST_KEY}) l"
              if dialect == "postgresql" else f"JOIN observations l ON {_LATEST_KEY}")
    return _AGGREGATE.format(rows=rows, latest=latest)


def _touched_raw(dialect: str) -> str:
    """The raw figures of the months noted `rebuild`, each month a range of the primary key (a date range, not
    month_of(obs_date) = month, so the index is used; LATERAL on PostgreSQL, as in `_aggregate`)."""
    inner = ("observations o WHERE o.indicator_id = t.indicator_id AND o.org_id = t.org_id "
             "AND o.obs_date >= t.month AND o.obs_date < t.next_month")
    if dialect == "postgresql":
        return ("(SELECT t.indicator_id, t.org_id, t.month, o.obs_date, o.numerator, o.denominator, o.value "
                f"FROM {TOUCHED} t CROSS JOIN LATERAL "
                f"(SELECT obs_date, numerator, denominator, value FROM {inner}) o WHERE t.rebuild) AS raw")
    on = inner.split(" WHERE ", 1)[1]
    return ("(SELECT o.indicator_id, o.org_id, t.month, o.obs_date, o.numerator, o.denominator, o.value "
            f"FROM observations o JOIN {TOUCHED} t ON t.rebuild AND {on}) AS raw")


def _added(new: str, old: str, *, value: bool = False) -> str:
    """What the written rows add to a month's sum of `new`: a new figure itself, a correction new − old (`old`:
    the replaced figure's column). `value`: a count's value only (`counted`)."""
    new_term = counted(new, "numerator") if value else exact(new)
    old_term = counted(old, "o_num") if value else exact(old)
    return f"sum(CASE WHEN existed THEN {new_term} - {old_term} ELSE {new_term} END)"


def _plus(old: str, added: str) -> str:
    """A month's sum plus what the written rows add, NULL only while both are (as sum() over all of them)."""
    return f"CASE WHEN {old} IS NULL THEN {added} WHEN {added} IS NULL THEN {old} ELSE {old} + {added} END"


def _change(new: str, old: str) -> str:
    """A month row's term of a region sum, new − old; NULL when both are (the month adds nothing either way)."""
    return f"CASE WHEN {new} IS NULL AND {old} IS NULL THEN NULL ELSE coalesce({new}, 0) - coalesce({old}, 0) END"


def _region_plus(column: str) -> str:
    """A region's sum after the changes of its touched months (`excluded`): a region sum is NULL exactly while
    every month's is, so the changes are the new sums themselves then."""
    old = f"rollup_months.{column}"
    return f"CASE WHEN {old} IS NULL THEN excluded.{column} ELSE {old} + coalesce(excluded.{column}, 0) END"


# The region sums of `rollup_months`, each with a month row's term in it (as _ROLLUP_INSERT sums them) over the
# month's columns named {p}num, {p}den, {p}val (its sums) and {p}lnum, {p}lden, {p}lval (its latest figure).
_REGION_TERMS = (
    ("sum_numerator", "{p}num"), ("sum_denominator", "{p}den"), ("sum_value", "{p}val"),
    ("last_numerator", exact("{p}lnum")), ("last_denominator", exact("{p}lden")),
    ("last_value", counted("{p}lval", "{p}lnum")),
)


def merge_ctes(rows: str) -> str:
    """Data-modifying CTEs for the PostgreSQL merge statement, over its CTE `rows` (staged figures with
    `existed`, `changed`, `repeat` and the current figure as o_num, o_den, o_val). Each touched month is kept in
    step at once when that is exact, and otherwise marked for `refresh` to re-aggregate from the raw figures:

    * only new figures: their sums are added, and "last" is a comparison of dates (a new key is never the
      month's existing latest day);
    * only corrections that leave every number's NULL-ness as it was: the differences are added, and the
      latest figure is replaced when it is the one corrected;
    * anything else (both at once, a value becoming NULL, …): re-aggregated from the raw figures.

    Each month kept in step is read once as it was (`months_before`) and written as it becomes
    (`months_after`); its regions' rows then change by the difference (exact: the sums are NUMERIC). The
    regions of a re-aggregated month, and of a month whose latest figure stops having a number it had (a
    region's sum would read 0, not NULL), are recomputed by `refresh` instead.

    A bulk write notes its months instead (`note_months`), for `refresh` to re-aggregate from the raw figures.
    """
    month = month_start_sql("postgresql", "obs_date")
    next_month = month_start_sql("postgresql", "obs_date", next_month=True)
    same_nulls = ("(numerator IS NULL) = (o_num IS NULL) AND (denominator IS NULL) = (o_den IS NULL) "
                  "AND (value IS NULL) = (o_val IS NULL)")
    # A later written day replaces the month's latest figure (new figures); a corrected latest day replaces it.
    replaces = "CASE WHEN b.has_changed THEN b.last_day = b.m_last ELSE b.m_last IS NULL OR b.last_day > b.m_last END"
    after = ", ".join([
        "b.indicator_id, b.org_id, b.month, b.m_ctid, b.m_ctid IS NULL AS m_new",
        "CASE WHEN b.has_changed THEN b.m_days ELSE coalesce(b.m_days, 0) + b.days END AS a_days",
        *(f"{_plus(f'b.m_{c}', f'b.d_{c}')} AS a_{c}" for c in ("num", "den", "val")),
        "CASE WHEN b.has_changed THEN b.m_last ELSE greatest(b.m_last, b.last_day) END AS a_last",
        *(f"CASE WHEN {replaces} THEN b.w_{c} ELSE b.m_l{c} END AS a_l{c}" for c in ("num", "den", "val")),
        *(f"b.m_{c}" for c in ("num", "den", "val", "lnum", "lden", "lval")),
    ])
    # A month that stops having a number its regions sum (its latest figure's, see the docstring): those regions
    # are recomputed.
    drops = " OR ".join(f"(new_{c} IS NULL AND old_{c} IS NOT NULL)" for c, _ in _REGION_TERMS)
    terms = ", ".join(f"{t.format(p='a_')} AS new_{c}, {t.format(p='m_')} AS old_{c}" for c, t in _REGION_TERMS)
    region_changes = ", ".join(f"sum({_change(f'new_{c}', f'old_{c}')}) AS {c}" for c, _ in _REGION_TERMS)
    region_columns = ", ".join(c for c, _ in _REGION_TERMS)
    region_sums = ", ".join(f"sum(d.{c})" for c, _ in _REGION_TERMS)
    month_values = "a_days, a_num, a_den, a_val, a_last, a_lnum, a_lden, a_lval"
    return f"""
, months_written AS MATERIALIZED (
    SELECT indicator_id, org_id, obs_date, numerator, denominator, value, existed, o_num, o_den, o_val,
           {month} AS month, {next_month} AS next_month
    FROM {rows} WHERE NOT repeat AND (NOT existed OR changed)
), months_kinds AS MATERIALIZED (
    SELECT indicator_id, org_id, month, next_month, bool_or(NOT existed) AS has_new, bool_or(existed) AS has_changed,
           bool_and(NOT existed OR ({same_nulls})) AS same_nulls, count(*) AS days, max(obs_date) AS last_day,
           {_added("numerator", "o_num")} AS d_num, {_added("denominator", "o_den")} AS d_den,
           {_added("value", "o_val", value=True)} AS d_val
    FROM months_written GROUP BY 1, 2, 3, 4
), months_before AS MATERIALIZED (
    -- Each month kept in step as stored (one look-up by its key), with the latest written day's figure.
    SELECT k.*, w.numerator AS w_num, w.denominator AS w_den, w.value AS w_val, m.ctid AS m_ctid,
           m.days AS m_days, m.sum_numerator AS m_num, m.sum_denominator AS m_den, m.sum_value AS m_val,
           m.last_date AS m_last, m.last_numerator AS m_lnum, m.last_denominator AS m_lden, m.last_value AS m_lval
    FROM months_kinds k
    JOIN months_written w ON w.indicator_id = k.indicator_id AND w.org_id = k.org_id AND w.obs_date = k.last_day
    LEFT JOIN LATERAL (SELECT m.ctid, m.* FROM observation_months m WHERE m.indicator_id = k.indicator_id
                       AND m.org_id = k.org_id AND m.month = k.month) m ON true
    WHERE NOT ({_REBUILT})
), months_after AS MATERIALIZED (
    -- The month as it becomes, and its term in each region sum before and after.
    SELECT x.*, {terms} FROM (SELECT {after} FROM months_before b) x
), months_updated AS (
    -- By the row's address from the look-up, as `corrected` does for figures (writers hold the indicator's lock).
    UPDATE observation_months m SET (days, sum_numerator, sum_denominator, sum_value, last_date, last_numerator,
        last_denominator, last_value) = ({month_values})
    FROM months_after a WHERE m.ctid = a.m_ctid AND NOT a.m_new
), months_inserted AS (
    INSERT INTO observation_months ({_MONTH_COLUMNS})
    SELECT indicator_id, org_id, month, {month_values} FROM months_after WHERE m_new
), regions_changed AS (
    -- Summed first per lowest region (the unit itself when it has children, else its parent: most touched units
    -- are leaves), then spread over that region's ancestors: a few rows per region, not per unit.
    INSERT INTO rollup_months (indicator_id, org_id, month, units, {region_columns})
    SELECT d.indicator_id, p.ancestor_id, d.month, sum(d.units), {region_sums}
    FROM (SELECT a.indicator_id, CASE WHEN {_has_children("a.org_id")} THEN a.org_id ELSE u.parent_id END AS region,
                 a.month,
                 count(*) FILTER (WHERE a.m_new) AS units, {region_changes}
          FROM months_after a JOIN org_units u ON u.id = a.org_id
          WHERE NOT ({drops}) GROUP BY 1, 2, 3) d
    JOIN org_unit_paths p ON p.descendant_id = d.region
    GROUP BY d.indicator_id, p.ancestor_id, d.month
    ON CONFLICT (indicator_id, org_id, month) DO UPDATE SET units = rollup_months.units + excluded.units,
        {", ".join(f"{c} = {_region_plus(c)}" for c, _ in _REGION_TERMS)}
), regions_noted AS (
    INSERT INTO {_REGIONS} (indicator_id, org_id, month)
    SELECT DISTINCT a.indicator_id, p.ancestor_id, a.month
    FROM months_after a JOIN org_unit_paths p ON p.descendant_id = a.org_id WHERE {_HAS_CHILDREN} AND ({drops})
), months_noted AS (
    INSERT INTO {TOUCHED} (indicator_id, org_id, month, next_month, rebuild)
    SELECT indicator_id, org_id, month, next_month, true FROM months_kinds WHERE {_REBUILT}
    ON CONFLICT (indicator_id, org_id, month) DO UPDATE SET rebuild = true
), levels_noted AS (
    -- A month row that existed had its level noted when it was made (and `rebuild_all_rollups` notes every
    -- month's after an org-tree change); a rebuilt month's is noted by `refresh`.
    {_note_levels("(SELECT indicator_id, org_id FROM months_after WHERE m_new)")}
)"""


async def start(session: AsyncSession) -> None:
    """Begin a write: no (indicator, unit, month) touched yet, no region noted."""
    await reset_temp_table(
        session, TOUCHED, "indicator_id integer, org_id integer, month date, next_month date, rebuild boolean, "
        "PRIMARY KEY (indicator_id, org_id, month)"
    )
    await reset_temp_table(session, _REGIONS, _REGION_COLUMNS)


async def note(session: AsyncSession, stage: str) -> None:
    """Note the (indicator, unit, month)s of the figures in `stage` for `refresh` to re-aggregate from the raw
    figures (the portable way; on PostgreSQL a push's merge statement does it with `merge_ctes`, a bulk write
    with `note_months`)."""
    dialect = (await session.connection()).dialect.name
    await session.execute(
        text(
            f"INSERT INTO {TOUCHED} SELECT DISTINCT indicator_id, org_id, {month_start_sql(dialect, 'obs_date')}, "
            f"{month_start_sql(dialect, 'obs_date', next_month=True)}, true FROM {stage} WHERE true "
            f"ON CONFLICT (indicator_id, org_id, month) DO UPDATE SET rebuild = true"
        )
    )


async def note_months(session: AsyncSession, months: Iterable[tuple[int, int, date]]) -> None:
    """Note (indicator, unit, first day of the month)s for `refresh` to re-aggregate from the raw figures: a bulk
    write on PostgreSQL, which finds its chunk's months while it validates. Through a scratch table, so that
    nothing grows with the export in Python (the months already noted are skipped in SQL)."""
    rows = [(i, o, m, (m + timedelta(days=32)).replace(day=1)) for i, o, m in months]
    if not rows:
        return
    await reset_temp_table(session, _NEW_MONTHS, "indicator_id integer, org_id integer, month date, next_month date")
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    copy_sql = f"COPY {_NEW_MONTHS} (indicator_id, org_id, month, next_month) FROM STDIN (FORMAT BINARY)"
    async with raw.cursor() as cur, cur.copy(copy_sql) as copy:
        copy.set_types(["int4", "int4", "date", "date"])
        for row in rows:
            await copy.write_row(row)
    await session.execute(text(f"INSERT INTO {TOUCHED} SELECT indicator_id, org_id, month, next_month, true "
                               f"FROM {_NEW_MONTHS} ON CONFLICT (indicator_id, org_id, month) "
                               "DO UPDATE SET rebuild = true"))


async def rebuild_months(session: AsyncSession, keys: str) -> None:
    """Have `refresh` re-aggregate from the raw figures the noted months of the (indicator_id, org_id, obs_date)s in
    the table `keys` (figures were withdrawn)."""
    month = month_start_sql((await session.connection()).dialect.name, "k.obs_date")
    await session.execute(
        text(f"UPDATE {TOUCHED} SET rebuild = true WHERE EXISTS (SELECT 1 FROM {keys} k WHERE "
             f"k.indicator_id = {TOUCHED}.indicator_id AND k.org_id = {TOUCHED}.org_id AND {month} = {TOUCHED}.month)")
    )


async def refresh(session: AsyncSession) -> None:
    """Bring the pre-aggregates of every (indicator, unit, month) noted since `start` up to date: re-aggregate
    the months marked `rebuild` from the raw figures, then the region rows over all noted months (and those a
    push's merge noted in `_REGIONS` itself)."""
    # A push whose merge kept every month in step noted nothing: one look instead of seven empty statements.
    noted = await session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {TOUCHED}) OR EXISTS (SELECT 1 FROM {_REGIONS})"))
    if not noted.scalar_one():
        return
    await analyze_temp_table(session, TOUCHED)
    await session.execute(
        text(
            f"DELETE FROM observation_months WHERE EXISTS (SELECT 1 FROM {TOUCHED} t WHERE t.rebuild AND "
            "t.indicator_id = observation_months.indicator_id AND t.org_id = observation_months.org_id "
            "AND t.month = observation_months.month)"
        )
    )
    dialect = (await session.connection()).dialect.name
    await session.execute(
        text(f"INSERT INTO observation_months ({_MONTH_COLUMNS}) {_aggregate(_touched_raw(dialect), dialect)}")
    )
    await session.execute(
        text(
            f"INSERT INTO {_REGIONS} SELECT DISTINCT t.indicator_id, p.ancestor_id, t.month "
            f"FROM {TOUCHED} t JOIN org_unit_paths p ON p.descendant_id = t.org_id WHERE {_HAS_CHILDREN} "
            f"AND NOT EXISTS (SELECT 1 FROM {_REGIONS} r WHERE r.indicator_id = t.indicator_id "
            "AND r.org_id = p.ancestor_id AND r.month = t.month)"  # a push's merge noted its own
        )
    )
    await analyze_temp_table(session, _REGIONS)
    await _rebuild_rollups(session, _REGIONS)
    await session.execute(text(_note_levels(TOUCHED)))


_ROLLUP_INSERT = f"""
    INSERT INTO rollup_months (indicator_id, org_id, month, units, sum_numerator, sum_denominator, sum_value,
        last_numerator, last_denominator, last_value)
    SELECT a.indicator_id, a.org_id, a.month, count(*), sum(m.sum_numerator), sum(m.sum_denominator),
        sum(m.sum_value), sum({exact("m.last_numerator")}), sum({exact("m.last_denominator")}),
        sum({counted("m.last_value", "m.last_numerator")})
    FROM {{keys}} a JOIN org_unit_paths p ON p.ancestor_id = a.org_id
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


async def _exclude_writers(session: AsyncSession) -> None:
    """Hold off every figure write until this transaction ends (PostgreSQL; SQLite's writers take turns anyway):
    a rebuild deletes and recomputes rows that a concurrent write keeps in step by difference. Waits for the
    writes under way to commit; a write that starts later waits, then sees the rebuilt rows."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("LOCK TABLE observation_months, rollup_months IN SHARE ROW EXCLUSIVE MODE"))


# A rebuilt table laid out as a live one grows, month by month: a daily push touches every unit's current month,
# and those rows then share pages (measured at the province in bench/README.md; the pages are half full for it,
# migration 0009).
_BY_MONTH = " ORDER BY {t}.month, {t}.indicator_id, {t}.org_id"


async def rebuild_all_rollups(session: AsyncSession) -> None:
    """Recompute every region-level row and the reporting levels from `observation_months`: after the org
    tree changed (org_unit_paths rebuilt), or after figures were bulk-loaded around the write path."""
    await _exclude_writers(session)
    await session.execute(text("DELETE FROM rollup_months"))
    await reset_temp_table(session, _REGIONS, _REGION_COLUMNS)
    await session.execute(
        text(
            f"INSERT INTO {_REGIONS} SELECT DISTINCT m.indicator_id, p.ancestor_id, m.month "
            f"FROM observation_months m JOIN org_unit_paths p ON p.descendant_id = m.org_id WHERE {_HAS_CHILDREN}"
        )
    )
    await session.execute(text(_ROLLUP_INSERT.format(keys=_REGIONS) + _BY_MONTH.format(t="a")))
    await session.execute(text(_note_levels("observation_months")))


async def rebuild_all(session: AsyncSession) -> None:
    """Rebuild every pre-aggregate from the raw figures: each unit's months, then the region rows and the
    reporting levels. For figures loaded around the write path (`bench/`), or to repair what `check` found
    (`python -m services.api preaggregates rebuild`)."""
    dialect = (await session.connection()).dialect.name
    month = month_start_sql(dialect, "obs_date")
    raw = (f"(SELECT indicator_id, org_id, {month} AS month, obs_date, numerator, denominator, value "
           "FROM observations) AS raw")
    await _exclude_writers(session)
    await session.execute(text("DELETE FROM observation_months"))
    await session.execute(text(f"INSERT INTO observation_months ({_MONTH_COLUMNS}) {_aggregate(raw, dialect)}"
                               + _BY_MONTH.format(t="g")))
    await rebuild_all_rollups(session)


@dataclass(frozen=True)
class Difference:
    """A pre-aggregate row that disagrees with the raw figures: `stored` or `expected` is None when the row
    is missing on that side; otherwise both list the compared columns. For `indicator_levels`, `org` names the
    level missing and `month` its first month with figures."""

    table: str
    indicator: str
    org: str
    month: date
    stored: tuple[Any, ...] | None
    expected: tuple[Any, ...] | None


# What each pre-aggregate must hold, recomputed from `observations` alone (written apart from the write path's
# statements, so a check does not share their mistakes): per unit × month, and per region × month over the
# units of its subtree that reported.
_EXPECTED = """
WITH raw AS (
    SELECT indicator_id, org_id, {month} AS month, obs_date, numerator, denominator, value FROM observations
), latest AS (
    SELECT indicator_id, org_id, month, max(obs_date) AS last_date FROM raw GROUP BY indicator_id, org_id, month
), months AS (
    SELECT r.indicator_id, r.org_id, r.month, count(*) AS days, sum(CAST(r.numerator AS NUMERIC)) AS sum_numerator,
           sum(CAST(r.denominator AS NUMERIC)) AS sum_denominator,
           sum(CASE WHEN r.numerator IS NULL THEN CAST(r.value AS NUMERIC) END) AS sum_value,
           l.last_date,
           max(CASE WHEN r.obs_date = l.last_date THEN r.numerator END) AS last_numerator,
           max(CASE WHEN r.obs_date = l.last_date THEN r.denominator END) AS last_denominator,
           max(CASE WHEN r.obs_date = l.last_date THEN r.value END) AS last_value
    FROM raw r JOIN latest l ON l.indicator_id = r.indicator_id AND l.org_id = r.org_id AND l.month = r.month
    GROUP BY r.indicator_id, r.org_id, r.month, l.last_date
), regions AS (
    SELECT m.indicator_id, p.ancestor_id AS org_id, m.month, count(*) AS units,
           sum(m.sum_numerator) AS sum_numerator, sum(m.sum_denominator) AS sum_denominator,
           sum(m.sum_value) AS sum_value, sum(CAST(m.last_numerator AS NUMERIC)) AS last_numerator,
           sum(CAST(m.last_denominator AS NUMERIC)) AS last_denominator,
           sum(CASE WHEN m.last_numerator IS NULL THEN CAST(m.last_value AS NUMERIC) END) AS last_value
    FROM months m JOIN org_unit_paths p ON p.descendant_id = m.org_id
    WHERE EXISTS (SELECT 1 FROM org_unit_paths c WHERE c.ancestor_id = p.ancestor_id AND c.depth = 1)
    GROUP BY m.indicator_id, p.ancestor_id, m.month
)"""
_CHECKED = {
    "observation_months": ("months", ("days", "sum_numerator", "sum_denominator", "sum_value", "last_date",
                                      "last_numerator", "last_denominator", "last_value")),
    "rollup_months": ("regions", ("units", "sum_numerator", "sum_denominator", "sum_value", "last_numerator",
                                  "last_denominator", "last_value")),
}


def _differs(a: str, b: str, pg: bool, exact: bool) -> str:
    # PostgreSQL compares NUMERIC sums exactly; SQLite has no exact type and sums doubles in scan order, so
    # there a sum differs when it does beyond rounding (counts and dates are compared exactly).
    if pg:
        return f"{a} IS DISTINCT FROM {b}"
    if exact:
        return f"NOT ({a} IS {b})"
    return f"(({a} IS NULL) <> ({b} IS NULL) OR abs({a} - {b}) > 1e-9 * max(abs({a}), abs({b})))"


# A level whose units have monthly rows of an indicator but which `indicator_levels` does not list (units_expected
# would miss its units): the indicator, the level and its first month with figures.
_LEVELS_MISSING = """
    SELECT i.code, min(m.month), u.level
    FROM observation_months m JOIN org_units u ON u.id = m.org_id JOIN indicators i ON i.id = m.indicator_id
    WHERE u.level IS NOT NULL AND NOT EXISTS (SELECT 1 FROM indicator_levels l WHERE l.indicator_id = m.indicator_id
                                              AND l.level = u.level)
    GROUP BY i.code, u.level"""


async def check(session: AsyncSession) -> list[Difference]:
    """Compare every row of `observation_months` and `rollup_months` with the raw figures (PRODUCT.md §6: the
    pre-aggregates must answer what the raw table would), and the reporting levels with the monthly rows.
    Returns the differences; none when all is in step."""
    dialect = (await session.connection()).dialect.name
    pg = dialect == "postgresql"
    month = month_start_sql(dialect, "obs_date")
    out: list[Difference] = []
    for table, (expected, columns) in _CHECKED.items():
        stored_cols = ", ".join(f"s.{c}" for c in columns)
        expected_cols = ", ".join(f"e.{c}" for c in columns)
        key = "s.indicator_id = e.indicator_id AND s.org_id = e.org_id AND s.month = e.month"
        differs = " OR ".join(_differs(f"s.{c}", f"e.{c}", pg, c in ("days", "units", "last_date")) for c in columns)
        names = ("(SELECT code FROM indicators WHERE id = {t}.indicator_id), "
                 "(SELECT code FROM org_units WHERE id = {t}.org_id), {t}.month")
        stmt = f"""{_EXPECTED.format(month=month)}
            SELECT {names.format(t="s")}, {stored_cols}, {expected_cols}, e.indicator_id IS NULL AS missing
            FROM {table} s LEFT JOIN {expected} e ON {key}
            WHERE e.indicator_id IS NULL OR {differs}
            UNION ALL
            SELECT {names.format(t="e")}, {stored_cols}, {expected_cols}, false
            FROM {expected} e LEFT JOIN {table} s ON {key} WHERE s.indicator_id IS NULL"""
        n = len(columns)
        for row in await session.execute(text(stmt)):
            stored = None if row[3] is None else tuple(row[3:3 + n])  # days / units: never NULL when stored
            expected_row = None if row[-1] else tuple(row[3 + n:3 + 2 * n])
            out.append(Difference(table, row[0] or "?", row[1] or "?", row[2], stored, expected_row))
    for code, month, level in await session.execute(text(_LEVELS_MISSING)):
        out.append(Difference("indicator_levels", code, f"(level {level})", month, None, (level,)))
    return out
