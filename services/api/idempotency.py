"""Idempotency-Key for every POST that takes one (pushes, assessments): a resend with the same body to the same
path replays the first answer; the same key with another body, or to another path, is a 409."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from shared.access.models import ApiKey
from shared.core.db import WriteSession
from shared.core.errors import Conflict
from shared.ingest import store as ingest_store
from shared.ingest.models import IdempotencyKey

HEADER_MAX = 200  # the longest header accepted (stored by its hash where the stored key would not fit)


@dataclass(frozen=True)
class Request:
    key: str | None  # scoped to the API key: two integrations may use the same header value
    body_hash: str  # of the path and the body: the same body to another scheme's path is another request
    header: str | None


def start(api_key: ApiKey, header: str | None, path: str, raw: bytes) -> Request:
    digest = hashlib.sha256(path.encode() + b"\0" + raw).hexdigest()
    return Request(_stored_key(api_key, header) if header else None, digest, header)


def _stored_key(api_key: ApiKey, header: str) -> str:
    # The stored key carries the API key's id: a header of the allowed HEADER_MAX characters would overflow the
    # column (String(200)), so a key that does not fit is stored by its hash (keys that fit stay readable).
    key = f"{api_key.id}:{header}"
    if len(key) <= IdempotencyKey.key.type.length:
        return key
    return f"{api_key.id}:sha256:{hashlib.sha256(header.encode()).hexdigest()}"


async def replay(session: WriteSession, request: Request) -> JSONResponse | None:
    """The stored answer to the same request, or None when it is new."""
    if request.key is None:
        return None
    seen = await ingest_store.find_idempotent(session, request.key)
    if seen is None:
        return None
    if seen.body_hash != request.body_hash:
        raise Conflict(
            f"Idempotency-Key '{request.header}' was already used with a different body or path; use a new key for "
            "new data"
        )
    return JSONResponse(seen.response, status_code=seen.status_code, headers={"Idempotent-Replayed": "true"})


async def remember(session: WriteSession, request: Request, api_key: ApiKey, response: dict[str, Any]) -> None:
    if request.key is not None:
        await ingest_store.remember_idempotent(
            session,
            key=request.key,
            api_key_id=api_key.id,
            body_hash=request.body_hash,
            status_code=200,
            response=response,
        )
