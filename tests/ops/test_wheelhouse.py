"""The offline bundle works without an index: `deploy/wheelhouse.py` (what `make wheelhouse` runs) builds it once
per session; a fresh virtualenv installs it with `pip install --no-index` and no pip configuration (no extra
index, no local find-links), migrates and seeds an SQLite file and serves the API from outside the repository:
/healthz and /readyz answer 200."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without pip's or the project's settings, nor the repository on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "SCORECARD_", "VIRTUAL_ENV", "PYTHON"))}  # fmt: skip
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf: an extra index or find-links would hide a missing wheel
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session (it needs the package index, as `make wheelhouse` does)."""
    target = tmp_path_factory.mktemp("wheelhouse") / "wheelhouse"
    _run([sys.executable, str(ROOT / "deploy" / "wheelhouse.py"), str(target)], cwd=ROOT,
         env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, timeout=150)  # fmt: skip
    return target


@pytest.fixture(scope="session")
def offline_venv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("offline") / "venv"
    env = _clean_env()
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent, env=env, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheelhouse)]
    _run([*pip, "--require-hashes", "-r", str(wheelhouse / "requirements.lock")], cwd=venv.parent, env=env,
         timeout=180)  # fmt: skip
    project = sorted(wheelhouse.glob("scorecard-*.whl"))
    assert len(project) == 1, sorted(p.name for p in wheelhouse.iterdir())
    _run([*pip, "--no-deps", str(project[0])], cwd=venv.parent, env=env, timeout=60)
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(offline_venv: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The installed API on an SQLite file, migrated and seeded by the installed code, from a directory outside
    the repository (so nothing is imported from the work tree)."""
    python = str(offline_venv / "bin" / "python")
    port = _free_port()
    env = _clean_env(SCORECARD_DB__URL=f"sqlite+aiosqlite:///{tmp_path / 'offline.db'}",
                     SCORECARD_API__PORT=str(port))  # fmt: skip
    where = _run([python, "-c", "import shared, migrations; print(shared.__file__); print(migrations.__file__)"],
                 cwd=tmp_path, env=env, timeout=60)  # fmt: skip
    for line in where.splitlines():
        assert line.startswith(str(offline_venv)), f"imported from outside the installed bundle: {line}"
    _run([python, "-c", "from shared.core import migrations; migrations.upgrade()"], cwd=tmp_path, env=env,
         timeout=120)  # fmt: skip
    _run([python, "-m", "shared.seeds.load"], cwd=tmp_path, env=env, timeout=120)
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([python, "-m", "services.api", "serve"], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get_when_up(url: str, log: Path, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail(f"the installed API did not answer {url} within {timeout:.0f} s:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")  # fmt: skip
            time.sleep(0.2)


class TestWheelhouse:
    def test_holds_every_locked_wheel_and_the_project(self, wheelhouse: Path) -> None:
        lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
        pinned = {line.split("==")[0].lower().replace("-", "_") for line in lock.splitlines()
                  if "==" in line and line[:1].isalnum()}  # fmt: skip
        wheels = {p.name.split("-")[0].lower() for p in wheelhouse.glob("*.whl")}
        assert wheels == pinned | {"scorecard"}
        assert (wheelhouse / "requirements.lock").read_text(encoding="utf-8") == lock

    def test_installed_offline_the_api_is_live_and_ready(self, served: tuple[str, Path]) -> None:
        base, log = served
        r = _get_when_up(f"{base}/healthz", log)
        assert r.status_code == 200, r.text
        r = httpx.get(f"{base}/readyz", timeout=10)
        assert r.status_code == 200, r.text  # the migrations travelled in the project's wheel
        r = httpx.get(f"{base}/v1/indicators", timeout=10)
        assert r.status_code == 200 and r.json(), r.text  # the seed catalogue travelled too
