"""好差评 follow-up: GET /v1/ratings/overdue (差评 past their 核实/整改 deadline) and
POST /v1/ratings/{rating_id}/followup (move a bad rating to 核实中 / 已整改)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from services.api.deps import ReadSessionDep, WriteSessionDep, actor, allow, get_reader
from services.api.schemas.strict import IsoDate
from shared.access import policy
from shared.access.models import ApiKey
from shared.access.policy import Action
from shared.core import clock
from shared.core.errors import InvalidInput, Problem
from shared.org_units import store as org_store
from shared.ratings import store as rating_store
from shared.ratings.models import Rating

router = APIRouter(tags=["ratings"])


class RatingOut(BaseModel):
    rating_id: str
    org: str
    rating_date: date
    level: int
    channel: str
    service_item: str
    department: str | None
    followup_state: str | None
    followup_due_date: date | None
    followup_done_at: datetime | None


class FollowupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["核实中", "已整改"]


def _out(r: Rating, codes: dict[int, str]) -> RatingOut:
    return RatingOut(
        rating_id=r.rating_id,
        org=codes[r.org_id],
        rating_date=r.rating_date,
        level=r.level,
        channel=r.channel,
        service_item=r.service_item,
        department=r.department,
        followup_state=r.followup_state,
        followup_due_date=r.followup_due_date,
        followup_done_at=None if r.followup_done_at is None else clock.in_shanghai(r.followup_done_at),
    )


_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2}),(.+)", re.DOTALL)


def _cursor(value: str | None) -> tuple[date, str] | None:
    """`after`: the (due date, rating id) a page ended at, written `2022-06-23,HCP1` (as the next-page link has it)."""
    if value is None:
        return None
    match = _CURSOR.fullmatch(value)
    try:
        if match:
            return date.fromisoformat(match[1]), match[2]
    except ValueError:
        pass
    message = f"'after' must be where a page ended, as the next link gives it: <due date>,<rating id> (got '{value}')"
    raise InvalidInput(message, [Problem(message, field="after")])


@router.get(
    "/ratings/overdue",
    response_model=list[RatingOut],
    dependencies=[Depends(get_reader)],
    description="By deadline, at most `limit` ratings; when there are more, a `Link: <…>; rel=\"next\"` header "
    "gives the next page (its `after`).",
)
async def overdue_ratings(
    request: Request,
    response: Response,
    session: ReadSessionDep,
    org: str | None = None,
    today: IsoDate | None = None,
    limit: int = Query(500, ge=1, le=5000),
    after: str | None = Query(None, max_length=200, description="where the previous page ended (its next link)"),
) -> list[RatingOut]:
    rows = await rating_store.overdue(
        session, today=today or clock.today(), org=org, limit=limit + 1, after=_cursor(after)
    )
    if len(rows) > limit:
        rows, last = rows[:limit], rows[limit - 1]
        following = request.url.include_query_params(after=f"{last.followup_due_date},{last.rating_id}")
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    codes = await org_store.codes_by_id(session, list({r.org_id for r in rows}))
    return [_out(r, codes) for r in rows]


@router.post("/ratings/{rating_id}/followup", response_model=RatingOut)
async def set_followup(
    rating_id: str,
    body: FollowupIn,
    session: WriteSessionDep,
    key: Annotated[ApiKey, Depends(allow(Action.FOLLOW_UP_RATING))],
) -> RatingOut:
    within = policy.subtree_root(key.role, key.org_id, Action.FOLLOW_UP_RATING)
    row = await rating_store.set_followup(
        session, rating_id=rating_id, state=body.state, actor=actor(key), within=within
    )
    return _out(row, await org_store.codes_by_id(session, [row.org_id]))
