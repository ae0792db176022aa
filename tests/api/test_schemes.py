"""The 包头 2022 scheme as served: structure, effective maxima, verbatim text, lead units, due dates, splits."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import httpx
import pytest

from tests.conftest import MakeKey, bearer

MULTI_LEAD = {
    3: ["市政府办公室", "市公安局"],
    4: ["市政府办公室", "市公安局"],
    5: ["市政府办公室", "市审批服务局"],
    8: ["市住建局", "市审批服务局"],
    36: ["市政府金融办", "市工信局"],
    86: ["市政府办公室", "市委组织部"],
    87: ["市财政局", "市发改委", "市政府金融办"],
    88: ["市委组织部", "市人社局"],
    89: ["市工信局", "市科技局"],
    90: ["市委宣传部", "市政府办公室"],
}


async def baotou(client: httpx.AsyncClient) -> dict[str, Any]:
    listed = (await client.get("/v1/schemes")).json()
    (summary,) = [s for s in listed if s["code"] == "BT2022"]
    assert (summary["jurisdiction"], summary["year"], summary["version"]) == ("150200000000", 2022, 1)
    scheme: dict[str, Any] = (await client.get(f"/v1/schemes/{summary['id']}")).json()
    return scheme


def items(scheme: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {i["number"]: i for s in scheme["sections"] for g in s["groups"] for i in g["items"]}


def groups(scheme: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["label"]: g for s in scheme["sections"] for g in s["groups"]}


class TestBaotouScheme:
    async def test_structure_and_totals(self, client: httpx.AsyncClient) -> None:
        scheme = await baotou(client)
        assert [s["points"] for s in scheme["sections"]] == [25, 25, 20, 10, 10, 5, 5]
        assert sum(len(s["groups"]) for s in scheme["sections"]) == 27
        assert sorted(items(scheme)) == list(range(1, 91))
        assert {(m["code"], m["weight"], m["kind"]) for m in scheme["methods"]} == {
            ("monitoring", 0.6, "items"),
            ("field_survey", 0.2, "items"),
            ("public_opinion", 0.1, "overall"),
            ("third_party", 0.1, "overall"),
        }
        own = [n for n, i in items(scheme).items() if i["points"] is not None]
        assert own == list(range(19, 54))
        assert {i["points"] for i in items(scheme).values() if i["points"] is not None} == {0.25, 0.5, 1, 2, 3}
        assert sum(Fraction(i["max_points_exact"]) for i in items(scheme).values()) == 100  # exact, thirds included
        assert scheme["problems"] == []
        assert scheme["verifier"] == "市政府办公室数字政府专班"

    async def test_groups_without_points_and_their_maxima(self, client: httpx.AsyncClient) -> None:
        g = groups(await baotou(client))
        unassigned = {label for label, x in g.items() if x["points"] is None}
        assert unassigned == {"三（一）", "六（一）", "六（二）"}
        assert (g["三（一）"]["max_points"], g["三（一）"]["max_points_source"]) == (20, "whole_parent")
        assert (g["六（一）"]["max_points"], g["六（一）"]["max_points_source"]) == (2.5, "equal_share")
        assert g["六（二）"]["max_points"] == 2.5
        # 三（一） has 5 items (54–58): each an equal fifth of 20; 六（一）'s 3 items an equal third of 2.5
        shares = {i["number"]: i["max_points_exact"] for i in g["六（一）"]["items"]}
        assert set(shares.values()) == {"5/6"}
        assert [i["max_points"] for i in g["三（一）"]["items"]] == [20 / len(g["三（一）"]["items"])] * len(
            g["三（一）"]["items"]
        )

    async def test_items_verbatim(self, client: httpx.AsyncClient) -> None:
        i = items(await baotou(client))
        assert i[1]["text"] == (
            "除涉密、法律法规禁止和必须人员、车辆现场核验的事项外，各级政务服务事项全部开通全程网办。"
            "完成适老化改造，适应特殊群体需求。"
        )
        assert i[18]["text"] == "适时聘请评估机构，对全市政务服务开展第三方评估，以评促改、以评促优。"
        assert (i[23]["points"], i[23]["deadline_text"]) == (1, "11月底完成")
        assert i[23]["lead_units"][0]["name"] == "市文旅广电局"
        assert (i[22]["lead_units"][0]["name"], i[22]["lead_units"][0]["seed_name"]) == ("市文旅广电局", "市文旅局")

    async def test_lead_units_of_the_ten_multi_lead_items(self, client: httpx.AsyncClient) -> None:
        i = items(await baotou(client))
        multi = {n: [u["name"] for u in x["lead_units"]] for n, x in i.items() if len(x["lead_units"]) > 1}
        assert multi == MULTI_LEAD
        assert i[8]["lead_units"][1]["seed_name"] == "审批服务局"

    async def test_due_dates(self, client: httpx.AsyncClient) -> None:
        i = items(await baotou(client))
        dated = [n for n, x in i.items() if x["due_date"] is not None]
        assert (len(dated), 90 - len(dated)) == (53, 37)
        assert {x["deadline_text"] for x in i.values() if x["due_date"] is None} == {
            "持续推进",
            "持续优化",
            "按进度推进",
        }
        assert i[3]["due_date"] == "2022-06-30"  # 6月底完成
        assert i[22]["due_date"] == "2022-12-31"  # 12月取得明显成效并持续推进
        assert i[86]["due_date"] == "2022-04-30"  # 4月底完成

    async def test_units_assessed(self, client: httpx.AsyncClient) -> None:
        units = {u["name"]: u["ranking_kind"] for u in (await baotou(client))["units"]}
        counties = sorted(n for n, k in units.items() if k == "county")
        assert len(counties) == 10 and "青山区" in counties and "包头稀土高新技术产业开发区" in counties
        departments = [n for n, k in units.items() if k == "department"]
        assert len(departments) == 26 and "市委网信办" in departments and "市政府办公室数字政府专班" not in units


class TestSplits:
    async def test_office_splits_section_six(self, client: httpx.AsyncClient, make_key: MakeKey) -> None:
        scheme = await baotou(client)
        admin = bearer(await make_key("admin"))
        body = {"splits": [{"group": "六（一）", "points": 3}, {"group": "六（二）", "points": 2}]}
        r = await client.put(f"/v1/schemes/{scheme['id']}/splits", json=body, headers=admin)
        assert r.status_code == 200, r.text
        g = groups(r.json())
        assert (g["六（一）"]["max_points"], g["六（一）"]["max_points_source"]) == (3, "split")
        assert {i["max_points_exact"] for i in g["六（一）"]["items"]} == {"1"}

    async def test_split_that_does_not_add_up_is_refused(self, client: httpx.AsyncClient, make_key: MakeKey) -> None:
        scheme = await baotou(client)
        admin = bearer(await make_key("admin"))
        body = {"splits": [{"group": "六（一）", "points": 3}, {"group": "六（二）", "points": 1.5}]}
        r = await client.put(f"/v1/schemes/{scheme['id']}/splits", json=body, headers=admin)
        assert r.status_code == 422
        assert "section 六: its parts add up to 4.5, 0.5 less than its 5" in r.json()["error"]["message"]
        assert groups(await baotou(client))["六（一）"]["max_points"] == 2.5  # nothing changed

    @pytest.mark.parametrize("points", [1e308, 100.5, -1, 2.00001, 1e-300, "NaN", "Infinity"])
    async def test_points_out_of_bounds_or_finer_than_stored_are_refused(
        self, client: httpx.AsyncClient, make_key: MakeKey, points: float | str
    ) -> None:
        # 1e308 answered 500 (a Decimal too large to show); 2.00001 would be stored rounded as 2.0000.
        scheme = await baotou(client)
        admin = {**bearer(await make_key("admin")), "Content-Type": "application/json"}
        body = f'{{"splits": [{{"group": "六（一）", "points": {points}}}]}}'.encode()
        r = await client.put(f"/v1/schemes/{scheme['id']}/splits", content=body, headers=admin)
        assert r.status_code == 422, r.text
        assert groups(await baotou(client))["六（一）"]["max_points"] == 2.5  # nothing changed

    @pytest.mark.parametrize("splits", [
        [{"group": "六（一）", "points": 3}, {"group": "六（一）", "points": 2}],  # which one? (the last one won)
        [{"group": "六（一）", "item": 1, "points": 3}],  # the item was silently ignored
    ], ids=["the same group twice", "a group and an item in one row"])
    async def test_an_ambiguous_split_is_refused(self, client: httpx.AsyncClient, make_key: MakeKey, splits) -> None:
        scheme = await baotou(client)
        admin = bearer(await make_key("admin"))
        r = await client.put(f"/v1/schemes/{scheme['id']}/splits", json={"splits": splits}, headers=admin)
        assert r.status_code == 422, r.text
        assert [d["row"] for d in r.json()["error"]["details"]] == [len(splits) - 1]
        assert groups(await baotou(client))["六（一）"]["max_points"] == 2.5  # nothing changed

    async def test_lead_unit_splits_only_a_group_it_leads_alone(
        self, client: httpx.AsyncClient, make_key: MakeKey
    ) -> None:
        scheme = await baotou(client)
        wangxin = bearer(await make_key("assessor", "150200D023"))  # 市委网信办 leads 六（一） alone
        mine = [i["number"] for i in groups(scheme)["六（一）"]["items"]]
        body = {
            "splits": [{"item": mine[0], "points": 1}, {"item": mine[1], "points": 1}, {"item": mine[2], "points": 0.5}]
        }
        r = await client.put(f"/v1/schemes/{scheme['id']}/splits", json=body, headers=wangxin)
        assert r.status_code == 200, r.text
        other = bearer(await make_key("assessor", "150200D002"))  # 市审批服务局 does not lead it
        r = await client.put(f"/v1/schemes/{scheme['id']}/splits", json=body, headers=other)
        assert r.status_code == 403


class TestApplicability:
    async def test_the_same_item_and_unit_twice_is_refused(self, client: httpx.AsyncClient, make_key: MakeKey) -> None:
        # Not applicable, then applicable after all: which? (the last row won.)
        scheme = await baotou(client)
        rows = [{"item": 20, "org": "150204000000", "applicable": False, "reason": "无此项业务"},
                {"item": 20, "org": "150204000000", "applicable": True}]
        r = await client.put(f"/v1/schemes/{scheme['id']}/applicability", json={"applicability": rows},
                             headers=bearer(await make_key("admin")))
        assert r.status_code == 422, r.text
        assert [(d["row"], d["field"]) for d in r.json()["error"]["details"]] == [(1, "item")]
        assert (await baotou(client))["not_applicable"] == scheme["not_applicable"]  # nothing changed
