"""shared.org_units.divisions: reading the official division list (pure), zones by name, precise errors."""

from __future__ import annotations

import pytest

from shared.core.errors import InvalidInput, Problem
from shared.org_units import divisions
from shared.seeds.load import SEED_DIR

CSV = (SEED_DIR / "divisions_150000_360100.csv").read_text(encoding="utf-8")
HEADER = "code,name,level,parent_code\n"
TOP = "150000000000,内蒙古自治区,province,\n150200000000,包头市,city,150000000000\n"


class TestKindOf:
    @pytest.mark.parametrize("name", ["包头稀土高新技术产业开发区", "包头市装备制造产业园区", "铝业产业园区",
                                      "九峰山生态管理区", "呼和浩特综合保税区", "内蒙古和林格尔新区", "林东产业园"])
    def test_zones(self, name: str) -> None:
        assert divisions.kind_of(name) == "zone"

    @pytest.mark.parametrize("name", ["富强路街道", "青福镇", "白云鄂博矿区", "工业区街道", "达尔罕茂明安联合旗"])
    def test_regions(self, name: str) -> None:
        assert divisions.kind_of(name) == "region"


class TestParse:
    def test_baotou_subtree_of_the_official_list(self) -> None:
        rows = divisions.parse(CSV, prefix="150200")
        by_level = {level: [d for d in rows if d.level == level] for level in ("city", "county", "township")}
        # Counted in the CSV by hand: awk -F, '$1 ~ /^1502/ && $3 == "township"' → 91; 9 旗县区 + 稀土高新区.
        assert [len(by_level[k]) for k in ("city", "county", "township")] == [1, 10, 91] and len(rows) == 102
        assert rows[0].code == "150200000000"  # parents before children
        by_code = {d.code: d for d in rows}
        assert (by_code["150204004000"].name, by_code["150204001000"].name) == ("富强路街道", "先锋道街道")
        assert (by_code["150204003000"].name, by_code["150204006000"].name) == ("万青路街道", "青山路街道")
        assert by_code["150204007000"].name == "自由路街道"
        assert (by_code["150204401000"].name, by_code["150204401000"].kind) == ("包头市装备制造产业园区", "zone")
        assert by_code["150271000000"].kind == "zone" and by_code["150271000000"].level == "county"
        assert sorted(d.code for d in rows if d.kind == "zone") == [
            "150202400000", "150204401000", "150205400000", "150221500000", "150271000000"]

    def test_whole_file(self) -> None:
        assert len(divisions.parse(CSV)) == 1496

    @pytest.mark.parametrize(
        ("text", "row", "column"),
        [
            ("code,name,parent_code\n150000000000,内蒙古自治区,\n", 1, "level"),
            (HEADER + TOP + "15020400400,富强路街道,township,150204000000\n", 4, "code"),
            (HEADER + TOP + "150204004000,,township,150204000000\n", 4, "name"),
            (HEADER + TOP + "150204004000,富强路街道,county,150200000000\n", 4, "level"),
            (HEADER + TOP + "150202000000,东河区,county,\n", 4, "parent_code"),
            (HEADER + TOP + "150202000000,东河区,county,150202001000\n", 4, "parent_code"),
            (HEADER + TOP + "150200000000,包头市,city,150000000000\n", 4, "code"),
        ],
        ids=["missing-column", "short-code", "no-name", "level-disagrees", "no-parent", "parent-below", "repeat"],
    )
    def test_a_bad_row_names_row_and_column(self, text: str, row: int, column: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            divisions.parse(text)
        [problem] = caught.value.details
        assert isinstance(problem, Problem) and (problem.row, problem.field) == (row, column)
        assert caught.value.message.startswith(f"row {row}, column {column}: ")

    def test_prefix_must_be_in_the_file(self) -> None:
        with pytest.raises(InvalidInput, match="150300000000 is not in the file"):
            divisions.parse(HEADER + TOP, prefix="150300")
        with pytest.raises(InvalidInput, match="not a division code"):
            divisions.parse(HEADER + TOP, prefix="15a")
