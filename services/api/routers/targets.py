"""GET /v1/targets (stored and derived) and PUT /v1/targets (admin, audited, all-or-nothing)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends

from services.api.deps import ReadSessionDep, WriteSessionDep, actor, allow
from services.api.schemas.catalogue import TargetOut, TargetsPut, WriteCounts
from shared.access.models import ApiKey
from shared.access.policy import Action
from shared.targets import store as target_store
from shared.targets.resolve import TargetRow

router = APIRouter(tags=["targets"])


@router.get("/targets", response_model=list[TargetOut])
async def list_targets(
    session: ReadSessionDep, indicator: str | None = None, org: str | None = None, year: int | None = None
) -> list[TargetOut]:
    rows = await target_store.list_targets(session, indicator=indicator, org=org, year=year)
    return [TargetOut(**asdict(r)) for r in rows]


@router.put("/targets", response_model=WriteCounts)
async def put_targets(
    body: TargetsPut, session: WriteSessionDep, key: Annotated[ApiKey, Depends(allow(Action.SET_TARGETS))]
) -> WriteCounts:
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for t in body.targets:
        row = TargetRow(**t.model_dump())  # the body's fields are TargetRow's, less derived/seed_cell
        outcome, _ = await target_store.put_target(session, row, actor=actor(key))
        counts[outcome] += 1
    return WriteCounts(**counts)
