"""Declarative base with the constraint naming convention, engine and session factories.

The only place that knows which database dialect is in use (`is_postgres`).
"""

from __future__ import annotations

from typing import NewType

from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from shared.core.settings import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A session that may only read, and one that writes; the names tell a reader of a signature which it is.
ReadSession = NewType("ReadSession", AsyncSession)
WriteSession = NewType("WriteSession", AsyncSession)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Execution option of read sessions: on SQLite their transactions begin DEFERRED (see _sqlite_begin).
READ_ONLY = "scorecard_read_only"


def make_engine(
    settings: DatabaseSettings,
    application_name: str,
    *,
    statement_timeout_seconds: float | None = None,
    client_check_seconds: float | None = None,
) -> AsyncEngine:
    """`statement_timeout_seconds`: PostgreSQL's statement_timeout for every session of this engine (the API's
    reads); a write session lifts it for its own transaction (shared.ingest.locks.bound_write_waits).
    `client_check_seconds`: how often a running statement checks that its client is still connected
    (client_connection_check_interval, PostgreSQL 14+), so a read the API gave up on stops on the server too."""
    url = settings.url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=settings.echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, str] = {"application_name": application_name}
    options = [
        f"-c {name}={max(1, round(seconds * 1000))}"
        for name, seconds in (
            ("statement_timeout", statement_timeout_seconds),
            ("client_connection_check_interval", client_check_seconds),
        )
        if seconds is not None
    ]
    if options:
        connect_args["options"] = " ".join(options)
    return create_async_engine(
        url, echo=settings.echo, pool_size=settings.pool_size, pool_pre_ping=True, connect_args=connect_args
    )


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Foreign keys are off by default in SQLite; WAL lets the API read while the collector writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    # Let SQLAlchemy, not the driver, emit BEGIN (see _sqlite_begin); also makes SAVEPOINTs work.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # IMMEDIATE takes the write lock up front: two writers (collector jobs, a push) then queue on
    # busy_timeout instead of deadlocking on a read→write upgrade ("database is locked").
    # A read session begins DEFERRED: under WAL it reads its snapshot while a writer writes, never waiting.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions of an engine; `read_only` ones never take SQLite's write lock (they must not write)."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return async_sessionmaker(bind, expire_on_commit=False)


def is_postgres(bind: AsyncSession | AsyncEngine | Engine) -> bool:
    return (
        bind.get_bind().dialect.name == "postgresql"
        if isinstance(bind, AsyncSession)
        else (bind.dialect.name == "postgresql")
    )


def month_start_sql(dialect: str, column: str, *, next_month: bool = False) -> str:
    """SQL for the first day of the month (or of the next month) of a date column, per dialect."""
    if dialect == "postgresql":
        shift = " + interval '1 month'" if next_month else ""
        return f"CAST(date_trunc('month', {column}){shift} AS date)"
    shift = ", '+1 month'" if next_month else ""
    return f"date({column}, 'start of month'{shift})"


async def reset_temp_table(session: AsyncSession, name: str, columns: str) -> None:
    """Create a per-connection scratch table once, and empty it. TRUNCATE on PostgreSQL: a DELETE would leave
    dead rows that autovacuum never visits in temp tables, and the planner would soon misjudge the table."""
    await session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})"))
    await empty_temp_table(session, name)


async def empty_temp_table(session: AsyncSession, name: str) -> None:
    """Empty a scratch table made by reset_temp_table."""
    pg = (await session.connection()).dialect.name == "postgresql"
    await session.execute(text(f"TRUNCATE {name}" if pg else f"DELETE FROM {name}"))


async def analyze_temp_table(session: AsyncSession, name: str) -> None:
    """Give the planner real row counts for a freshly filled scratch table (PostgreSQL; no-op on SQLite)."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text(f"ANALYZE {name}"))


async def write_plans(session: AsyncSession) -> None:
    """For the rest of the transaction, plans made for a write (PostgreSQL; no-op on SQLite): no JIT compilation
    (a write's statements are estimated costly enough to compile, ~25 ms each for every chunk of an export, and
    run too short to gain it back), no Memoize in front of the key look-ups (every staged key is distinct, so its
    cache only ever misses), and 16 MB per sort or hash instead of 4: a 10k-row push's grouping of its months
    (one group a row at the province) spilled to disk. Bounded: a push body and an export chunk are."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT set_config('jit', 'off', true), set_config('enable_memoize', 'off', true), "
                                   "set_config('work_mem', '16MB', true)"))


async def small_analyze_samples(session: AsyncSession) -> None:
    """For the rest of the transaction, ANALYZE samples 3,000 rows instead of 30,000: enough for the row counts
    and key spreads of scratch tables, and ten times cheaper (PostgreSQL; no-op on SQLite)."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SET LOCAL default_statistics_target = 10"))
