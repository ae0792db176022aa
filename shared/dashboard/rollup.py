"""The dashboard's SQL: a few grouped statements for a whole jurisdiction instead of a few per (indicator ×
period) — one series statement per indicator over every unit shown and every period (the year, its 12 months,
the 30 trend days), one for the units expected, one for the catalogue's reporters, and one each for the other
warnings' facts. The sums are those of shared/values/rollup.py `rollup` (per-unit rows summed over each unit's
subtree in NUMERIC), so every number equals GET /v1/values for the same unit, indicator and period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Integer, String, bindparam, column, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import clock
from shared.indicators.models import Indicator, Plan
from shared.ingest.models import GOOD_STATUSES, IngestRun
from shared.org_units.models import OrgUnit, OrgUnitPath
from shared.schemes.models import Scheme, SchemeUnit
from shared.values.rollup import Basis


def _float(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]


async def key_indicators(session: AsyncSession, unit_ids: Sequence[int]) -> dict[int, list[Indicator]]:
    """Each unit's key indicators: those of the plans whose jurisdiction is the unit or one of its ancestors."""
    rows = await session.execute(
        select(OrgUnitPath.descendant_id, Indicator)
        .join(Plan, Plan.jurisdiction_id == OrgUnitPath.ancestor_id)
        .join(Indicator, Indicator.plan_code == Plan.code)
        .where(OrgUnitPath.descendant_id.in_(unit_ids))
        .order_by(OrgUnitPath.descendant_id, Indicator.code)
    )
    out: dict[int, list[Indicator]] = {u: [] for u in unit_ids}
    for unit_id, indicator in rows:
        out[unit_id].append(indicator)
    return out


@dataclass(frozen=True)
class Window:
    year_start: date
    year_end: date
    day_start: date
    day_end: date


_MONTH_COLUMNS = {
    "sum": "sum_numerator AS num, sum_denominator AS den, sum_value AS val",
    "last": "last_numerator AS num, last_denominator AS den, last_value AS val",
}
_YEAR = {
    "sum": "SELECT 'year' AS g, :y0 AS start, org_id, sum(sum_numerator) AS num, "
    "sum(sum_denominator) AS den, sum(sum_value) AS val FROM m GROUP BY org_id",
    "last": "SELECT 'year' AS g, :y0 AS start, org_id, last_numerator AS num, last_denominator AS den, "
    "last_value AS val FROM m WHERE rn = 1",
}


async def series(
    session: AsyncSession,
    *,
    indicator_id: int,
    time_aggregation: str,
    rollup_rule: str,
    root_ids: Sequence[int],
    window: Window,
) -> dict[tuple[int, str, date], Basis]:
    """One statement: (root, 'year' | 'month' | 'day', period start) → the basis over the root's subtree (its own
    figure only for rollup 'none'). Months and the year read the per-unit monthly pre-aggregate (`last`: each
    unit's latest month in the year), days the raw figures — as GET /v1/values does per period."""
    own_only = "AND p.depth = 0" if rollup_rule == "none" else ""
    stmt = (
        text(
            "WITH m AS (SELECT org_id, month, sum_numerator, sum_denominator, sum_value, last_numerator, "
            "last_denominator, last_value, row_number() OVER (PARTITION BY org_id ORDER BY month DESC) AS rn "
            "FROM observation_months WHERE indicator_id = :ind AND month BETWEEN :y0 AND :y1), "
            f"f AS (SELECT 'month' AS g, month AS start, org_id, {_MONTH_COLUMNS[time_aggregation]} FROM m "
            f"UNION ALL {_YEAR[time_aggregation]} "
            "UNION ALL SELECT 'day' AS g, obs_date AS start, org_id, numerator AS num, denominator AS den, "
            "value AS val FROM observations WHERE indicator_id = :ind AND obs_date BETWEEN :d0 AND :d1) "
            "SELECT p.ancestor_id, f.g, f.start, sum(CAST(f.num AS NUMERIC)), sum(CAST(f.den AS NUMERIC)), "
            "sum(CAST(f.val AS NUMERIC)), count(*) FROM f JOIN org_unit_paths p ON p.descendant_id = f.org_id "
            f"WHERE p.ancestor_id IN :roots {own_only} GROUP BY p.ancestor_id, f.g, f.start"
        )
        .bindparams(bindparam("roots", expanding=True))
        .columns(
            column("ancestor_id", Integer),
            column("g", String),
            column("start", Date),
            column("num"),
            column("den"),
            column("val"),
            column("n", Integer),
        )
    )
    params = {
        "ind": indicator_id,
        "y0": window.year_start,
        "y1": window.year_end,
        "d0": window.day_start,
        "d1": window.day_end,
        "roots": list(root_ids),
    }
    rows = await session.execute(stmt, params)
    return {(a, g, start): Basis(_float(n), _float(d), _float(v), c) for a, g, start, n, d, v, c in rows}


