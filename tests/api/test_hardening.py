"""The API under bad input (issue 9): NUL characters, dates at the end of time, long keys, bad targets, strict
bodies, body and request-size limits, headers, reads behind a key, the error shape in OpenAPI. Every refusal is a
4xx in the one error shape and writes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import Database
from services.api.main import create_app
from shared.access import store as access_store
from shared.core.settings import ApiSettings, Settings
from shared.observations.models import Observation
from shared.targets.models import Target
from tests.builders import FUQIANG, QINGSHAN, obs, push_body
from tests.conftest import MakeKey, bearer

JSON = {"Content-Type": "application/json"}


def refused(r: httpx.Response, status: int = 422, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if field is not None:
        assert field in [d["field"] for d in error["details"]], error
    return error


async def count(session: AsyncSession, model: type) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.fixture
async def admin(make_key: MakeKey) -> dict[str, str]:
    return bearer(await make_key("admin"))


def app_client(settings: Settings, database: Database) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, database)), base_url="http://api")


@pytest.fixture
async def tight(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with small limits."""
    api = ApiSettings(max_body_bytes=2048, max_indicators=3, max_value_cells=40)
    async with app_client(settings.model_copy(update={"api": api}), database) as c:
        yield c


TARGET = {"indicator": "QS-08", "org": QINGSHAN, "year": 2030, "comparator": ">=", "number": 90}

NUL_READS = [
    ("/v1/indicators/QS%0007", "path"),
    ("/v1/org-units/150204%00000000", "path"),
    ("/v1/org-units?parent=1502%0004", "query"),
    ("/v1/indicators?plan=a%00b", "query"),
    ("/v1/targets?indicator=QS-07%00", "query"),
    (f"/v1/values?indicator=QS-07%00&org={QINGSHAN}&period=2022-05", "query"),
    (f"/v1/values?indicator=QS-07&org={QINGSHAN}%00&period=2022-05", "query"),
    ("/v1/ingest-runs?source=%00", "query"),
    ("/v1/ratings/overdue?org=%00", "query"),
    ("/v1/scores?scheme=%00&period=2022H1", "query"),
]


class TestNulCharacters:
    @pytest.mark.parametrize(("url", "field"), NUL_READS)
    async def test_in_a_path_or_query_is_a_422(self, client, url: str, field: str) -> None:
        assert "NUL" in refused(await client.get(url), 422, field)["message"]

    async def test_in_a_push_body_is_a_422_and_nothing_is_written(self, client, admin, session) -> None:
        body = push_body(obs("QS-07\u0000", FUQIANG, "2022-05-31", 1, 2))
        refused(await client.post("/v1/observations", json=body, headers=admin), 422, "body")
        assert await count(session, Observation) == 0

    async def test_in_a_target_text_is_a_422(self, client, admin, session) -> None:
        before = await count(session, Target)
        body = {"targets": [{**TARGET, "number": None, "comparator": None, "text": "随时\u0000布点"}]}
        refused(await client.put("/v1/targets", json=body, headers=admin), 422, "body")
        assert await count(session, Target) == before

    async def test_in_a_followup_path_is_a_422(self, client, admin) -> None:
        r = await client.post("/v1/ratings/r1%00/followup", json={"state": "核实中"}, headers=admin)
        refused(r, 422, "path")

    async def test_an_escaped_backslash_before_u0000_is_plain_text(self, client, admin) -> None:
        # JSON "a\\u0000" is the six characters a \ u 0 0 0 0, not a NUL.
        body = b'{"targets": [{"indicator": "QS-08", "org": "%s", "year": 2030, "text": "a\\\\u0000"}]}' % (
            QINGSHAN.encode()
        )
        r = await client.put("/v1/targets", content=body, headers={**admin, "Content-Type": "application/json"})
        assert r.status_code == 200, r.text


