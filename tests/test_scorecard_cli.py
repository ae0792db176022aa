"""Issue 10 item 7: the one `scorecard` command (the console script pyproject installs), run as an operator runs
it — a process without a terminal — over a migrated, seeded SQLite file; the old module entry points still work."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.collector.sources import load_sources
from shared.core.settings import REPO_ROOT
from shared.seeds import load as seed_load
from tests.conftest import migrate_and_seed

SCORECARD = Path(sys.executable).parent / "scorecard"


def scorecard(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    if not SCORECARD.exists():
        pytest.fail(f"{SCORECARD} is missing: pyproject's [project.scripts] installs it (`pip install -e .`)")
    return subprocess.run([str(SCORECARD), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def db_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('scorecard-cli') / 'cli.db'}"
    asyncio.run(migrate_and_seed(url))
    return {"SCORECARD_DB__URL": url}


def test_help_lists_every_group() -> None:
    done = scorecard("--help")
    assert done.returncode == 0, done.stderr
    for group in ("serve", "keys", "org-units", "preaggregates", "collector", "simulator"):
        assert re.search(rf"^\W*{group}\s", done.stdout, re.MULTILINE), (group, done.stdout)
    done = scorecard("collector", "--help")
    for command in ("serve", "run", "backfill", "runs", "check-sources"):
        assert re.search(rf"^\W*{command}\s", done.stdout, re.MULTILINE), (command, done.stdout)


def test_keys_create_then_list(db_env: dict[str, str]) -> None:
    done = scorecard("keys", "create", "--name", "看板", "--role", "viewer", env=db_env)
    assert done.returncode == 0, done.stdout + done.stderr
    *_, plaintext = done.stdout.splitlines()
    assert plaintext.startswith("sc_") and "not shown again" in done.stdout
    listing = scorecard("keys", "list", env=db_env)
    assert listing.returncode == 0 and "看板" in listing.stdout and plaintext not in listing.stdout
    prefix = plaintext.split("_")[1]
    assert scorecard("keys", "revoke", prefix, env=db_env).stdout.startswith(f"revoked key {prefix} (看板)")
    again = scorecard("keys", "revoke", prefix, env=db_env)
    assert again.returncode == 0 and f"key {prefix} (看板) was already revoked at " in again.stdout, again
    # Refusals are messages and exit 2, never a traceback.
    for args, says in ((("--name", "x", "--role", "owner"), "'owner' is not one of"),
                       (("--name", "n" * 60, "--role", "viewer"), "too long; at most 59"),
                       (("--name", "x", "--role", "integration"), "--org")):
        done = scorecard("keys", "create", *args, env=db_env)
        assert done.returncode == 2 and says in done.stdout + done.stderr, done
        assert "Traceback" not in done.stderr, done.stderr


def test_preaggregates_check_shows_a_bar_and_the_answer(db_env: dict[str, str]) -> None:
    done = scorecard("preaggregates", "check", env=db_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("pre-aggregates agree with the raw figures")
    assert "checking the pre-aggregates" in done.stderr and "1/1" in done.stderr


def test_org_units_import_with_a_bar(db_env: dict[str, str]) -> None:
    csv = seed_load.SEED_DIR / "divisions_150000_360100.csv"
    done = scorecard("org-units", "import", str(csv), "--prefix", "150200", env=db_env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith(("org units imported:", "nothing changed:")), done.stdout
    assert f"importing {csv.name}" in done.stderr and "1/1" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Path]:
    """`scorecard simulator` on a free port, and a sources file pointing at it."""
    port = _free_port()
    proc = subprocess.Popen([str(SCORECARD), "simulator", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, "the simulator exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.2)
        shipped = (REPO_ROOT / "services" / "collector" / "sources.yaml").read_text(encoding="utf-8")
        sources = tmp_path / "sources.yaml"
        sources.write_text(shipped.replace("127.0.0.1:8100", f"127.0.0.1:{port}"), encoding="utf-8")
        assert load_sources(sources)
        yield sources
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_collector_backfill_from_the_simulator_with_a_progress_bar(db_env: dict[str, str], simulator: Path) -> None:
    env = {**db_env, "SCORECARD_COLLECTOR__SOURCES_FILE": str(simulator)}
    done = scorecard("collector", "backfill", "wangban", "--from", "2022-05-29", "--to", "2022-05-31", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line[:5] for line in lines[:3]] == ["[1/3]", "[2/3]", "[3/3]"], lines
    assert all("succeeded" in line for line in lines[:3]), lines
    assert lines[-1] == "backfill wangban 2022-05-29 … 2022-05-31: 3 days, 3 succeeded"
    # Without a terminal the bar is written once, finished; the collector's own lines (stderr) stay readable.
    assert re.search(r"wangban 2022-05-31 .*3/3", done.stderr), done.stderr
    runs = scorecard("collector", "runs", "--source", "wangban", env=env)
    assert runs.returncode == 0 and runs.stdout.count("succeeded") == 3, runs.stdout


def test_the_old_entry_points_give_the_same_answers() -> None:
    new = scorecard("collector", "check-sources")
    old = subprocess.run([sys.executable, "-m", "services.collector", "check-sources"], capture_output=True,
                         text=True, timeout=60, cwd=REPO_ROOT)
    assert new.returncode == old.returncode == 0, (new, old)
    assert new.stdout.endswith(": 3 sources OK (wangban, yichuang, haochaping)\n") and old.stdout.endswith(
        ": 3 sources OK (wangban, yichuang, haochaping)\n"), (new, old)
    old_help = subprocess.run([sys.executable, "-m", "services.api", "keys", "--help"], capture_output=True,
                              text=True, timeout=60, cwd=REPO_ROOT)
    assert old_help.returncode == 0 and "create" in old_help.stdout
