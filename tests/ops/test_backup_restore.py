"""Backup and restore as deploy/OFFLINE.md says: `pg_dump -Fc` of a database with figures pushed through the API,
`pg_restore` into a new empty database, then the same values through the API and the same rows in SQL, the schema
at head and the application role's grants (audit log: no DELETE) restored with it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from services.api.deps import Database
from services.api.main import create_app
from shared.access import store as access_store
from shared.core import migrations
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DatabaseSettings, Settings
from tests.builders import FUQIANG, QINGSHAN, XINGFU, obs, push_body
from tests.conftest import bearer, create_database, ensure_role, migrate_and_seed
from tests.pg_server import _bindir

ROLE = "scorecard_app_backup"
READS = [
    {"indicator": "QS-07", "org": FUQIANG, "period": "2022-05"},
    {"indicator": "QS-07", "org": XINGFU, "period": "2022-05"},
    {"indicator": "QS-07", "org": FUQIANG, "period": "2022-05-10"},
]


def _tool(name: str) -> str:
    """The server's own major version of pg_dump / pg_restore when we started it, else the one on PATH."""
    bindir = _bindir()
    found = str(bindir / name) if bindir and (bindir / name).exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install the PostgreSQL client (Debian: apt-get install postgresql-client)")
    return found


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


async def _with_api(url: str, key: str | None = None) -> tuple[str | None, list[dict[str, Any]]]:
    """Pushes figures with a new key when `key` is None; returns the key and the READS' answers."""
    engine = make_engine(DatabaseSettings(url=url), "scorecard-tests")
    db = Database(engine=engine, sessions=make_sessionmaker(engine))
    try:
        app = create_app(Settings(db=DatabaseSettings(url=url)), db)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            if key is None:
                async with db.sessions() as s, s.begin():
                    _, key = await access_store.create_key(s, name="平台", role="integration", org=QINGSHAN,
                                                           pepper="", actor="tests")  # fmt: skip
                body = push_body(
                    obs("QS-07", FUQIANG, "2022-05-10", 8, 10),
                    obs("QS-07", FUQIANG, "2022-05-11", 9, 10),
                    obs("QS-07", XINGFU, "2022-05-10", 3, 4),
                )
                r = await client.post("/v1/observations", json=body, headers=bearer(key))
                assert r.status_code == 200, r.text
            answers = []
            for params in READS:
                r = await client.get("/v1/values", params=params)
                assert r.status_code == 200, r.text
                answers.append(r.json())
            return key, answers
    finally:
        await engine.dispose()


def _rows(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    with engine.connect() as conn:
        facts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("observations", "observation_months", "org_units", "indicators", "audit_entries",
                          "api_keys")  # fmt: skip
        }
        facts["version"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        facts["app may insert, not delete, audit"] = conn.execute(text(
            "SELECT has_table_privilege(:r, 'audit_entries', 'INSERT'),"
            " has_table_privilege(:r, 'audit_entries', 'DELETE')"), {"r": ROLE}).one()  # fmt: skip
    engine.dispose()
    return facts


class TestBackupRestore:
    async def test_dump_restore_gives_the_same_values(self, pg_server_url: str, tmp_path: Path) -> None:
        ensure_role(pg_server_url, ROLE)
        source = create_database(pg_server_url, "scorecard_backup_source")
        await migrate_and_seed(source, app_role=ROLE)
        key, before = await _with_api(source)
        assert [a["values"][0]["value"] for a in before] == [90.0, 75.0, 80.0], before

        dump = tmp_path / "scorecard.dump"
        subprocess.run([_tool("pg_dump"), "-Fc", "-f", str(dump), "-d", _libpq(source)], check=True)
        target = create_database(pg_server_url, "scorecard_backup_restored")
        subprocess.run([_tool("pg_restore"), "--exit-on-error", "--single-transaction", "-d", _libpq(target),
                        str(dump)], check=True)  # fmt: skip

        assert _rows(target) == _rows(source)
        assert _rows(target)["observations"] >= 3
        assert _rows(target)["app may insert, not delete, audit"] == (True, False)
        _, after = await _with_api(target, key)
        assert after == before
        # The restored database is current: a later upgrade has nothing to do.
        with create_engine(target).connect() as conn:
            assert migrations.pending_heads(conn) == set()
