"""Liveness and readiness (database reachable, migrations at head)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import ReadSessionDep
from services.api.errors import error_response
from shared.core import migrations

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(session: ReadSessionDep) -> dict[str, str] | JSONResponse:
    try:
        pending = await migrations.pending_heads_of(session)
    except Exception as exc:  # noqa: BLE001 — any failure here means "not ready", with the reason
        return error_response(503, "not_ready", f"database not reachable: {type(exc).__name__}: {exc}")
    if pending:
        return error_response(
            503, "not_ready", "database schema is behind; run 'make migrate'", [{"pending_heads": sorted(pending)}]
        )
    return {"status": "ready"}
