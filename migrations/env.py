"""Alembic environment: runs migrations synchronously on the settings' database (or a URL passed in), as the
schema's owner (SCORECARD_DB__OWNER_URL, else SCORECARD_DB__URL), then grants the application's role
(SCORECARD_DB__APP_ROLE) what it needs and no more. One upgrade at a time per database (`upgrade_lock`): the API and
the collector may start together and both migrate."""

from alembic import context
from sqlalchemy import create_engine, pool

from shared.core.migrations import grant_app_role, upgrade_lock
from shared.core.settings import get_settings
from shared.models import Base

config = context.config
target_metadata = Base.metadata


def sync_url(url: str) -> str:
    # psycopg 3 is both the async and the sync driver; SQLite needs the plain sqlite3 driver here.
    return url.replace("sqlite+aiosqlite", "sqlite")


def run_migrations_online() -> None:
    db = get_settings().db
    url = config.attributes.get("url") or db.owner_url or db.url
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(sync_url(url), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction(), upgrade_lock(connection):
        if connection.dialect.name == "postgresql":
            context.execute("SET LOCAL lock_timeout = '5s'")
        context.run_migrations()
        role = config.attributes.get("app_role") or get_settings().db.app_role
        if role:
            grant_app_role(connection, role)


run_migrations_online()
