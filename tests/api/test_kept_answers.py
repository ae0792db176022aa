"""Kept answers as production serves them (issue 10's cached dashboard): an app with its own engine, whose data
revision comes from its LISTEN connection (shared/revisions/watch.py) and whose kept dashboards are answered
before FastAPI (services/api/kept.py). Every write still reaches the next read: this process's at once, another
process's within the watch's bound, a lost listening connection only costs round trips."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.api import main
from services.api.deps import Database
from services.api.kept import kept_dashboard, kept_publication
from services.api.main import create_app
from shared.access import store as access_store
from shared.core import clock
from shared.core.db import make_engine, make_sessionmaker
from shared.core.settings import ApiSettings, Settings
from shared.revisions import store as revisions
from shared.revisions.watch import RevisionWatch
from tests.api.test_dashboard import TODAY, cell
from tests.browser.live_server import load_fixture_data, server_settings
from tests.builders import QINGSHAN, XINGFU, obs, push_body
from tests.collector.test_run import ingest_local, sample
from tests.conftest import bearer, create_database, migrate_and_seed

PATH = f"/v1/dashboard?org={QINGSHAN}&year=2022"


@pytest.fixture(scope="module")
async def committed_url(pg_server_url: str) -> str:
    """A database of this module's own with the dashboard fixture data committed (a listener sees commits only)."""
    url = create_database(pg_server_url, "scorecard_kept")
    await migrate_and_seed(url)
    await load_fixture_data(server_settings(url))
    return url


@pytest.fixture
def fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: TODAY)


@pytest.fixture
async def other_process(committed_url: str) -> AsyncIterator[Database]:
    """Writes through an engine of its own, as the collector does."""
    engine = make_engine(server_settings(committed_url).db, "scorecard-tests-collector")
    yield Database(engine=engine, sessions=make_sessionmaker(engine))
    await engine.dispose()


async def admin_key(db: Database, settings: Settings) -> dict[str, str]:
    async with db.sessions() as s, s.begin():
        _, key = await access_store.create_key(s, name="kept-admin", role="admin", org=None,
                                               pepper=settings.api.key_pepper, actor="tests")
    return bearer(key)


async def until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the bound"
        await asyncio.sleep(0.02)


def settings_with(url: str, **api: Any) -> Settings:
    return server_settings(url).model_copy(update={"api": ApiSettings(**api)})


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        await until(lambda: app.state.db.watch.known() is not None)
        yield app, client


@pytest.fixture
async def live(committed_url: str, fixed_day: None) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """A heartbeat far away: what these tests see fresh, the notifications (or the write's own commit) made so."""
    async with running(settings_with(committed_url, revision_heartbeat_seconds=60, read_key_seconds=0.5)) as live:
        yield live


class DeafWatch(RevisionWatch):
    """A watch whose notifications are delayed past the test (the network or a busy server)."""

    def _seen(self, payload: str) -> None:
        pass