@dataclass(frozen=True)
class ExpectedGroup:
    """Units of a root's subtree at a level that reports an indicator (`indicator_levels`, as /v1/values
    counts `units_expected`), grouped by their validity dates; `own` = the root itself."""

    valid_from: date
    valid_to: date | None
    own: bool
    count: int

    def counts_in(self, start: date, end: date, own_only: bool) -> int:
        valid = self.valid_from <= end and (self.valid_to is None or self.valid_to >= start)
        return self.count if valid and (self.own or not own_only) else 0


async def expected_units(
    session: AsyncSession, *, indicator_ids: Sequence[int], root_ids: Sequence[int]
) -> dict[tuple[int, int], list[ExpectedGroup]]:
    """(indicator, root) → groups of expected units; one statement for every indicator and root."""
    if not indicator_ids or not root_ids:
        return {}
    stmt = (
        text(
            "SELECT l.indicator_id, p.ancestor_id, u.valid_from, u.valid_to, "
            "CASE WHEN p.depth = 0 THEN 1 ELSE 0 END AS own, count(*) FROM org_unit_paths p "
            "JOIN org_units u ON u.id = p.descendant_id JOIN indicator_levels l ON l.level = u.level "
            "WHERE p.ancestor_id IN :roots AND l.indicator_id IN :inds "
            "GROUP BY l.indicator_id, p.ancestor_id, u.valid_from, u.valid_to, CASE WHEN p.depth = 0 THEN 1 ELSE 0 END"
        )
        .bindparams(bindparam("roots", expanding=True), bindparam("inds", expanding=True))
        .columns(
            column("indicator_id", Integer),
            column("ancestor_id", Integer),
            column("valid_from", Date),
            column("valid_to", Date),
            column("own", Integer),
            column("n", Integer),
        )
    )
    out: dict[tuple[int, int], list[ExpectedGroup]] = {}
    for ind, root, vf, vt, own, n in await session.execute(
        stmt, {"roots": list(root_ids), "inds": list(indicator_ids)}
    ):
        out.setdefault((ind, root), []).append(ExpectedGroup(vf, vt, bool(own), n))
    return out


@dataclass(frozen=True)
class Reporter:
    """A unit the catalogue expects to send an indicator (indicator_report_levels), with its latest figure's
    day in the year (None: nothing this year)."""

    indicator_id: int
    every: str  # day | month
    unit_id: int
    code: str
    name: str
    last_date: date | None


async def reporters(
    session: AsyncSession, *, root_id: int, indicator_ids: Sequence[int], start: date, end: date
) -> list[Reporter]:
    """Every expected reporter of the indicators in the root's subtree (valid in start..end), one statement."""
    if not indicator_ids:
        return []
    stmt = (
        text(
            "SELECT r.indicator_id, r.every, u.id, u.code, u.name, (SELECT max(m.last_date) FROM observation_months m "
            "WHERE m.indicator_id = r.indicator_id AND m.org_id = u.id AND m.month BETWEEN :start AND :end) "
            "FROM indicator_report_levels r JOIN org_units u ON u.level = r.level "
            "JOIN org_unit_paths p ON p.descendant_id = u.id WHERE p.ancestor_id = :root "
            "AND r.indicator_id IN :inds AND u.valid_from <= :end AND (u.valid_to IS NULL OR u.valid_to >= :start) "
            "ORDER BY r.indicator_id, u.code"
        )
        .bindparams(bindparam("inds", expanding=True))
        .columns(
            column("indicator_id", Integer),
            column("every", String),
            column("id", Integer),
            column("code", String),
            column("name", String),
            column("last_date", Date),
        )
    )
    rows = await session.execute(stmt, {"root": root_id, "inds": list(indicator_ids), "start": start, "end": end})
    return [Reporter(*row) for row in rows]


