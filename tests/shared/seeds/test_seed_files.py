"""Checks of shared/seeds/org_units.yaml and shared/seeds/indicators.yaml against the rules and the seeds.

The seed documents the checks read are copied into tests/seeds/ (the originals sit beside the repository).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.seeds import load as seed_load
from shared.targets.rules import parse_target_cell

REPO = Path(__file__).parents[3]
SEEDS_YAML = REPO / "shared" / "seeds"
SEED_DOCS = REPO / "tests" / "seeds"
QS_DOC = SEED_DOCS / "001_e8e9ac7725338231.txt"
NC_DOC = SEED_DOCS / "004_a4584a637f24caee.txt"

INDICATOR_FIELDS = {
    "code", "plan", "name", "seed_name", "annex_name", "category", "unit", "calculation",
    "numerator_label", "denominator_label", "measure", "factor", "whole_numbers", "time_aggregation", "rollup",
    "direction", "property", "responsible_unit", "inferred", "targets",
}  # fmt: skip
QS_DOMAINS = ["基础设施能力", "政务服务能力", "政府治理能力", "协同办公能力"]
NC_CATEGORIES = ["数字底座", "数据共享", "一网通办", "一网统管", "一网协同"]


def _load(name: str) -> Any:
    with (SEEDS_YAML / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def orgs() -> list[dict[str, Any]]:
    """The units the seed load writes: rows of the division list chosen by org_units.yaml, then departments."""
    units, _ = seed_load.org_specs()
    return [{"code": u.code, "name": u.name, "kind": u.kind, "level": u.level, "parent": u.parent} for u in units]


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Any]:
    data = _load("indicators.yaml")
    assert isinstance(data, dict)
    assert set(data) == {"plans", "indicators"}
    return data


@pytest.fixture(scope="module")
def indicators(catalogue: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in catalogue["indicators"]}


@pytest.fixture(scope="module")
def plans(catalogue: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in catalogue["plans"]}


def _cells(row: dict[str, Any]) -> dict[int, str]:
    return {target["year"]: target["cell"] for target in row["targets"]}


# --------------------------------------------------------------------------------------------- org units


class TestOrgUnits:
    def test_codes_unique_and_parents_come_first(self, orgs: list[dict[str, Any]]) -> None:
        seen: set[str] = set()
        for org in orgs:
            assert set(org) == {"code", "name", "kind", "level", "parent"}, org
            assert org["code"] not in seen, f"duplicate code {org['code']}"
            assert org["parent"] is None or org["parent"] in seen, f"{org['code']}: parent not earlier"
            seen.add(org["code"])

    def test_kinds_levels_and_division_codes(self, orgs: list[dict[str, Any]]) -> None:
        by_code = {org["code"]: org for org in orgs}
        prefix = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
        for org in orgs:
            assert org["kind"] in {"region", "zone", "department"}
            if org["kind"] == "department":
                assert org["level"] is None and org["parent"] == "150200000000"
                continue
            assert org["level"] in prefix
            code = org["code"]
            assert isinstance(code, str) and re.fullmatch(r"\d{12}", code), code
            assert code[prefix[org["level"]] :] == "0" * (12 - prefix[org["level"]]), code
            if org["parent"] is not None:
                parent = by_code[org["parent"]]
                keep = prefix[parent["level"]]
                assert code[:keep] == parent["code"][:keep], f"{code} is not inside {parent['code']}"

    def test_expected_units(self, orgs: list[dict[str, Any]]) -> None:
        by_code = {org["code"]: org for org in orgs}
        assert by_code["150204000000"]["name"] == "青山区"
        assert by_code["150204000000"]["parent"] == "150200000000"
        assert by_code["150200000000"]["parent"] == "150000000000"
        assert by_code["150271000000"] == {
            "code": "150271000000", "name": "包头稀土高新技术产业开发区", "kind": "zone", "level": "county",
            "parent": "150200000000",
        }  # fmt: skip
        counties = [o["name"] for o in orgs if o["parent"] == "150200000000" and o["kind"] != "department"]
        assert len(counties) == 10
        assert "达尔罕茂明安联合旗" in counties
        # 91 township rows under 1502 in the official list (counted with awk on the CSV); 11 in 青山区.
        assert len([o for o in orgs if o["code"].startswith("1502") and o["level"] == "township"]) == 91
        townships = {o["code"]: o["name"] for o in orgs if o["parent"] == "150204000000"}
        assert len(townships) == 11
        assert by_code["150204401000"] == {
            "code": "150204401000", "name": "包头市装备制造产业园区", "kind": "zone", "level": "township",
            "parent": "150204000000",
        }  # fmt: skip
        official = {"150204001000": "先锋道街道", "150204003000": "万青路街道", "150204004000": "富强路街道",
                    "150204006000": "青山路街道", "150204007000": "自由路街道"}
        assert {c: townships[c] for c in official} == official
        assert townships["150204008000"] == "乌素图街道"
        assert townships["150204100000"] == "青福镇"
        assert townships["150204101000"] == "兴胜镇"
        assert by_code["360100000000"] == {
            "code": "360100000000", "name": "南昌市", "kind": "region", "level": "city",
            "parent": "360000000000",
        }  # fmt: skip


# --------------------------------------------------------------------------------------------- catalogue


class TestCatalogueShape:
    def test_plans(self, plans: dict[str, dict[str, Any]], orgs: list[dict[str, Any]]) -> None:
        org_codes = {org["code"] for org in orgs}
        assert set(plans) == {"QS2022", "NC2023"}
        assert plans["QS2022"]["name"] == "青山区数字政府建设行动方案"
        assert plans["QS2022"]["jurisdiction"] == "150204000000"
        assert plans["QS2022"]["issued"] == date(2022, 7, 18)
        assert plans["QS2022"]["baseline_year"] == 2021
        assert plans["NC2023"]["name"] == "南昌市数字政府规划建设方案"
        assert plans["NC2023"]["jurisdiction"] == "360100000000"
        assert plans["NC2023"]["issued"] == date(2023, 2, 23)
        assert plans["NC2023"]["baseline_year"] == 2022
        for plan in plans.values():
            assert plan["jurisdiction"] in org_codes
            assert (SEED_DOCS / plan["seed_file"]).is_file(), plan["seed_file"]

    def test_33_indicators_with_unique_codes_in_order(self, catalogue: dict[str, Any]) -> None:
        codes = [row["code"] for row in catalogue["indicators"]]
        assert len(codes) == len(set(codes)) == 33
        assert codes == [f"QS-{i:02d}" for i in range(1, 16)] + [f"NC-{i:02d}" for i in range(1, 19)]
        plans = Counter(row["plan"] for row in catalogue["indicators"])
        assert plans == {"QS2022": 15, "NC2023": 18}

    def test_every_row_has_every_field(self, indicators: dict[str, dict[str, Any]]) -> None:
        for code, row in indicators.items():
            assert set(row) == INDICATOR_FIELDS, code

    def test_domains_and_categories(self, indicators: dict[str, dict[str, Any]]) -> None:
        qs = [row["category"] for code, row in indicators.items() if code.startswith("QS")]
        nc = [row["category"] for code, row in indicators.items() if code.startswith("NC")]
        assert list(dict.fromkeys(qs)) == QS_DOMAINS
        assert list(dict.fromkeys(nc)) == NC_CATEGORIES
        assert Counter(qs) == {"基础设施能力": 4, "政务服务能力": 7, "政府治理能力": 2, "协同办公能力": 2}
        assert Counter(nc) == {"数字底座": 4, "数据共享": 4, "一网通办": 6, "一网统管": 1, "一网协同": 3}

    def test_enumerations(self, indicators: dict[str, dict[str, Any]]) -> None:
        for code, row in indicators.items():
            assert row["measure"] in {"ratio", "count"}, code
            assert row["time_aggregation"] in {"sum", "last"}, code
            assert row["rollup"] in {"sum", "none"}, code
            assert row["direction"] == "higher", code
            assert "direction" in row["inferred"], code
            # Counting is the product's reading (the seeds never say): marked inferred wherever it is set.
            assert row["whole_numbers"] is ("whole_numbers" in row["inferred"]), code
            assert set(row["inferred"]) <= INDICATOR_FIELDS, code

    def test_measure_and_factor_follow_the_unit(self, indicators: dict[str, dict[str, Any]]) -> None:
        for code, row in indicators.items():
            if row["unit"] == "%":
                assert (row["measure"], row["factor"]) == ("ratio", 100), code
            elif row["unit"] == "分":
                assert (row["measure"], row["factor"]) == ("ratio", 1), code
            else:
                assert (row["measure"], row["factor"]) == ("count", 1), code

    def test_qingshan_measure_comes_from_annex_2(self, indicators: dict[str, dict[str, Any]]) -> None:
        for code, row in indicators.items():
            if not code.startswith("QS"):
                continue
            assert set(row["inferred"]) - {"whole_numbers"} == {"direction", "time_aggregation", "rollup"}, code
            assert row["property"] is None, code
            assert row["responsible_unit"], code
            if row["calculation"] == "数据统计":
                assert row["measure"] == "count", code
                assert row["numerator_label"] is None and row["denominator_label"] is None, code
            else:
                assert row["measure"] == "ratio", code
                assert row["calculation"].startswith(f"{row['numerator_label']}/{row['denominator_label']}")
        counts = [code for code, row in indicators.items() if row["calculation"] == "数据统计"]
        assert counts == ["QS-01", "QS-04", "QS-06", "QS-09", "QS-10"]

    def test_nanchang_gives_no_method_so_measure_is_inferred(
        self, indicators: dict[str, dict[str, Any]]
    ) -> None:
        for code, row in indicators.items():
            if not code.startswith("NC"):
                continue
            inferred = {"measure", "factor", "direction", "time_aggregation", "rollup"}
            assert set(row["inferred"]) - {"whole_numbers"} == inferred
            for field in ("calculation", "numerator_label", "denominator_label", "responsible_unit",
                          "annex_name"):  # fmt: skip
                assert row[field] is None, (code, field)

    def test_rollup_none_only_for_tallies_of_the_jurisdiction(
        self, indicators: dict[str, dict[str, Any]]
    ) -> None:
        none = {code for code, row in indicators.items() if row["rollup"] == "none"}
        assert none == {"QS-06", "QS-09", "QS-10", "NC-12", "NC-14"}
        assert {indicators[code]["name"] for code in none} == {
            "“蒙速办”用户数", "“一件事”主题集成服务数量", "跨省通办事项数", "免证办事项数", "全市通办事项数",
        }  # fmt: skip
        # 秒批秒办's 2025 target is "市县两级合计" (seed 004): the city's and the counties' items are added.
        assert indicators["NC-13"]["rollup"] == "sum"

    def test_name_plus_unit_is_the_seed_row(self, indicators: dict[str, dict[str, Any]]) -> None:
        for code, row in indicators.items():
            if code == "NC-02":  # row text "非涉密政务系统应上云率达到(%)" carries the prose's verb
                assert row["seed_name"] == f"{row['name']}达到({row['unit']})"
            elif code.startswith("QS"):
                assert row["seed_name"] == f"{row['name']}（{row['unit']}）", code
            else:
                assert row["seed_name"] == f"{row['name']}({row['unit']})", code

    def test_target_years(
        self, indicators: dict[str, dict[str, Any]], plans: dict[str, dict[str, Any]]
    ) -> None:
        for code, row in indicators.items():
            years = [target["year"] for target in row["targets"]]
            if code.startswith("QS"):
                assert years == [2021, 2022, 2023], code
            elif code == "NC-18":
                assert years == [2025], code
            else:
                assert years == [2022, 2025], code
            for target in row["targets"]:
                assert isinstance(target["cell"], str), (code, target)

    def test_every_cell_is_readable(
        self, indicators: dict[str, dict[str, Any]], plans: dict[str, dict[str, Any]]
    ) -> None:
        kinds: Counter[str] = Counter()
        for row in indicators.values():
            baseline_year = plans[row["plan"]]["baseline_year"]
            for year, cell in _cells(row).items():
                spec = parse_target_cell(cell, baseline=year == baseline_year)
                if spec is None:
                    kinds["none"] += 1
                elif spec.text is not None:
                    kinds["text"] += 1
                else:
                    kinds["scored" if spec.scored else "baseline"] += 1
        # 青山区 (45 cells): 5 "——", 5 text, 12 numbers in the 2021 baseline column, 23 scored;
        # 南昌 (35 cells): 17 numbers in the 2022 baseline column, 18 scored 2025 targets.
        assert kinds == {"none": 5, "text": 5, "baseline": 12 + 17, "scored": 23 + 18}


class TestLiteralValues:
    def test_qingshan(self, indicators: dict[str, dict[str, Any]]) -> None:
        yichuang = indicators["QS-08"]
        assert yichuang["name"] == "一窗综合受理率"
        assert _cells(yichuang) == {2021: "≥70", 2022: "≥90", 2023: "——"}
        assert yichuang["numerator_label"] == "依申请政务服务事项纳入综合窗口办理的事项数"
        assert yichuang["denominator_label"] == "依申请政务服务事项总数"
        wangban = indicators["QS-07"]
        assert wangban["calculation"] == "全流程在线办理的事项数/事项目录事项总数×100%"
        assert _cells(wangban) == {2021: "≥80", 2022: "≥95", 2023: "100"}
        haochaping = indicators["QS-11"]
        assert haochaping["name"] == "政务服务“好差评”"
        assert (haochaping["unit"], haochaping["measure"], haochaping["factor"]) == ("分", "ratio", 1)
        assert haochaping["numerator_label"] == "全区各单位评价总分"
        assert haochaping["denominator_label"] == "全区评价次数"
        assert haochaping["time_aggregation"] == "sum"
        assert _cells(indicators["QS-01"]) == {2021: "1250", 2022: "≥1270", 2023: "根据需求随时布点"}
        assert _cells(indicators["QS-02"]) == {2021: "100%", 2022: "100%", 2023: "100%"}
        assert indicators["QS-04"]["annex_name"] == "区级政务网IPv6改造点数（个）"
        assert _cells(indicators["QS-04"])[2021] == "完成政务网站站群系统IPV6改造"
        assert indicators["QS-06"]["name"] == "“蒙速办”用户数"
        assert indicators["QS-06"]["unit"] == "万名"
        assert indicators["QS-14"]["responsible_unit"] == "区政府办公室"
        assert _cells(indicators["QS-14"])[2021] == "——"
        annex_names = [code for code, row in indicators.items() if row["annex_name"] is not None]
        assert annex_names == ["QS-04"]

    def test_nanchang(self, indicators: dict[str, dict[str, Any]]) -> None:
        wangban = indicators["NC-11"]
        assert wangban["name"] == "全程网办率"
        assert _cells(wangban) == {2022: "80", 2025: "87"}
        assert wangban["property"] == "约束性"
        assert _cells(indicators["NC-18"]) == {2025: "80"}
        assert indicators["NC-18"]["name"] == "电子文件归档率"
        assert _cells(indicators["NC-01"]) == {2022: "5.7", 2025: "6"}
        assert indicators["NC-01"]["unit"] == "万核"
        properties = Counter(row["property"] for code, row in indicators.items() if code.startswith("NC"))
        assert properties == {"约束性": 8, "预期性": 10}
        binding = [code for code, row in indicators.items() if row["property"] == "约束性"]
        assert binding == ["NC-03", "NC-04", "NC-09", "NC-10", "NC-11", "NC-12", "NC-13", "NC-14"]

    def test_same_named_indicators_stay_separate(self, indicators: dict[str, dict[str, Any]]) -> None:
        names = Counter(row["name"] for row in indicators.values())
        assert names["全程网办率"] == 2
        assert indicators["QS-07"]["plan"] != indicators["NC-11"]["plan"]


# --------------------------------------------------------------------------------------------- vs seeds


def _tab_rows(lines: list[str]) -> list[list[str]]:
    """Rows of a tab-indented table: one cell per "\\t…" line, rows separated by blank lines."""
    rows: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("\t"):
            current.append(line[1:].strip())
        elif not line.strip() and current:
            rows.append(current)
            current = []
    if current:
        rows.append(current)
    return rows


def _between(text: str, start: str, end: str) -> list[str]:
    head = text.index(start)
    return text[head : text.index(end, head)].splitlines()


@pytest.fixture(scope="module")
def qs_doc() -> str:
    return QS_DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def nc_doc() -> str:
    return NC_DOC.read_text(encoding="utf-8")


class TestAgainstQingshanSeed:
    @pytest.fixture
    def doc(self, qs_doc: str) -> str:
        return qs_doc

    def test_issued_date(self, doc: str) -> None:
        assert "2022年7月18日" in doc.split("青山区数字政府建设行动方案\n")[0]

    def test_table_1(self, doc: str, indicators: dict[str, dict[str, Any]]) -> None:
        rows = _tab_rows(_between(doc, "表1 青山区数字政府发展主要指标", "三、主要任务"))
        assert rows[0] == ["领域", "指标", "2021年", "2022年", "2023年", "责任单位"]
        body = rows[1:]
        assert len(body) == 15
        domain = ""
        for number, cells in enumerate(body, start=1):
            row = indicators[f"QS-{number:02d}"]
            domain = cells[0] or domain
            assert row["category"] == domain
            assert row["seed_name"] == cells[1]
            assert _cells(row) == {2021: cells[2], 2022: cells[3], 2023: cells[4]}
            assert row["responsible_unit"] == cells[5]

    def test_annex_2(self, doc: str, indicators: dict[str, dict[str, Any]]) -> None:
        lines = doc[doc.index("青山区数字政府发展主要指标计算方法") :].splitlines()
        rows = _tab_rows(lines)
        assert rows[0] == ["序号", "主要指标", "计算方法"]
        assert len(rows[1:]) == 15
        for cells in rows[1:]:
            row = indicators[f"QS-{int(cells[0]):02d}"]
            assert (row["annex_name"] or row["seed_name"]) == cells[1]
            assert row["calculation"] == cells[2]
            assert row["calculation"] in doc

    def test_every_cell_occurs_verbatim(self, doc: str, indicators: dict[str, dict[str, Any]]) -> None:
        for code, row in indicators.items():
            if code.startswith("QS"):
                for cell in _cells(row).values():
                    assert f"\t{cell}\n" in doc, (code, cell)


class TestAgainstNanchangSeed:
    @pytest.fixture
    def doc(self, nc_doc: str) -> str:
        return nc_doc

    def test_issued_date(self, doc: str) -> None:
        assert "洪府办发〔2023〕10号" in doc
        assert "2023年2月23日" in doc[: doc.index("(此件主动公开)")]

    def test_indicator_table(self, doc: str, indicators: dict[str, dict[str, Any]]) -> None:
        tokens = [
            line.strip()
            for line in _between(doc, "南昌市数字政府规划建设主要指标表(2022年-2025年)", "备注")[1:]
            if line.strip()
        ]
        assert [" ".join(token.split()) for token in tokens[:6]] == [
            "序号",
            "类 别",
            "主要指标",
            "2022年",
            "2025年",
            "属性",
        ]
        tokens = tokens[6:]
        starts = []
        expected = 1
        for index, token in enumerate(tokens):
            if token == str(expected):
                starts.append(index)
                expected += 1
        assert len(starts) == 18
        category = ""
        for number, (begin, end) in enumerate(zip(starts, [*starts[1:], len(tokens)], strict=True), start=1):
            cells = tokens[begin + 1 : end]
            row = indicators[f"NC-{number:02d}"]
            assert row["property"] == cells[-1]
            numbers = [cell for cell in cells[:-1] if re.fullmatch(r"\d+(\.\d+)?", cell)]
            words = [cell for cell in cells[:-1] if cell not in numbers]
            category = words[0] if len(words) == 2 else category
            assert row["category"] == category
            assert row["seed_name"] == words[-1]
            years = [2025] if len(numbers) == 1 else [2022, 2025]
            assert _cells(row) == dict(zip(years, numbers, strict=True))
