"""The application connects as a role that owns nothing (SCORECARD_DB__APP_ROLE), migrations as the owner
(SCORECARD_DB__OWNER_URL): the role can push, read and audit, and cannot UPDATE, DELETE, TRUNCATE the audit log
or switch its append-only trigger off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.api.deps import Database
from services.api.main import create_app
from shared.access import store as access_store
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings, Settings
from tests.builders import FUQIANG, obs, push_body
from tests.conftest import bearer, create_database, ensure_role, migrate_and_seed

ROLE = "scorecard_app_test"


@pytest.fixture(scope="module")
async def app_url(pg_server_url: str) -> str:
    """A database migrated and seeded by its owner, with ROLE granted by the migration; ROLE's URL."""
    ensure_role(pg_server_url, ROLE)
    owner_url = create_database(pg_server_url, "scorecard_roles")
    await migrate_and_seed(owner_url, app_role=ROLE)
    return owner_url.replace("://postgres@", f"://{ROLE}@", 1)


@pytest.fixture
async def app_db(app_url: str) -> AsyncIterator[Database]:
    engine = make_engine(DatabaseSettings(url=app_url), "scorecard-tests")
    yield Database(engine=engine, sessions=make_sessionmaker(engine))
    await engine.dispose()


class TestApplicationRole:
    async def test_pushes_reads_and_audits_as_the_application_role(self, app_url: str, app_db: Database) -> None:
        async with app_db.sessions() as s, s.begin():
            assert await s.scalar(text("SELECT current_user")) == ROLE
            _, key = await access_store.create_key(s, name="平台", role="integration", org=FUQIANG, pepper="",
                                                   actor="tests")  # fmt: skip
        app = create_app(Settings(db=DatabaseSettings(url=app_url)), app_db)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            body = push_body(obs("QS-07", FUQIANG, "2022-05-10", 8, 10))
            r = await client.post("/v1/observations", json=body, headers=bearer(key))
            assert r.status_code == 200, r.text
            r = await client.get("/v1/values", params={"indicator": "QS-07", "org": FUQIANG, "period": "2022-05"})
            assert r.status_code == 200, r.text

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_entries SET actor = 'someone else'",
            "DELETE FROM audit_entries",
            "TRUNCATE audit_entries",
            "ALTER TABLE audit_entries DISABLE TRIGGER USER",
            "DROP TABLE observations",
        ],
    )
    async def test_cannot_rewrite_the_audit_log_or_the_schema(self, app_db: Database, statement: str) -> None:
        async with app_db.sessions() as s, s.begin():
            with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                await s.execute(text(statement))
