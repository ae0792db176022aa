"""Logging of every process (API, collector, commands): text lines, or JSON lines with
`SCORECARD_LOG__FORMAT=json` — one object per line, with the id of the API request it was written in.

Never personal data: a line holds the message the code wrote and the fields below, nothing from a request
(no client address, key, header, query string or body). The API's access line names the route template.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from shared.core.settings import LogSettings

# The request being answered in this task (the API sets it per request; elsewhere None).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# An id a proxy or client sent is kept when it is short and plain (a UUID, a trace id); otherwise one is made.
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# Fields a line may carry besides the message (logger.info(..., extra={...})); anything else is not written.
FIELDS = ("method", "route", "status", "ms", "source", "run_id")


def take_request_id(sent: str | None) -> str:
    if sent is not None and _VALID_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


# Loggers whose INFO lines name whole URLs, query strings included (a platform's export URL may carry a token):
# only their warnings and errors are written.
_QUIET = ("httpx", "httpcore")


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name.split(".", 1)[0] in _QUIET:
            return False
        record.request_id = request_id.get()
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line["request_id"] = rid
        for name in FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the sys.stderr of the moment (a progress bar redirects it to print above itself)."""

    scorecard = True

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{text} [request {rid}]" if rid else text


def make_handler(settings: LogSettings, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing the configured format, each line with its request id; to stderr unless given a stream."""
    handler: logging.Handler = _Stderr() if stream is None else logging.StreamHandler(stream)
    handler.addFilter(_WithRequestId())
    if settings.format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(_Text("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def configure_logging(settings: LogSettings) -> None:
    """One handler on the root logger (stderr), unless the process already has its own (like basicConfig: a
    host's or pytest's handlers win). uvicorn's loggers propagate to it: run uvicorn with log_config=None and
    access_log=False — the API writes its own access line (scorecard.access: route, status, duration, request
    id), where uvicorn's names the client's address."""
    root = logging.getLogger()
    if any(not getattr(h, "scorecard", False) for h in root.handlers):
        return
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(settings))
    root.setLevel(settings.level)
