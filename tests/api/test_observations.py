"""POST /v1/observations: validation rules with exact errors, all-or-nothing, idempotency, corrections,
subtree permission, bulk bodies."""

import asyncio
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.main import create_app
from shared.access import store as access_store
from shared.access.models import AuditEntry
from shared.observations.models import Observation, ObservationHistory
from tests.builders import FUQIANG, QINGSHAN, XINGFU, obs, push_body
from tests.conftest import MakeKey, bearer


@pytest.fixture
async def qingshan_key(make_key: MakeKey) -> dict[str, str]:
    return bearer(await make_key("integration", org=QINGSHAN, name="一体化平台"))


async def push(client: httpx.AsyncClient, headers: dict[str, str], *rows: dict, **extra: str) -> httpx.Response:
    return await client.post("/v1/observations", json=push_body(*rows), headers={**headers, **extra})


async def stored(session: AsyncSession) -> int:
    return len((await session.execute(select(Observation))).all())


class TestPush:
    async def test_inserts_and_computes_the_value(self, client, qingshan_key, session) -> None:
        r = await push(
            client,
            qingshan_key,
            obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281),
            obs("QS-07", XINGFU, "2022-05-31", 1095, 1302, value=84.1),
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"inserted": 2, "updated": 0, "unchanged": 0}
        row = (await session.execute(select(Observation).where(Observation.numerator == 1010))).scalar_one()
        assert row.value == pytest.approx(100 * 1010 / 1281) and row.source == "push:一体化平台"

    async def test_denominator_zero_is_stored_without_value(self, client, qingshan_key, session) -> None:
        assert (await push(client, qingshan_key, obs("QS-07", FUQIANG, "2022-05-31", 0, 0))).status_code == 200
        row = (await session.execute(select(Observation))).scalars().one()
        assert (row.numerator, row.denominator, row.value) == (0, 0, None)

    async def test_count_takes_value(self, client, qingshan_key) -> None:
        r = await push(client, qingshan_key, obs("QS-01", QINGSHAN, "2022-05-31", value=1270))
        assert r.json()["inserted"] == 1

    async def test_fractions_where_the_indicator_does_not_count_things(self, client, qingshan_key) -> None:
        # “蒙速办”用户数 is in 万名 (12.5 = 125,000 users); a percentage sent beside whole counts is a percentage.
        r = await push(client, qingshan_key, obs("QS-06", QINGSHAN, "2022-05-31", value=12.5),
                       obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281, value=78.8))
        assert r.status_code == 200 and r.json()["inserted"] == 2, r.text

    async def test_a_district_row_adding_up_its_streets_is_refused(self, client, qingshan_key, session) -> None:
        # Stored, 青山区 would count 富强路 and 幸福路 twice (3 + 4 = 7 of 10 + 10 = 20).
        rows = [obs("QS-07", FUQIANG, "2022-05-31", 3, 10), obs("QS-07", XINGFU, "2022-05-31", 4, 10),
                obs("QS-07", QINGSHAN, "2022-05-31", 7, 20)]
        r = await push(client, qingshan_key, *rows)
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert (detail["row"], detail["field"]) == (2, "org") and "a subtotal" in detail["message"]
        assert (await session.execute(select(func.count()).select_from(Observation))).scalar_one() == 0
        own = [*rows[:2], obs("QS-07", QINGSHAN, "2022-05-31", 6, 20)]  # the district hall's own figures
        assert (await push(client, qingshan_key, *own)).json()["inserted"] == 3

    async def test_resending_the_same_figures_is_unchanged(self, client, qingshan_key) -> None:
        row = obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281)
        await push(client, qingshan_key, row)
        assert (await push(client, qingshan_key, row)).json() == {"inserted": 0, "updated": 0, "unchanged": 1}

    async def test_a_correction_replaces_and_keeps_history(self, client, qingshan_key, session) -> None:
        await push(client, qingshan_key, obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281))
        r = await push(client, qingshan_key, obs("QS-07", FUQIANG, "2022-05-31", 1020, 1281))
        assert r.json() == {"inserted": 0, "updated": 1, "unchanged": 0}
        [old] = (await session.execute(select(ObservationHistory))).scalars().all()
        assert old.numerator == 1010 and "一体化平台" in old.replaced_by and old.replaced_at is not None
        current = (await session.execute(select(Observation))).scalars().one()
        assert current.numerator == 1020

    async def test_every_write_is_audited(self, client, qingshan_key, session) -> None:
        await push(client, qingshan_key, obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281))
        # Only this push's entry: tests that really commit leave audit rows behind (the log is append-only).
        pushed = select(AuditEntry).where(AuditEntry.entity == "observations", AuditEntry.entity_key.like("push:%"))
        entry = (await session.execute(pushed)).scalar_one()
        assert entry.after["inserted"] == 1 and "一体化平台" in entry.actor


