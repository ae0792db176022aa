"""All SQL about plans and the indicator catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.errors import NotFound
from shared.indicators.models import Indicator, IndicatorReportLevel, Plan


async def get_by_code(session: AsyncSession, code: str) -> Indicator:
    found = (await session.execute(select(Indicator).where(Indicator.code == code))).scalar_one_or_none()
    if found is None:
        raise NotFound(
            f"indicator '{code}' does not exist; GET /v1/indicators lists the catalogue",
            details=[{"field": "indicator", "value": code}],
        )
    return found


async def list_indicators(
    session: AsyncSession, *, plan: str | None = None, category: str | None = None
) -> Sequence[Indicator]:
    stmt = select(Indicator).order_by(Indicator.code)
    if plan is not None:
        if await session.get(Plan, plan) is None:  # a filter naming nothing says so, not "no indicators"
            known = ", ".join(p.code for p in await list_plans(session))
            raise NotFound(f"plan '{plan}' does not exist; the plans are {known}",
                           details=[{"field": "plan", "value": plan}])
        stmt = stmt.where(Indicator.plan_code == plan)
    if category is not None:
        stmt = stmt.where(Indicator.category == category)
    found = (await session.execute(stmt)).scalars().all()
    if not found and category is not None:  # none in this plan is an answer; a category of no plan is a typo
        categories = [c for c in (await session.execute(
            select(Indicator.category).distinct().order_by(Indicator.category))).scalars() if c]
        if category not in categories:
            raise NotFound(f"no indicator has the category '{category}'; the categories are {'、'.join(categories)}",
                           details=[{"field": "category", "value": category}])
    return found


async def by_code(session: AsyncSession) -> dict[str, Indicator]:
    return {i.code: i for i in (await session.execute(select(Indicator))).scalars()}


async def list_plans(session: AsyncSession) -> Sequence[Plan]:
    return (await session.execute(select(Plan).order_by(Plan.code))).scalars().all()


async def upsert_plan(session: AsyncSession, code: str, fields: dict[str, Any]) -> bool:
    plan = await session.get(Plan, code)
    if plan is None:
        session.add(Plan(code=code, **fields))
        await session.flush()
        return True
    return _assign(plan, fields)


async def upsert_indicator(session: AsyncSession, code: str, fields: dict[str, Any]) -> Indicator:
    found = (await session.execute(select(Indicator).where(Indicator.code == code))).scalar_one_or_none()
    if found is None:
        found = Indicator(code=code, **fields)
        session.add(found)
    elif _assign(found, fields):
        # A changed definition is a new version of the indicator (PRODUCT.md §2: "named, versioned measure").
        found.version += 1
    await session.flush()
    return found


def _assign(obj: object, fields: dict[str, Any]) -> bool:
    changed = False
    for key, value in fields.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


async def put_report_levels(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Make the catalogue's expected reporters (indicator_report_levels) exactly `rows` ({indicator, levels,
    every}); returns how many rows were added, changed or removed (0 when already so)."""
    ids = {i.code: i.id for i in (await session.execute(select(Indicator))).scalars()}
    wanted: dict[tuple[int, str], str] = {}
    for spec in rows:
        code = str(spec["indicator"])
        if code not in ids:
            raise NotFound(f"indicator_reporting.yaml names unknown indicator '{code}'")
        for level in spec["levels"]:
            wanted[(ids[code], str(level))] = str(spec["every"])
    stored = {(r.indicator_id, r.level): r for r in (await session.execute(select(IndicatorReportLevel))).scalars()}
    changed = 0
    for key, row in stored.items():
        if key not in wanted:
            await session.delete(row)
            changed += 1
        elif row.every != wanted[key]:
            row.every = wanted[key]
            changed += 1
    for (indicator_id, level), every in wanted.items():
        if (indicator_id, level) not in stored:
            session.add(IndicatorReportLevel(indicator_id=indicator_id, level=level, every=every))
            changed += 1
    await session.flush()
    return changed