class TestDatesAtTheEndOfTime:
    @pytest.mark.parametrize(
        "params",
        [
            {"from": "9999-12-01", "to": "9999-12-31", "granularity": "day"},
            {"from": "9999-01-01", "to": "9999-12-31", "granularity": "month"},
            {"from": "9999-01-01", "to": "9999-12-31", "granularity": "year"},
            {"period": "9999-12-31"},
            {"period": "9999"},
        ],
    )
    async def test_a_series_ending_on_9999_12_31_is_no_5xx(self, client, params: dict) -> None:
        r = await client.get("/v1/values", params={"indicator": "QS-07", "org": QINGSHAN, **params})
        assert r.status_code < 500, r.text


class TestLongInputsInErrors:
    @pytest.mark.parametrize(
        ("url", "params"),
        [
            ("/v1/values", {"indicator": "A" * 5000, "org": QINGSHAN, "period": "2022"}),
            ("/v1/values", {"indicator": "QS-07", "org": "1" * 3000, "period": "2022"}),
            ("/v1/values", {"indicator": "QS-07", "org": QINGSHAN, "period": "2" * 3000}),
            ("/v1/org-units/" + "X" * 3000, {}),
            ("/v1/dashboard", {"org": QINGSHAN, "year": "9" * 3000}),
            ("/v1/targets", {"indicator": "Q" * 3000}),
        ],
    )
    async def test_are_quoted_by_their_start_only(self, client, url: str, params: dict) -> None:
        r = await client.get(url, params=params)
        assert 400 <= r.status_code < 500 and len(r.content) < 1000, (r.status_code, r.text[:300])
        assert "error" in r.json()

    async def test_a_short_input_is_quoted_whole(self, client) -> None:
        r = await client.get("/v1/values", params={"indicator": "QS-99", "org": QINGSHAN, "period": "2022"})
        assert "'QS-99'" in r.json()["error"]["message"], r.text


class TestFoundByABlindProbe:
    async def test_a_day_series_over_thousands_of_years_is_refused_without_listing_it(self, client) -> None:
        # It listed 3,652,059 days first: 8 s with the server blocked (the stop: test_periods.py::TestSeries).
        r = await client.get("/v1/values", params={"indicator": "QS-07", "org": QINGSHAN, "from": "0001-01-01",
                                                   "to": "9999-12-31", "granularity": "day"})
        assert "more than 400 periods" in refused(r, 422, "granularity")["message"]

    @pytest.mark.parametrize(("params", "field"), [
        ({"indicator": "", "period": "2022"}, "indicator"),
        ({"indicator": " , ", "period": "2022"}, "indicator"),
        ({"indicator": "QS-07", "period": "2022Q2", "from": "2022-01-01", "to": "2022-02-01"}, "period"),
    ], ids=["no code", "only commas", "period and from-to"])
    async def test_a_question_without_an_indicator_or_at_odds_with_itself(self, client, params, field) -> None:
        refused(await client.get("/v1/values", params={"org": QINGSHAN, **params}), 422, field)

    async def test_a_union_field_is_named_as_the_body_names_it(self, client, admin) -> None:
        [scheme] = [x["id"] for x in (await client.get("/v1/schemes")).json() if x["code"] == "BT2022"]
        row = {"item": 19, "org": QINGSHAN, "period": "2022H1", "method": "monitoring", "points": -0.1}
        r = await client.post(f"/v1/schemes/{scheme}/assessments", json={"assessments": [row]}, headers=admin)
        [detail] = refused(r, 422, "assessments[0].points")["details"]
        assert detail["message"] == "Input should be greater than or equal to 0", detail

    async def test_a_message_quoting_a_name_and_an_input_keeps_both(self, client) -> None:
        r = await client.get("/v1/ratings/overdue", params={"after": "zzz"})
        message = refused(r, 422, "after")["message"]
        assert message.startswith("'after' must be") and "'zzz'" in message and "characters)" not in message


class TestIdempotencyKeyLength:
    async def test_a_key_of_the_allowed_200_characters_is_stored_and_replays(self, client, admin) -> None:
        headers = {**admin, "Idempotency-Key": "k" * 200}
        body = push_body(obs("QS-07", FUQIANG, "2022-05-31", 1, 2))
        first = await client.post("/v1/observations", json=body, headers=headers)
        assert first.status_code == 200, first.text
        again = await client.post("/v1/observations", json=body, headers=headers)
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"

    async def test_a_key_over_200_characters_is_a_422(self, client, admin) -> None:
        body = push_body(obs("QS-07", FUQIANG, "2022-05-31", 1, 2))
        r = await client.post("/v1/observations", json=body, headers={**admin, "Idempotency-Key": "k" * 201})
        refused(r, 422, "idempotency-key")


class TestBadTargets:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"number": -5}, "targets[0].number"),
            ({"applies_to": "street"}, "targets[0].applies_to"),
            ({"applies_to": "county-level-units-all"}, "targets[0].applies_to"),
            ({"number": True}, "targets[0].number"),
            ({"number": "90"}, "targets[0].number"),
            ({"year": "2030"}, "targets[0].year"),
            ({"half": True}, "targets[0].half"),
            ({"indicator": "Q" * 40}, "targets[0].indicator"),
            ({"indicator": "QS-07", "number": 150}, "number"),  # a share of its denominator: never above 100 %
        ],
    )
    async def test_is_a_422_and_reads_still_work(self, client, admin, session, change: dict, field: str) -> None:
        before = await count(session, Target)
        refused(await client.put("/v1/targets", json={"targets": [{**TARGET, **change}]}, headers=admin), 422, field)
        assert await count(session, Target) == before
        assert (await client.get("/v1/targets", params={"indicator": "QS-08"})).status_code == 200
        r = await client.get("/v1/values", params={"indicator": "QS-08", "org": QINGSHAN, "period": "2030"})
        assert r.status_code == 200, r.text


class TestStrictPushBodies:
    @pytest.mark.parametrize(
        ("row", "field"),
        [
            ({"numerator": True}, "observations[0].numerator"),
            ({"denominator": "12"}, "observations[0].denominator"),
            ({"value": False}, "observations[0].value"),
            ({"date": 1653955200}, "observations[0].date"),
            ({"date": "1653955200"}, "observations[0].date"),
        ],
    )
    async def test_a_value_of_the_wrong_json_type_is_a_422(self, client, admin, session, row, field) -> None:
        body = push_body({**obs("QS-07", FUQIANG, "2022-05-31", 1, 2), **row})
        refused(await client.post("/v1/observations", json=body, headers=admin), 422, field)
        assert await count(session, Observation) == 0

    async def test_integers_are_numbers(self, client, admin) -> None:
        body = push_body(obs("QS-07", FUQIANG, "2022-05-31", 1, 2))
        assert (await client.post("/v1/observations", json=body, headers=admin)).status_code == 200

    async def test_a_duplicate_key_is_a_422(self, client, admin, session) -> None:
        raw = (b'{"observations": [{"indicator": "QS-07", "org": "%s", "date": "2022-05-31", '
               b'"numerator": 1, "denominator": 2, "numerator": 2}]}' % FUQIANG.encode())
        r = await client.post("/v1/observations", content=raw, headers={**admin, "Content-Type": "application/json"})
        assert "duplicate key" in refused(r, 422, "body")["message"]
        assert await count(session, Observation) == 0

    async def test_a_duplicate_key_in_a_target_body_is_a_422(self, client, admin) -> None:
        raw = b'{"targets": [], "targets": [{"indicator": "QS-08"}]}'
        r = await client.put("/v1/targets", content=raw, headers={**admin, "Content-Type": "application/json"})
        assert "duplicate key" in refused(r, 422, "body")["message"]

    @pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
    async def test_a_body_that_is_not_declared_json_is_a_415(self, client, admin, session, content_type) -> None:
        headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
        raw = b'{"observations": [{"indicator": "QS-07", "org": "%s", "date": "2022-05-31", "value": 1}]}' % (
            FUQIANG.encode()
        )
        r = await client.post("/v1/observations", content=raw, headers=headers)
        assert refused(r, 415)["code"] == "unsupported_media_type"
        assert await count(session, Observation) == 0

    async def test_json_with_a_charset_is_json(self, client, admin) -> None:
        raw = b'{"observations": [{"indicator": "QS-07", "org": "%s", "date": "2022-05-31", "numerator": 1, ' \
              b'"denominator": 2}]}' % FUQIANG.encode()
        headers = {**admin, "Content-Type": "application/json; charset=utf-8"}
        assert (await client.post("/v1/observations", content=raw, headers=headers)).status_code == 200