BAD_ROWS = [
    (obs("XX-1", FUQIANG, "2022-05-31", 1, 2), "indicator", "unknown indicator 'XX-1'"),
    (obs("QS-07", "150204999000", "2022-05-31", 1, 2), "org", "unknown org unit '150204999000'"),
    (obs("QS-07", FUQIANG, "2099-01-01", 1, 2), "date", "2099-01-01 is in the future"),
    (obs("QS-07", FUQIANG, "1999-12-31", 1, 2), "date", "outside the validity of unit"),
    (obs("QS-07", FUQIANG, "2022-05-31", -1, 2), "numerator", "numerator must be ≥ 0, got -1"),
    (obs("QS-07", FUQIANG, "2022-05-31", 1, -2), "denominator", "denominator must be ≥ 0, got -2"),
    (obs("QS-07", FUQIANG, "2022-05-31", 3, 2), "numerator", "numerator 3 is greater than denominator 2"),
    (obs("QS-07", FUQIANG, "2022-05-31", 1, 2, value=60), "value", "value 60 does not agree"),
    (obs("QS-07", FUQIANG, "2022-05-31", 1), "denominator", "is a ratio: send numerator and denominator"),
    (obs("QS-01", QINGSHAN, "2022-05-31", 1, 2), "value", "is a count: send its figure as value"),
    (obs("QS-08", FUQIANG, "2022-05-31", 421.5, 503), "numerator", "numerator 421.5 is not a whole number"),
    (obs("QS-07", FUQIANG, "2022-05-31", 1, 2.5), "denominator", "denominator 2.5 is not a whole number"),
    (obs("QS-01", QINGSHAN, "2022-05-31", value=3.5), "value", "value 3.5 is not a whole number: 'QS-01' counts"),
]


class TestValidation:
    @pytest.mark.parametrize(("row", "field", "message"), BAD_ROWS, ids=[m for _, _, m in BAD_ROWS])
    async def test_rule(self, client, qingshan_key, row, field, message) -> None:
        r = await push(client, qingshan_key, row)
        assert r.status_code == 422, r.text
        details = r.json()["error"]["details"]
        assert any(d["row"] == 0 and d["field"] == field and message in d["message"] for d in details), details

    async def test_non_finite_number_is_refused_by_the_body_schema(self, client, qingshan_key) -> None:
        r = await client.post(
            "/v1/observations",
            headers={**qingshan_key, "Content-Type": "application/json"},
            content='{"observations": [{"indicator": "QS-07", "org": "150204004000", '
            '"date": "2022-05-31", "numerator": NaN, "denominator": 2}]}',
        )
        assert r.status_code == 422

    async def test_mixed_batch_lists_every_bad_row_and_writes_nothing(self, client, qingshan_key, session) -> None:
        r = await push(
            client,
            qingshan_key,
            obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281),
            obs("QS-07", XINGFU, "2022-05-31", 5, 2),
            obs("QS-05", FUQIANG, "2099-01-01", 1, 2),
            obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281),
        )
        assert r.status_code == 422
        body = r.json()["error"]
        assert {d["row"] for d in body["details"]} == {1, 2, 3}
        assert "nothing was written" in body["message"]
        assert await stored(session) == 0

    async def test_bad_json_shape_names_the_field(self, client, qingshan_key) -> None:
        r = await client.post(
            "/v1/observations", json={"observations": [{"indicator": "QS-07", "date": "x"}]}, headers=qingshan_key
        )
        assert r.status_code == 422
        fields = {d["field"] for d in r.json()["error"]["details"]}
        assert {"observations[0].org", "observations[0].date"} <= fields


class TestIdempotency:
    async def test_same_key_same_body_replays_the_first_response(self, client, qingshan_key, session) -> None:
        row = obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281)
        first = await push(client, qingshan_key, row, **{"Idempotency-Key": "batch-1"})
        again = await push(client, qingshan_key, row, **{"Idempotency-Key": "batch-1"})
        assert first.json() == again.json() == {"inserted": 1, "updated": 0, "unchanged": 0}
        assert again.headers["Idempotent-Replayed"] == "true"
        assert await stored(session) == 1

    async def test_same_key_other_body_is_409(self, client, qingshan_key) -> None:
        await push(client, qingshan_key, obs("QS-07", FUQIANG, "2022-05-31", 1010, 1281), **{"Idempotency-Key": "k"})
        r = await push(
            client, qingshan_key, obs("QS-07", FUQIANG, "2022-05-31", 1011, 1281), **{"Idempotency-Key": "k"}
        )
        assert r.status_code == 409 and "different body" in r.json()["error"]["message"]


