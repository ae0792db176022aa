"""GET /v1/org-units and /v1/org-units/{code}."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from services.api.deps import ReadSessionDep
from services.api.schemas.catalogue import OrgUnitOut
from shared.org_units import store as org_store
from shared.org_units.models import OrgUnit

router = APIRouter(tags=["org units"])
Level = Literal["province", "city", "county", "township", "village"]
Kind = Literal["region", "zone", "department"]


def _out(unit: OrgUnit, codes: dict[int, str]) -> OrgUnitOut:
    return OrgUnitOut(
        code=unit.code,
        name=unit.name,
        kind=unit.kind,
        level=unit.level,
        parent=codes.get(unit.parent_id) if unit.parent_id else None,
        valid_from=unit.valid_from,
        valid_to=unit.valid_to,
    )


@router.get("/org-units", response_model=list[OrgUnitOut])
async def list_org_units(
    session: ReadSessionDep,
    parent: str | None = Query(None, description="direct children of this unit"),
    subtree: str | None = Query(None, description="this unit and all its descendants"),
    level: Level | None = None,
    kind: Kind | None = None,
) -> list[OrgUnitOut]:
    units = await org_store.list_units(session, parent=parent, subtree=subtree, level=level, kind=kind)
    codes = await org_store.codes_by_id(session, [u.parent_id for u in units if u.parent_id])
    return [_out(u, codes) for u in units]


@router.get("/org-units/{code}", response_model=OrgUnitOut)
async def get_org_unit(code: str, session: ReadSessionDep) -> OrgUnitOut:
    unit = await org_store.get_by_code(session, code)
    codes = await org_store.codes_by_id(session, [unit.parent_id] if unit.parent_id else [])
    return _out(unit, codes)