def scope_of(app: Any, query: str, **headers: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/v1/dashboard", "query_string": query.encode(), "app": app,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


class TestKeptDashboards:
    async def test_answers_a_kept_dashboard_only_when_it_is_certainly_the_routes(self, live) -> None:
        app, client = live
        query = PATH.split("?", 1)[1]
        assert kept_dashboard(scope_of(app, query)) is None  # nothing kept yet: the route builds it
        first = await client.get(PATH)
        assert first.status_code == 200
        found = kept_dashboard(scope_of(app, query))
        assert found is not None and found.body == first.content and found.headers["etag"] == first.headers["etag"]
        assert kept_dashboard(scope_of(app, f"year=2022&org={QINGSHAN}")) is not None
        for other in (f"org={QINGSHAN}&year=2022&year=2021", f"org={QINGSHAN}&year=+2022", f"org={QINGSHAN}&x=1",
                      f"org={QINGSHAN}&year=2021", "year=2022", f"org={QINGSHAN}"):  # "org" alone: this year, 2022
            assert kept_dashboard(scope_of(app, other)) is None or other == f"org={QINGSHAN}", other
        assert kept_dashboard(scope_of(app, query, **{"If-None-Match": "x" * 2001})) is None  # the route's 422

    async def test_a_published_ranking_from_memory_as_the_route_serves_it(self, live, committed_url) -> None:
        app, client = live
        admin = await admin_key(app.state.db, server_settings(committed_url))
        [scheme] = [x["id"] for x in (await client.get("/v1/schemes")).json() if x["code"] == "BT2022"]
        r = await client.post(f"/v1/schemes/{scheme}/publications", json={"period": "2022H1"}, headers=admin)
        assert r.status_code == 200, r.text
        version = r.json()["version"]
        for fmt in ("json", "xlsx"):
            query = f"scheme={scheme}&period=2022H1&kind=county&version={version}&format={fmt}"
            assert kept_publication(scope_of(app, query)) is None  # not read yet
            routed = await client.get(f"/v1/rankings?{query}")
            assert routed.status_code == 200
            kept = await client.get(f"/v1/rankings?{query}")
            found = kept_publication(scope_of(app, query))
            assert found is not None and found.body == routed.content == kept.content
            for name in ("content-type", "content-disposition"):
                assert kept.headers.get(name) == routed.headers.get(name), name
            for other in (query.replace(f"version={version}", f"version=0{version}"), query + "&x=1",
                          query.replace("kind=county", "kind=city"), query.replace(f"scheme={scheme}", "scheme=+1")):
                assert kept_publication(scope_of(app, other)) is None, other
        assert 'route="/v1/rankings"' in (await client.get("/metrics")).text

    async def test_served_like_the_route_headers_304_and_metrics(self, live) -> None:
        _, client = live
        built = await client.get(PATH)
        kept = await client.get(PATH)
        assert kept.content == built.content and kept.headers["etag"] == built.headers["etag"]
        for name in ("x-request-id", "x-content-type-options", "content-security-policy"):
            assert name in kept.headers, name
        assert kept.headers["cache-control"] == "no-cache" and kept.headers["content-type"] == "application/json"
        again = await client.get(PATH, headers={"If-None-Match": kept.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        metrics = (await client.get("/metrics")).text
        assert 'scorecard_http_requests_total{method="GET",route="/v1/dashboard",status="304"} 1.0' in metrics
        assert "route=\"unmatched\"" not in metrics
        bad = await client.get(f"/v1/dashboard?org={QINGSHAN}&year=abc")  # not the layer's: the route's 422
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"

    async def test_a_sent_key_is_checked_though_the_dashboard_is_kept(self, live, committed_url) -> None:
        app, client = live
        admin = await admin_key(app.state.db, server_settings(committed_url))
        kept = await client.get(PATH)
        assert kept_dashboard(scope_of(app, PATH.split("?", 1)[1])) is not None
        assert (await client.get(PATH, headers=admin)).content == kept.content
        async with app.state.db.sessions() as s, s.begin():
            await access_store.revoke_key(s, prefix=admin["Authorization"].split("_")[1], actor="tests")
        await asyncio.sleep(app.state.settings.api.read_key_seconds + 0.1)  # the key passed a read just now
        refused = await client.get(PATH, headers=admin)
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"], refused.text
        assert (await client.get(PATH)).content == kept.content  # without a key: the kept answer, as before

    async def test_this_processs_writes_reach_the_very_next_read(self, live, committed_url) -> None:
        app, client = live
        admin = await admin_key(app.state.db, server_settings(committed_url))
        etags = set()
        for i in range(10):  # no wait between a write and the read after it
            r = await client.post("/v1/observations", json=push_body(obs("QS-07", XINGFU, "2022-07-05", 40 + i, 100)),
                                  headers=admin)
            assert r.status_code == 200, r.text
            body = await client.get(PATH)
            assert cell(body.json(), XINGFU, "QS-07")["trend"][-1]["value"] == 40 + i
            etags.add(body.headers["etag"])
            assert (await client.get(PATH)).headers["etag"] == body.headers["etag"]  # kept in between
        assert len(etags) == 10

    async def test_this_processs_write_needs_no_notification(self, committed_url, fixed_day) -> None:
        """The notification of the API's own push may arrive after the next read: the commit itself told the watch."""
        settings = settings_with(committed_url, revision_heartbeat_seconds=60)
        database = main._open_database(settings)
        assert database.watch is not None
        database.watch = DeafWatch(database.watch._url, heartbeat=60)
        app = create_app(settings, database)
        try:
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api"
            ) as client:
                await until(lambda: database.watch.known() is not None)
                admin = await admin_key(database, settings)
                for figure in (61, 62):
                    r = await client.post("/v1/observations", headers=admin,
                                          json=push_body(obs("QS-07", XINGFU, "2022-07-05", figure, 100)))
                    assert r.status_code == 200, r.text
                    body = (await client.get(PATH)).json()
                    assert cell(body, XINGFU, "QS-07")["trend"][-1]["value"] == figure
        finally:
            await database.engine.dispose()

    async def test_another_processs_ingest_reaches_the_reads(self, live, other_process, committed_url) -> None:
        app, client = live
        before = await client.get(PATH)
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as http:
            run = await ingest_local(other_process, server_settings(committed_url), http, "yichuang",
                                     date(2022, 5, 1), sample("yichuang_stats_2022-05.csv"))
        assert run.status == "succeeded", run.errors
        counted = await revisions.current(other_process.engine)
        await until(lambda: app.state.db.watch.known() == counted, seconds=1.0)  # the notification's delay
        after = await client.get(PATH)
        assert after.headers["etag"] != before.headers["etag"]
        assert cell(after.json(), QINGSHAN, "QS-08")["units_reporting"] == 6

    async def test_a_rolled_back_write_notifies_nothing(self, live, other_process) -> None:
        app, client = live
        known = app.state.db.watch.known()
        async with other_process.sessions() as s, s.begin():
            await revisions.changed(s)
            await s.rollback()
        await asyncio.sleep(0.3)
        assert app.state.db.watch.known() == known == await revisions.current(other_process.engine)

    async def test_the_heartbeat_catches_a_revision_nobody_notified(self, committed_url, other_process,
                                                                   fixed_day) -> None:
        async with running(settings_with(committed_url, revision_heartbeat_seconds=0.2)) as (app, _):
            known = app.state.db.watch.known()
            async with other_process.engine.begin() as conn:  # counted up by hand: no NOTIFY
                await conn.execute(text("UPDATE data_revision SET revision = revision + 1"))
            await until(lambda: app.state.db.watch.known() == known + 1, seconds=1.0)

    async def test_a_lost_listening_connection_costs_round_trips_not_freshness(self, live, other_process) -> None:
        app, client = live
        watch = app.state.db.watch
        await client.get(PATH)
        async with other_process.engine.connect() as conn:
            ended = await conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                           "WHERE application_name = 'scorecard-revision-watch'"))
            await conn.commit()
        assert ended == 1
        await until(lambda: watch.known() is None, seconds=3.0)
        before = await client.get(PATH)
        async with other_process.sessions() as s, s.begin():
            await revisions.changed(s)  # a write while nobody listens
        counted = await revisions.current(other_process.engine)
        after = await client.get(PATH)  # asked the database: built again at the new revision
        assert after.status_code == 200 and watch.known() in (None, counted)
        assert app.state.answers.get(("dashboard", counted, QINGSHAN, 2022)) == after.content
        assert before.content == after.content  # a revision without new figures: the same numbers
        await until(lambda: watch.known() == counted, seconds=5.0)  # listening again

    async def test_reads_behind_a_key_are_never_the_layers(self, committed_url, fixed_day) -> None:
        settings = settings_with(committed_url, read_requires_key=True)
        async with running(settings) as (app, client):
            reader = await admin_key(app.state.db, settings)
            assert (await client.get(PATH, headers=reader)).status_code == 200  # now kept
            refused = await client.get(PATH)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"


async def test_listening_can_be_turned_off(committed_url: str, fixed_day: None) -> None:
    """SCORECARD_API__REVISION_LISTEN=false (a transaction-pooling proxy): no watch, every read asks the database."""
    app = create_app(settings_with(committed_url, revision_listen=False))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        assert app.state.db.watch is None
        first, again = await client.get(PATH), await client.get(PATH)
        assert first.status_code == again.status_code == 200 and first.content == again.content
        async with app.state.db.sessions() as s, s.begin():
            await revisions.changed(s)
        assert app.state.answers.get(("dashboard", await revisions.current(app.state.db.engine), QINGSHAN,
                                      2022)) is None
        assert (await client.get(PATH)).content == first.content  # built again at the new revision
