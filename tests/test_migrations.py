"""Models ≡ migrations: an empty PostgreSQL upgraded to head matches the models (what `alembic check` does),
and downgrade → upgrade works."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from shared.core import migrations
from shared.models import Base
from shared.observations.models import ObservationMonth
from tests.conftest import create_database


def _diff(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    return diff


class TestMigrations:
    def test_models_match_migrations_on_postgres(self, pg_server_url: str) -> None:
        url = create_database(pg_server_url, "scorecard_migrations")
        migrations.upgrade(url)
        assert _diff(url) == []
        engine = create_engine(url)
        with engine.connect() as conn:  # a storage parameter: not compared by autogenerate
            options = conn.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'observation_months'"))
        engine.dispose()
        assert options == [f"fillfactor={ObservationMonth.__table_args__['postgresql_with']['fillfactor']}"]

    def test_downgrade_then_upgrade(self, pg_server_url: str) -> None:
        url = create_database(pg_server_url, "scorecard_downgrade")
        config = migrations.alembic_config(url)
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        engine = create_engine(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        engine.dispose()
        command.upgrade(config, "head")
        assert _diff(url) == []

    def test_models_match_migrations_on_sqlite(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        url = f"sqlite:///{tmp_path / 'm.db'}"
        migrations.upgrade(url)
        assert _diff(url) == []
