"""HTTP face of the simulator: the three export families for any past day (or today), with ETag/304.

Dates are Asia/Shanghai; today's 好差评 file only holds ratings made so far, so it grows over the day.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import exports
from .exports import SHANGHAI

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_UTF8 = "text/csv; charset=utf-8"
CSV_GB18030 = "text/csv; charset=gb18030"
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PUBLISH_DELAY = timedelta(hours=1)  # a closed period's export is "published" an hour after it ends

Clock = Callable[[], datetime]

FAMILIES = (
    {"family": "wangban", "platform": "一体化政务服务平台", "url": "/exports/wangban/{day}.xlsx",
     "period": "day, YYYY-MM-DD", "media_type": XLSX},
    {"family": "yichuang", "platform": "综合窗口系统", "url": "/exports/yichuang/{month}.csv",
     "period": "month, YYYY-MM", "media_type": CSV_UTF8 + " (with BOM)"},
    {"family": "haochaping", "platform": "好差评系统", "url": "/exports/haochaping/{day}.csv",
     "period": "day, YYYY-MM-DD", "media_type": CSV_GB18030},
)


def shanghai_now() -> datetime:
    return datetime.now(SHANGHAI)


def parse_day(text: str) -> date:
    """A strict YYYY-MM-DD day, or HTTP 400."""
    try:
        if DAY_RE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise HTTPException(400, f"bad date {text!r}: expected a real day as YYYY-MM-DD, e.g. 2022-05-31\n")


def parse_month(text: str) -> date:
    """A strict YYYY-MM month (its first day), or HTTP 400."""
    try:
        return exports.parse_month(text)
    except ValueError:
        raise HTTPException(400, f"bad month {text!r}: expected YYYY-MM, e.g. 2022-05\n") from None


def refuse_future(first_day: date, label: str, today: date) -> None:
    if first_day > today:
        raise HTTPException(
            404, f"no export for {label}: it is in the future (today is {today.isoformat()}, Asia/Shanghai)\n"
        )


def local_start(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


def last_modified(start: datetime, end: datetime, now: datetime,
                  content_time: datetime | None = None) -> datetime:
    """When the file last changed: an hour after a closed period, else its newest content (or its start)."""
    if end + PUBLISH_DELAY <= now:
        return end + PUBLISH_DELAY
    return content_time or start


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def _not_modified_since(header: str, modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified.replace(microsecond=0) <= since


def conditional_response(request: Request, body: bytes, media_type: str, modified: datetime,
                         filename: str) -> Response:
    """200 with the body, or 304 when If-None-Match (or, lacking it, If-Modified-Since) says unchanged."""
    etag = etag_of(body)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True),
        "Cache-Control": "no-cache",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        unchanged = _etag_matches(if_none_match, etag)
    else:
        since = request.headers.get("if-modified-since")
        unchanged = since is not None and _not_modified_since(since, modified)
    if unchanged:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers=headers)


def create_app(clock: Clock | None = None) -> Starlette:
    """The simulator app; `clock` (an aware datetime source) lets tests pin "now"."""
    now_source = clock or shanghai_now

    def now() -> datetime:
        current = now_source()
        return current.astimezone(SHANGHAI) if current.tzinfo else current.replace(tzinfo=SHANGHAI)

    async def index(request: Request) -> JSONResponse:
        today = now().date()
        families = [
            {**family, "example": family["url"].format(day=today.isoformat(), month=today.strftime("%Y-%m"))}
            for family in FAMILIES
        ]
        return JSONResponse({
            "service": "青山区 government platform simulator",
            "timezone": "Asia/Shanghai",
            "today": today.isoformat(),
            "families": families,
        })

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    async def wangban(request: Request) -> Response:
        day = parse_day(request.path_params["day"])
        current = now()
        refuse_future(day, day.isoformat(), current.date())
        body = exports.wangban_xlsx(day)
        modified = last_modified(local_start(day), local_start(day + timedelta(days=1)), current)
        return conditional_response(request, body, XLSX, modified, f"wangban_stats_{day.isoformat()}.xlsx")

    async def yichuang(request: Request) -> Response:
        month_text = request.path_params["month"]
        first = parse_month(month_text)
        current = now()
        refuse_future(first, month_text, current.date())
        following = (first + timedelta(days=31)).replace(day=1)
        body = exports.yichuang_csv(month_text)
        modified = last_modified(local_start(first), local_start(following), current)
        return conditional_response(request, body, CSV_UTF8, modified, f"yichuang_stats_{month_text}.csv")

    async def haochaping(request: Request) -> Response:
        day = parse_day(request.path_params["day"])
        current = now()
        refuse_future(day, day.isoformat(), current.date())
        visible = exports.haochaping_visible(day, current)
        body = exports.haochaping_csv(day, current)
        newest = visible[-1].at.replace(tzinfo=SHANGHAI) if visible else None
        modified = last_modified(local_start(day), local_start(day + timedelta(days=1)), current, newest)
        filename = f"haochaping_detail_{day.isoformat()}.csv"
        return conditional_response(request, body, CSV_GB18030, modified, filename)

    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/exports/wangban/{day}.xlsx", wangban),
        Route("/exports/yichuang/{month}.csv", yichuang),
        Route("/exports/haochaping/{day}.csv", haochaping),
    ]
    return Starlette(routes=routes)
