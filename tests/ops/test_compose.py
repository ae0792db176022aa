"""`docker-compose -f docker-compose.yml config -q` validates (Debian's `docker-compose`, installed here when missing
and root, as the PostgreSQL harness does), and the resolved file runs the app as the role that owns nothing with
the owner's URL for migrations. Where docker-compose cannot be had, the test is skipped, naming what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("docker-compose is missing and cannot be installed here (needs root and apt-get): "
                    "apt-get install docker-compose")  # fmt: skip
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("test harness: installing Debian package 'docker-compose' (missing)…", flush=True)
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "docker-compose"]
    steps = (["apt-get", "update", "-q"], install)
    for cmd in steps:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"docker-compose is missing and '{' '.join(cmd)}' failed: {done.stderr.strip()[-500:]}")
    found = shutil.which("docker-compose")
    if not found:
        pytest.skip("installed Debian's docker-compose package but found no docker-compose command")
    return found


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SCORECARD_", "COMPOSE_"))}
    return subprocess.run([_docker_compose(), "-f", "docker-compose.yml", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


class TestCompose:
    def test_config_validates(self) -> None:
        done = _compose("config", "-q")
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip() == "", done.stderr  # no warnings either

    def test_the_app_runs_as_its_role_and_migrates_as_the_owner(self) -> None:
        done = _compose("config")
        assert done.returncode == 0, done.stderr
        services = yaml.safe_load(done.stdout)["services"]
        assert set(services) == {"postgres", "api", "collector", "simulator"}
        for name in ("api", "collector"):
            env = services[name]["environment"]
            assert env["SCORECARD_DB__URL"].startswith("postgresql+psycopg://scorecard_app:"), env
            assert env["SCORECARD_DB__OWNER_URL"].startswith("postgresql+psycopg://scorecard:"), env
            assert env["SCORECARD_DB__APP_ROLE"] == "scorecard_app"
