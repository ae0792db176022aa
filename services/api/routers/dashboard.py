"""GET /v1/dashboard: a jurisdiction's dashboard, built by shared/dashboard and kept per process under the data
revision (every write counts it up in its own transaction; read first, so a cached answer is never older than
its key). Strong ETag (SHA-256 of the bytes); If-None-Match answers 304."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from services.api.deps import AnswersDep, DatabaseDep, SettingsDep, data_revision
from services.api.schemas.dashboard import DashboardOut
from shared.core import clock
from shared.core.cache import BytesCache
from shared.dashboard import build as dashboard

router = APIRouter(tags=["dashboard"])


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _key(revision: int, org: str, year: int) -> tuple[str, int, str, int]:
    return ("dashboard", revision, org, year)


def kept(cache: BytesCache, revision: int, org: str, year: int, now: datetime) -> tuple[bytes, str] | None:
    """The body and ETag kept for this question at this revision, unless it has expired (a source turned stale or
    the day changed since it was built). Also used by services/api/kept.py."""
    key = _key(revision, org, year)
    body, meta = cache.get(key), cache.get((key, "meta"))
    if body is None or meta is None:
        return None
    etag, until = meta.decode().split("|")
    return None if now.timestamp() >= float(until) else (body, etag)


def keep(cache: BytesCache, revision: int, org: str, year: int, built: dashboard.Built) -> tuple[bytes, str]:
    """Keep a built dashboard for `kept`: its bytes, and its ETag with the moment it expires."""
    key, etag = _key(revision, org, year), etag_of(built.body)
    cache.put(key, built.body)
    cache.put((key, "meta"), f"{etag}|{built.valid_until.timestamp()}".encode())
    return built.body, etag


def answer(body: bytes, etag: str, if_none_match: str | None) -> Response:
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/dashboard",
    response_model=DashboardOut,
    responses={304: {"description": "not modified: the If-None-Match ETag is current"}},
)
async def get_dashboard(
    db: DatabaseDep,
    settings: SettingsDep,
    cache: AnswersDep,
    org: Annotated[str, Query(max_length=24, description="the jurisdiction's unit code, e.g. 150204000000")],
    year: Annotated[int | None, Query(ge=2000, le=9999, description="the year shown; omitted = this year")] = None,
    if_none_match: Annotated[str | None, Header(max_length=2000)] = None,
) -> Response:
    now = clock.now()
    year = now.year if year is None else year
    dashboard.check_year(year, now.date())
    revision = await data_revision(db)
    found = kept(cache, revision, org, year, now)
    if found is None:
        async with (db.readers or db.sessions)() as session:
            built = await dashboard.build(
                session, org=org, year=year, now=now, scoring=settings.scoring, settings=settings.dashboard
            )
        found = keep(cache, revision, org, year, built)
    return answer(*found, if_none_match)
