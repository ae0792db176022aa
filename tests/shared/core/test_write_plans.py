"""`db.write_plans` sets the planner for one write's transaction only: a pooled connection serves reads after it,
which must plan with the server's own settings (JIT, Memoize and work_mem as configured)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.core.db import write_plans
from tests.conftest import Database

SETTINGS = ("jit", "enable_memoize", "work_mem")
FOR_A_WRITE = {"jit": "off", "enable_memoize": "off", "work_mem": "16MB"}


async def _shown(conn: AsyncConnection) -> dict[str, str]:
    return {name: (await conn.execute(text(f"SHOW {name}"))).scalar_one() for name in SETTINGS}


async def test_the_write_settings_end_with_the_transaction(committed_database: Database) -> None:
    async with committed_database.engine.connect() as conn:
        before = await _shown(conn)
        await conn.commit()
        async with committed_database.sessions(bind=conn) as s, s.begin():
            await write_plans(s)
            assert await _shown(await s.connection()) == FOR_A_WRITE
        assert await _shown(conn) == before != FOR_A_WRITE
