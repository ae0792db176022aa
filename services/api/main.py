"""The API application: create_app(settings) builds it; engines are created in the lifespan, not at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import event

from services.api import errors, metrics, openapi_errors, ui
from services.api.deps import Database, ReadKeys, get_reader
from services.api.guard import RequestGuard
from services.api.kept import KeptAnswers
from services.api.routers import (
    dashboard,
    health,
    indicators,
    ingest_runs,
    observations,
    org_units,
    ratings,
    schemes,
    scores,
    targets,
    values,
)
from shared.core.cache import BytesCache
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import Settings, get_settings
from shared.revisions.watch import RevisionWatch

# ASCII: a generated client is named after the title (openapi-python-client: digital-government-scorecard-api-client).
API_TITLE = "Digital Government Scorecard API"
API_DESCRIPTION = (
    "数字政府建设考评: the indicator catalogue, targets, figures rolled up over the org tree and time, scores and "
    "rankings (通报). Every error is `{\"error\": {code, message, details}}` (schema `Error`)."
)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app. Tests pass a `database` bound to their rolled-back transaction."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        db = database or _open_database(settings)
        app.state.db = db
        # A connection handed out again means the database is back after an outage (one log line).
        state: errors.DatabaseState = app.state.database_state

        def back(*_: object) -> None:
            state.reachable()

        event.listen(db.engine.sync_engine, "checkout", back)
        if db.watch is not None:
            await db.watch.start()
        if owned:
            # Everything loaded at start-up lives as long as the process: keep it out of the cyclic collector's
            # scans, which the ~100k short-lived objects of a 10k-row push body trigger again and again.
            gc.freeze()
        try:
            yield
        finally:
            event.remove(db.engine.sync_engine, "checkout", back)
            if db.watch is not None:
                await db.watch.stop()
            if owned:
                await db.engine.dispose()

    app = FastAPI(
        title=API_TITLE,
        description=API_DESCRIPTION,
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=openapi_errors.operation_id,
    )
    app.state.settings = settings
    # Computed answers of this process, under keys that carry the revision they were computed at (shared/core/cache.py).
    app.state.answers = BytesCache(settings.api.answer_cache_mb * 1024 * 1024)
    app.state.read_keys = ReadKeys(settings.api.read_key_seconds)
    if database is not None:
        app.state.db = database
    errors.install(app)
    app.add_middleware(KeptAnswers)  # innermost of the layers: guarded, measured and given an id like a route
    metrics.install(app)
    # Added last = outermost: CORS answers preflights, then the guard sees every request before any handler.
    app.add_middleware(RequestGuard, max_body_bytes=settings.api.max_body_bytes,
                       body_timeout_seconds=settings.api.body_timeout_seconds)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
        )
    ui.install(app, settings)  # /docs (Swagger UI 5) and the web view /ui/, assets from the package
    app.include_router(health.router)
    app.include_router(observations.router, prefix="/v1")
    app.include_router(ratings.router, prefix="/v1")
    app.include_router(schemes.router, prefix="/v1")
    for module in (org_units, indicators, targets, values, scores, ingest_runs, dashboard):
        app.include_router(module.router, prefix="/v1", dependencies=[Depends(get_reader)])
    openapi_errors.install(app)
    return app


def _open_database(settings: Settings) -> Database:
    engine = make_engine(
        settings.db,
        "scorecard-api",
        statement_timeout_seconds=settings.api.read_timeout_seconds,
        client_check_seconds=1,
    )
    watch = None
    if engine.dialect.name == "postgresql" and settings.api.revision_listen:
        watch = RevisionWatch(
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            heartbeat=settings.api.revision_heartbeat_seconds,
        )
    return Database(
        engine=engine,
        sessions=make_sessionmaker(engine),
        readers=make_sessionmaker(engine, read_only=True),
        watch=watch,
    )

