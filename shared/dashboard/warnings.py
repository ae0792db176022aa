"""The dashboard's warnings (PRODUCT.md §3): each with its unit, subject (indicator / source / item / rating),
since when and a Chinese message — behind_target, not_reporting, stale_source, rating_followup_overdue,
item_overdue. The facts come from rollup.py's statements; build.py puts them in the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import clock
from shared.core.periods import Granularity, Period, containing
from shared.core.settings import DashboardSettings
from shared.dashboard import rollup
from shared.indicators.models import Indicator
from shared.org_units.models import OrgUnit
from shared.ratings import store as ratings_store
from shared.values import compute

if TYPE_CHECKING:
    from shared.dashboard.build import Row

MAX_LISTED = 50  # units listed in one not_reporting warning (the count is always complete)


def warning(
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


def behind(
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
    return warning(
        "behind_target",
        unit,
        _subject_indicator(ind),
        since or as_of,
        message,
        value=cell["value"],
        target=target.get("number"),
        achievement=cell["achievement"],
    )


async def not_reporting(
    session: AsyncSession,
    root: OrgUnit,
    children: Sequence[OrgUnit],
    indicators: Sequence[Indicator],
    year: Period,
    as_of: date,
    covered: Mapping[int, set[int]],
) -> list[dict[str, Any]]:
    """Per dashboard row and indicator: the units the catalogue expects (indicator_report_levels) that sent
    nothing for the indicator's latest day (or month) with figures in the jurisdiction. `covered`: each row's
    indicators (those of the plans covering it): 东河区 is not told it missed a figure of 青山区's plan."""
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
        row_id = placed[r.unit_id][0]
        if r.indicator_id in covered.get(row_id, ()):
            by_row.setdefault((row_id, r.indicator_id), []).append(r)
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
            warning(
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


async def stale_sources(
    session: AsyncSession,
    root: OrgUnit,
    rows: dict[int, Row],
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
            warning(
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


# Overdue 差评 listed one warning each, oldest deadline first; the rest are one warning that counts them (a
# province's open 差评 would otherwise make the dashboard as large as the data): GET /v1/ratings/overdue pages them.
RATINGS_LISTED = 50


async def ratings_overdue(
    session: AsyncSession, root: OrgUnit, children: Sequence[OrgUnit], today: date
) -> list[dict[str, Any]]:
    """差评 not rectified by their deadline (shared/ratings/store.overdue): one warning each for the
    RATINGS_LISTED with the oldest deadlines, then one for all the others of the jurisdiction."""
    overdue = await ratings_store.overdue(session, today=today, org=root.code, limit=RATINGS_LISTED + 1)
    rest = overdue[RATINGS_LISTED:]
    overdue = overdue[:RATINGS_LISTED]
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
            warning(
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
    if rest:
        assert rest[0].followup_due_date is not None
        more = await ratings_store.count_overdue(session, today=today, org=root.code) - RATINGS_LISTED
        message = (f"{root.name}另有{more}条差评已超过整改期限未整改（此处列出期限最早的{RATINGS_LISTED}条），"
                   f"全部见 /v1/ratings/overdue?org={root.code}")
        out.append(
            warning(
                "rating_followup_overdue",
                root,
                {"type": "ratings", "code": root.code, "name": f"另有{more}条差评"},
                rest[0].followup_due_date + timedelta(days=1),
                message,
                org=root.code,
                count=more,
                listed=RATINGS_LISTED,
                list=f"/v1/ratings/overdue?org={root.code}",
            )
        )
    return out


async def items_overdue(session: AsyncSession, rows: dict[int, Row], year: int, today: date) -> list[dict[str, Any]]:
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
            warning(
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