async def rows_of(
    session: AsyncSession, *, child_ids: Sequence[int], unit_ids: Sequence[int]
) -> dict[int, tuple[int, str, str]]:
    """For units of a jurisdiction: unit → (the dashboard row it belongs to — the child whose subtree holds it,
    absent for the jurisdiction's own — , its code, its name)."""
    if not unit_ids:
        return {}
    found: dict[int, tuple[int, str, str]] = {}
    rows = await session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnitPath.ancestor_id)
        .outerjoin(
            OrgUnitPath,
            (OrgUnitPath.descendant_id == OrgUnit.id) & OrgUnitPath.ancestor_id.in_(list(child_ids) or [-1]),
        )
        .where(OrgUnit.id.in_(list(unit_ids)))
    )
    for unit_id, code, name, child in rows:
        found[unit_id] = (child if child is not None else -1, code, name)
    return found


async def units_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = await session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(list(codes))))
    return {c: i for c, i in rows}


async def last_good_runs(session: AsyncSession, source_ids: Sequence[str]) -> dict[str, datetime]:
    """Each source's latest good run (succeeded, skipped, not modified): when it finished."""
    if not source_ids:
        return {}
    rows = await session.execute(
        select(IngestRun.source_id, func.max(IngestRun.finished_at))
        .where(IngestRun.source_id.in_(list(source_ids)), IngestRun.status.in_(GOOD_STATUSES))
        .group_by(IngestRun.source_id)
    )
    return {s: clock.aware(t) for s, t in rows if t is not None}


@dataclass(frozen=True)
class Assessed:
    scheme_id: int
    scheme_code: str
    version: int
    org_id: int


async def assessed_units(session: AsyncSession, *, unit_ids: Sequence[int], year: int) -> list[Assessed]:
    """The units among `unit_ids` a scheme of `year` assesses."""
    rows = await session.execute(
        select(Scheme.id, Scheme.code, Scheme.version, SchemeUnit.org_id)
        .join(SchemeUnit, SchemeUnit.scheme_id == Scheme.id)
        .where(Scheme.year == year, SchemeUnit.org_id.in_(list(unit_ids)))
        .order_by(Scheme.id)
    )
    return [Assessed(*row) for row in rows]


@dataclass(frozen=True)
class OverdueItem:
    scheme_id: int
    org_id: int
    number: int
    text: str
    deadline_text: str | None
    due_date: date


async def overdue_items(
    session: AsyncSession, *, scheme_ids: Sequence[int], unit_ids: Sequence[int], year: int, today: date
) -> list[OverdueItem]:
    """Scheme items past their due date that a unit assessed undertakes (not excluded) and has no verified
    points for in the half-year of the due date (June or before: H1, else H2)."""
    if not scheme_ids or not unit_ids:
        return []
    stmt = (
        text(
            "SELECT su.scheme_id, su.org_id, i.number, i.text, i.deadline_text, i.due_date FROM scheme_units su "
            "JOIN scheme_items i ON i.scheme_id = su.scheme_id WHERE su.scheme_id IN :schemes "
            "AND su.org_id IN :units AND i.due_date < :today "
            "AND NOT EXISTS (SELECT 1 FROM scheme_item_exclusions x WHERE x.item_id = i.id AND x.org_id = su.org_id) "
            "AND NOT EXISTS (SELECT 1 FROM assessments a WHERE a.item_id = i.id AND a.org_id = su.org_id "
            "AND a.status = 'verified' AND a.period = CASE WHEN i.due_date <= :h1_end THEN :h1 ELSE :h2 END) "
            "ORDER BY su.org_id, i.due_date, i.number"
        )
        .bindparams(bindparam("schemes", expanding=True), bindparam("units", expanding=True))
        .columns(
            column("scheme_id", Integer),
            column("org_id", Integer),
            column("number", Integer),
            column("text", String),
            column("deadline_text", String),
            column("due_date", Date),
        )
    )
    rows = await session.execute(
        stmt,
        {
            "schemes": list(scheme_ids),
            "units": list(unit_ids),
            "today": today,
            "h1_end": date(year, 6, 30),
            "h1": f"{year}H1",
            "h2": f"{year}H2",
        },
    )
    return [OverdueItem(*row) for row in rows]
