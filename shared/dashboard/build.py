"""The dashboard of a jurisdiction for a year (PRODUCT.md §1, §3 `GET /v1/dashboard`): its own roll-up and each
child unit's key indicators (the indicators of the plans covering the unit) with the year's value, target,
achievement and status, the 30 days up to `as_of` and the year's 12 months; the latest half-year score and rank
where a scheme of the year assesses the unit; and the warnings.

The numbers are GET /v1/values' (shared/values/compute.make_value over the same sums, shared/targets/resolve
for the target); the SQL is in rollup.py, a few grouped statements for the whole answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import clock
from shared.core.errors import InvalidInput, Problem
from shared.core.periods import Granularity, Period, containing, series
from shared.core.settings import DashboardSettings, ScoringSettings
from shared.dashboard import rollup
from shared.indicators.models import Indicator
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from shared.ratings import store as ratings_store
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
MAX_LISTED = 50  # units listed in one not_reporting warning (the count is always complete)
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
class _Row:
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
    rows = {u.id: _Row(u, keys[u.id]) for u in units}
    scopes = list(settings.sources.values())
    scope_ids = await rollup.units_by_code(session, sorted({s.scope for s in scopes}))
    chains = await org_store.ancestor_chains(session, ids + list(scope_ids.values()))
    targets = resolve.with_derived(
        await target_store.stored_rows(session, indicator_codes=[i.code for i in indicators])
    )
    expected = await rollup.expected_units(session, indicator_ids=[i.id for i in indicators], root_ids=ids)
    behind: list[dict[str, Any]] = []
    for ind in indicators:
        roots = [u.id for u in units if any(i.id == ind.id for i in keys[u.id])]
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
                behind.append(_behind(rows[unit_id].unit, ind, cell, monthly, as_of))

    await _scores(session, rows, year, scoring.normalise_to_applicable)
    warnings = behind
    warnings += await _not_reporting(session, root, children, indicators, year_period, as_of)
    stale, valid_until = await _stale_sources(session, root, rows, settings, scope_ids, chains, now)
    warnings += stale
    warnings += await _ratings_overdue(session, root, children, today)
    warnings += await _items_overdue(session, rows, year, today)
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


def _row_json(row: _Row) -> dict[str, Any]:
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


def _warning(
    kind: str, unit: OrgUnit, subject: dict[str, Any], since: date | datetime | None, message: str, **details: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "unit": unit.code,
        "unit_name": unit.name,
        "subject": subject,
        "since": since.isoformat() if since is not None else None,
        "message": message,
        "details": details,
    }


def _subject_indicator(ind: Indicator) -> dict[str, Any]:
    return {"type": "indicator", "code": ind.code, "name": ind.name}


def _fmt(x: float | None) -> str:
    return "无" if x is None else f"{x:.2f}".rstrip("0").rstrip(".")


def _behind(
    unit: OrgUnit, ind: Indicator, cell: dict[str, Any], monthly: Sequence[tuple[Period, compute.Value]], as_of: date
) -> dict[str, Any]:
    """Behind target for the year; since the first month of the run of behind months that reaches the latest
    month with a value (or `as_of` when that month is not behind)."""
    since: date | None = None
    for p, v in reversed([(p, v) for p, v in monthly if v.value is not None]):
        if v.status != "behind":
            break
        since = p.start
    target = cell["target"] or {}
    comparator = {">=": "≥", "<=": "≤", "=": "="}.get(target.get("comparator") or "", "")
    message = (
        f"{unit.name}{ind.name}为{_fmt(cell['value'])}{ind.unit or ''}，未达到{target.get('year')}年目标"
        f"{comparator}{_fmt(target.get('number'))}{ind.unit or ''}（完成度{_fmt((cell['achievement'] or 0) * 100)}%）"
    )
    return _warning(
        "behind_target",
        unit,
        _subject_indicator(ind),
        since or as_of,
        message,
        value=cell["value"],
        target=target.get("number"),
        achievement=cell["achievement"],
    )


async def _scores(session: AsyncSession, rows: dict[int, _Row], year: int, normalise: bool) -> None:
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


async def _not_reporting(
    session: AsyncSession,
    root: OrgUnit,
    children: Sequence[OrgUnit],
    indicators: Sequence[Indicator],
    year: Period,
    as_of: date,
) -> list[dict[str, Any]]:
    """Per dashboard row and indicator: the units the catalogue expects (indicator_report_levels) that sent
    nothing for the indicator's latest day (or month) with figures in the jurisdiction."""
    found = await rollup.reporters(
        session, root_id=root.id, indicator_ids=[i.id for i in indicators], start=year.start, end=as_of
    )
    by_indicator = {i.id: i for i in indicators}
    latest: dict[int, date] = {}
    for r in found:
        if r.last_date is not None and r.last_date > latest.get(r.indicator_id, date.min):
            latest[r.indicator_id] = r.last_date
    missing = []
    for r in found:
        if r.indicator_id not in latest:
            continue  # nothing at all this year: no latest period to miss (the source is watched by stale_source)
        last = latest[r.indicator_id]
        grain: Granularity = "month" if r.every == "month" else "day"
        if r.last_date is None or containing(r.last_date, grain).start < containing(last, grain).start:
            missing.append(r)
    placed = await rollup.rows_of(
        session, child_ids=[c.id for c in children], unit_ids=sorted({r.unit_id for r in missing})
    )
    by_row: dict[tuple[int, int], list[rollup.Reporter]] = {}
    for r in missing:
        by_row.setdefault((placed[r.unit_id][0], r.indicator_id), []).append(r)
    units = {u.id: u for u in [root, *children]}
    out = []
    for (row_id, ind_id), reps in sorted(by_row.items(), key=lambda kv: (units.get(kv[0][0], root).code, kv[0][1])):
        unit, ind = units.get(row_id, root), by_indicator[ind_id]
        grain = "month" if reps[0].every == "month" else "day"
        period = containing(latest[ind_id], grain)
        sinces = [_after(r.last_date, grain) for r in reps if r.last_date is not None]
        label = f"{period.start.month}月" if grain == "month" else f"{period.start.month}月{period.start.day}日"
        names = "、".join(r.name for r in reps[:5]) + ("等" if len(reps) > 5 else "")
        message = f"{unit.name}：{names}{len(reps)}个单位未报送{label}的{ind.name}数据"
        out.append(
            _warning(
                "not_reporting",
                unit,
                _subject_indicator(ind),
                min(sinces) if len(sinces) == len(reps) else None,
                message,
                period=period.label,
                missing=len(reps),
                units=[
                    {"code": r.code, "name": r.name, "last": r.last_date.isoformat() if r.last_date else None}
                    for r in reps[:MAX_LISTED]
                ],
            )
        )
    return out


