"""Schema version checks and upgrades through Alembic (the only way the schema changes)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.settings import REPO_ROOT


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")


def pending_heads(connection: Connection) -> set[str]:
    """The migration heads the database has not reached yet (empty when current)."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    current = set(MigrationContext.configure(connection).get_current_heads())
    return heads - current


async def pending_heads_of(session: AsyncSession) -> set[str]:
    """Readiness probe: touches the database (raises when unreachable) and returns the heads not applied."""
    conn = await session.connection()
    return await conn.run_sync(pending_heads)
