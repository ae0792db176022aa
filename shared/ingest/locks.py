"""Cross-process exclusion for ingesting one source (PRODUCT.md §4: two collectors never ingest one source at once),
and the bound on how long an API write waits for a lock.

A transaction-scoped PostgreSQL advisory lock, not `SELECT … FOR UPDATE`: there is no row to lock before the
first run of a source, and the lock is released by the database itself when the transaction ends or the
process dies. SQLite (one local process in `make run`) has no such lock and needs none.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def try_source_lock(session: AsyncSession, source_id: str) -> bool:
    """Take the source's lock for the current transaction; False when another transaction holds it."""
    conn = await session.connection()
    if conn.dialect.name != "postgresql":
        return True
    got = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"ingest:{source_id}"}
    )
    return bool(got.scalar_one())


async def bound_write_waits(session: AsyncSession, lock_wait_seconds: float) -> None:
    """For the rest of the transaction: a lock wait (an indicator's advisory lock that a collector run holds, a
    row another write updates) fails after `lock_wait_seconds` (SQLSTATE 55P03) instead of lasting the whole run;
    the engine's read statement_timeout does not cut a write. PostgreSQL; no-op on SQLite (busy_timeout bounds it)."""
    conn = await session.connection()
    if conn.dialect.name != "postgresql":
        return
    await session.execute(
        text("SELECT set_config('lock_timeout', :ms, true), set_config('statement_timeout', '0', true)"),
        {"ms": f"{max(1, round(lock_wait_seconds * 1000))}ms"},
    )