def _after(day: date, grain: Granularity) -> date:
    return containing(day, "month").end + timedelta(days=1) if grain == "month" else day + timedelta(days=1)


async def _stale_sources(
    session: AsyncSession,
    root: OrgUnit,
    rows: dict[int, _Row],
    settings: DashboardSettings,
    scope_ids: dict[str, int],
    chains: dict[int, list[tuple[str, str | None, str]]],
    now: datetime,
) -> tuple[list[dict[str, Any]], datetime | None]:
    """Sources writing for the jurisdiction (their scope inside it, or it inside their scope) whose last good run
    is older than their interval plus the grace. Also returns when the next fresh one turns stale."""
    by_code = {r.unit.code: r.unit for r in rows.values()}
    mine: dict[str, OrgUnit] = {}
    for source_id, schedule in settings.sources.items():
        scope_id = scope_ids.get(schedule.scope)
        if scope_id is None:
            continue
        scope_chain = [c for c, _, _ in chains[scope_id]]
        if root.code in scope_chain:  # the scope is the jurisdiction or inside it: the row holding it
            mine[source_id] = next((by_code[c] for c in scope_chain if c in by_code and c != root.code), root)
        elif schedule.scope in [c for c, _, _ in chains[root.id]]:
            mine[source_id] = root
    last = await rollup.last_good_runs(session, sorted(mine))
    out, next_change = [], None
    for source_id, unit in sorted(mine.items()):
        schedule = settings.sources[source_id]
        allowed = timedelta(minutes=schedule.every_minutes + settings.source_grace_minutes)
        finished = last.get(source_id)
        deadline = finished + allowed if finished is not None else None
        if deadline is not None and deadline > now:
            next_change = deadline if next_change is None else min(next_change, deadline)
            continue
        when = (
            "从未成功运行"
            if finished is None
            else f"最近一次成功运行于{finished.astimezone(clock.SHANGHAI):%Y-%m-%d %H:%M}"
        )
        message = (
            f"数据源{source_id}{when}，超过计划间隔{schedule.every_minutes}分钟"
            f"加宽限{settings.source_grace_minutes}分钟"
        )
        out.append(
            _warning(
                "stale_source",
                unit,
                {"type": "source", "code": source_id, "name": source_id},
                deadline,
                message,
                last_success=finished.isoformat() if finished else None,
                every_minutes=schedule.every_minutes,
            )
        )
    return out, next_change


async def _ratings_overdue(
    session: AsyncSession, root: OrgUnit, children: Sequence[OrgUnit], today: date
) -> list[dict[str, Any]]:
    """差评 not rectified by their deadline (shared/ratings/store.overdue), one warning each."""
    overdue = await ratings_store.overdue(session, today=today, org=root.code)
    placed = await rollup.rows_of(
        session, child_ids=[c.id for c in children], unit_ids=sorted({r.org_id for r in overdue})
    )
    units = {u.id: u for u in [root, *children]}
    out = []
    for r in overdue:
        row_id, code, name = placed[r.org_id]
        unit = units.get(row_id, root)
        assert r.followup_due_date is not None
        message = (
            f"{name}的差评（{r.service_item}，{r.rating_date:%Y-%m-%d}）{r.followup_state}，"
            f"已超过整改期限{r.followup_due_date:%Y-%m-%d}"
        )
        out.append(
            _warning(
                "rating_followup_overdue",
                unit,
                {"type": "rating", "code": r.rating_id, "name": r.service_item},
                r.followup_due_date + timedelta(days=1),
                message,
                org=code,
                level=r.level,
                state=r.followup_state,
                due_date=r.followup_due_date.isoformat(),
            )
        )
    return out


async def _items_overdue(session: AsyncSession, rows: dict[int, _Row], year: int, today: date) -> list[dict[str, Any]]:
    """Scheme items past their due date without verified points, for the units shown that a scheme assesses."""
    schemes = sorted({r.score["scheme"] for r in rows.values() if r.score is not None})
    assessed = [u for u, r in rows.items() if r.score is not None]
    found = await rollup.overdue_items(session, scheme_ids=schemes, unit_ids=assessed, year=year, today=today)
    out = []
    for item in found:
        unit = rows[item.org_id].unit
        message = (
            f"{unit.name}考评第{item.number}项（{item.deadline_text}）已过期限{item.due_date:%Y-%m-%d}，尚无核定分值"
        )
        out.append(
            _warning(
                "item_overdue",
                unit,
                {"type": "item", "code": str(item.number), "name": item.text},
                item.due_date + timedelta(days=1),
                message,
                scheme=item.scheme_id,
                due_date=item.due_date.isoformat(),
                deadline=item.deadline_text,
            )
        )
    return out
