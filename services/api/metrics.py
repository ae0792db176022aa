"""Prometheus metrics (prometheus-client): request counts and latencies per route, served at /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from services.api.deps import get_reader


def install(app: FastAPI) -> None:
    # One registry per app, so several apps in one process (tests) do not clash.
    registry = CollectorRegistry()
    requests = Counter(
        "scorecard_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "scorecard_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        requests.labels(request.method, path, str(response.status_code)).inc()
        latency.labels(request.method, path).observe(time.perf_counter() - started)
        return response

    # Behind a key when reads are (route names and counts tell about the deployment).
    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(get_reader)])
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
