"""Fetching an export: http(s) with timeouts, retries with backoff and conditional GET; file:// for local files.

The httpx client is passed in, so tests use httpx.MockTransport and the end-to-end path uses the simulator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from services.collector.sources import SourceConfig


class FetchError(Exception):
    """The export could not be fetched (after retries); the message says why."""


@dataclass(frozen=True)
class Fetched:
    content: bytes | None  # None: not modified since the last ingest (HTTP 304)
    etag: str | None = None
    last_modified: str | None = None
    filename: str | None = None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


async def fetch(
    client: httpx.AsyncClient,
    source: SourceConfig,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    backoff_seconds: float = 1.0,
) -> Fetched:
    if url.startswith("file://"):
        path = Path(unquote(urlparse(url).path))
        try:
            return Fetched(content=path.read_bytes(), filename=path.name)
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    headers = _auth_headers(source)
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(source.retries + 1),
            reraise=True,
            retry=retry_if_exception(_retryable),
            wait=wait_exponential(multiplier=backoff_seconds, max=30 * backoff_seconds),
        ):
            with attempt:
                response = await client.get(url, headers=headers, timeout=source.timeout_seconds)
                if response.status_code != 304:
                    response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise FetchError(
            f"{url} answered HTTP {exc.response.status_code} after {source.retries + 1} tries"
            if _retryable(exc)
            else f"{url} answered HTTP {exc.response.status_code}"
        ) from None
    except httpx.TransportError as exc:
        raise FetchError(f"{url} unreachable after {source.retries + 1} tries: {type(exc).__name__} {exc}") from None
    if response.status_code == 304:
        return Fetched(content=None, etag=etag, last_modified=last_modified)
    return Fetched(
        content=response.content,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        filename=Path(urlparse(url).path).name,
    )


def _auth_headers(source: SourceConfig) -> dict[str, str]:
    if source.auth is None:
        return {}
    secret = os.environ.get(source.auth.env)
    if not secret:
        raise FetchError(f"source '{source.id}' needs the environment variable {source.auth.env} (its auth secret)")
    return {source.auth.header: f"{source.auth.prefix}{secret}"}
