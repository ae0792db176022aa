"""Request dependencies: sessions (read / write, the write one commits after the handler), the API key, roles."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.access import keys, policy
from shared.access import store as access_store
from shared.access.models import ApiKey
from shared.access.policy import Action
from shared.core.cache import BytesCache
from shared.core.db import ReadSession, WriteSession
from shared.core.errors import Forbidden, Unauthorized
from shared.core.settings import Settings
from shared.ingest import locks
from shared.revisions import store as revisions
from shared.revisions.watch import RevisionWatch


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Sessions that only read (SQLite: never the write lock); tests bound to one connection leave it None.
    readers: async_sessionmaker[AsyncSession] | None = None
    # The data revision known without a round trip (PostgreSQL; shared/revisions/watch.py), None elsewhere.
    watch: RevisionWatch | None = None


# `async def`, though they only look up: FastAPI runs a plain `def` dependency in a worker thread, a hop that
# costs more than the look-up itself on every request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_answers(request: Request) -> BytesCache:
    """This process's computed answers (SCORECARD_API__ANSWER_CACHE_MB); keys carry their revision."""
    answers: BytesCache = request.app.state.answers
    return answers


async def data_revision(db: Database) -> int:
    """The data revision an answer is kept under (shared/revisions/), read before anything else. A
    Database bound to one connection (the tests', without `readers`) reads it in a session of that connection,
    which sees the test's own writes; the application's takes it from its watch while that is listening, else
    reads it in one autocommit round trip."""
    if db.readers is None:
        async with db.sessions() as session:
            return await revisions.revision(session)
    if db.watch is not None and (known := db.watch.known()) is not None:
        return known
    return await revisions.current(db.engine)


async def get_read_session(db: Annotated[Database, Depends(get_database)]) -> AsyncIterator[ReadSession]:
    async with (db.readers or db.sessions)() as session:
        yield ReadSession(session)


async def get_write_session(
    db: Annotated[Database, Depends(get_database)], request: Request
) -> AsyncIterator[WriteSession]:
    # The edge owns the transaction: commit after the handler, roll back on any error (STYLE §10.4).
    settings: Settings = request.app.state.settings
    async with db.sessions() as session:
        async with session.begin():
            await locks.bound_write_waits(session, settings.api.lock_wait_seconds)
            yield WriteSession(session)
        counted = session.info.get(revisions.COUNTED)
        if counted is not None and db.watch is not None:
            db.watch.saw(counted)  # committed: this process's next read knows it (no wait for the notification)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
AnswersDep = Annotated[BytesCache, Depends(get_answers)]
DatabaseDep = Annotated[Database, Depends(get_database)]  # for routes that open a session only when needed
ReadSessionDep = Annotated[ReadSession, Depends(get_read_session)]
# scope="function": the commit happens before the response is sent, so a failed commit is never a 200.
WriteSessionDep = Annotated[WriteSession, Depends(get_write_session, scope="function")]

_bearer = HTTPBearer(auto_error=False)
# The same header where a key is optional (open reads): its own name in the OpenAPI document, which
# openapi_errors turns into an optional HTTPBearer requirement.
OPTIONAL_BEARER = "OptionalHTTPBearer"
_optional_bearer = HTTPBearer(auto_error=False, scheme_name=OPTIONAL_BEARER)


async def get_api_key(
    request: Request,
    db: Annotated[Database, Depends(get_database)],
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None:
        raise Unauthorized("this endpoint needs an API key: send 'Authorization: Bearer <key>'")
    # Looked up once a request: a write under a router whose reads check a sent key asks twice.
    known: ApiKey | None = getattr(request.state, "api_key", None)
    if known is None:
        async with (db.readers or db.sessions)() as session:
            known = await access_store.authenticate(session, credentials.credentials, settings.api.key_pepper)
        request.state.api_key = known
    return known


ApiKeyDep = Annotated[ApiKey, Depends(get_api_key)]


def allow(action: Action) -> Callable[[ApiKey], Coroutine[Any, Any, ApiKey]]:
    """The role check of shared.access.policy for a route; the scope is checked where the data is."""

    async def check(key: ApiKeyDep) -> ApiKey:
        if not policy.permits(key.role, action):
            needed = " or ".join(policy.roles_for(action))
            raise Forbidden(f"the key '{key.name}' has role '{key.role}'; {action.value} needs {needed}")
        return key

    return check


def actor(key: ApiKey) -> str:
    return f"key:{key.prefix}:{key.name}"


class ReadKeys:
    """Keys that passed on a read, taken again for SCORECARD_API__READ_KEY_SECONDS without a look-up (a keyed
    read would otherwise pay a round trip more than an anonymous one). Writes always look their key up, so a
    revoked key stops writing at once. Held by digest, never the key itself; at most `size`, then started over."""

    def __init__(self, seconds: float, size: int = 1024) -> None:
        self.seconds, self.size = seconds, size
        self._known: dict[str, tuple[float, ApiKey]] = {}

    def get(self, digest: str) -> ApiKey | None:
        found = self._known.get(digest)
        return found[1] if found is not None and time.monotonic() < found[0] else None

    def keep(self, digest: str, key: ApiKey) -> None:
        if self.seconds <= 0:
            return
        if len(self._known) >= self.size:
            self._known.clear()
        self._known[digest] = (time.monotonic() + self.seconds, key)


async def get_reader(
    request: Request,
    db: Annotated[Database, Depends(get_database)],
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
) -> None:
    """Reads are open unless SCORECARD_API__READ_REQUIRES_KEY is set; then any valid key may read. A key sent to
    an open read is checked all the same: a revoked or mistyped key is told so (401), not read as anonymous."""
    if credentials is None:
        if settings.api.read_requires_key:
            await get_api_key(request, db, settings, credentials)  # its 401
        return
    known: ReadKeys = request.app.state.read_keys
    digest = keys.hash_key(credentials.credentials, settings.api.key_pepper)
    reading = request.method in ("GET", "HEAD")  # a write under a reading router (PUT /v1/targets) looks it up
    if reading and (key := known.get(digest)) is not None:
        request.state.api_key = key
        return
    key = await get_api_key(request, db, settings, credentials)
    if reading:
        known.keep(digest, key)
