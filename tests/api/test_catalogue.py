"""GET /v1/org-units and /v1/indicators against the seeded catalogue."""

import httpx


class TestOrgUnits:
    async def test_children_of_qingshan(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/org-units", params={"parent": "150204000000"})
        assert r.status_code == 200
        units = {u["code"]: u for u in r.json()}
        assert len(units) == 11  # 8 街道, 2 镇 and 包头市装备制造产业园区 (a zone)
        assert units["150204004000"]["name"] == "富强路街道"
        assert units["150204401000"]["kind"] == "zone"
        assert units["150204100000"]["name"] == "青福镇"
        assert {u["level"] for u in units.values()} == {"township"}

    async def test_filters_level_and_kind(self, client: httpx.AsyncClient) -> None:
        counties = (await client.get("/v1/org-units", params={"parent": "150200000000", "level": "county"})).json()
        assert "包头稀土高新技术产业开发区" in {u["name"] for u in counties}
        zones = (await client.get("/v1/org-units", params={"kind": "zone", "subtree": "150200000000"})).json()
        assert [u["code"] for u in zones] == ["150202400000", "150204401000", "150205400000", "150221500000",
                                              "150271000000"]

    async def test_subtree_includes_root_and_descendants(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/org-units", params={"subtree": "150200000000"})
        codes = {u["code"] for u in r.json()}
        assert "150200000000" in codes and "150204101000" in codes and "150000000000" not in codes

    async def test_one_unit(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/org-units/150204000000")
        assert r.json()["name"] == "青山区" and r.json()["parent"] == "150200000000"

    async def test_unknown_unit_is_404_naming_it(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/org-units/150204999000")
        assert r.status_code == 404
        assert "150204999000" in r.json()["error"]["message"]

    async def test_bad_filter_value_is_422(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/org-units", params={"level": "galaxy"})
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["field"] == "level"


class TestIndicators:
    async def test_lists_33_seed_indicators_with_chinese_names(self, client: httpx.AsyncClient) -> None:
        seed = [i for i in (await client.get("/v1/indicators")).json() if i["plan"] in ("QS2022", "NC2023")]
        assert len(seed) == 33
        assert sum(i["plan"] == "QS2022" for i in seed) == 15
        names = {i["name"] for i in seed}
        assert {"全程网办率", "一窗综合受理率", "政务云资源算力规模"} <= names

    async def test_same_name_in_two_plans_are_separate_entries(self, client: httpx.AsyncClient) -> None:
        both = [i for i in (await client.get("/v1/indicators")).json() if i["name"] == "全程网办率"]
        assert {i["plan"] for i in both} == {"QS2022", "NC2023"} and len({i["code"] for i in both}) == 2

    async def test_calculation_method_verbatim(self, client: httpx.AsyncClient) -> None:
        i = (await client.get("/v1/indicators/QS-08")).json()
        assert i["calculation"] == "依申请政务服务事项纳入综合窗口办理的事项数/依申请政务服务事项总数×100%"
        assert (i["measure"], i["factor"], i["time_aggregation"]) == ("ratio", 100.0, "last")
        assert i["responsible_unit"] == "区政务服务局" and i["property"] is None
        assert "direction" in i["inferred"]

    async def test_haochaping_is_an_average_in_fen(self, client: httpx.AsyncClient) -> None:
        i = (await client.get("/v1/indicators/QS-11")).json()
        assert (i["unit"], i["factor"], i["time_aggregation"]) == ("分", 1.0, "sum")

    async def test_tally_indicator_does_not_roll_up(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/indicators/QS-10")).json()["rollup"] == "none"

    async def test_nanchang_has_no_calculation_and_a_property(self, client: httpx.AsyncClient) -> None:
        i = (await client.get("/v1/indicators/NC-11")).json()
        assert i["calculation"] is None and i["property"] == "约束性" and "measure" in i["inferred"]

    async def test_filter_by_plan(self, client: httpx.AsyncClient) -> None:
        assert len((await client.get("/v1/indicators", params={"plan": "NC2023"})).json()) == 18

    async def test_an_unknown_category_is_404_with_the_known_ones(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/indicators", params={"category": "不存在的类别"})
        assert r.status_code == 404, r.text
        message = r.json()["error"]["message"]
        assert message.startswith("no indicator has the category '不存在的类别'; the categories are ")
        known = message.split("the categories are ")[1].split("、")
        listed = {i["category"] for i in (await client.get("/v1/indicators")).json() if i["category"]}
        assert set(known) == listed
        # 青山区's 政务服务能力 is no category of 南昌's plan: none there is an answer, not an unknown category
        qingshan = (await client.get("/v1/indicators", params={"category": "政务服务能力"})).json()
        assert qingshan and {i["plan"] for i in qingshan} == {"QS2022"}
        r = await client.get("/v1/indicators", params={"category": "政务服务能力", "plan": "NC2023"})
        assert r.status_code == 200 and r.json() == []

    async def test_an_unknown_plan_is_404_with_the_known_ones(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/indicators", params={"plan": "QS2021"})  # before: an empty list
        assert r.status_code == 404, r.text
        assert r.json()["error"]["message"] == "plan 'QS2021' does not exist; the plans are NC2023, QS2022"

    async def test_unknown_indicator_is_404_naming_it(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/indicators/XX-99")
        assert r.status_code == 404 and "XX-99" in r.json()["error"]["message"]
