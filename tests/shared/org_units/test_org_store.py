"""shared.org_units.store on the seeded database: the official 包头 tree, departments, names and aliases."""

from __future__ import annotations

from datetime import date

from services.api.deps import Database
from shared.org_units import store as org_store

BAOTOU = "150200000000"
DEPARTMENTS = {
    "市政府办公室": "150200D001", "市审批服务局": "150200D002", "市公安局": "150200D003", "市住建局": "150200D004",
    "市卫健委": "150200D005", "市医保局": "150200D006", "市文旅广电局": "150200D007", "市体育局": "150200D008",
    "市教育局": "150200D009", "市人社局": "150200D010", "市民政局": "150200D011", "市市场监管局": "150200D012",
    "市公共资源交易中心": "150200D013", "市政府金融办": "150200D014", "市工信局": "150200D015",
    "市税务局": "150200D016", "市自然资源局": "150200D017", "市财政局": "150200D018", "市城管执法局": "150200D019",
    "市生态环境局": "150200D020", "市审计局": "150200D021", "市发改委": "150200D022", "市委网信办": "150200D023",
    "市委组织部": "150200D024", "市科技局": "150200D025", "市委宣传部": "150200D026",
    "市政府办公室数字政府专班": "150200D900",
}  # fmt: skip


class TestSeededTree:
    async def test_baotou_to_township_level_with_official_codes(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            units = await org_store.list_units(s, subtree=BAOTOU)
        regions = [u for u in units if u.kind != "department"]
        assert len([u for u in regions if u.level == "county"]) == 10
        assert len([u for u in regions if u.level == "township"]) == 91  # the 1502 township rows of the CSV
        by_code = {u.code: u for u in units}
        official = {"150204001000": "先锋道街道", "150204002000": "幸福路街道", "150204003000": "万青路街道",
                    "150204004000": "富强路街道", "150204005000": "科学路街道", "150204006000": "青山路街道",
                    "150204007000": "自由路街道", "150204008000": "乌素图街道"}
        assert {c: by_code[c].name for c in official} == official
        park = by_code["150204401000"]
        assert (park.name, park.kind, park.level) == ("包头市装备制造产业园区", "zone", "township")
        zone = by_code["150271000000"]
        assert (zone.name, zone.kind, zone.level) == ("包头稀土高新技术产业开发区", "zone", "county")

    async def test_departments_under_baotou(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            depts = await org_store.list_units(s, parent=BAOTOU, kind="department")
        assert {d.name: d.code for d in depts} == DEPARTMENTS
        assert {d.level for d in depts} == {None}

    async def test_other_seeded_units_stay(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            names = [(await org_store.get_by_code(s, c)).name for c in ("150000000000", "360000000000", "360100000000")]
        assert names == ["内蒙古自治区", "江西省", "南昌市"]


class TestFindByName:
    async def test_official_names_and_aliases(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            asked = ("稀土高新区", " 达茂旗\u3000", "达尔罕茂明安联合旗", "审批服务局", "市文旅局", "装备园区",
                     "火星区", "")
            found = {n: (await org_store.find_by_name(s, n)) for n in asked}
        codes = {n: u.code if u else None for n, u in found.items()}
        assert codes == {"稀土高新区": "150271000000", " 达茂旗\u3000": "150223000000",
                         "达尔罕茂明安联合旗": "150223000000", "审批服务局": "150200D002", "市文旅局": "150200D007",
                         "装备园区": "150204401000", "火星区": None, "": None}

    async def test_a_valid_unit_before_a_closed_one(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            await org_store.upsert_units(s, [
                org_store.UnitSpec("150204900000", "富强路街道", "region", "township", "150204000000",
                                   valid_to=date(2021, 12, 31))])  # fmt: skip
            unit = await org_store.find_by_name(s, "富强路街道")
            assert unit is not None and unit.code == "150204004000"
            assert (await org_store.names_to_codes(s))["富强路街道"] == "150204004000"

    async def test_product_reading_is_marked(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            [wenlv] = await org_store.aliases_of(s, "150200D007")
            [shenpi] = await org_store.aliases_of(s, "150200D002")
        assert (wenlv.alias, wenlv.product_reading) == ("市文旅局", True)
        assert (shenpi.alias, shenpi.product_reading) == ("审批服务局", False)


class TestNamesToCodes:
    async def test_names_and_aliases(self, any_database: Database) -> None:
        async with any_database.sessions() as s:
            names = await org_store.names_to_codes(s)
        assert names["稀土高新区"] == names["包头稀土高新技术产业开发区"] == "150271000000"
        assert names["达茂旗"] == "150223000000" and names["市工信局"] == "150200D015"
