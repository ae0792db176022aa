"""The dashboard of a jurisdiction for a year (PRODUCT.md §1, §3 `GET /v1/dashboard`): its own roll-up and each
child unit's key indicators (the indicators of the plans covering the unit) with the year's value, target,
achievement and status, the 30 days up to `as_of` and the year's 12 months; the latest half-year score and rank
where a scheme of the year assesses the unit; and the warnings.

The numbers are GET /v1/values' (shared/values/compute.make_value over the same sums, shared/targets/resolve
for the target); the SQL is in rollup.py, a few grouped statements for the whole answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import clock
from shared.core.errors import InvalidInput, Problem
from shared.core.periods import Period, containing, series
from shared.core.settings import DashboardSettings, ScoringSettings
from shared.dashboard import rollup
from shared.dashboard import warnings as warnings_of
from shared.indicators.models import Indicator
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from shared.schemes import store as scheme_store
from shared.schemes.types import RankingKind
from shared.scores import compute as score_compute
from shared.scores import explain
from shared.scores import results as score_results
from shared.targets import resolve
from shared.targets import store as target_store
from shared.targets.resolve import TargetRow
from shared.values import compute
from shared.values.rollup import Basis

TREND_DAYS = 30
FIRST_YEAR = 2000
KINDS = ("behind_target", "not_reporting", "stale_source", "rating_followup_overdue", "item_overdue")


@dataclass(frozen=True)
class Built:
    body: bytes
    # The answer may change without a write once this time passes (a source turning stale, the next day).
    valid_until: datetime


def check_year(year: int, today: date) -> None:
    if not FIRST_YEAR <= year <= today.year:
        msg = f"year must be between {FIRST_YEAR} and {today.year} (this year), got {year}"
        raise InvalidInput(msg, [Problem(msg, field="year")])


def dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


@dataclass
class Row:
    unit: OrgUnit
    indicators: list[Indicator]
    cells: list[dict[str, Any]] = field(default_factory=list)
    score: dict[str, Any] | None = None


async def build(
    session: AsyncSession,
    *,
    org: str,
    year: int,
    now: datetime,
    scoring: ScoringSettings,
    settings: DashboardSettings,
) -> Built:
    today = now.astimezone(clock.SHANGHAI).date()
    check_year(year, today)
    root = await org_store.get_by_code(session, org)
    children = list(await org_store.children_of(session, root.id))
    units = [root, *children]
    ids = [u.id for u in units]
    year_period = containing(date(year, 1, 1), "year")
    as_of = min(today, year_period.end)
    window = rollup.Window(year_period.start, year_period.end, as_of - timedelta(days=TREND_DAYS - 1), as_of)
    months = series(year_period.start, year_period.end, "month")
    days = series(window.day_start, window.day_end, "day")

    keys = await rollup.key_indicators(session, ids)
    indicators = sorted({i.id: i for group in keys.values() for i in group}.values(), key=lambda i: i.code)
    rows = {u.id: Row(u, keys[u.id]) for u in units}
    covered = {unit_id: {i.id for i in group} for unit_id, group in keys.items()}  # each row's own indicators
    scopes = list(settings.sources.values())
    scope_ids = await rollup.units_by_code(session, sorted({s.scope for s in scopes}))
    chains = await org_store.ancestor_chains(session, ids + list(scope_ids.values()))
    targets = resolve.with_derived(
        await target_store.stored_rows(session, indicator_codes=[i.code for i in indicators])
    )
    expected = await rollup.expected_units(session, indicator_ids=[i.id for i in indicators], root_ids=ids)
    behind: list[dict[str, Any]] = []
    for ind in indicators:
        roots = [u.id for u in units if ind.id in covered[u.id]]
        bases = await rollup.series(
            session,
            indicator_id=ind.id,
            time_aggregation=ind.time_aggregation,
            rollup_rule=ind.rollup,
            root_ids=roots,
            window=window,
        )
        values = _Values(ind, bases, expected, targets, chains, scoring)
        for unit_id in roots:
            cell = _cell(ind, values.at(unit_id, year_period, "year"))
            monthly = [(p, values.at(unit_id, p, "month")) for p in months]
            cell["months"] = [_point(p, v) for p, v in monthly]
            cell["trend"] = [
                {"date": p.start.isoformat(), "value": v.value, "status": v.status}
                for p, v in ((p, values.at(unit_id, p, "day")) for p in days)
            ]
            rows[unit_id].cells.append(cell)
            if cell["status"] == "behind":
                behind.append(warnings_of.behind(rows[unit_id].unit, ind, cell, monthly, as_of))

    await _scores(session, rows, year, scoring.normalise_to_applicable)
    warnings = behind
    warnings += await warnings_of.not_reporting(session, root, children, indicators, year_period, as_of, covered)
    stale, valid_until = await warnings_of.stale_sources(session, root, rows, settings, scope_ids, chains, now)
    warnings += stale
    warnings += await warnings_of.ratings_overdue(session, root, children, today)
    warnings += await warnings_of.items_overdue(session, rows, year, today)
    midnight = datetime.combine(today + timedelta(days=1), time(), clock.SHANGHAI)
    document = {
        "org": _unit(root),
        "year": year,
        "as_of": as_of.isoformat(),
        "days": [p.start.isoformat() for p in days],
        "months": [p.label for p in months],
        "jurisdiction": _row_json(rows[root.id]),
        "units": [_row_json(rows[c.id]) for c in children],
        "warnings": warnings,
    }
    return Built(dumps(document), min(valid_until, midnight) if valid_until else midnight)


@dataclass(frozen=True)
class _Values:
    """One indicator's values from its series: compute.make_value with the target GET /v1/values would use."""

    ind: Indicator
    bases: dict[tuple[int, str, date], Basis]
    expected: dict[tuple[int, int], list[rollup.ExpectedGroup]]
    targets: list[TargetRow]
    chains: dict[int, list[tuple[str, str | None, str]]]
    scoring: ScoringSettings

    def at(self, unit_id: int, period: Period, granularity: str) -> compute.Value:
        ind = self.ind
        groups = self.expected.get((ind.id, unit_id), [])
        target = resolve.applicable(
            self.targets, indicator=ind.code, chain=self.chains[unit_id], year=period.year, half=period.half or 0
        )
        return compute.make_value(
            measure=ind.measure,
            factor=ind.factor,
            direction=ind.direction,
            basis=self.bases.get((unit_id, granularity, period.start)),
            expected=sum(g.counts_in(period.start, period.end, ind.rollup == "none") for g in groups),
            target=target,
            cap=self.scoring.achievement_cap,
            near=self.scoring.near_threshold,
            explanation=compute.formula(ind.measure, ind.factor, ind.time_aggregation, ind.rollup),
        )


