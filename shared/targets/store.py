"""All SQL about targets: read (with derived years), write (admin, audited)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access import audit
from shared.core import clock
from shared.core.errors import InvalidInput, Problem
from shared.indicators import store as indicator_store
from shared.indicators.models import Indicator
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit
from shared.revisions import store as revisions
from shared.targets import resolve
from shared.targets.models import Target
from shared.targets.resolve import TargetRow


async def stored_rows(session: AsyncSession, *, indicator_codes: Sequence[str] | None = None) -> list[TargetRow]:
    stmt = (
        select(Target, Indicator.code, OrgUnit.code, Indicator.measure)
        .join(Indicator, Indicator.id == Target.indicator_id)
        .join(OrgUnit, OrgUnit.id == Target.org_id)
    )
    if indicator_codes is not None:
        stmt = stmt.where(Indicator.code.in_(indicator_codes))
    return [
        TargetRow(
            indicator=ind,
            org=org,
            applies_to=t.applies_to,
            year=t.year,
            half=t.half,
            comparator=t.comparator,
            number=t.number,
            text=t.text,
            baseline=t.baseline,
            seed_cell=t.seed_cell,
            measure=measure,
        )
        for t, ind, org, measure in await session.execute(stmt)
    ]


async def list_targets(
    session: AsyncSession, *, indicator: str | None = None, org: str | None = None, year: int | None = None
) -> list[TargetRow]:
    """Stored targets plus derived (interpolated) years, filtered; unknown indicator/org → NotFound."""
    if indicator is not None:
        await indicator_store.get_by_code(session, indicator)
    if org is not None:
        await org_store.get_by_code(session, org)
    rows = resolve.with_derived(await stored_rows(session, indicator_codes=[indicator] if indicator else None))
    return [r for r in rows if (org is None or r.org == org) and (year is None or r.year == year)]


async def put_target(session: AsyncSession, row: TargetRow, *, actor: str) -> tuple[str, TargetRow]:
    """Insert or replace one target; audited with before/after. Returns ('inserted'|'updated'|'unchanged', row)."""
    ind = await indicator_store.get_by_code(session, row.indicator)
    if row.number is not None and ind.measure == "ratio" and ind.factor == 100 and row.number > 100:
        message = (f"{row.number:g} is above 100 %, which '{row.indicator}' ({ind.name}: a share of its "
                   "denominator) can never reach; give the target in percent, 0–100")
        raise InvalidInput(message, [Problem(message, field="number")])
    unit = await org_store.get_by_code(session, row.org)
    existing = (
        await session.execute(
            select(Target).where(
                Target.indicator_id == ind.id,
                Target.org_id == unit.id,
                Target.year == row.year,
                Target.half == row.half,
                Target.applies_to == row.applies_to,
            )
        )
    ).scalar_one_or_none()
    fields: dict[str, Any] = {
        "comparator": row.comparator,
        "number": row.number,
        "text": row.text,
        "baseline": row.baseline,
        "seed_cell": row.seed_cell,
    }
    key = f"{row.indicator}/{row.org}/{row.applies_to}/{row.year}" + (f"H{row.half}" if row.half else "")
    if existing is None:
        session.add(
            Target(
                indicator_id=ind.id,
                org_id=unit.id,
                year=row.year,
                half=row.half,
                applies_to=row.applies_to,
                updated_at=clock.now(),
                **fields,
            )
        )
        outcome, before = "inserted", None
    else:
        before = {k: getattr(existing, k) for k in fields}
        if before == fields:
            return "unchanged", row
        for k, v in fields.items():
            setattr(existing, k, v)
        existing.updated_at = clock.now()
        outcome = "updated"
    await session.flush()
    await revisions.changed(session)
    await audit.record(
        session,
        actor=actor,
        action=f"target.{outcome}",
        entity="target",
        entity_key=key,
        before=before,
        after={k: v for k, v in asdict(row).items() if k in fields},
    )
    return outcome, row
