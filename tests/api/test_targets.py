"""GET/PUT /v1/targets: seed targets, interpolated years, roles and the audit row of each write."""

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.models import AuditEntry
from tests.conftest import MakeKey, bearer


async def targets(client: httpx.AsyncClient, **params: object) -> list[dict]:
    r = await client.get("/v1/targets", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class TestGetTargets:
    async def test_qingshan_yichuang_2022_from_the_table(self, client: httpx.AsyncClient) -> None:
        [t] = await targets(client, indicator="QS-08", year=2022)
        assert (t["comparator"], t["number"], t["seed_cell"], t["derived"]) == (">=", 90.0, "≥90", False)

    async def test_2021_column_is_a_baseline(self, client: httpx.AsyncClient) -> None:
        [t] = await targets(client, indicator="QS-08", year=2021)
        assert t["baseline"] is True and t["number"] == 70.0

    async def test_dash_means_no_target(self, client: httpx.AsyncClient) -> None:
        assert await targets(client, indicator="QS-08", year=2023) == []

    async def test_text_only_target_is_returned(self, client: httpx.AsyncClient) -> None:
        [t] = await targets(client, indicator="QS-01", year=2023)
        assert t["text"] == "根据需求随时布点" and t["number"] is None and t["comparator"] is None

    async def test_nanchang_intermediate_years_are_interpolated(self, client: httpx.AsyncClient) -> None:
        rows = {t["year"]: t for t in await targets(client, indicator="NC-11", org="360100000000")}
        assert sorted(rows) == [2022, 2023, 2024, 2025]
        assert rows[2022]["baseline"] and rows[2025]["number"] == 87.0 and not rows[2025]["derived"]
        assert rows[2023]["derived"] and rows[2023]["number"] == pytest.approx(80 + 7 / 3)
        assert rows[2024]["derived"] and rows[2024]["number"] == pytest.approx(80 + 14 / 3)
        assert rows[2024]["comparator"] == ">="

    async def test_no_interpolation_without_a_baseline(self, client: httpx.AsyncClient) -> None:
        rows = await targets(client, indicator="NC-18")
        assert [(t["year"], t["number"], t["derived"]) for t in rows] == [(2025, 80.0, False)]

    async def test_unknown_indicator_is_404(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/targets", params={"indicator": "NOPE"})
        assert r.status_code == 404 and "NOPE" in r.json()["error"]["message"]


BODY = {"targets": [{"indicator": "QS-07", "org": "150204004000", "year": 2022, "comparator": ">=", "number": 92}]}


class TestPutTargets:
    async def test_without_key_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.put("/v1/targets", json=BODY)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"

    async def test_with_a_bad_key_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.put("/v1/targets", json=BODY, headers=bearer("sc_00000000_nope"))
        assert r.status_code == 401

    async def test_viewer_is_403(self, client: httpx.AsyncClient, make_key: MakeKey) -> None:
        r = await client.put("/v1/targets", json=BODY, headers=bearer(await make_key("viewer")))
        assert r.status_code == 403 and "admin" in r.json()["error"]["message"]

    async def test_admin_sets_a_target_and_it_is_audited(
        self, client: httpx.AsyncClient, make_key: MakeKey, session: AsyncSession
    ) -> None:
        key = await make_key("admin", name="专班")
        r = await client.put("/v1/targets", json=BODY, headers=bearer(key))
        assert r.json() == {"inserted": 1, "updated": 0, "unchanged": 0}
        [t] = await targets(client, indicator="QS-07", org="150204004000", year=2022)
        assert t["number"] == 92.0
        body = {"targets": [{**BODY["targets"][0], "number": 93}]}
        assert (await client.put("/v1/targets", json=body, headers=bearer(key))).json()["updated"] == 1
        assert (await client.put("/v1/targets", json=body, headers=bearer(key))).json()["unchanged"] == 1
        audit = (
            (await session.execute(select(AuditEntry).where(AuditEntry.entity == "target").order_by(AuditEntry.id)))
            .scalars()
            .all()
        )
        last = audit[-1]
        assert last.action == "target.updated" and "专班" in last.actor
        assert last.before["number"] == 92.0 and last.after["number"] == 93.0

    async def test_bad_body_lists_each_field(self, client: httpx.AsyncClient, make_key: MakeKey) -> None:
        body = {
            "targets": [
                {"indicator": "QS-07", "org": "150204004000", "year": "soon", "number": 9},
                {"indicator": "QS-07", "org": "150204004000", "year": 2022, "half": 3, "number": 1, "comparator": ">="},
            ]
        }
        r = await client.put("/v1/targets", json=body, headers=bearer(await make_key("admin")))
        assert r.status_code == 422
        fields = {d["field"] for d in r.json()["error"]["details"]}
        assert "targets[0].year" in fields and "targets[1].half" in fields

    async def test_unknown_org_is_404_and_nothing_written(self, client: httpx.AsyncClient, make_key: MakeKey) -> None:
        key = await make_key("admin")
        body = {"targets": [BODY["targets"][0], {**BODY["targets"][0], "org": "159999000000"}]}
        r = await client.put("/v1/targets", json=body, headers=bearer(key))
        assert r.status_code == 404 and "159999000000" in r.json()["error"]["message"]
        assert await targets(client, indicator="QS-07", org="150204004000") == []


class TestDerivedCountTargets:
    async def test_nanchang_miaopi_rounded_up_and_says_so(self, client: httpx.AsyncClient) -> None:
        # NC-13 秒批秒办事项数: 2022 baseline 20 → 2025 ≥ 100 (seed 004); 2024 interpolates to 73.33 items.
        rows = {t["year"]: t for t in await targets(client, indicator="NC-13")}
        assert (rows[2023]["number"], rows[2024]["number"]) == (47, 74)
        assert rows[2024]["derived"] is True and rows[2024]["rounded_up"] is True
        assert rows[2025]["rounded_up"] is False and rows[2025]["number"] == 100

    async def test_a_ratio_is_not_rounded(self, client: httpx.AsyncClient) -> None:
        rows = [t for t in await targets(client, indicator="NC-05") if t["derived"]]
        assert rows and not any(t["rounded_up"] for t in rows)
        assert any(not float(t["number"]).is_integer() for t in rows)
