"""The request guard (pure ASGI, outermost after CORS): what every request must satisfy before any handler runs —
no NUL characters, a body no larger than the cap (checked before it is read) and in full in time, JSON bodies
without duplicate keys, security headers on every answer; and a read is cancelled when its client goes away.
Not here: per-field rules (services/api/schemas), authorization (deps.py)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import jiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import error_response

log = logging.getLogger("scorecard.api")

# A JSON escape \u0000 that is not itself escaped (an even number of backslashes before it).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_SAFE = ("GET", "HEAD", "OPTIONS")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
]


class _Gone(Exception):
    """The client left while sending its body."""


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _check_target(scope: Scope) -> None:
    # PostgreSQL text cannot hold NUL: refused here once, not as a 500 from whichever query meets it first.
    if "\x00" in scope["path"]:
        raise _Refused(422, "invalid_input", "the path contains a NUL character (\\u0000)", "path")
    if b"%00" in scope["query_string"]:
        raise _Refused(422, "invalid_input", "the query string contains a NUL character (%00)", "query")
    for name, value in scope["headers"]:
        if b"\x00" in value:
            raise _Refused(422, "invalid_input", f"header {name.decode('latin-1')} contains a NUL character", "header")


def _check_body(method: str, headers: Headers, body: bytes) -> None:
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if method not in _SAFE and not (media == "application/json" or media.endswith("+json")):
        shown = media or "none"
        raise _Refused(415, "unsupported_media_type", f"send the body as JSON (Content-Type: application/json), "
                       f"not {shown}", "body")
    if b"\x00" in body or (b"\\u0000" in body and _NUL_ESCAPE.search(body)):
        raise _Refused(422, "invalid_input", "the body contains a NUL character (\\u0000); text may not hold it",
                       "body")
    try:
        # One extra parse (jiter, ~6 ms for a 10k-row push); the handlers' own parsers keep the last of two keys.
        jiter.from_json(body, catch_duplicate_keys=True, cache_mode="keys")
    except ValueError as exc:
        if str(exc).startswith("Detected duplicate key"):
            raise _Refused(422, "invalid_input", f"{exc}: give each key once per object", "body") from None
        # Not JSON at all: the handler reports that in its own words.


async def _read_body(receive: Receive, headers: Headers, limit: int) -> bytes:
    declared = headers.get("content-length")
    too_large = f"the body is larger than {limit} bytes; split it into smaller requests"
    if declared is not None:
        if not declared.isdigit():
            raise _Refused(400, "bad_request", "Content-Length is not a number", "header")
        if int(declared) > limit:
            raise _Refused(413, "payload_too_large", too_large, "body")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:  # a streamed (chunked) body: stop reading at the cap
            raise _Refused(413, "payload_too_large", too_large, "body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class RequestGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        send = _with_headers(send, no_store=method not in _SAFE)
        headers = Headers(scope=scope)
        try:
            _check_target(scope)
            body = await self._body(receive, headers)
            if body:
                _check_body(method, headers, body)
        except _Refused as r:
            details = [{"row": None, "field": r.field, "message": r.message}]
            await error_response(r.status, r.code, r.message, details)(scope, receive, send)
            return
        except _Gone:
            return  # the client left while sending its body
        await self._run(scope, method, body, receive, send)

    async def _body(self, receive: Receive, headers: Headers) -> bytes:
        # One deadline for the whole body, not per chunk: a byte every few seconds would pass any per-chunk wait.
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                return await _read_body(receive, headers, self.max_body_bytes)
        except TimeoutError:
            raise _Refused(408, "request_timeout", f"the body did not arrive within {self.body_timeout_seconds:g} s; "
                           "send it at once (or in smaller requests)", "body") from None

    async def _run(self, scope: Scope, method: str, body: bytes, receive: Receive, send: Send) -> None:
        if method not in _SAFE:
            # A write runs to its commit or rollback even when its client leaves: one outcome, never cut between.
            await self.app(scope, _Replay(body, receive).next, send)
            return
        replay = _Replay(body, None)
        answered = False

        async def sending(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True  # servers report a disconnect once the answer is complete: not a client leaving
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, replay.next, sending))
        left = False

        async def watch() -> None:
            nonlocal left
            while (await receive())["type"] != "http.disconnect":
                pass
            replay.gone.set()
            if not answered and not handler.done():
                # The read stops; PostgreSQL ends its statement too (the driver cancels it or closes the
                # connection, which the server notices: client_connection_check_interval, shared.core.db).
                left = True
                log.info("client went away: %s %s cancelled", method, scope["path"])
                handler.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await handler
        except asyncio.CancelledError:
            if not left:
                raise
        finally:
            watcher.cancel()


class _Replay:
    """The receive channel the app sees: the body read once, then the real channel (writes) or the disconnect
    the watcher saw (reads)."""

    def __init__(self, body: bytes, receive: Receive | None) -> None:
        self.body: bytes | None = body
        self.receive = receive
        self.gone = asyncio.Event()

    async def next(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        if self.receive is not None:
            return await self.receive()
        await self.gone.wait()
        return {"type": "http.disconnect"}


def _with_headers(send: Send, *, no_store: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra: list[Any] = [h for h in _SECURITY_HEADERS if h[0] not in present]
            if no_store and b"cache-control" not in present:
                extra.append((b"cache-control", b"no-store"))
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped
