"""Schema version checks and upgrades through Alembic (the only way the schema changes)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.settings import REPO_ROOT


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, *, app_role: str | None = None) -> None:
    """Migrate to head (as the schema's owner); with `app_role`, grant that role what the application needs."""
    config = alembic_config(url)
    if app_role is not None:
        config.attributes["app_role"] = app_role
    command.upgrade(config, "head")


# One upgrade at a time per database: the API and the collector may start together and both migrate. The key is
# any fixed bigint; PostgreSQL advisory locks are per database, so other databases on the server never wait.
UPGRADE_LOCK_KEY = 0x5C0EECA2D0001
# How long an upgrade waits for another one to finish before it fails (a long migration on a large database).
UPGRADE_LOCK_WAIT = "300s"


@contextmanager
def upgrade_lock(connection: Connection) -> Iterator[None]:
    """Serialises upgrades of one database. PostgreSQL: a transaction-level advisory lock, taken inside the
    migration transaction (released at its commit or rollback), waiting at most UPGRADE_LOCK_WAIT; whoever waited
    then finds the schema at head and does nothing. SQLite: an exclusive file lock beside the database file
    (`<file>.migrate-lock`), held until the upgrade ends; an in-memory database needs none."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = '{UPGRADE_LOCK_WAIT}'"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
        yield
        return
    database = connection.engine.url.database if connection.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(Path(database).with_name(Path(database).name + ".migrate-lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


# The application's role may read and write the data, never change the schema, and on the audit log only add
# and read: no UPDATE, DELETE or TRUNCATE, and — not owning it — no way to disable its append-only trigger.
_GRANTS = """
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries FROM {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
"""


def grant_app_role(connection: Connection, role: str) -> None:
    """Grants of the application's role (PostgreSQL), after every migration: new tables are covered too."""
    if connection.dialect.name == "postgresql":
        quoted = connection.dialect.identifier_preparer.quote_identifier(role)
        for statement in _GRANTS.format(role=quoted).strip().splitlines():
            connection.execute(text(statement))


def pending_heads(connection: Connection) -> set[str]:
    """The migration heads the database has not reached yet (empty when current)."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    current = set(MigrationContext.configure(connection).get_current_heads())
    return heads - current


async def pending_heads_of(session: AsyncSession) -> set[str]:
    """Readiness probe: touches the database (raises when unreachable) and returns the heads not applied."""
    conn = await session.connection()
    return await conn.run_sync(pending_heads)
