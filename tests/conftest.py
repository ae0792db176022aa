"""Test harness: a real PostgreSQL (started here) and an SQLite file, both migrated to head and seeded once;
each test runs inside an outer transaction that is rolled back, and the app's sessions join it."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api.deps import Database
from services.api.main import create_app
from shared.access import store as access_store
from shared.core import migrations
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings, Settings
from shared.seeds import load as seed_load
from tests.pg_server import PostgresServer

TEST_DB = "scorecard_test"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (ours, or SCORECARD_TEST_DATABASE_URL)."""
    given = os.environ.get("SCORECARD_TEST_DATABASE_URL")
    if given:
        yield given
        return
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def create_database(server_url: str, name: str) -> str:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def ensure_role(server_url: str, role: str) -> None:
    """A login role the application may connect as (trust authentication on the test server)."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is None:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    engine.dispose()


async def migrate_and_seed(url: str, app_role: str | None = None) -> None:
    """Migrate (as the owner, granting `app_role`) and load the seed catalogues."""
    await asyncio.to_thread(migrations.upgrade, url, app_role=app_role)
    engine = make_engine(DatabaseSettings(url=url), "scorecard-tests")
    async with make_sessionmaker(engine)() as session, session.begin():
        await seed_load.load_all(session)
    await engine.dispose()


@pytest.fixture(scope="session")
async def pg_url(pg_server_url: str) -> str:
    url = create_database(pg_server_url, TEST_DB)
    await migrate_and_seed(url)
    return url


@pytest.fixture(scope="session")
async def sqlite_url() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="scorecard-sqlite-") as d:
        url = f"sqlite+aiosqlite:///{Path(d) / 'test.db'}"
        await migrate_and_seed(url)
        yield url


async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(DatabaseSettings(url=url), "scorecard-tests")
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    async for e in _engine(pg_url):
        yield e


@pytest.fixture(scope="session")
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    async for e in _engine(sqlite_url):
        yield e


async def _rolled_back(engine: AsyncEngine) -> AsyncIterator[Database]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        sessions = async_sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        yield Database(engine=engine, sessions=sessions)
        await outer.rollback()
    # Every connection a test borrowed is back (QueuePool; SQLite's pool keeps no count).
    checked_out = getattr(engine.pool, "checkedout", None)
    assert checked_out is None or checked_out() == 0, engine.pool.status()


@pytest.fixture
async def database(pg_engine: AsyncEngine) -> AsyncIterator[Database]:
    """The PostgreSQL database inside a transaction that is rolled back after the test."""
    async for db in _rolled_back(pg_engine):
        yield db


@pytest.fixture(params=["postgres", "sqlite"])
async def any_database(
    request: pytest.FixtureRequest, pg_engine: AsyncEngine, sqlite_engine: AsyncEngine
) -> AsyncIterator[Database]:
    """For store tests that must hold on both backends."""
    engine = pg_engine if request.param == "postgres" else sqlite_engine
    async for db in _rolled_back(engine):
        yield db


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessions() as s:
        yield s


@pytest.fixture
def settings(pg_url: str) -> Settings:
    return Settings(db=DatabaseSettings(url=pg_url))


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        yield c


MakeKey = Callable[..., Awaitable[str]]


@pytest.fixture
def make_key(database: Database, settings: Settings) -> MakeKey:
    """Create an API key inside the test transaction; returns the header dict value's key."""

    async def make(role: str, org: str | None = None, name: str | None = None) -> str:
        async with database.sessions() as s, s.begin():
            _, plaintext = await access_store.create_key(
                s, name=name or f"test-{role}", role=role, org=org, pepper=settings.api.key_pepper, actor="tests"
            )
        return plaintext

    return make


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


COMMITTED_TABLES = (
    "observations",
    "observation_history",
    "observation_months",
    "rollup_months",
    "indicator_levels",
    "idempotency_keys",
    "ingest_runs",
    "ratings",
    "api_keys",
)


@pytest.fixture
async def committed_database(pg_engine: AsyncEngine) -> AsyncIterator[Database]:
    """PostgreSQL with real commits, for concurrency tests (locks, races); emptied of figures afterwards."""
    yield Database(engine=pg_engine, sessions=make_sessionmaker(pg_engine))
    async with pg_engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(COMMITTED_TABLES)} CASCADE"))
