"""The real app under uvicorn on a free 127.0.0.1 port, in a thread, over a throw-away PostgreSQL database
(`scorecard_browser`, migrated and seeded) that holds the dashboard tests' fixture data for 青山区, committed so
the server's own engine sees it. The clock is the dashboard tests' fixed day, 2022-07-05."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from services.api.deps import Database
from services.api.main import create_app
from shared.access import store as access_store
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import DashboardSettings, DatabaseSettings, Settings, SourceSchedule
from tests.api.test_dashboard import TODAY, load_qingshan
from tests.builders import QINGSHAN

BROWSER_DB = "scorecard_browser"


def server_settings(url: str) -> Settings:
    """The dashboard tests' settings: wangban every 5 minutes (ran today), yichuang daily and never run."""
    sources = {
        "wangban": SourceSchedule(every_minutes=5, scope=QINGSHAN),
        "yichuang": SourceSchedule(every_minutes=1440, scope=QINGSHAN),
    }
    return Settings(db=DatabaseSettings(url=url), dashboard=DashboardSettings(sources=sources, source_grace_minutes=60))


async def load_fixture_data(settings: Settings) -> None:
    """tests/api/test_dashboard.py's `fixture_data`, committed: the townships' 全程网办率 on 4 and 5 July (富强路
    99 %, 幸福路 50 % and silent on the 5th), the district's township targets, wangban's sample export, a bad rating."""
    engine = make_engine(settings.db, "scorecard-browser-fixture")
    database = Database(engine=engine, sessions=make_sessionmaker(engine))
    async with database.sessions() as s, s.begin():
        _, key = await access_store.create_key(
            s, name="browser-admin", role="admin", org=None, pepper=settings.api.key_pepper, actor="tests"
        )
    admin = {"Authorization": f"Bearer {key}"}
    app = create_app(settings, database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api, \
            httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as http:
        await load_qingshan(api, admin, database, settings, http)
    await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """create_app(settings) as production runs it (its own engine, opened in its lifespan), served by uvicorn."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="browser-test-api", daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start under uvicorn within 30 s")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


__all__ = ["BROWSER_DB", "TODAY", "LiveServer", "load_fixture_data", "server_settings", "DatabaseSettings"]
