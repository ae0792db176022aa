"""The access matrix (issue 9, "Prove it"): every route of the app × (no key, viewer, assessor of another unit,
integration key of another subtree, admin, a revoked admin key), with reads open and with
SCORECARD_API__READ_REQUIRES_KEY.

The expected status class comes from the policy table (shared.access.policy.RULES) and the scope each caller
covers for the data the request touches: no key where a key is needed, or a revoked key sent anywhere but a public
route → 401; a role the table does not permit →
403; a permitted role outside its scope → 403 (or, where the scope filters, a success that writes nothing); else
the route's own outcome for a minimal valid request. Routes come from `app.routes`: a route without a row in
ROUTES fails test_every_route_has_a_row. A refused request changes no row of the tables its route writes, nor the
audit log; every error is in the one shape. tests/shared/access/test_policy.py walks the (role, action) pairs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import text
from starlette.routing import Mount

from services.api.deps import Database
from services.api.main import create_app
from shared.access import keys, policy
from shared.access import store as access_store
from shared.access.policy import Action, Role, Scope
from shared.core.settings import ApiSettings, DatabaseSettings, RatingSettings, Settings
from shared.ratings import store as rating_store
from shared.ratings.types import RatingIn
from tests.conftest import MakeKey, bearer

QINGSHAN, FUQIANG = "150204000000", "150204004000"
DONGHE, KUNDULUN = "150202000000", "150203000000"
SHENPI, WEIJIAN, ZHUANBAN = "150200D002", "150200D005", "150200D900"
RATING = "HCP-MATRIX-1"


@dataclass(frozen=True)
class Caller:
    role: Role | None
    org: str | None
    # Which scopes this caller's unit covers for the data every request below touches: 青山区's figures and
    # ratings, item 19 (led by 审批局, not 卫健委), group 六 (not led by 卫健委 alone), the BT2022 scheme of 包头市.
    covers: frozenset[Scope]
    revoked: bool = False  # an admin's key, revoked before the request: refused wherever a key is looked at


EVERYWHERE = frozenset({Scope.ANYWHERE})
CALLERS = {
    "no-key": Caller(None, None, frozenset()),
    "viewer": Caller(Role.VIEWER, None, EVERYWHERE),
    "assessor-of-another-unit": Caller(Role.ASSESSOR, WEIJIAN, EVERYWHERE),
    "integration-of-another-subtree": Caller(Role.INTEGRATION, DONGHE, EVERYWHERE),
    "admin": Caller(Role.ADMIN, ZHUANBAN, frozenset(Scope)),
    "revoked-admin": Caller(Role.ADMIN, ZHUANBAN, frozenset(Scope), revoked=True),
}


@dataclass(frozen=True)
class Row:
    """One route: the action it asks the policy for (None = public, no key ever), a minimal valid request
    (placeholders {scheme}, {rating}, {assessment}), the tables it writes, and its outcome when permitted."""

    action: Action | None
    url: str | None = None  # default: the route's path
    body: dict[str, Any] | None = None
    writes: tuple[str, ...] = ()
    allowed: int | str = "2xx"  # "2xx" or an exact 4xx (a valid request the route still refuses on its merits)
    out_of_scope: int | str = 403  # "2xx": the scope filters what the request does (and it writes nothing)


def obs_body(org: str) -> dict[str, Any]:
    row = {"indicator": "QS-07", "org": org, "date": "2022-05-31", "numerator": 1, "denominator": 2}
    return {"observations": [row]}


SCORE_ROW = {"org": DONGHE, "item": 19, "period": "2022H1", "method": "monitoring", "points": 0.5}
READ = Action.READ
ROUTES: dict[tuple[str, str], Row] = {
    ("GET", "/openapi.json"): Row(None),
    ("GET", "/docs"): Row(None),
    ("GET", "/static"): Row(None, "/static/swagger/swagger-ui.css"),
    ("GET", "/ui"): Row(None, "/ui/"),  # redirects to /ui/: the page itself, open like /docs (its data needs a key
    ("GET", "/ui/"): Row(None),  # when reads do)
    ("GET", "/healthz"): Row(None),
    ("GET", "/readyz"): Row(None),
    ("GET", "/metrics"): Row(READ),
    ("GET", "/v1/ratings/overdue"): Row(READ),
    ("GET", "/v1/schemes"): Row(READ),
    ("GET", "/v1/schemes/{scheme_id}"): Row(READ, "/v1/schemes/{scheme}"),
    ("GET", "/v1/schemes/{scheme_id}/publications"): Row(READ, "/v1/schemes/{scheme}/publications"),
    ("GET", "/v1/schemes/{scheme_id}/assessments"): Row(READ, "/v1/schemes/{scheme}/assessments"),
    ("GET", "/v1/org-units"): Row(READ),
    ("GET", "/v1/org-units/{code}"): Row(READ, f"/v1/org-units/{QINGSHAN}"),
    ("GET", "/v1/indicators"): Row(READ),
    ("GET", "/v1/indicators/{code}"): Row(READ, "/v1/indicators/QS-07"),
    ("GET", "/v1/targets"): Row(READ),
    ("GET", "/v1/values"): Row(READ, f"/v1/values?indicator=QS-07&org={QINGSHAN}&period=2022-05"),
    ("GET", "/v1/dashboard"): Row(READ, f"/v1/dashboard?org={QINGSHAN}&year=2022"),
    ("GET", "/v1/scores"): Row(READ, f"/v1/scores?scheme={{scheme}}&period=2022H1&org={DONGHE}"),
    ("GET", "/v1/rankings"): Row(READ, "/v1/rankings?scheme={scheme}&period=2022H1&kind=county"),
    ("GET", "/v1/ingest-runs"): Row(READ),
    ("POST", "/v1/observations"): Row(Action.PUSH_OBSERVATIONS, body=obs_body(FUQIANG), writes=("observations",)),
    ("POST", "/v1/ratings/{rating_id}/followup"): Row(
        Action.FOLLOW_UP_RATING, f"/v1/ratings/{RATING}/followup", {"state": "核实中"}, ("ratings",)
    ),
    ("PUT", "/v1/targets"): Row(
        Action.SET_TARGETS,
        body={"targets": [{"indicator": "QS-07", "org": FUQIANG, "year": 2022, "comparator": ">=", "number": 92}]},
        writes=("targets",),
    ),
    ("PUT", "/v1/schemes/{scheme_id}/splits"): Row(
        Action.SET_SPLITS,
        "/v1/schemes/{scheme}/splits",
        {"splits": [{"group": "六（一）", "points": 3}, {"group": "六（二）", "points": 2}]},
        ("scheme_groups", "scheme_items"),
    ),
    ("PUT", "/v1/schemes/{scheme_id}/applicability"): Row(
        Action.SET_APPLICABILITY,
        "/v1/schemes/{scheme}/applicability",
        {"applicability": [{"item": 20, "org": KUNDULUN, "applicable": False, "reason": "无此项业务"}]},
        ("scheme_item_exclusions",),
    ),
    ("POST", "/v1/schemes/{scheme_id}/assessments"): Row(
        Action.SCORE_ITEMS, "/v1/schemes/{scheme}/assessments", {"assessments": [SCORE_ROW]}, ("assessments",)
    ),
    ("POST", "/v1/assessments/{assessment_id}/verify"): Row(
        Action.VERIFY, "/v1/assessments/{assessment}/verify", None, ("assessments",)
    ),
    ("POST", "/v1/assessments/{assessment_id}/return"): Row(
        Action.VERIFY, "/v1/assessments/{assessment}/return", {"reason": "证据不足"}, ("assessments",)
    ),
    ("POST", "/v1/schemes/{scheme_id}/publications"): Row(
        Action.PUBLISH, "/v1/schemes/{scheme}/publications", {"period": "2022H1"},
        ("publications", "publication_documents"),
    ),
    # An assessor's automatic scoring is filtered to the items its unit leads (none linked here): 2xx, no rows.
    ("POST", "/v1/schemes/{scheme_id}/automatic"): Row(
        Action.SCORE_AUTOMATIC, "/v1/schemes/{scheme}/automatic", {"period": "2022H1"}, ("assessments",),
        out_of_scope="2xx",
    ),
}


def app_routes() -> set[tuple[str, str]]:
    found = set()
    for context in iter_route_contexts(create_app(Settings()).routes):
        if isinstance(context.original_route, Mount):
            found.add(("GET", context.path))
            continue
        for method in getattr(context, "methods", None) or {"GET"}:
            if method != "HEAD":
                found.add((method, context.path))
    return found


def keyed_read(path: str) -> bool:
    """What SCORECARD_API__READ_REQUIRES_KEY closes: every GET under /v1, and /metrics."""
    return path.startswith("/v1/") or path == "/metrics"


def expected(route: tuple[str, str], row: Row, caller: Caller, reads_need_key: bool) -> int | str:
    if row.action is None:
        return "2xx"
    if caller.revoked:  # a sent key is checked on open reads too: a revoked one is not read as anonymous
        return 401 if row.action != READ or keyed_read(route[1]) else "2xx"
    if caller.role is None:
        return 401 if row.action != READ or (reads_need_key and keyed_read(route[1])) else "2xx"
    scope = policy.scope_of(caller.role, row.action)
    if scope is None:
        return 403
    return row.allowed if scope in caller.covers else row.out_of_scope


def cases() -> list[Any]:
    out = []
    for route, row in ROUTES.items():
        for reads_need_key in (False, True) if row.action == READ else (False,):
            for name in CALLERS:
                flag = "-reads-need-key" if reads_need_key else ""
                out.append(pytest.param(route, name, reads_need_key, id=f"{route[0]} {route[1]} {name}{flag}"))
    return out


def test_every_route_has_a_row() -> None:
    assert app_routes() == set(ROUTES), "add a row to ROUTES for every new route (and drop rows of gone ones)"


def test_the_table_has_every_action_of_the_policy_on_some_route() -> None:
    routed = {row.action for row in ROUTES.values()}
    # ENTER_OVERALL and ADJUST are entered through POST …/assessments (rows with score / reason), as the
    # ranking tests do; every other action has its own route.
    assert set(Action) - routed == {Action.ENTER_OVERALL, Action.ADJUST}


async def snapshot(database: Database, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    out = {}
    async with database.sessions() as s:
        for table in (*tables, "audit_entries"):
            rows = f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            count, digest = (await s.execute(text(rows))).one()
            out[table] = (int(count), str(digest))
    return out


async def _client(pg_url: str, database: Database, reads_need_key: bool) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(db=DatabaseSettings(url=pg_url), api=ApiSettings(read_requires_key=reads_need_key))
    app = create_app(settings, database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        yield c


async def _fill(url: str, client: httpx.AsyncClient, database: Database, make_key: MakeKey, admin: str) -> str:
    if "{scheme}" in url or "{assessment}" in url:
        [scheme] = [s for s in (await client.get("/v1/schemes", headers=bearer(admin))).json() if s["code"] == "BT2022"]
        url = url.replace("{scheme}", str(scheme["id"]))
    if "{assessment}" in url:
        shenpi = await make_key("assessor", SHENPI, name="shenpi")
        r = await client.post(
            f"/v1/schemes/{scheme['id']}/assessments", json={"assessments": [SCORE_ROW]}, headers=bearer(shenpi)
        )
        assert r.status_code == 200, r.text
        url = url.replace("{assessment}", str(r.json()["ids"][0]))
    if RATING in url:
        async with database.sessions() as s, s.begin():
            rating = RatingIn(RATING, FUQIANG, "失业保险金申领", "12345热线", 2, datetime(2022, 6, 1, 10), False)
            await rating_store.write_ratings(
                s, [rating], source="t", actor="t", settings=RatingSettings(), today=date(2022, 6, 1)
            )
    return url


@pytest.mark.parametrize(("route", "caller_name", "reads_need_key"), cases())
async def test_access(
    route: tuple[str, str],
    caller_name: str,
    reads_need_key: bool,
    pg_url: str,
    database: Database,
    make_key: MakeKey,
) -> None:
    row, caller = ROUTES[route], CALLERS[caller_name]
    want = expected(route, row, caller, reads_need_key)
    async for client in _client(pg_url, database, reads_need_key):
        admin = await make_key("admin", ZHUANBAN, name="setup-admin")
        url = await _fill(row.url or route[1], client, database, make_key, admin)
        headers = {}
        if caller.role is not None:
            plaintext = await make_key(caller.role.value, caller.org, name=f"matrix-{caller_name}")
            headers = bearer(plaintext)
            if caller.revoked:
                async with database.sessions() as s, s.begin():
                    await access_store.revoke_key(s, prefix=keys.prefix_of(plaintext) or "", actor="tests")
        before = await snapshot(database, row.writes) if row.writes else None
        r = await client.request(route[0], url, json=row.body, headers=headers)
        got = "2xx" if 200 <= r.status_code < 300 else r.status_code
        assert got == want, f"{route} as {caller_name}: {r.status_code} {r.text[:500]}"
        if r.status_code >= 400:
            body = r.json()
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
        if before is not None and (r.status_code in (401, 403) or want == row.out_of_scope):
            assert await snapshot(database, row.writes) == before, f"{route} as {caller_name} wrote"