def _unit(u: OrgUnit) -> dict[str, Any]:
    return {"code": u.code, "name": u.name, "level": u.level, "kind": u.kind}


def _row_json(row: Row) -> dict[str, Any]:
    return {**_unit(row.unit), "score": row.score, "indicators": row.cells}


def _target(t: TargetRow | None) -> dict[str, Any] | None:
    found = compute.target_json(t)
    return None if found is None else {k: found[k] for k in ("year", "half", "comparator", "number", "text", "derived")}


def _cell(ind: Indicator, v: compute.Value) -> dict[str, Any]:
    return {
        "indicator": ind.code,
        "name": ind.name,
        "unit": ind.unit,
        "direction": ind.direction,
        "value": v.value,
        "numerator": v.numerator,
        "denominator": v.denominator,
        "units_reporting": v.units_reporting,
        "units_expected": v.units_expected,
        "target": _target(v.target),
        "achievement": v.achievement,
        "status": v.status,
    }


def _point(p: Period, v: compute.Value) -> dict[str, Any]:
    return {
        "period": p.label,
        "value": v.value,
        "target": v.target.number if v.target is not None else None,
        "achievement": v.achievement,
        "status": v.status,
        "units_reporting": v.units_reporting,
    }


async def _scores(session: AsyncSession, rows: dict[int, Row], year: int, normalise: bool) -> None:
    """The latest half-year with a score (H2, else H1) and the rank among the units of the same kind."""
    assessed = await rollup.assessed_units(session, unit_ids=list(rows), year=year)
    latest: dict[str, int] = {}
    for a in assessed:  # the newest version of each scheme
        if a.scheme_code not in latest or a.version > latest[a.scheme_code]:
            latest[a.scheme_code] = a.version
    trees: dict[int, scheme_store.SchemeTree] = {}
    ranked: dict[tuple[int, str, RankingKind], list[tuple[score_compute.UnitScore, int | None]]] = {}
    for a in assessed:
        if latest[a.scheme_code] != a.version or rows[a.org_id].score is not None:
            continue
        if a.scheme_id not in trees:
            trees[a.scheme_id] = await scheme_store.get_tree(session, a.scheme_id)
        tree = trees[a.scheme_id]
        code = rows[a.org_id].unit.code
        kind = tree.units[code][1]
        chosen: tuple[str, score_compute.UnitScore, int | None, int] | None = None
        for half in (f"{year}H2", f"{year}H1"):
            key = (a.scheme_id, half, kind)
            if key not in ranked:
                ranked[key] = await score_results.ranking(session, tree, half, kind, normalise=normalise)
            score, rank = next((s, r) for s, r in ranked[key] if s.org == code)
            among = sum(1 for _, r in ranked[key] if r is not None)
            if score.status != score_compute.ScoreStatus.MISSING or half.endswith("H1"):
                chosen = (half, score, rank, among)
                break
        assert chosen is not None
        half, score, rank, among = chosen
        rows[a.org_id].score = {
            "scheme": tree.scheme.id,
            "scheme_name": tree.scheme.name,
            "period": half,
            "kind": kind.value,
            "status": score.status.value,
            "total": explain.number(score.total),
            "rank": rank,
            "ranked": among,
        }
