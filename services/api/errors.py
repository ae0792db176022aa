"""Renders every failure as {"error": {"code", "message", "details"}} with a message a person can act on.

Database failures are classified here: unreachable, busy (a lock wait or a read over its time) → 503 with
Retry-After and one log line per change of the database's state; a value the database refuses → 422. Bodies
never carry SQL, hosts or driver messages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.core.errors import ScorecardError

log = logging.getLogger("scorecard.api")


# An input quoted back ('…') is cut to its start: a 5,000-character code sent in a query is not worth 10 kB of
# answer, and the start is enough to find it. Quotes count at word boundaries only, so "unit's" is no quote.
_LONG_QUOTE = re.compile(r"(?<![\w'])'([^']{81,})'(?!\w)")


def _short(text: str) -> str:
    return _LONG_QUOTE.sub(lambda m: f"'{m[1][:60]}…' ({len(m[1])} characters)", text)


def _short_detail(name: str, value: object) -> object:
    if not isinstance(value, str):
        return value
    if name == "value" and len(value) > 80:  # the input itself, unquoted
        return f"{value[:60]}… ({len(value)} characters)"
    return _short(value)


def error_response(
    status: int, code: str, message: str, details: list[Any] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    shown = [
        {k: _short_detail(k, v) for k, v in d.items()} if isinstance(d, dict) else d
        for d in details or []
    ]
    return JSONResponse(
        {"error": {"code": code, "message": _short(message), "details": shown}}, status_code=status, headers=headers
    )


_TYPE_TAGS = frozenset({"int", "float", "str", "bool", "decimal", "none"})


def _union_tag(position: int, part: Any) -> bool:
    """Pydantic names the member of a union that failed in the location (points.constrained-int); a person
    needs the field. After the source and its first name (a header's own name may hold "-")."""
    return position >= 2 and isinstance(part, str) and ("-" in part or "[" in part or part in _TYPE_TAGS)


def _wrong_type(message: str) -> bool:
    return message.startswith("Input should be a valid")


_NUMBER = "Input should be a valid number"  # what pydantic says of a float: an int field's member says "integer"


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "observations", 3, "date") → "observations[3].date"
    out = ""
    loc = tuple(part for n, part in enumerate(loc) if not _union_tag(n, part))
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"  # the body as a whole (not JSON at all, or empty)


async def _scorecard(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ScorecardError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, exc.details_json(), headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    by_field: dict[tuple[int | None, str], dict[str, Any]] = {}  # in order: one detail per row and field
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        row = loc[2] if len(loc) > 2 and loc[0] == "body" and isinstance(loc[2], int) else None
        detail = {"row": row, "field": _field_path(loc), "message": e.get("msg", "invalid")}
        if e.get("type") == "json_invalid" and detail["message"] == "JSON decode error":
            # FastAPI's own (pydantic's says "Invalid JSON: … at line 1 column 18"): its position is in the location
            where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            reason = (e.get("ctx") or {}).get("error", "not JSON")
            detail.update(field="body", message=f"the body is not valid JSON: {reason}{where}")
        same = by_field.get((row, detail["field"]))
        if same is None:
            by_field[row, detail["field"]] = detail
        elif _wrong_type(detail["message"]) and _wrong_type(same["message"]):
            if detail["message"].startswith(_NUMBER):  # an integer or a number: a number is what to send
                same["message"] = detail["message"]
        elif not _wrong_type(detail["message"]) and detail["message"] not in same["message"]:
            # Each member of a union said why (points: not an int, and not a float ≥ 0): the rule, not the type.
            same["message"] = detail["message"] if _wrong_type(same["message"]) else \
                f"{same['message']}; or: {detail['message']}"
    details = list(by_field.values())
    fields = ", ".join(d["field"] for d in details[:5]) + (" …" if len(details) > 5 else "")
    return error_response(422, "invalid_input", f"the request is not valid: check {fields}", details)


def _allowed_methods(request: Request) -> str:
    # Starlette's Allow names the methods of the first route whose path matched; a path served by several routes
    # (GET and POST /v1/schemes/{id}/publications) supports the methods of all of them.
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches({**request.scope, "method": ""})
        if match is not Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    message = str(exc.detail)
    if exc.status_code == 405:
        message = f"{request.method} is not supported here; use {headers.get('Allow') or 'another path'}"
    return error_response(exc.status_code, code, message, headers=headers or None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "an internal error occurred; it has been logged")


class DatabaseState:
    """Whether the database answered lately: one log line when it goes away and one when it is back, however many
    requests fail in between (no traceback per request)."""

    def __init__(self) -> None:
        self.down = False

    def failed(self, cause: BaseException) -> None:
        if not self.down:
            self.down = True
            log.error("database unavailable (%s); answering 503 until it is back", type(cause).__name__)

    def reachable(self) -> None:
        if self.down:
            self.down = False
            log.warning("database reachable again")


_UNAVAILABLE = "the database is not reachable; retry later"
_BUSY = "another write holds the figures this request changes (e.g. a collector run); retry in a moment"
_SLOW = "the query took longer than this API allows; ask for fewer periods, units or indicators"


def _classify(exc: Exception) -> tuple[int, str, str]:
    """(status, code, message) for a database failure; 500 for what is a bug."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pool connection free in time
        return 503, "busy", "the API has no free database connection; retry in a moment"
    orig = getattr(exc, "orig", None)
    sqlstate = str(getattr(orig, "sqlstate", None) or "")
    if sqlstate == "55P03" or (sqlstate == "" and "database is locked" in str(orig)):
        return 503, "busy", _BUSY
    if sqlstate == "57014":
        return 503, "timeout", _SLOW
    if sqlstate in ("40001", "40P01"):
        return 503, "busy", "the write met a concurrent one; resend it (with the same Idempotency-Key)"
    if sqlstate.startswith("22") or isinstance(exc, sa_exc.DataError):
        return 422, "invalid_input", "a value in the request is out of the range the database can store"
    if (
        sqlstate[:2] in ("08", "53", "57")
        or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
        or getattr(exc, "connection_invalidated", False)
    ):
        return 503, "database_unavailable", _UNAVAILABLE
    return 500, "internal_error", "an internal error occurred; it has been logged"


def database_failure(request: Request, exc: Exception) -> JSONResponse:
    status, code, message = _classify(exc)
    state: DatabaseState | None = getattr(request.app.state, "database_state", None)
    if code == "database_unavailable" and state is not None:
        state.failed(getattr(exc, "orig", None) or exc)
    if status == 500:
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    elif status == 422:
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    retry = str(request.app.state.settings.api.retry_after_seconds)
    return error_response(status, code, message, headers={"Retry-After": retry} if status == 503 else None)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    return database_failure(request, exc)


def install(app: FastAPI) -> None:
    app.state.database_state = DatabaseState()
    app.add_exception_handler(ScorecardError, _scorecard)
    app.add_exception_handler(sa_exc.DBAPIError, _database)
    app.add_exception_handler(sa_exc.TimeoutError, _database)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
