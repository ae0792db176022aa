"""GET /v1/indicators and /v1/indicators/{code}: the catalogue."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import ReadSessionDep
from services.api.schemas.catalogue import IndicatorOut
from shared.indicators import store as indicator_store
from shared.indicators.models import Indicator

router = APIRouter(tags=["indicators"])


def _out(i: Indicator) -> IndicatorOut:
    return IndicatorOut(
        code=i.code,
        plan=i.plan_code,
        name=i.name,
        seed_name=i.seed_name,
        annex_name=i.annex_name,
        category=i.category,
        unit=i.unit,
        calculation=i.calculation,
        numerator_label=i.numerator_label,
        denominator_label=i.denominator_label,
        measure=i.measure,
        factor=i.factor,
        whole_numbers=i.whole_numbers,
        time_aggregation=i.time_aggregation,
        rollup=i.rollup,
        direction=i.direction,
        property=i.property,
        responsible_unit=i.responsible_unit,
        inferred=list(i.inferred or []),
        version=i.version,
    )


@router.get("/indicators", response_model=list[IndicatorOut])
async def list_indicators(
    session: ReadSessionDep, plan: str | None = None, category: str | None = None
) -> list[IndicatorOut]:
    return [_out(i) for i in await indicator_store.list_indicators(session, plan=plan, category=category)]


@router.get("/indicators/{code}", response_model=IndicatorOut)
async def get_indicator(code: str, session: ReadSessionDep) -> IndicatorOut:
    return _out(await indicator_store.get_by_code(session, code))
