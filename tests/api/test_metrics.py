"""Issue 10 item 5, /metrics: what the collector did is read from `ingest_runs` at scrape time (one grouped
statement), so the API reports runs written by another process; request latencies per route."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from services.api.deps import Database
from services.api.main import create_app
from shared.core.settings import Settings
from shared.ingest.models import IngestRun

T0 = datetime(2022, 5, 31, 2, 0, tzinfo=UTC)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def run(source: str, status: str, minutes: int, accepted: int = 0, rejected: int = 0) -> IngestRun:
    finished = None if status == "running" else T0 + timedelta(minutes=minutes)
    return IngestRun(source_id=source, status=status, for_date=date(2022, 5, 31), started_at=T0,
                     finished_at=finished, rows_accepted=accepted, rows_rejected=rejected, errors=[], warnings=[])


async def test_ingest_runs_rows_and_last_success_per_source(client, database: Database) -> None:
    # Written straight into the table, as the collector process writes them: the API holds no count of its own.
    async with database.sessions() as s, s.begin():
        s.add_all([
            run("metrics-a", "succeeded", 0, accepted=10, rejected=1),
            run("metrics-a", "succeeded", 5, accepted=8, rejected=0),
            run("metrics-a", "failed", 10, accepted=0, rejected=3),
            run("metrics-a", "skipped", 15),
            run("metrics-a", "running", 0),
            run("metrics-b", "failed", 20, rejected=7),
        ])
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        r = await client.get("/metrics")
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    assert r.status_code == 200, r.text
    assert len([s for s in statements if "ingest_runs" in s]) == 1, statements

    got = samples(r.text)

    def value(name: str, **labels: str) -> float | None:
        return got.get((name, tuple(sorted(labels.items()))))

    assert value("scorecard_ingest_runs_total", source="metrics-a", status="succeeded") == 2
    assert value("scorecard_ingest_runs_total", source="metrics-a", status="failed") == 1
    assert value("scorecard_ingest_runs_total", source="metrics-a", status="skipped") == 1
    assert value("scorecard_ingest_runs_total", source="metrics-a", status="running") is None  # not a counter
    assert value("scorecard_ingest_running", source="metrics-a") == 1
    assert value("scorecard_ingest_rows_accepted_total", source="metrics-a", status="succeeded") == 18
    assert value("scorecard_ingest_rows_rejected_total", source="metrics-a", status="succeeded") == 1
    assert value("scorecard_ingest_rows_rejected_total", source="metrics-a", status="failed") == 3
    assert value("scorecard_ingest_rows_rejected_total", source="metrics-b", status="failed") == 7
    # The last run that left the figures current: the skipped one at +15 min (the failed one at +10 does not count).
    last = value("scorecard_ingest_last_success_timestamp_seconds", source="metrics-a")
    assert last == (T0 + timedelta(minutes=15)).timestamp()
    assert value("scorecard_ingest_last_success_timestamp_seconds", source="metrics-b") is None  # never succeeded
    assert value("scorecard_ingest_runs_readable") == 1


async def test_request_latency_per_route_template(client) -> None:
    await client.get("/v1/indicators/QS-07")
    await client.get("/v1/indicators/QS-11")
    got = samples((await client.get("/metrics")).text)
    count = got[("scorecard_http_request_seconds_count", (("method", "GET"), ("route", "/v1/indicators/{code}")))]
    assert count == 2
    assert ("scorecard_http_request_seconds_bucket",
            (("le", "0.005"), ("method", "GET"), ("route", "/v1/indicators/{code}"))) in got


async def test_request_metrics_answer_while_the_database_is_away(settings: Settings, database: Database) -> None:
    from shared.core.db import make_engine, make_sessionmaker
    from shared.core.settings import DatabaseSettings

    gone = make_engine(DatabaseSettings(url="postgresql+psycopg://nobody@127.0.0.1:1/none"), "t")
    try:
        away = Database(engine=gone, sessions=make_sessionmaker(gone))
        app = create_app(settings, away)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
            await c.get("/healthz")
            r = await c.get("/metrics")
    finally:
        await gone.dispose()
    assert r.status_code == 200, r.text
    got = samples(r.text)
    assert got[("scorecard_ingest_runs_readable", ())] == 0
    assert got[("scorecard_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))] == 1


async def test_last_success_on_either_backend(any_database: Database, settings: Settings) -> None:
    # The collector stamps runs with clock.now() (Shanghai time); SQLite gives it back without its zone.
    from shared.core import clock

    finished = clock.now().replace(microsecond=0)
    async with any_database.sessions() as s, s.begin():
        s.add(IngestRun(source_id="metrics-c", status="succeeded", for_date=date(2022, 5, 31), started_at=finished,
                        finished_at=finished, errors=[], warnings=[]))  # fmt: skip
    app = create_app(settings, any_database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        got = samples((await c.get("/metrics")).text)
    assert got[("scorecard_ingest_last_success_timestamp_seconds", (("source", "metrics-c"),))] == finished.timestamp()


async def test_a_guards_refusal_is_counted_once(settings: Settings, database: Database) -> None:
    """A request the guard refuses before any route (a non-JSON body, one over the size cap) is counted under
    `unmatched` with its status, like every other answer; a routed request is counted once, under its route."""
    capped = settings.model_copy(update={"api": settings.api.model_copy(update={"max_body_bytes": 100})})
    app = create_app(capped, database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        not_json = await c.post("/v1/observations", content=b"a=1", headers={"Content-Type": "text/plain"})
        assert not_json.status_code == 415
        assert (await c.post("/v1/observations", json={"observations": ["x" * 200]})).status_code == 413
        await c.get("/healthz")
        got = samples((await c.get("/metrics")).text)
    count = "scorecard_http_requests_total"
    assert got[(count, (("method", "POST"), ("route", "unmatched"), ("status", "415")))] == 1
    assert got[(count, (("method", "POST"), ("route", "unmatched"), ("status", "413")))] == 1
    assert got[(count, (("method", "GET"), ("route", "/healthz"), ("status", "200")))] == 1
    assert got[("scorecard_http_request_seconds_count", (("method", "POST"), ("route", "unmatched")))] == 2


async def test_a_client_that_leaves_is_counted_as_499_not_as_a_server_error(
    settings: Settings, database: Database, caplog
) -> None:
    """A client gone mid-body gets no answer (nobody reads it) and writes nothing; its request is counted and
    logged as 499 (client closed request), not as the 500 an on-call alert would page for."""
    app = create_app(settings, database)
    incoming = [{"type": "http.request", "body": b'{"observations": [', "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/observations", "raw_path": b"/v1/observations", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"api"), (b"content-type", b"application/json")], "client": ("127.0.0.1", 1),
             "server": ("api", 80), "app": app}
    with caplog.at_level("INFO", logger="scorecard.access"):
        await app(scope, receive, send)
    assert sent == []
    assert [r.status for r in caplog.records if r.name == "scorecard.access"] == [499]  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        got = samples((await c.get("/metrics")).text)
    count = "scorecard_http_requests_total"
    assert got[(count, (("method", "POST"), ("route", "unmatched"), ("status", "499")))] == 1
    assert not [k for k in got if k[0] == count and ("status", "500") in k[1]]
