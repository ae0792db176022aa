"""Kept answers served before FastAPI's routing and dependency solving, which cost more than sending a
province's ~650 kB dashboard or a published 通报 from memory: `GET /v1/dashboard` (kept under the data revision)
and `GET /v1/rankings?version=` (a publication, which never changes). Only when the answer is certainly the
route's own: reads are open and no key is sent, the query is plain (exactly the parameters the route would take,
in the forms it keeps them under) and the bytes are kept; a dashboard also needs the data revision known without
asking (shared/revisions/watch.py) and an unexpired entry. Anything else, and every error, is the route's, which
keeps the answers this layer serves. No database access here.

Inside the guard, the metrics and the request id, like every route: the same headers, counts and log lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.routers import dashboard, scores
from shared.core import clock
from shared.publications import store as publication_store
from shared.schemes.types import RankingKind


@dataclass(frozen=True)
class _Template:
    path: str  # the route's template: the metrics label a request by scope["route"].path


class KeptAnswers:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes: dict[str, Callable[[Scope], Response | None]] = {
            "/v1/dashboard": kept_dashboard,
            "/v1/rankings": kept_publication,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and (kept := self.routes.get(scope["path"])):
            state = scope["app"].state
            # A sent key is the route's to check (a revoked one is a 401), as every key when reads need one.
            keyed = state.settings.api.read_requires_key or any(k == b"authorization" for k, _ in scope["headers"])
            found = None if keyed else kept(scope)
            if found is not None:
                scope["route"] = _Template(scope["path"])
                await found(scope, receive, send)
                return
        await self.app(scope, receive, send)


def kept_dashboard(scope: Scope) -> Response | None:
    state = scope["app"].state
    db = getattr(state, "db", None)
    if db is None or db.watch is None or (revision := db.watch.known()) is None:
        return None
    given = _plain(scope, required={"org"}, optional={"year"})
    if given is None:
        return None
    now = clock.now()
    year = given.get("year", str(now.year))
    if_none_match = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None)
    if not _digits(year, 4) or len(if_none_match or "") > 2000:  # the route's 422s
        return None
    found = dashboard.kept(state.answers, revision, given["org"], int(year), now)
    return None if found is None else dashboard.answer(*found, if_none_match)


def kept_publication(scope: Scope) -> Response | None:
    given = _plain(scope, required={"scheme", "period", "kind", "version"}, optional={"format"})
    if given is None or not (_digits(given["scheme"], 10) and _digits(given["version"], 5)):
        return None
    fmt = given.get("format", "json")
    kinds = {k.value: k for k in RankingKind}
    if fmt not in ("json", "xlsx") or given["kind"] not in kinds:
        return None
    scheme, version, kind = int(given["scheme"]), int(given["version"]), kinds[given["kind"]]
    name = publication_store.ranking_name(kind, fmt)
    body = scope["app"].state.answers.get(scores.published_key(scheme, given["period"], version, name))
    if body is None:
        return None
    attachment = scores.ranking_filename(scheme, given["period"], kind, fmt, version) if fmt == "xlsx" else None
    return scores.answer(body, fmt, attachment)


def _plain(scope: Scope, *, required: set[str], optional: set[str]) -> dict[str, str] | None:
    """The query's parameters when each is named once and they are the required ones plus some optional ones."""
    params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    given = dict(params)
    if len(given) != len(params) or not required <= given.keys() <= required | optional:
        return None
    return given


def _digits(text: str, most: int) -> bool:
    """A positive whole number as the route reads it and keeps it: ASCII digits, no sign, no leading zero."""
    return 0 < len(text) <= most and text.isascii() and text.isdigit() and text[0] != "0"
