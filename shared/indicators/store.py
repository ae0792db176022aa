"""All SQL about plans and the indicator catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.errors import NotFound
from shared.indicators.models import Indicator, Plan


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
        stmt = stmt.where(Indicator.plan_code == plan)
    if category is not None:
        stmt = stmt.where(Indicator.category == category)
    return (await session.execute(stmt)).scalars().all()


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
