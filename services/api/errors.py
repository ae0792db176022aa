"""Renders every failure as {"error": {"code", "message", "details"}} with a message a person can act on."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.core.errors import ScorecardError

log = logging.getLogger("scorecard.api")


def error_response(
    status: int, code: str, message: str, details: list[Any] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or []}}, status_code=status, headers=headers
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "observations", 3, "date") → "observations[3].date"
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"  # the body as a whole (not JSON at all, or empty)


async def _scorecard(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ScorecardError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, exc.details_json(), headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        row = loc[2] if len(loc) > 2 and loc[0] == "body" and isinstance(loc[2], int) else None
        details.append({"row": row, "field": _field_path(loc), "message": e.get("msg", "invalid")})
    fields = ", ".join(d["field"] for d in details[:5]) + (" …" if len(details) > 5 else "")
    return error_response(422, "invalid_input", f"the request is not valid: check {fields}", details)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "an internal error occurred; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ScorecardError, _scorecard)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
