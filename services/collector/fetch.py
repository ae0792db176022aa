"""Fetching an export: http(s) with timeouts (each read, and the whole download), a size cap, retries with
backoff and conditional GET; file:// for local files.

The httpx client is passed in, so tests use httpx.MockTransport and the end-to-end path uses the simulator.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from services.collector.sources import SourceConfig


class FetchError(Exception):
    """The export could not be fetched (after retries); the message says why."""


_BLOCK = 1 << 20


@dataclass(frozen=True)
class Fetched:
    """What a fetch wrote into the caller's file. content_hash None: not modified since the last ingest (304)."""

    content_hash: str | None
    etag: str | None = None
    last_modified: str | None = None
    filename: str | None = None


def save_local(content: bytes | Path, into: BinaryIO, name: str) -> Fetched:
    """Copy a local export (bytes, or a file read block by block) into `into`, hashing it on the way."""
    digest = hashlib.sha256()
    if isinstance(content, bytes):
        digest.update(content)
        into.write(content)
    else:
        with content.open("rb") as source:
            while block := source.read(_BLOCK):
                digest.update(block)
                into.write(block)
    into.seek(0)
    return Fetched(content_hash=digest.hexdigest(), filename=name)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


async def fetch(
    client: httpx.AsyncClient,
    source: SourceConfig,
    url: str,
    into: BinaryIO,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    backoff_seconds: float = 1.0,
) -> Fetched:
    """Stream the export at `url` into the file `into` (never whole in memory), hashing it on the way."""
    if url.startswith("file://"):
        path = Path(unquote(urlparse(url).path))
        try:
            return save_local(path, into, path.name)
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
                async with asyncio.timeout(source.download_seconds):
                    fetched = await _download(client, url, into, headers, source)
    except TimeoutError:  # not retried: the next try would trickle in as slowly
        raise FetchError(f"{url}: the export did not arrive whole within download_seconds "
                         f"({source.download_seconds:g} s); nothing was read") from None
    except httpx.HTTPStatusError as exc:
        raise FetchError(
            f"{url} answered HTTP {exc.response.status_code} after {source.retries + 1} tries"
            if _retryable(exc)
            else f"{url} answered HTTP {exc.response.status_code}"
        ) from None
    except httpx.TransportError as exc:
        raise FetchError(f"{url}: {_transport_problem(exc, source)} ({source.retries + 1} tries)") from None
    if fetched.content_hash is None:
        return Fetched(content_hash=None, etag=etag, last_modified=last_modified)
    return fetched


async def _download(client: httpx.AsyncClient, url: str, into: BinaryIO, headers: dict[str, str],
                    source: SourceConfig) -> Fetched:
    into.seek(0)
    into.truncate()
    limit = source.max_mb * 1_000_000
    async with client.stream("GET", url, headers=headers, timeout=source.timeout_seconds) as response:
        if response.status_code == 304:
            return Fetched(content_hash=None)
        response.raise_for_status()
        digest = hashlib.sha256()
        size = 0
        async for block in response.aiter_bytes(_BLOCK):
            size += len(block)
            if size > limit:  # checked as it arrives: a stream without end fills no disk
                raise FetchError(f"{url}: the export is larger than max_mb ({source.max_mb:g} MB); nothing was "
                                 "read — raise the source's max_mb if it is real")
            digest.update(block)
            into.write(block)
    into.seek(0)
    return Fetched(
        content_hash=digest.hexdigest(),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        filename=Path(urlparse(url).path).name,
    )


def _transport_problem(exc: httpx.TransportError, source: SourceConfig) -> str:
    """What went wrong on the wire, in words (never the library's exception text)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within timeout_seconds ({source.timeout_seconds:g} s)"
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect (refused, or the host is unknown)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the platform closed the connection before the whole export arrived (truncated)"
    return "network error while downloading the export"


def _auth_headers(source: SourceConfig) -> dict[str, str]:
    if source.auth is None:
        return {}
    secret = os.environ.get(source.auth.env)
    if not secret:
        raise FetchError(f"source '{source.id}' needs the environment variable {source.auth.env} (its auth secret)")
    return {source.auth.header: f"{source.auth.prefix}{secret}"}