class TestRequestLimits:
    async def test_a_body_over_the_cap_is_a_413_by_its_content_length(self, tight, admin, session) -> None:
        body = push_body(*[obs("QS-07", FUQIANG, f"2022-05-{d:02d}", 1, 2) for d in range(1, 29)])
        r = await tight.post("/v1/observations", json=body, headers=admin)
        assert refused(r, 413)["code"] == "payload_too_large"
        assert await count(session, Observation) == 0

    async def test_a_streamed_body_over_the_cap_is_a_413(self, tight, admin) -> None:
        read = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal read
            yield b'{"observations": ['
            for _ in range(1000):
                read += 1
                yield b'{"indicator": "QS-07", "org": "150204004000", "date": "2022-05-31", "value": 1},'

        headers = {**admin, "Content-Type": "application/json"}
        r = await tight.post("/v1/observations", content=chunks(), headers=headers)
        assert "content-length" not in {k.lower() for k in r.request.headers}
        refused(r, 413)

    async def test_a_body_that_trickles_past_its_deadline_is_a_408(self, settings, database, admin, session) -> None:
        # A byte every 0.2 s never waits long for one chunk; the deadline is for the whole body.
        slow = settings.model_copy(update={"api": ApiSettings(body_timeout_seconds=0.5)})
        body = json.dumps(push_body(obs("QS-07", FUQIANG, "2022-05-31", 1, 2))).encode()

        async def trickle() -> AsyncIterator[bytes]:
            for i in range(len(body)):
                await asyncio.sleep(0.2 if i < 10 else 0)
                yield body[i:i + 1]

        async with app_client(slow, database) as c:
            started = time.monotonic()
            r = await c.post("/v1/observations", content=trickle(), headers={**admin, **JSON})
        assert refused(r, 408)["code"] == "request_timeout"
        assert time.monotonic() - started < 1.5
        assert await count(session, Observation) == 0

    async def test_a_body_in_time_is_taken(self, settings, database, admin) -> None:
        slow = settings.model_copy(update={"api": ApiSettings(body_timeout_seconds=5)})
        body = json.dumps(push_body(obs("QS-07", FUQIANG, "2022-05-31", 1, 2))).encode()

        async def in_two() -> AsyncIterator[bytes]:
            yield body[:10]
            await asyncio.sleep(0.2)
            yield body[10:]

        async with app_client(slow, database) as c:
            r = await c.post("/v1/observations", content=in_two(), headers={**admin, **JSON})
        assert r.status_code == 200, r.text

    async def test_more_indicators_than_allowed_is_a_422_repeats_counted(self, tight) -> None:
        r = await tight.get("/v1/values", params={"indicator": ["QS-07"] * 4, "org": QINGSHAN, "period": "2022-05"})
        assert "repeats count" in refused(r, 422, "indicator")["message"]

    async def test_periods_times_units_times_indicators_is_bounded(self, tight) -> None:
        params = {"indicator": "QS-07,QS-08", "org": QINGSHAN, "from": "2022-05-01", "to": "2022-05-31",
                  "granularity": "day"}
        assert "62 values" in refused(await tight.get("/v1/values", params=params), 422)["message"]
        params = {"indicator": "QS-07", "org": QINGSHAN, "children": "true", "from": "2022-01", "to": "2022-12"}
        params = {**params, "from": "2022-01-01", "to": "2022-12-31"}
        refused(await tight.get("/v1/values", params=params), 422, "indicator")

    async def test_within_the_limits_is_answered(self, tight) -> None:
        r = await tight.get("/v1/values", params={"indicator": ["QS-07"] * 3, "org": QINGSHAN, "period": "2022-05"})
        assert r.status_code == 200, r.text


