"""No absolute path of a developer's machine in tracked code, docs or data (comments included): references to
the documents kept beside the repository stay relative."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PATH = re.compile("/" + "(?:work|root|tmp)/")


def test_no_machine_paths_in_tracked_files() -> None:
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.fail("needs a git checkout (git ls-files) to list the tracked files")
    tracked = subprocess.run(["git", "ls-files", "-z", "*.py", "*.md", "*.yaml", "*.yml", "*.toml", "*.ini"],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout.split("\0")  # fmt: skip
    offenders = []
    for name in filter(None, tracked):
        path = ROOT / name
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if MACHINE_PATH.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:120]}")
    assert offenders == []
