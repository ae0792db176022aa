"""Fixtures of the browser tests: the system Chromium (installed when missing, or a clear failure), the real app
under uvicorn over committed fixture data (tests/browser/live_server.py), one page per test that records every
request, console message and page error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import create_engine, text

from shared.core import clock
from tests.browser.chromium import LAUNCH_ARGS, ChromiumUnavailable, ensure_chromium
from tests.browser.live_server import BROWSER_DB, TODAY, LiveServer, load_fixture_data, server_settings
from tests.conftest import create_database, migrate_and_seed


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
async def live_url(pg_server_url: str) -> AsyncIterator[str]:
    """The API at http://127.0.0.1:<port>, on the dashboard tests' fixed day (only while this module runs)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(clock, "now", lambda: TODAY)
        url = create_database(pg_server_url, BROWSER_DB)
        await migrate_and_seed(url)
        settings = server_settings(url)
        await load_fixture_data(settings)
        server = LiveServer(settings)
        try:
            yield server.start()
        finally:
            server.stop()
    engine = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BROWSER_DB}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="module")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        yield b
        await b.close()


@dataclass
class Recorded:
    page: Page
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def console_errors(self) -> list[tuple[str, str]]:
        return [(t, m) for t, m in self.console if t in ("error", "warning")]


@pytest.fixture
async def recorded(browser: Browser) -> AsyncIterator[Recorded]:
    """A page on a 1366 × 768 office screen, Chinese locale; every request it makes is recorded."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")
    page = await context.new_page()
    rec = Recorded(page)
    page.on("request", lambda r: rec.requests.append(r.url))
    page.on("console", lambda m: rec.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: rec.errors.append(str(e)))
    yield rec
    await context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-screenshots")


async def shot(rec: Recorded, screenshots: Path, name: str, **kwargs: Any) -> Path:
    path = screenshots / f"{name}.png"
    await rec.page.screenshot(path=str(path), **kwargs)
    print(f"screenshot: {path}")
    return path