class TestPermissions:
    async def test_no_key_is_401(self, client) -> None:
        assert (await push(client, {}, obs("QS-07", FUQIANG, "2022-05-31", 1, 2))).status_code == 401

    async def test_viewer_is_403(self, client, make_key) -> None:
        r = await push(client, bearer(await make_key("viewer")), obs("QS-07", FUQIANG, "2022-05-31", 1, 2))
        assert r.status_code == 403

    async def test_integration_key_only_writes_its_subtree(self, client, make_key, session) -> None:
        street_key = bearer(await make_key("integration", org=FUQIANG))
        r = await push(
            client, street_key, obs("QS-07", FUQIANG, "2022-05-31", 1, 2), obs("QS-07", XINGFU, "2022-05-31", 1, 2)
        )
        assert r.status_code == 403
        assert r.json()["error"]["details"] == [
            {"row": 1, "field": "org", "message": f"org '{XINGFU}' is outside this key's subtree"}
        ]
        assert await stored(session) == 0

    async def test_rows_outside_the_subtree_and_other_bad_rows_all_listed(self, client, make_key, session) -> None:
        street_key = bearer(await make_key("integration", org=FUQIANG))
        r = await push(
            client,
            street_key,
            obs("QS-07", FUQIANG, "2022-05-31", 3, 2),  # numerator above the denominator
            obs("QS-07", XINGFU, "2022-05-31", 1, 2),  # outside
            obs("NOPE", FUQIANG, "2022-05-31", 1, 2),  # unknown indicator
        )
        assert r.status_code == 403
        assert [(d["row"], d["field"]) for d in r.json()["error"]["details"]] == [
            (0, "numerator"), (1, "org"), (2, "indicator")
        ], r.text  # fmt: skip
        assert await stored(session) == 0


class TestBulk:
    async def test_ten_thousand_rows_in_one_body(self, client, qingshan_key, session) -> None:
        streets = [f"150204{n:03d}000" for n in range(1, 9)] + ["150204100000", "150204101000"]
        start = date(2020, 1, 1)
        rows = [
            obs(ind, org, start + timedelta(days=d), 90 + d % 10, 100)
            for ind in ("QS-05", "QS-07")
            for org in streets
            for d in range(500)
        ]
        assert len(rows) == 10_000
        r = await push(client, qingshan_key, *rows)
        assert r.status_code == 200 and r.json()["inserted"] == 10_000
        assert await stored(session) == 10_000


class TestConcurrentIdempotency:
    async def test_requests_racing_on_one_key_write_once(self, committed_database, settings) -> None:
        async with committed_database.sessions() as s, s.begin():
            _, key = await access_store.create_key(s, name="race", role="admin", org=None, pepper="", actor="t")
        app = create_app(settings, committed_database)
        body = push_body(obs("QS-07", FUQIANG, "2021-01-05", 1, 2))
        headers = {**bearer(key), "Idempotency-Key": "race-1"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
            results = await asyncio.gather(*[c.post("/v1/observations", json=body, headers=headers) for _ in range(4)])
        codes = sorted(r.status_code for r in results)
        assert codes[0] == 200 and set(codes) <= {200, 409}, [r.text for r in results]
        assert {str(r.json()) for r in results if r.status_code == 200} == {
            str({"inserted": 1, "updated": 0, "unchanged": 0})
        }


JSON = {"Content-Type": "application/json"}


async def test_a_body_that_is_not_json_gets_a_422_naming_where_it_breaks(client, qingshan_key) -> None:
    r = await client.post("/v1/observations", content=b'{"observations": [', headers={**qingshan_key, **JSON})
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert detail["field"] == "body" and detail["message"].startswith("Invalid JSON") and "line 1" in detail["message"]


async def test_the_push_body_is_documented_in_openapi(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/observations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    # Named components, as every other body (a generated client's models: tests/api/test_openapi_client.py).
    assert body == {"$ref": "#/components/schemas/ObservationsPush"}
    schemas = spec["components"]["schemas"]
    assert schemas["ObservationsPush"]["properties"]["observations"]["items"] == {
        "$ref": "#/components/schemas/ObservationBody"
    }
    row = schemas["ObservationBody"]
    assert set(row["required"]) == {"indicator", "org", "date"} and "numerator" in row["properties"]


class TestFigureBoundSetting:
    async def test_the_push_uses_the_configured_bound(self, settings, database, qingshan_key, session) -> None:
        from shared.core.settings import ObservationSettings

        bounded = settings.model_copy(update={"observations": ObservationSettings(max_figure=1000)})
        app = create_app(bounded, database)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
            r = await push(c, qingshan_key, obs("QS-07", FUQIANG, "2022-05-31", 1500, 2000))
        assert r.status_code == 422 and "1000" in r.text, r.text
        assert await stored(session) == 0
