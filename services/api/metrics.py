"""Prometheus metrics (prometheus-client) at /metrics, and the id of every request.

* Requests: counts and latency histograms per route (this process), every answer once — a refusal of the request
  guard (a body over the cap, not JSON, a NUL) under route `unmatched` with its status.
* Ingests: what the collector did, read from `ingest_runs` at scrape time in one grouped statement — the API
  reports the collector's work across processes and restarts: runs, rows accepted and rows rejected per source
  and status, runs going on now, and the end of the last good run (succeeded, skipped or not modified: the
  dashboard's `stale_source` rule) per source.
* Request ids: taken from `X-Request-ID` when it is short and plain, else made; echoed in the answer and written
  on every log line of the request (shared/core/logs.py), with one access line per request (route template,
  status, duration — never the client's address, a key or the query string).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.deps import ReadSessionDep, get_reader
from shared.core import clock, logs
from shared.ingest import store as ingest_store
from shared.ingest.models import GOOD_STATUSES

access_log = logging.getLogger("scorecard.access")
CLIENT_CLOSED = 499  # nginx's "client closed request": counted and logged, never sent (nobody is there to read it)
log = logging.getLogger("scorecard.api")


def _route(scope: Scope) -> str:
    """The route's template, set on this very scope by the router. FastAPI ≥ 0.16x keeps an included router's
    routes without its prefix (`/indicators/{code}`); the full template is on its effective route context."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


class _RequestIds:
    """The outermost layer (pure ASGI: no copy of the body through a stream, as @app.middleware("http") makes):
    every answer — a guard's refusal or a 500 too — carries X-Request-ID, gets its access line and is counted
    and timed by route (a refusal before routing under `unmatched`), once."""

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-request-id"), None)
        rid = logs.take_request_id(sent_id)
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status: int | None = None

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        except BaseException:
            status = status or 500  # the server error layer outside answers 500
            raise
        finally:
            # The app returns without an answer only when the client left (mid-body, or a read cancelled): not
            # a server error, so not a 500 on the dashboards that page whoever is on call.
            status = status or CLIENT_CLOSED
            seconds = time.perf_counter() - started
            ms = round(seconds * 1000, 1)
            route = _route(scope)
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(seconds)
            access_log.info("%s %s %s %.1f ms", scope["method"], route, status, ms,
                            extra={"method": scope["method"], "route": route, "status": status, "ms": ms})
            logs.request_id.reset(token)


class _Ingests(Collector):
    """The ingest families of one scrape, from the rows of the one grouped statement."""

    def __init__(self, rows: Iterable[ingest_store.RunTotals]) -> None:
        self.rows = list(rows)

    def collect(self) -> Iterator[Metric]:
        labels = ["source", "status"]
        runs = CounterMetricFamily("scorecard_ingest_runs", "finished ingest runs of the collector", labels=labels)
        accepted = CounterMetricFamily("scorecard_ingest_rows_accepted", "export rows accepted", labels=labels)
        rejected = CounterMetricFamily("scorecard_ingest_rows_rejected", "export rows rejected", labels=labels)
        running = GaugeMetricFamily("scorecard_ingest_running", "ingest runs going on now", labels=["source"])
        last = GaugeMetricFamily(
            "scorecard_ingest_last_success_timestamp_seconds",
            "end of the source's last run that left its figures current (succeeded, skipped, not_modified)",
            labels=["source"],
        )
        latest: dict[str, datetime] = {}
        for source, status, count, rows_accepted, rows_rejected, finished in self.rows:
            if status == "running":
                running.add_metric([source], count)
                continue
            runs.add_metric([source, status], count)
            accepted.add_metric([source, status], rows_accepted)
            rejected.add_metric([source, status], rows_rejected)
            if status in GOOD_STATUSES and finished is not None:
                finished = clock.aware(finished)  # SQLite keeps the Shanghai wall time, without its zone
                latest[source] = max(finished, latest.get(source, finished))
        for source, finished in sorted(latest.items()):
            last.add_metric([source], finished.timestamp())
        yield from (runs, accepted, rejected, running, last)


def install(app: FastAPI) -> None:
    # One registry per app, so several apps in one process (tests) do not clash.
    registry = CollectorRegistry()
    requests = Counter(
        "scorecard_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "scorecard_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )

    # Around the whole stack Starlette builds (its error middleware included), whatever is added after this.
    build = app.build_middleware_stack
    app.build_middleware_stack = (  # type: ignore[method-assign]
        lambda: _RequestIds(build(), requests=requests, latency=latency)
    )

    # Behind a key when reads are (route names and counts tell about the deployment).
    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(get_reader)])
    async def metrics(session: ReadSessionDep) -> Response:
        text = generate_latest(registry)
        up = CollectorRegistry()
        try:
            rows = await ingest_store.run_totals(session)
        except (SQLAlchemyError, OSError) as exc:
            # The request metrics still answer while the database is away; the ingest ones are left out.
            log.warning("/metrics: ingest runs not read (%s)", type(exc).__name__)
            rows = None
        reachable = GaugeMetricFamily("scorecard_ingest_runs_readable", "1 when /metrics could read ingest_runs")
        reachable.add_metric([], 0 if rows is None else 1)
        up.register(_Static([reachable]))
        if rows is not None:
            up.register(_Ingests(rows))
        return Response(text + generate_latest(up), media_type=CONTENT_TYPE_LATEST)


class _Static(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families
