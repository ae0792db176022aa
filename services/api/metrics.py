"""Prometheus metrics (prometheus-client): request counts and latencies per route, served at /metrics."""

from __future__ import annotations

import time

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.deps import get_reader


class _Measure:
    """Counts and times every request by route (pure ASGI: no copy of the body through a stream, as
    @app.middleware("http") makes — a published ranking is served from memory in about a millisecond)."""

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")  # the router sets it on this very scope
            self.requests.labels(scope["method"], path, str(status)).inc()
            self.latency.labels(scope["method"], path).observe(time.perf_counter() - started)


def install(app: FastAPI) -> None:
    # One registry per app, so several apps in one process (tests) do not clash.
    registry = CollectorRegistry()
    requests = Counter(
        "scorecard_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "scorecard_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )

    app.add_middleware(_Measure, requests=requests, latency=latency)

    # Behind a key when reads are (route names and counts tell about the deployment).
    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(get_reader)])
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
