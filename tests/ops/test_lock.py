"""The locks agree with pyproject.toml: every direct dependency (runtime in requirements.lock, dev extras in
requirements-dev.lock) is locked at the version pyproject pins, every locked package carries hashes, and the
runtime lock is the dev lock's subset at the same versions. A failure here means: run `make lock`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?:==\s*([^;\s]+))?")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _lock(path: Path) -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes)."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line[:1].isalnum():
            name, _, version = line.split(" ")[0].partition("==")
            assert version, f"{path.name}: not pinned: {line}"
            current = _name(name)
            pins[current] = (version, 0)
        elif "--hash=sha256:" in line and current:
            version, count = pins[current]
            pins[current] = (version, count + 1)
    return pins


def _direct(requirements: list[str]) -> dict[str, str | None]:
    found = {}
    for req in requirements:
        m = _REQ.match(req)
        assert m, req
        found[_name(m.group(1))] = m.group(2)
    return found


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = _lock(ROOT / "requirements.lock")
DEV = _lock(ROOT / "requirements-dev.lock")


class TestLocks:
    def test_every_direct_dependency_is_locked_at_its_pin(self) -> None:
        dev = PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]
        for lock, requirements in ((RUNTIME, PROJECT["dependencies"]), (DEV, dev)):
            for name, pin in _direct(requirements).items():
                assert name in lock, f"{name} is in pyproject.toml but not locked: run 'make lock'"
                assert pin is None or lock[name][0] == pin, (
                    f"{name}: pyproject pins {pin}, the lock {lock[name][0]}: run 'make lock'"
                )

    def test_every_locked_package_has_hashes(self) -> None:
        assert [n for n, (_, hashes) in {**RUNTIME, **DEV}.items() if hashes == 0] == []

    def test_runtime_lock_is_the_dev_lock_subset(self) -> None:
        assert {n: v for n, (v, _) in RUNTIME.items()} == {n: DEV[n][0] for n in RUNTIME if n in DEV}
        assert set(RUNTIME) <= set(DEV)
