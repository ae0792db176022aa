"""The data revision (models.py): read first by every kept answer (/v1/values, /v1/dashboard), counted up by the
one write path of each kind inside its own transaction. Imports nothing but its model, so any write path may call it.

Every writer updates the same row: writers queue there only for the rest of their transaction, so `changed` is
called at the end of a write (after its indicator locks), where nothing else is waited for before the commit."""

from __future__ import annotations

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.revisions.models import DataRevision
from shared.revisions.watch import CHANNEL

# session.info key: the revision this session's transaction counted up to (the API tells its watch after commit).
COUNTED = "data_revision"


async def revision(session: AsyncSession) -> int:
    """The current data revision (what cached dashboards are keyed by)."""
    return int(await session.scalar(select(DataRevision.revision).where(DataRevision.id == 1)) or 0)


async def current(engine: AsyncEngine) -> int:
    """The revision on a connection of its own in autocommit: one round trip and no transaction, for a read that
    may need nothing else (an answer kept under it)."""
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return int(await autocommit.scalar(select(DataRevision.revision).where(DataRevision.id == 1)) or 0)


async def changed(session: AsyncSession) -> None:
    """Count the data revision up, in the writing transaction: every cached dashboard is unreachable once the
    write commits (and not before: a reader that sees the new revision sees the write). On PostgreSQL the new
    revision is also NOTIFYed on watch.CHANNEL, which PostgreSQL sends at commit (watch.py)."""
    counted = update(DataRevision).where(DataRevision.id == 1).values(revision=DataRevision.revision + 1)
    if session.get_bind().dialect.name == "postgresql":
        counted = counted.returning(DataRevision.revision, func.pg_notify(CHANNEL, cast(DataRevision.revision, String)))
    else:
        counted = counted.returning(DataRevision.revision)
    session.info[COUNTED] = int((await session.execute(counted)).scalar_one())
