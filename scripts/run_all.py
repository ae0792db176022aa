"""`make run`: starts the API, the collector and the simulated platform as child processes; Ctrl-C stops all.

Processes, not imports: the services stay independent (STYLE §10.1).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from shared.core.settings import get_settings

PROCESSES = [
    ("simulator", [sys.executable, "-m", "services.simulator", "--port", "8100"]),
    ("api", [sys.executable, "-m", "services.api", "serve"]),
    ("collector", [sys.executable, "-m", "services.collector", "serve"]),
]


def main() -> int:
    settings = get_settings()
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    for name, cmd in PROCESSES:
        children.append((name, subprocess.Popen(cmd, env=os.environ.copy())))
        time.sleep(1.0 if name == "simulator" else 0.2)
    base = f"http://{settings.api.host}:{settings.api.port}"
    print(
        f"\nScorecard running: dashboard {base}/ui/ · API {base}/docs · values "
        f"{base}/v1/values?indicator=QS-07&org=150204000000&period=today · simulator http://127.0.0.1:8100/ · "
        "Ctrl-C stops everything\n",
        flush=True,
    )
    try:
        while all(p.poll() is None for _, p in children):
            time.sleep(0.5)
        for name, p in children:
            if p.poll() is not None:
                print(f"{name} exited with code {p.returncode}; stopping the others", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        for _, p in children:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for _, p in children:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
