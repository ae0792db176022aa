"""Builds the offline bundle (`make wheelhouse [WHEELHOUSE=dir]`): every wheel that requirements.lock pins, checked
against its hashes, the project's own wheel, and the lock itself; deploy/OFFLINE.md installs it with --no-index.

Run it on a machine with the package index and the server's platform (Linux x86_64, CPython 3.11).
Usage: python deploy/wheelhouse.py DIR
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def build(target: Path) -> list[Path]:
    """Fills `target` (emptied first) and returns the wheels in it."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # Only wheels: an offline server has no compiler to build a source distribution.
    subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "--only-binary", ":all:", "--require-hashes", "-r", str(LOCK),
         "-w", str(target)],
        check=True,
    )
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(target), str(ROOT)], check=True)
    shutil.copy2(LOCK, target / LOCK.name)
    wheels = sorted(target.glob("*.whl"))
    pinned = sum(1 for line in LOCK.read_text(encoding="utf-8").splitlines() if "==" in line and line[:1].isalnum())
    if len(wheels) != pinned + 1:
        raise SystemExit(f"wheelhouse: {len(wheels)} wheels for {pinned} pinned packages + the project")
    return wheels


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    wheels = build(Path(argv[0]).resolve())
    print(f"wheelhouse: {len(wheels)} wheels and {LOCK.name} in {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
