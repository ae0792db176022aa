"""POST /v1/observations: platform push through the one write path; all-or-nothing; Idempotency-Key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.api import idempotency
from services.api.deps import SettingsDep, WriteSessionDep, actor, allow
from services.api.schemas.observations import ObservationsPush, PushResult, parse_push
from shared.access.models import ApiKey
from shared.access.policy import Action
from shared.core.errors import InvalidInput
from shared.observations import store as observation_store
from shared.observations.types import Figure

router = APIRouter(tags=["observations"])


def _body_schema() -> dict[str, Any]:
    """ObservationsPush's JSON schema with its row model inlined, for the docs (the body is parsed by hand)."""
    schema = ObservationsPush.model_json_schema()
    rows = schema.pop("$defs")["ObservationBody"]
    schema["properties"]["observations"]["items"] = rows
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _parse_body(raw: bytes) -> Sequence[Figure]:
    """The body's rows straight from its bytes (schemas.observations.parse_push: a tenth of what FastAPI's
    json.loads + validation costs on a 10k-row body); errors are reported exactly as FastAPI reports a bad body."""
    try:
        return parse_push(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        raise RequestValidationError(errors) from None


@router.post(
    "/observations",
    response_model=PushResult,
    responses={422: {"description": "every bad row listed; nothing written"}},
    openapi_extra=_body_schema(),
)
async def push_observations(
    request: Request,
    session: WriteSessionDep,
    settings: SettingsDep,
    key: Annotated[ApiKey, Depends(allow(Action.PUSH_OBSERVATIONS))],
    idempotency_key: Annotated[str | None, Header(max_length=idempotency.HEADER_MAX)] = None,
) -> PushResult | JSONResponse:
    raw = await request.body()
    items = _parse_body(raw)
    if len(items) > settings.api.max_push_rows:
        raise InvalidInput(
            f"{len(items)} rows is more than {settings.api.max_push_rows} per request; split the body"
        )
    resend = idempotency.start(key, idempotency_key, request.url.path, raw)
    if (replayed := await idempotency.replay(session, resend)) is not None:
        return replayed
    # An integration key may push only for its own org subtree.
    within = key.org_id if key.role == "integration" else None
    written = await observation_store.write_observations(
        session, items, source=f"push:{key.name}", actor=actor(key), within=within,
        max_figure=settings.observations.max_figure, refuse_subtotals=True,
    )
    result = PushResult(inserted=written.inserted, updated=written.updated, unchanged=written.unchanged)
    await idempotency.remember(session, resend, key, result.model_dump())
    return result
