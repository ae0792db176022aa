"""Upgrades are safe when the API and the collector start together: on a fresh database two upgrades started at
the same moment both succeed and the schema reaches head once (PostgreSQL: an advisory lock in the migration
transaction; SQLite: a file lock), and an upgrade really waits while another holds the lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from shared.core import migrations
from shared.models import Base
from tests.conftest import create_database

ROOT = Path(__file__).resolve().parents[2]
# One upgrade per process (as the API and the collector are; Alembic's `context` is process-global): each child
# imports everything, says it is ready, then waits for the common start signal.
_CHILD = """
import pathlib, sys, time
from shared.core import migrations
url, ready, go = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.002)
migrations.upgrade(url)
"""


def _together(url: str, tmp_path: Path, n: int = 2) -> list[str]:
    """n upgrades of `url` in n processes released at the same instant; the failures' output (empty: all passed)."""
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(n)]
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, url, str(r), str(go)], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in ready]  # fmt: skip
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), [p.communicate()[0] for p in procs]
        time.sleep(0.01)
    go.touch()
    failures = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        if p.returncode != 0:
            failures.append(out[-3000:])
    return failures


def _at_head_once(url: str) -> None:
    head = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))] == [head]
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    engine.dispose()


class TestConcurrentUpgrades:
    def test_two_upgrades_at_once_on_fresh_postgres(self, pg_server_url: str, tmp_path: Path) -> None:
        url = create_database(pg_server_url, "scorecard_migrate_together")
        assert _together(url, tmp_path) == []
        _at_head_once(url)

    def test_two_upgrades_at_once_on_fresh_sqlite(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'together.db'}"
        assert _together(url, tmp_path) == []
        _at_head_once(url)
        assert (tmp_path / "together.db.migrate-lock").exists()

    def test_an_upgrade_waits_for_the_lock_holder(self, pg_server_url: str) -> None:
        url = create_database(pg_server_url, "scorecard_migrate_wait")
        holder = create_engine(url)
        with holder.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": migrations.UPGRADE_LOCK_KEY})
            done = threading.Event()
            thread = threading.Thread(target=lambda: (migrations.upgrade(url), done.set()))
            thread.start()
            deadline = time.monotonic() + 10
            waiting = 0
            while time.monotonic() < deadline and not waiting:
                waiting = conn.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )).scalar_one()  # fmt: skip
                time.sleep(0.05)
            assert waiting == 1, "the upgrade did not wait on the migration lock"
            assert not done.is_set()
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": migrations.UPGRADE_LOCK_KEY})
            conn.commit()
            thread.join(timeout=120)
        holder.dispose()
        assert done.is_set(), "the upgrade did not finish once the lock was released"
        _at_head_once(url)
