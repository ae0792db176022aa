"""The reasons of a score in Chinese (shared/scores/wording.py), for the 通报's readers: every form compute.py
writes, a year's reason naming its half, and an unknown one left as it is."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from shared.scores import compute, wording

CHINESE_ONLY = re.compile(r"[^A-Za-z]*")  # no English word left (codes such as 2022H1 are told in Chinese too)


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("no verified assessment for 2022H1", "2022 年上半年尚无已核实的评估"),
        ("实地调研 (field_survey) has no verified points: counted as 0", "实地调研尚无已核实的分值，按 0 分计"),
        ("民意调查 (public_opinion) has no verified score: counted as 0", "民意调查尚无已核实的分值，按 0 分计"),
        ("日常监测 (monitoring): items 3, 5 not yet scored by every lead unit",
         "日常监测第 3, 5 项尚未由全部牵头单位评分"),
        ("2022H2 is missing", "2022 年下半年缺失"),
        ("2022H1: 实地调研 (field_survey) has no verified points: counted as 0",
         "2022 年上半年：实地调研尚无已核实的分值，按 0 分计"),
    ],
)
def test_each_reason_in_chinese(english: str, chinese: str) -> None:
    assert wording.chinese(english) == chinese


def test_a_reason_it_does_not_know_is_left_as_it_is() -> None:
    assert wording.chinese("something new happened") == "something new happened"


def test_every_reason_compute_writes_is_known() -> None:
    missing = compute.missing("150202000000", "2022H1")
    first = compute.UnitScore("150202000000", "2022H1", compute.ScoreStatus.INCOMPLETE, Fraction(1),
                              reasons=["实地调研 (field_survey) has no verified points: counted as 0"])
    year = compute.annual(first, first, "2022")
    lacking = compute.annual(first, missing, "2022")
    for reason in missing.reasons + year.reasons + lacking.reasons:
        assert CHINESE_ONLY.fullmatch(wording.chinese(reason)), reason
