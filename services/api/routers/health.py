"""Liveness and readiness (database reachable, migrations at head)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.deps import ReadSessionDep
from services.api.errors import error_response
from shared.core import migrations

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request, session: ReadSessionDep) -> dict[str, str] | JSONResponse:
    try:
        pending = await migrations.pending_heads_of(session)
    except Exception as exc:  # noqa: BLE001 — any failure here means "not ready"
        # The cause goes to the log (once per outage); the body names no host, port or SQL.
        request.app.state.database_state.failed(exc)
        retry = {"Retry-After": str(request.app.state.settings.api.retry_after_seconds)}
        return error_response(503, "not_ready", "the database is not reachable", headers=retry)
    if pending:
        return error_response(
            503, "not_ready", "database schema is behind; run 'make migrate'", [{"pending_heads": sorted(pending)}]
        )
    return {"status": "ready"}