class TestHeaders:
    async def test_every_answer_says_nosniff_and_no_framing(self, client) -> None:
        for r in (await client.get("/v1/indicators"), await client.get("/v1/nope"), await client.get("/docs")):
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            # the pages (/docs, /ui/) add their own 'self'-only sources; no answer may be framed
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]

    async def test_writes_are_not_cached_reads_may_be(self, client, admin) -> None:
        r = await client.put("/v1/targets", json={"targets": [TARGET]}, headers=admin)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
        refused(await client.post("/v1/observations", json={}, headers=admin))
        assert "no-store" not in (await client.get("/v1/indicators")).headers.get("Cache-Control", "")

    async def test_no_cors_by_default(self, client) -> None:
        r = await client.get("/v1/indicators", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers

    async def test_cors_allows_only_the_listed_origins(self, settings, database) -> None:
        api = ApiSettings(cors_origins=["https://dash.example"])
        async with app_client(settings.model_copy(update={"api": api}), database) as c:
            ok = await c.get("/v1/indicators", headers={"Origin": "https://dash.example"})
            assert ok.headers["access-control-allow-origin"] == "https://dash.example"
            other = await c.get("/v1/indicators", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers


class TestReadsBehindAKey:
    @pytest.fixture
    async def closed(self, settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
        api = ApiSettings(read_requires_key=True)
        async with app_client(settings.model_copy(update={"api": api}), database) as c:
            yield c

    @pytest.mark.parametrize("url", ["/v1/ingest-runs", "/metrics", "/v1/indicators", "/v1/ratings/overdue"])
    async def test_need_a_key(self, closed, make_key: MakeKey, url: str) -> None:
        assert refused(await closed.get(url), 401)["code"] == "unauthorized"
        r = await closed.get(url, headers=bearer(await make_key("viewer")))
        assert r.status_code == 200, r.text

    async def test_health_stays_open(self, closed) -> None:
        assert (await closed.get("/healthz")).status_code == 200


class TestARevokedKey:
    """A key that passed on a read is taken for SCORECARD_API__READ_KEY_SECONDS without a look-up; writes always
    look theirs up."""

    async def test_stops_writing_at_once_and_reading_within_the_read_key_seconds(
        self, settings: Settings, database: Database, make_key: MakeKey, session: AsyncSession
    ) -> None:
        api = ApiSettings(read_requires_key=True, read_key_seconds=0.5)
        async with app_client(settings.model_copy(update={"api": api}), database) as c:
            key = await make_key("admin")
            assert (await c.get("/v1/indicators", headers=bearer(key))).status_code == 200  # now known
            async with database.sessions() as s, s.begin():
                await access_store.revoke_key(s, prefix=key.split("_")[1], actor="tests")
            before = await count(session, Target)
            refused(await c.put("/v1/targets", json={"targets": [TARGET]}, headers=bearer(key)), 401)
            assert await count(session, Target) == before
            assert (await c.get("/v1/indicators", headers=bearer(key))).status_code == 200  # within 0.5 s
            await asyncio.sleep(0.6)
            r = await c.get("/v1/indicators", headers=bearer(key))
            assert refused(r, 401)["code"] == "unauthorized" and "revoked" in r.json()["error"]["message"]

    async def test_is_looked_up_on_every_read_with_zero_seconds(
        self, settings: Settings, database: Database, make_key: MakeKey
    ) -> None:
        api = ApiSettings(read_key_seconds=0)
        async with app_client(settings.model_copy(update={"api": api}), database) as c:
            key = await make_key("viewer")
            assert (await c.get("/v1/indicators", headers=bearer(key))).status_code == 200
            async with database.sessions() as s, s.begin():
                await access_store.revoke_key(s, prefix=key.split("_")[1], actor="tests")
            refused(await c.get("/v1/indicators", headers=bearer(key)), 401)


class TestErrorShapeInOpenAPI:
    async def test_every_operation_documents_its_4xx_and_503_as_the_error_schema(self, client) -> None:
        spec = (await client.get("/openapi.json")).json()
        error = spec["components"]["schemas"]["Error"]
        assert error["required"] == ["error"]
        info = spec["components"]["schemas"]["ErrorInfo"]
        assert set(info["required"]) == {"code", "message", "details"}
        ref = {"$ref": "#/components/schemas/Error"}
        operations = [(p, m, op) for p, ops in spec["paths"].items() for m, op in ops.items()]
        assert len(operations) > 15
        for path, method, op in operations:
            codes = [c for c in op["responses"] if c.startswith("4") or c == "503"]
            assert {"4XX", "422", "503"} <= set(codes), (path, method)
            for c in codes:
                assert op["responses"][c]["content"]["application/json"]["schema"] == ref, (path, method, c)
        assert "HTTPValidationError" not in spec["components"]["schemas"]


class TestCliNames:
    def test_a_key_name_over_the_column_is_a_clear_message(self, pg_url, monkeypatch, capsys) -> None:
        from services.api.cli import main
        from shared.core.settings import get_settings

        monkeypatch.setenv("SCORECARD_DB__URL", pg_url)
        get_settings.cache_clear()
        try:
            with pytest.raises(SystemExit) as stopped:
                main(["keys", "create", "--name", "n" * 101, "--role", "viewer"])
        finally:
            get_settings.cache_clear()
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert "--name" in err and "too long; at most 59" in err and "Traceback" not in err


class TestFoundBySchemaFuzzing:
    """Defects tests/api/test_schema_fuzz.py found: each failed before its fix."""

    async def test_open_reads_document_the_key_as_optional_writes_as_required(self, client, settings, database) -> None:
        # The document said every read needs a bearer key while reads answer without one (ignored_auth).
        spec = (await client.get("/openapi.json")).json()
        assert spec["paths"]["/v1/schemes"]["get"]["security"] == [{}, {"HTTPBearer": []}]
        assert spec["paths"]["/v1/values"]["get"]["security"] == [{}, {"HTTPBearer": []}]
        assert spec["paths"]["/v1/observations"]["post"]["security"] == [{"HTTPBearer": []}]
        assert spec["paths"]["/v1/targets"]["put"]["security"] == [{"HTTPBearer": []}]
        assert set(spec["components"]["securitySchemes"]) == {"HTTPBearer"}
        api = ApiSettings(read_requires_key=True)
        async with app_client(settings.model_copy(update={"api": api}), database) as closed:
            spec = (await closed.get("/openapi.json")).json()
        assert spec["paths"]["/v1/schemes"]["get"]["security"] == [{"HTTPBearer": []}]

    async def test_405_allows_every_method_of_the_path(self, client) -> None:
        # GET and POST /v1/schemes/{id}/publications are two routes; Allow named only the first one's POST.
        r = await client.request("OPTIONS", "/v1/schemes/1/publications")
        assert refused(r, 405)["code"] == "method_not_allowed"
        assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}
        r = await client.delete("/v1/targets")
        assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "PUT"}

    @pytest.mark.parametrize("url", ["/v1/ratings/overdue?today=0", "/v1/ratings/overdue?today=1653955200",
                                     "/v1/values?indicator=QS-07&org=150204000000&from=0&to=1970-01-02&granularity=day"])
    async def test_a_query_date_is_yyyy_mm_dd_not_seconds(self, client, url: str) -> None:
        # today=0 answered 200 as 1970-01-01: the document says format date.
        refused(await client.get(url), 422)

    async def test_an_integer_may_be_written_with_a_zero_fraction(self, client, admin) -> None:
        # JSON Schema's integer includes 2030.0; the strict int refused it (schema-valid data rejected).
        r = await client.put("/v1/targets", json={"targets": [{**TARGET, "year": 2030.0, "half": 0.0}]}, headers=admin)
        assert r.status_code == 200, r.text
        refused(await client.put("/v1/targets", json={"targets": [{**TARGET, "year": 2030.5}]}, headers=admin),
                422, "targets[0].year")

    async def test_assessment_bounds_are_json_schema_keywords(self, client) -> None:
        # On a union pydantic wrote "ge"/"le", which JSON Schema ignores: -1 points was schema-valid yet refused.
        spec = (await client.get("/openapi.json")).json()
        body = spec["components"]["schemas"]["AssessmentBody"]["properties"]
        numbers = [s for s in body["points"]["anyOf"] + body["score"]["anyOf"] if s["type"] != "null"]
        assert numbers and all(s["minimum"] == 0 for s in numbers)
        assert all(s["maximum"] == 100 for s in body["score"]["anyOf"] if s["type"] != "null")
        text = (await client.get("/openapi.json")).text
        assert '"ge":' not in text and '"le":' not in text
