"""GET /v1/ingest-runs: the collector's runs with counts and errors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.api.deps import ReadSessionDep
from shared.core import clock
from shared.core.errors import InvalidInput, Problem
from shared.ingest import store as ingest_store
from shared.ingest.models import GOOD_STATUSES, RUN_STATUSES

router = APIRouter(tags=["ingest runs"])


class IngestRunOut(BaseModel):
    id: int
    source: str
    url: str | None
    for_date: date | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    good: bool = Field(
        description="the run left its source's figures current (succeeded, or the export was unchanged): the "
        "last such run is when the source last delivered"
    )
    failure: str | None = Field(
        description="a failed run's cause: fetch (the platform), export (its columns, encoding or size), config "
        "(the source's settings), disk, database or internal; null for any other status. `message` has the exact words"
    )
    message: str | None
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_skipped: int
    inserted: int
    updated: int
    unchanged: int
    errors: list[Any]
    warnings: list[Any]
    content_hash: str | None


@router.get("/ingest-runs", response_model=list[IngestRunOut])
async def list_ingest_runs(
    session: ReadSessionDep,
    source: str | None = None,
    status: str | None = Query(
        None, description="only runs with this status", json_schema_extra={"enum": list(RUN_STATUSES)}
    ),
    limit: int = Query(50, ge=1, le=500),
) -> list[IngestRunOut]:
    if status is not None and status not in RUN_STATUSES:
        message = f"unknown run status '{status}'; use one of {', '.join(RUN_STATUSES)}"
        raise InvalidInput(message, [Problem(message, field="status")])
    runs = await ingest_store.list_runs(session, source_id=source, status=status, limit=limit)
    return [
        IngestRunOut(
            id=r.id,
            source=r.source_id,
            url=r.url,
            for_date=r.for_date,
            started_at=clock.in_shanghai(r.started_at),
            finished_at=None if r.finished_at is None else clock.in_shanghai(r.finished_at),
            status=r.status,
            good=r.status in GOOD_STATUSES,
            failure=r.failure,
            message=r.message,
            rows_read=r.rows_read,
            rows_accepted=r.rows_accepted,
            rows_rejected=r.rows_rejected,
            rows_skipped=r.rows_skipped,
            inserted=r.inserted,
            updated=r.updated,
            unchanged=r.unchanged,
            errors=r.errors or [],
            warnings=r.warnings or [],
            content_hash=r.content_hash,
        )
        for r in runs
    ]
