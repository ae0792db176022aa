"""All SQL about ingest runs and push idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import clock
from shared.core.errors import Conflict
from shared.ingest.models import GOOD_STATUSES, RUN_FAILURES, RUN_STATUSES, IdempotencyKey, IngestRun
from shared.revisions import store as revisions


async def find_idempotent(session: AsyncSession, key: str) -> IdempotencyKey | None:
    return await session.get(IdempotencyKey, key)


async def remember_idempotent(
    session: AsyncSession, *, key: str, api_key_id: int | None, body_hash: str, status_code: int, response: Any
) -> None:
    session.add(
        IdempotencyKey(
            key=key,
            api_key_id=api_key_id,
            body_hash=body_hash,
            status_code=status_code,
            response=response,
            created_at=clock.now(),
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        # Another request with the same key committed first; the caller's transaction is rolled back.
        raise Conflict(
            "a request with this Idempotency-Key was processed concurrently; resend to get its result"
        ) from None


def _known(run: IngestRun) -> None:
    # Every status and failure a run record holds is listed in one place, which the web view's labels follow.
    if run.status not in RUN_STATUSES:
        raise ValueError(f"run status {run.status!r} is not one of {RUN_STATUSES}")
    if run.failure not in (RUN_FAILURES if run.status == "failed" else (None,)):
        raise ValueError(f"a failed run says which of {RUN_FAILURES} it met, and only a failed one: "
                         f"{run.status!r} with {run.failure!r}")


async def add_run(session: AsyncSession, run: IngestRun) -> IngestRun:
    _known(run)
    session.add(run)
    await session.flush()
    await revisions.changed(session)
    return run


async def save_run(session: AsyncSession, run: IngestRun) -> IngestRun:
    """Insert a run, or update the one with its id (the `running` trace committed when it started)."""
    _known(run)
    saved = await session.merge(run)
    await session.flush()
    await revisions.changed(session)  # a source's freshness on the dashboard
    return saved


ABANDONED = (
    "the run stopped before it finished (the collector was killed, crashed or its machine stopped); nothing it "
    "read was kept, and the export is ingested again by a later run"
)


async def abandon_stale(session: AsyncSession, source_id: str, *, keep: int | None) -> int:
    """Mark a source's `running` runs other than `keep` as `abandoned`; the caller holds the source's lock, so
    none of them is still alive. Returns how many were marked."""
    stmt = (
        update(IngestRun)
        .where(IngestRun.source_id == source_id, IngestRun.status == "running", IngestRun.id != keep)
        .values(status="abandoned", finished_at=clock.now(), message=ABANDONED)
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def last_succeeded(session: AsyncSession, source_id: str, for_date: Any = None) -> IngestRun | None:
    """The latest run of a source (for one day, if given) that wrote or confirmed data."""
    stmt = (
        select(IngestRun)
        .where(IngestRun.source_id == source_id, IngestRun.status.in_(GOOD_STATUSES))
        .order_by(IngestRun.id.desc())
        .limit(1)
    )
    if for_date is not None:
        stmt = stmt.where(IngestRun.for_date == for_date)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_runs(
    session: AsyncSession, *, source_id: str | None = None, status: str | None = None, limit: int = 50
) -> Sequence[IngestRun]:
    stmt = select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)
    if source_id is not None:
        stmt = stmt.where(IngestRun.source_id == source_id)
    if status is not None:
        stmt = stmt.where(IngestRun.status == status)
    return (await session.execute(stmt)).scalars().all()


class RunTotals(NamedTuple):
    source_id: str
    status: str
    runs: int
    rows_accepted: int
    rows_rejected: int
    last_finished: datetime | None


async def run_totals(session: AsyncSession) -> list[RunTotals]:
    """Per (source, status): runs, rows accepted and rejected, the latest end — one grouped statement (/metrics)."""
    stmt = (
        select(
            IngestRun.source_id,
            IngestRun.status,
            func.count(),
            func.coalesce(func.sum(IngestRun.rows_accepted), 0),
            func.coalesce(func.sum(IngestRun.rows_rejected), 0),
            func.max(IngestRun.finished_at),
        )
        .group_by(IngestRun.source_id, IngestRun.status)
        .order_by(IngestRun.source_id, IngestRun.status)
    )
    return [RunTotals(*row) for row in (await session.execute(stmt)).all()]
