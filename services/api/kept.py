"""GET /v1/dashboard answered from the bytes this process keeps, before FastAPI's routing and dependency solving
(which cost more than sending a province's ~650 kB answer): only when the answer is certainly the route's own —
reads are open, the data revision is known without asking (shared/revisions/watch.py), the query is plain
(`org`, optional 4-digit `year`) and an unexpired answer is kept for it. Anything else, and every error, is the
route's (routers/dashboard.py), which keeps the answers this layer serves. No database access here.

Inside the guard, the metrics and the request id, like every route: the same headers, counts and log lines."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.routers import dashboard
from shared.core import clock


class KeptDashboards:
    path = "/v1/dashboard"  # the route's template, for the metrics (they label a request by scope["route"].path)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == self.path:
            found = self._kept(scope)
            if found is not None:
                scope["route"] = self
                await dashboard.answer(*found, _if_none_match(scope))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _kept(self, scope: Scope) -> tuple[bytes, str] | None:
        state = scope["app"].state
        db = getattr(state, "db", None)
        if db is None or db.watch is None or state.settings.api.read_requires_key:
            return None
        revision = db.watch.known()
        if revision is None:
            return None
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        names = [name for name, _ in params]
        if names not in (["org"], ["org", "year"], ["year", "org"]):
            return None
        given = dict(params)
        now = clock.now()
        year = given.get("year", str(now.year))
        if not (len(year) == 4 and year.isascii() and year.isdigit()):
            return None
        if len(_if_none_match(scope) or "") > 2000:
            return None  # the route's limit: its 422
        return dashboard.kept(state.answers, revision, given["org"], int(year), now)


def _if_none_match(scope: Scope) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None)
