"""Headless Chromium for the browser tests: Debian's `chromium` and `fonts-noto-cjk`, installed by the harness when
missing and root (as tests/pg_server.py installs PostgreSQL). Playwright drives this system browser through
`executable_path`; its own browser download is never used (no internet on the machines this runs on)."""

from __future__ import annotations

import os
import shutil
import subprocess

PACKAGES = ("chromium", "fonts-noto-cjk")

# Nothing of the browser's own may leave the machine: no component updates, safe-browsing lists, metrics or
# translation; any host but 127.0.0.1 resolves to nothing (a page's request to one is still recorded, and fails).
LAUNCH_ARGS = [
    "--no-sandbox",  # root in a container; the page is our own
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-dev-shm-usage",
    "--font-render-hinting=none",
]


class ChromiumUnavailable(RuntimeError):
    pass


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    return bool(out.strip())


def _missing() -> list[str]:
    missing = []
    if not shutil.which("chromium"):
        missing.append("chromium")
    if not _has_cjk_font():
        missing.append("fonts-noto-cjk")
    return missing


def ensure_chromium() -> str:
    """The path of the system Chromium, with a CJK font; installs the Debian packages when missing and root."""
    missing = _missing()
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise ChromiumUnavailable(
                f"the browser tests need the Debian packages {', '.join(missing)} (headless Chromium and a Chinese "
                f"font) and cannot install them here (not root, or no apt-get). Install them: "
                f"apt-get install -y {' '.join(PACKAGES)}"
            )
        print(f"test harness: installing Debian packages {', '.join(missing)} (missing)…", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                           check=True, env=env, stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError as exc:
            raise ChromiumUnavailable(f"apt-get install {' '.join(missing)} failed ({exc}); install them by hand") \
                from None
        still = _missing()
        if still:
            raise ChromiumUnavailable(f"installed {', '.join(missing)} but still missing: {', '.join(still)}")
    path = shutil.which("chromium")
    assert path is not None
    return path
