"""The ingest run's record: the `running` trace committed when a run starts, its final state, and its tally of
rejected rows and remarks. The parsing and writing of a run live in run.py."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.collector import faults
from shared.core import clock
from shared.core.errors import Problem
from shared.ingest import locks
from shared.ingest import store as ingest_store
from shared.ingest.models import IngestRun

log = logging.getLogger("scorecard.collector")
PROBLEMS_KEPT = 1_000  # errors (and warnings) listed in a run record; all are counted


def new_run(source_id: str, url: str, day: object, status: str = "running") -> IngestRun:
    return IngestRun(source_id=source_id, url=url, for_date=day, started_at=clock.now(), status=status, errors=[],
                     warnings=[], inserted=0, updated=0, unchanged=0, rows_read=0, rows_accepted=0, rows_rejected=0,
                     rows_skipped=0)


async def start(sessions: async_sessionmaker[AsyncSession], run: IngestRun) -> None:
    """Commit the run as `running` before any work, so a run killed outright (SIGKILL, power) leaves a trace that
    the next run of the source marks `abandoned`. Sets run.id; `run` itself stays outside any session."""
    async with sessions() as session, session.begin():
        trace = await ingest_store.add_run(session, new_run(run.source_id, run.url or "", run.for_date))
        run.id, run.started_at = trace.id, trace.started_at


async def finish(session: AsyncSession, run: IngestRun, status: str, message: str | None) -> IngestRun:
    """Write the run's final state over its trace, in the caller's transaction (the one that wrote its data)."""
    run.status, run.message, run.finished_at = status, message, clock.now()
    return await ingest_store.save_run(session, run)


async def fail(
    sessions: async_sessionmaker[AsyncSession], run: IngestRun, failure: str, message: str, details: list[object]
) -> IngestRun:
    """Record a failed run in a fresh transaction (the run's own was rolled back: nothing of it was kept).
    `failure`: which of RUN_FAILURES it met."""
    failed = new_run(run.source_id, run.url or "", run.for_date, "failed")
    failed.failure = failure
    failed.id, failed.started_at, failed.errors, failed.content_hash = run.id, run.started_at, details, run.content_hash
    log.warning("source %s %s failed: %s", run.source_id, run.for_date, message)
    try:
        async with sessions() as session, session.begin():
            # The run may have failed before it swept its source's stale traces; do it here when no run is alive.
            if await locks.try_source_lock(session, run.source_id):
                await ingest_store.abandon_stale(session, run.source_id, keep=run.id)
            return await finish(session, failed, "failed", message)
    except Exception as exc:  # noqa: BLE001 — the database itself is down: log it; the next run or catch-up retries
        log.error("source %s: could not record the failed run: %s", run.source_id, faults.describe(exc))
        failed.message, failed.finished_at = message, clock.now()
        return failed


class Tally:
    """A run's rejected rows and remarks: all counted, the first PROBLEMS_KEPT of each kept for the run record
    (an export of a million bad rows must not become a million-entry record, nor fill the memory)."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.errors_seen = self.warnings_seen = 0
        self._rejected = bytearray()  # one byte per file row: 1 = rejected

    def reject(self, problems: list[Problem]) -> None:
        for p in problems:
            if p.row is not None:
                if p.row >= len(self._rejected):
                    self._rejected.extend(bytes(max(p.row + 1 - len(self._rejected), len(self._rejected))))
                self._rejected[p.row] = 1
        self.errors_seen += len(problems)
        self.errors += problems[: max(0, PROBLEMS_KEPT - len(self.errors))]

    def remark(self, problems: list[Problem]) -> None:
        self.warnings_seen += len(problems)
        self.warnings += problems[: max(0, PROBLEMS_KEPT - len(self.warnings))]

    @property
    def rows_rejected(self) -> int:
        return self._rejected.count(1)

    def listed(self) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        out = []
        for kept, seen in ((self.errors, self.errors_seen), (self.warnings, self.warnings_seen)):
            items = [p.as_dict() for p in sorted(kept, key=lambda p: p.row or 0)]
            if seen > len(kept):
                items.append(Problem(f"… and {seen - len(kept)} more not listed (the first {len(kept)} are)").as_dict())
            out.append(items)
        return out[0], out[1]
