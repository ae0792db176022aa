"""The API when the database is away, slow or locked (issue 9, items 4 and 5): 503 with Retry-After and nothing
internal in the body, one log line per change of state, recovery without a restart; a read over its time and a
write waiting on a collector's lock give up; a read whose client leaves is cancelled."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.main import create_app
from shared.core.settings import ApiSettings, DatabaseSettings, Settings
from tests.builders import FUQIANG, QINGSHAN, obs, push_body
from tests.conftest import MakeKey, bearer, create_database, migrate_and_seed
from tests.pg_server import PostgresServer


@pytest.fixture(scope="module")
async def own_server() -> AsyncIterator[tuple[PostgresServer, str]]:
    """A throw-away PostgreSQL server of this module's own, so stopping it leaves the suite's alone."""
    server = PostgresServer()
    try:
        url = create_database(server.start(), "scorecard_outage")
        await migrate_and_seed(url)
        yield server, url
    finally:
        server.stop()


def _stop(server: PostgresServer) -> None:
    # Fast shutdown: connected clients are cut at once, as when the server crashes or is restarted.
    pg_ctl = server._cmd(str(server.bindir / "pg_ctl"), "stop", "-D", str(server.dir / "data"), "-m", "fast", "-w")
    subprocess.run(pg_ctl, check=True, stdout=subprocess.DEVNULL)
    assert server.proc is not None
    server.proc.wait(timeout=30)


def _restart(server: PostgresServer) -> None:
    # Same data directory and port as PostgresServer.start, without initdb.
    server.proc = subprocess.Popen(
        server._cmd(str(server.bindir / "postgres"), "-D", str(server.dir / "data"), "-p", str(server.port),
                    "-k", str(server.dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server._wait_ready()


async def running_app(settings: Settings) -> tuple[FastAPI, httpx.AsyncClient]:
    app = create_app(settings)
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


class TestDatabaseOutage:
    async def test_503_while_down_then_recovers_without_a_restart(self, own_server, caplog) -> None:
        server, url = own_server
        settings = Settings(db=DatabaseSettings(url=url, pool_size=2), api=ApiSettings(retry_after_seconds=7))
        app, client = await running_app(settings)
        caplog.set_level(logging.INFO, logger="scorecard.api")
        async with app.router.lifespan_context(app), client:
            assert (await client.get("/v1/indicators")).status_code == 200
            _stop(server)
            try:
                for url_path in ("/v1/indicators", f"/v1/values?indicator=QS-07&org={QINGSHAN}&period=2022-05",
                                 "/v1/org-units/150204000000", "/v1/indicators"):
                    r = await client.get(url_path)
                    assert r.status_code == 503, r.text
                    assert r.headers["Retry-After"] == "7"
                    assert r.json()["error"]["code"] == "database_unavailable"
                    assert str(server.port) not in r.text and "SELECT" not in r.text and "127.0.0.1" not in r.text
                push = await client.post("/v1/observations", json=push_body(obs("QS-07", FUQIANG, "2022-05-31", 1, 2)),
                                         headers=bearer("sc_x_" + "y" * 40))
                assert push.status_code == 503, push.text
                ready = await client.get("/readyz")
                assert ready.status_code == 503 and ready.headers["Retry-After"] == "7"
                assert str(server.port) not in ready.text and "SELECT" not in ready.text
            finally:
                _restart(server)
            deadline = time.monotonic() + 20
            while (r := await client.get("/v1/indicators")).status_code != 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert r.status_code == 200, r.text
            assert (await client.get("/readyz")).status_code == 200
        records = [rec for rec in caplog.records if rec.name == "scorecard.api" and rec.levelno >= logging.WARNING]
        assert [rec.getMessage().split(" (")[0] for rec in records] == [
            "database unavailable", "database reachable again"
        ], [rec.getMessage() for rec in records]
        assert all(rec.exc_info is None for rec in records)


@pytest.fixture
async def holder(pg_engine: AsyncEngine) -> AsyncIterator[object]:
    """A connection of its own (a collector run, a migration) holding locks until the test ends."""
    async with pg_engine.connect() as conn:
        await conn.begin()
        yield conn
        await conn.rollback()


class TestBoundedWaits:
    async def test_a_push_waiting_for_a_collector_held_indicator_gives_up_with_503(
        self, settings, database, holder, make_key: MakeKey, session
    ) -> None:
        indicator_id = (await session.execute(text("SELECT id FROM indicators WHERE code = 'QS-07'"))).scalar_one()
        await holder.execute(  # type: ignore[attr-defined]
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"observations:{indicator_id}"}
        )
        api = ApiSettings(lock_wait_seconds=0.3, retry_after_seconds=3)
        app = create_app(settings.model_copy(update={"api": api}), database)
        key = bearer(await make_key("admin"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
            started = time.monotonic()
            r = await c.post("/v1/observations", json=push_body(obs("QS-07", FUQIANG, "2022-05-31", 1, 2)),
                             headers=key)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "busy" and r.headers["Retry-After"] == "3"
        assert time.monotonic() - started < 5

    async def test_a_read_over_its_statement_timeout_is_a_503(self, pg_url, holder) -> None:
        await holder.execute(text("LOCK TABLE indicators IN ACCESS EXCLUSIVE MODE"))  # type: ignore[attr-defined]
        settings = Settings(db=DatabaseSettings(url=pg_url, pool_size=1), api=ApiSettings(read_timeout_seconds=0.3))
        app, client = await running_app(settings)
        async with app.router.lifespan_context(app), client:
            started = time.monotonic()
            r = await client.get("/v1/indicators")
        assert r.status_code == 503 and r.json()["error"]["code"] == "timeout", r.text
        assert time.monotonic() - started < 5


class TestClientGoesAway:
    async def test_a_long_read_is_cancelled_when_its_client_disconnects(self, pg_url, pg_engine, holder) -> None:
        await holder.execute(text("LOCK TABLE indicators IN ACCESS EXCLUSIVE MODE"))  # type: ignore[attr-defined]
        settings = Settings(db=DatabaseSettings(url=pg_url, pool_size=1))
        app = create_app(settings)
        sent: list[dict] = []
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict:
            if messages:
                return messages.pop()
            await asyncio.sleep(0.5)  # the client leaves half a second in
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": "/v1/indicators", "raw_path": b"/v1/indicators", "query_string": b"",
                 "headers": [(b"host", b"api")], "client": ("127.0.0.1", 1), "server": ("api", 80),
                 "root_path": "", "app": app}
        async with app.router.lifespan_context(app):
            started = time.monotonic()
            await asyncio.wait_for(app(scope, receive, send), timeout=10)
            assert time.monotonic() - started < 3, "the read went on after its client left"
            assert sent == []
            # The statement stops on the server too (cancelled, or its closed connection noticed within 1 s).
            deadline = time.monotonic() + 5
            while (waiting := await _active_api_statements(pg_engine)) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert waiting == 0


async def _active_api_statements(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'scorecard-api' AND state = 'active'"))
        return int(found.scalar_one())
