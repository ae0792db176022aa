"""SQLite (`make run`): read sessions begin DEFERRED and read under WAL while a writer holds the write lock;
writes keep BEGIN IMMEDIATE (issue 9, item 10)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from services.api.main import create_app
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings, Settings


class TestReadSessions:
    async def test_read_while_a_writer_holds_the_lock(self, tmp_path: Path) -> None:
        engine = make_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}"), "t")
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE figures (x integer)"))
                await conn.execute(text("INSERT INTO figures VALUES (1)"))
            writes, reads = make_sessionmaker(engine), make_sessionmaker(engine, read_only=True)
            async with writes() as writer, writer.begin():
                await writer.execute(text("INSERT INTO figures VALUES (2)"))  # holds the write lock from here
                started = time.monotonic()
                async with reads() as reader:
                    seen = (await reader.execute(text("SELECT count(*) FROM figures"))).scalar_one()
                assert seen == 1 and time.monotonic() - started < 2  # the last committed state, at once
            async with reads() as reader:
                assert (await reader.execute(text("SELECT count(*) FROM figures"))).scalar_one() == 2
        finally:
            await engine.dispose()

    async def test_writers_still_take_the_lock_up_front(self, tmp_path: Path) -> None:
        engine = make_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"), "t")
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE figures (x integer)"))
            writes = make_sessionmaker(engine)
            async with writes() as first, first.begin():
                await first.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the lock is taken before any write
                second = asyncio.ensure_future(_write(writes))
                await asyncio.sleep(0.5)
                assert not second.done()  # queued on busy_timeout, not failing on a read→write upgrade
            await asyncio.wait_for(second, 10)
        finally:
            await engine.dispose()


async def _write(writes) -> None:  # type: ignore[no-untyped-def]
    async with writes() as s, s.begin():
        await s.execute(text("INSERT INTO figures VALUES (1)"))


class TestApiOnSqlite:
    async def test_reads_answer_during_a_long_write(self, sqlite_url: str, sqlite_engine) -> None:  # type: ignore[no-untyped-def]
        app = create_app(Settings(db=DatabaseSettings(url=sqlite_url)))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
        ingest = make_sessionmaker(sqlite_engine)()
        async with app.router.lifespan_context(app), client, ingest, ingest.begin():
            await ingest.execute(text("UPDATE indicators SET version = version"))  # a collector run, mid-write
            started = time.monotonic()
            r = await client.get("/v1/indicators")
            assert r.status_code == 200, r.text
            assert time.monotonic() - started < 2
            await ingest.rollback()
