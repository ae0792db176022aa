"""Effective maxima and the points-add-up checks, on the 包头 2022 scheme file and on broken copies of it."""

from __future__ import annotations

import copy
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.errors import InvalidInput
from shared.schemes import deadlines
from shared.schemes import load as scheme_load
from shared.schemes import store as scheme_store


@pytest.fixture
def spec() -> dict[str, Any]:
    return copy.deepcopy(scheme_load.read_spec("baotou_2022.yaml"))


def group(spec: dict[str, Any], section: str, number: str) -> dict[str, Any]:
    s = next(s for s in spec["sections"] if s["number"] == section)
    found: dict[str, Any] = next(g for g in s["groups"] if g["number"] == number)
    return found


class TestCheckSpec:
    def test_the_seed_scheme_adds_up(self, spec: dict[str, Any]) -> None:
        assert scheme_load.check_spec(spec) == []

    def test_an_item_off_by_a_quarter_names_its_group_and_the_difference(self, spec: dict[str, Any]) -> None:
        group(spec, "一", "（九）")["items"][0]["points"] = 0.75  # item 19: 0.5 → 0.75
        messages = [p.message for p in scheme_load.check_spec(spec)]
        assert messages == ["group 一（九）: its parts add up to 12.25, 0.25 more than its 12"]

    def test_sections_not_adding_up_to_100(self, spec: dict[str, Any]) -> None:
        spec["sections"][0]["points"] = 24
        messages = [p.message for p in scheme_load.check_spec(spec)]
        assert "sections add up to 99, 1 less than 100" in messages

    def test_weights_must_sum_to_one(self, spec: dict[str, Any]) -> None:
        spec["methods"][0]["weight"] = "0.5"
        assert [p.message for p in scheme_load.check_spec(spec)] == ["method weights add up to 0.9, not 1"]

    async def test_a_broken_scheme_is_refused_and_nothing_loaded(
        self, session: AsyncSession, spec: dict[str, Any]
    ) -> None:
        spec["code"], spec["version"] = "BROKEN", 1
        group(spec, "二", "（一）")["points"] = 6
        with pytest.raises(InvalidInput) as refused:
            await scheme_load.load_scheme(session, spec, actor="tests")
        assert "section 二: its parts add up to 26, 1 more than its 25" in refused.value.message
        assert [s.code for s, _ in await scheme_store.list_schemes(session)] == ["BT2022"]


class TestMaxima:
    async def test_an_equal_third_stays_a_third(self, session: AsyncSession) -> None:
        (scheme, _), *_ = await scheme_store.list_schemes(session)
        tree = await scheme_store.get_tree(session, scheme.id)
        six_one = [
            i.number
            for i in tree.items[
                next(g.id for gs in tree.groups.values() for g in gs if tree.group_label(g) == "六（一）")
            ]
        ]
        assert [tree.maxima.items[n].points for n in six_one] == [Fraction(5, 6)] * 3


class TestDeadlines:
    @pytest.mark.parametrize(
        ("text", "due"),
        [
            ("6月底完成", date(2022, 6, 30)),
            ("5月底取得阶段性成效并持续推进", date(2022, 5, 31)),
            ("6月份取得明显成效", date(2022, 6, 30)),
            ("12月取得明显成效并持续推进", date(2022, 12, 31)),
            ("持续推进", None),
            ("按进度推进", None),
            (None, None),
        ],
    )
    def test_due_date(self, text: str | None, due: date | None) -> None:
        assert deadlines.due_date(text, 2022) == due


class TestTranscription:
    def test_every_item_is_verbatim_in_seed_000(self, spec: dict[str, Any]) -> None:
        """Each item's line of the seed is its number, text, points, deadline and lead units, exactly as stored."""
        seed = (Path(__file__).parents[2] / "seeds" / "000_7a48321d0ec9c48a.txt").read_text(encoding="utf-8")
        lines = {line.strip() for line in seed.splitlines()}
        for s in spec["sections"]:
            assert f"{s['number']}、{s['title']}（{s['points']}分）" in lines
            for g in s["groups"]:
                points = f"（{g['points']}分）" if g["points"] is not None else ""
                assert f"{g['number']}{g['title']}{points}" in lines
                for i in g["items"]:
                    own = f"（{i['points']}分）" if i["points"] is not None else ""
                    leads = "、".join(i["lead_units"])
                    assert f"{i['number']}．{i['text']}{own}（{i['deadline']}，牵头考核单位：{leads}）" in lines
