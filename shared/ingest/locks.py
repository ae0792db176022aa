"""Cross-process exclusion for ingesting one source (PRODUCT.md §4: two collectors never ingest one source at once).

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
