"""GET /v1/values: values rolled up over the org tree and time, with target, achievement and status."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.api.deps import AnswersDep, DatabaseDep, SettingsDep, data_revision
from services.api.schemas.strict import IsoDate
from services.api.schemas.values import ValueOut, ValuesOut
from shared.core import clock
from shared.core.errors import InvalidInput, Problem
from shared.core.periods import Granularity, Period, TooManyPeriods, parse_period, series
from shared.core.settings import ApiSettings
from shared.org_units import store as org_store
from shared.values import compute
from shared.values import query as value_query

router = APIRouter(tags=["values"])
MAX_PERIODS = 400


def _periods(period: str | None, start: date | None, end: date | None, granularity: Granularity) -> list[Period]:
    if period is not None and (start is not None or end is not None):
        msg = "give period= or from= and to=, not both"
        raise InvalidInput(msg, [Problem(msg, field="period")])
    if period is not None:
        try:
            return [parse_period(clock.today().isoformat() if period == "today" else period)]
        except ValueError as exc:
            raise InvalidInput(str(exc), [Problem(str(exc), field="period")]) from None
    if start is None or end is None:
        msg = "give period=2022-05 (or 2022-05-31, 2022Q2, 2022H1, 2022), or from= and to= with granularity="
        raise InvalidInput(msg, [Problem(msg, field="period")])
    try:
        return series(start, end, granularity, limit=MAX_PERIODS)
    except TooManyPeriods:
        msg = f"more than {MAX_PERIODS} periods requested; at most {MAX_PERIODS} — use a coarser granularity"
        raise InvalidInput(msg, [Problem(msg, field="granularity")]) from None
    except ValueError as exc:
        raise InvalidInput(str(exc), [Problem(str(exc), field="to")]) from None


def _within_limits(api: ApiSettings, codes: list[str], units: int, periods: int) -> None:
    """One request's work is bounded: indicators (a repeated code counts again) and periods × units × indicators."""
    if len(codes) > api.max_indicators:
        msg = f"{len(codes)} indicator codes given (repeats count); at most {api.max_indicators} per request"
        raise InvalidInput(msg, [Problem(msg, field="indicator")])
    cells = len(codes) * units * periods
    if cells > api.max_value_cells:
        msg = (f"{len(codes)} indicators × {units} units × {periods} periods = {cells} values; at most "
               f"{api.max_value_cells} per request — ask for fewer, or use a coarser granularity")
        raise InvalidInput(msg, [Problem(msg, field="indicator")])


@router.get("/values", response_model=ValuesOut)
async def get_values(
    db: DatabaseDep,
    settings: SettingsDep,
    answers: AnswersDep,
    indicator: list[str] = Query(description="one or more codes: indicator=QS-07&indicator=QS-05 or QS-07,QS-05"),
    org: str = Query(description="unit code"),
    period: str | None = Query(None, description="2022-05-31, 2022-05, 2022Q2, 2022H1, 2022 or 'today'"),
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
    granularity: Granularity = "month",
    children: bool = Query(False, description="values of the unit's direct children instead of the unit"),
) -> Response:
    codes = [c.strip() for item in indicator for c in item.split(",") if c.strip()]
    if not codes:
        msg = "no indicator code given: indicator=QS-07 (GET /v1/indicators lists them)"
        raise InvalidInput(msg, [Problem(msg, field="indicator")])
    periods = _periods(period, start, end, granularity)
    # The same question at the same data revision (read first: a write counts it up) has the same answer.
    key = ("values", await data_revision(db), tuple(codes), org, tuple(p.label for p in periods), children)
    body = answers.get(key)
    if body is None:
        async with (db.readers or db.sessions)() as session:
            units = len(await org_store.list_units(session, parent=org)) if children else 1
            _within_limits(settings.api, codes, units, len(periods))
            rows = await value_query.values(
                session, indicator_codes=codes, org=org, children=children, periods=periods, scoring=settings.scoring
            )
        body = _document(rows).model_dump_json().encode()
        answers.put(key, body)
    return Response(body, media_type="application/json")


def _document(rows: list[value_query.ValueRow]) -> ValuesOut:
    return ValuesOut(
        values=[
            ValueOut(
                indicator=r.indicator.code,
                indicator_name=r.indicator.name,
                unit=r.indicator.unit,
                org=r.unit.code,
                org_name=r.unit.name,
                period=r.period.label,
                start=r.period.start,
                end=r.period.end,
                numerator=r.value.numerator,
                denominator=r.value.denominator,
                value=r.value.value,
                units_reporting=r.value.units_reporting,
                units_expected=r.value.units_expected,
                target=compute.target_json(r.value.target),
                achievement=r.value.achievement,
                status=r.value.status,
                formula=r.value.formula,
            )
            for r in rows
        ]
    )
