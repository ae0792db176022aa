"""Tests of shared.targets.rules (PRODUCT.md §2.2 目标值), with cells quoted from the seed tables."""

from __future__ import annotations

import dataclasses
import math

import pytest

from shared.targets.rules import (
    TargetSpec,
    achievement,
    interpolate,
    is_met,
    parse_target_cell,
    status,
)


class TestParseTargetCell:
    @pytest.mark.parametrize("cell", ["——", "—", "-", "", "  ", " —— ", "－", "― ―"])
    def test_dashes_and_empty_mean_no_target(self, cell: str) -> None:
        assert parse_target_cell(cell, baseline=False) is None
        assert parse_target_cell(cell, baseline=True) is None

    @pytest.mark.parametrize(
        ("cell", "number"),
        [
            ("≥90", 90.0),  # 青山区 一窗综合受理率 2022
            ("≥1270", 1270.0),  # 青山区 5G基站数 2022
            (">=90", 90.0),
            ("≥ 90", 90.0),
            ("≥90%", 90.0),
            ("≧90", 90.0),
            ("＞＝９０", 90.0),  # full-width, NFKC-normalised
            ("≥１，２７０", 1270.0),
            ("≥99.5", 99.5),
        ],
    )
    def test_at_least(self, cell: str, number: float) -> None:
        assert parse_target_cell(cell, baseline=False) == TargetSpec(">=", number, None, False)

    @pytest.mark.parametrize("cell", ["≤5", "<=5", "≦5", "≤ 5%", "＜＝５"])
    def test_at_most(self, cell: str) -> None:
        assert parse_target_cell(cell, baseline=False) == TargetSpec("<=", 5.0, None, False)

    @pytest.mark.parametrize("cell", ["=100", "==100", "＝100%"])
    def test_equal(self, cell: str) -> None:
        assert parse_target_cell(cell, baseline=False) == TargetSpec("=", 100.0, None, False)

    @pytest.mark.parametrize(
        ("cell", "number"),
        [
            ("1250", 1250.0),
            ("100%", 100.0),  # 青山区 政务外网接入率, every year
            ("100", 100.0),  # 青山区 全程网办率 2023
            ("5.7", 5.7),  # 南昌 政务云资源算力规模 2022
            ("87", 87.0),  # 南昌 全程网办率 2025
            ("１００％", 100.0),
            ("1,250", 1250.0),
        ],
    )
    def test_bare_number_in_target_year_reads_as_at_least(self, cell: str, number: float) -> None:
        spec = parse_target_cell(cell, baseline=False)
        assert spec == TargetSpec(">=", number, None, False)
        assert spec is not None and spec.scored

    @pytest.mark.parametrize(("cell", "number"), [("1250", 1250.0), ("80", 80.0), ("5.7", 5.7)])
    def test_bare_number_in_baseline_column_keeps_the_level(self, cell: str, number: float) -> None:
        spec = parse_target_cell(cell, baseline=True)
        assert spec == TargetSpec(None, number, None, True)
        assert spec is not None and not spec.scored

    def test_explicit_comparator_in_baseline_column_is_kept_but_not_scored(self) -> None:
        spec = parse_target_cell("≥30", baseline=True)  # 青山区 电子证照用证率 2021
        assert spec == TargetSpec(">=", 30.0, None, True)
        assert spec is not None and not spec.scored

    @pytest.mark.parametrize(
        "cell",
        [
            "根据需求随时布点",
            "完成政务网站站群系统IPV6改造",
            "完成IPV6核心区域设备服务器改造",
            "根据企业群众需求，不断增加套餐数量，优化服务流程。",
            "国家、自治区公布跨省通办事项全部实现线上线下办理",
            "100%以上",
        ],
    )
    @pytest.mark.parametrize("baseline", [False, True])
    def test_text_cells_are_text_only(self, cell: str, baseline: bool) -> None:
        spec = parse_target_cell(cell, baseline=baseline)
        assert spec == TargetSpec(None, None, cell, baseline)
        assert spec is not None and not spec.scored

    def test_text_keeps_the_cell_verbatim_not_normalised(self) -> None:
        spec = parse_target_cell(" 根据需求，随时布点 ", baseline=False)
        assert spec is not None and spec.text == "根据需求，随时布点"

    @pytest.mark.parametrize("cell", ["≥abc", "≥", "<=九十", "≥90分", "≥90%%", "=1.2.3"])
    def test_comparator_followed_by_garbage_raises(self, cell: str) -> None:
        with pytest.raises(ValueError, match="must be followed by a number") as excinfo:
            parse_target_cell(cell, baseline=False)
        assert repr(cell) in str(excinfo.value)

    @pytest.mark.parametrize("cell", [">90", "<5", "＞90"])
    def test_strict_comparators_are_refused(self, cell: str) -> None:
        with pytest.raises(ValueError, match="strict comparator"):
            parse_target_cell(cell, baseline=False)

    def test_spec_is_frozen(self) -> None:
        spec = parse_target_cell("≥90", baseline=False)
        assert spec is not None
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.number = 1.0  # type: ignore[misc]


class TestInterpolate:
    def test_nanchang_quanchengwangban(self) -> None:
        # 南昌 全程网办率: 2022 80 → 2025 87
        assert interpolate(2022, 80, 2025, 87, 2023) == pytest.approx(82.333333333)
        assert interpolate(2022, 80, 2025, 87, 2024) == pytest.approx(84.666666667)

    def test_nanchang_mianzhengban_counts(self) -> None:
        # 南昌 免证办事项数: 2022 100 → 2025 500
        assert interpolate(2022, 100, 2025, 500, 2023) == pytest.approx(233.333333333)
        assert interpolate(2022, 100, 2025, 500, 2024) == pytest.approx(366.666666667)

    def test_decreasing_target(self) -> None:
        assert interpolate(2020, 10, 2024, 2, 2023) == pytest.approx(4.0)

    @pytest.mark.parametrize("year", [2021, 2022, 2025, 2026])
    def test_year_not_strictly_between_raises(self, year: int) -> None:
        with pytest.raises(ValueError, match=f"year {year} is not strictly between"):
            interpolate(2022, 80, 2025, 87, year)

    def test_reversed_years_raise(self) -> None:
        with pytest.raises(ValueError):
            interpolate(2025, 87, 2022, 80, 2023)

    def test_non_finite_value_raises(self) -> None:
        with pytest.raises(ValueError, match="baseline_value"):
            interpolate(2022, math.nan, 2025, 87, 2023)


class TestAchievement:
    def test_higher_is_better(self) -> None:
        assert achievement(81, 90, "higher") == pytest.approx(0.9)
        assert achievement(45, 90, "higher") == pytest.approx(0.5)

    def test_higher_is_capped_at_one_by_default(self) -> None:
        assert achievement(99, 90, "higher") == 1.0

    def test_cap_is_configurable(self) -> None:
        assert achievement(99, 90, "higher", cap=1.05) == pytest.approx(1.05)
        assert achievement(99, 90, "higher", cap=None) == pytest.approx(1.1)

    def test_lower_is_better(self) -> None:
        assert achievement(10, 5, "lower") == pytest.approx(0.5)
        assert achievement(4, 5, "lower") == 1.0
        assert achievement(4, 5, "lower", cap=None) == pytest.approx(1.25)

    def test_missing_value_or_target(self) -> None:
        assert achievement(None, 90, "higher") is None
        assert achievement(90, None, "higher") is None
        assert achievement(None, None, "lower") is None

    def test_zero_target_higher_is_met(self) -> None:
        assert achievement(0, 0, "higher") == 1.0
        assert achievement(7, 0, "higher", cap=None) == 1.0

    def test_zero_value_lower_is_perfect(self) -> None:
        assert achievement(0, 5, "lower") == 1.0
        assert achievement(0, 5, "lower", cap=1.2) == 1.2
        assert achievement(0, 5, "lower", cap=None) == math.inf
        assert achievement(0, 0, "lower", cap=None) == 1.0

    def test_zero_value_higher_is_zero(self) -> None:
        assert achievement(0, 90, "higher") == 0.0

    @pytest.mark.parametrize(
        ("value", "target"), [(-1.0, 90.0), (90.0, -1.0), (math.inf, 90.0), (1.0, math.nan)]
    )
    def test_negative_or_non_finite_raises(self, value: float, target: float) -> None:
        with pytest.raises(ValueError):
            achievement(value, target, "higher")


class TestIsMet:
    def test_at_least(self) -> None:
        assert is_met(90, ">=", 90) is True
        assert is_met(90.5, ">=", 90) is True
        assert is_met(89.99, ">=", 90) is False

    def test_at_most(self) -> None:
        assert is_met(5, "<=", 5) is True
        assert is_met(4, "<=", 5) is True
        assert is_met(5.01, "<=", 5) is False

    def test_equal(self) -> None:
        assert is_met(100, "=", 100) is True
        assert is_met(99, "=", 100) is False
        assert is_met(101, "=", 100) is False

    def test_float_tolerance(self) -> None:
        # 0.1 + 0.2 = 0.30000000000000004; 3 × (1/3 × 100) as a rate
        assert is_met(0.1 + 0.2, "<=", 0.3) is True
        assert is_met(0.3, ">=", 0.1 + 0.2) is True
        assert is_met(0.1 + 0.2, "=", 0.3) is True
        assert is_met(100 * 398 / 491 * 491 / 398, ">=", 100) is True

    def test_nothing_to_compare(self) -> None:
        assert is_met(None, ">=", 90) is None
        assert is_met(90, None, 90) is None
        assert is_met(90, ">=", None) is None


class TestStatus:
    def test_met(self) -> None:
        assert status(95, ">=", 90, "higher") == "met"
        assert status(90, ">=", 90, "higher") == "met"
        assert status(3, "<=", 5, "lower") == "met"

    def test_near_on_the_threshold(self) -> None:
        assert status(81, ">=", 90, "higher") == "near"  # 81 / 90 = 0.9
        assert status(85, ">=", 90, "higher") == "near"

    def test_behind(self) -> None:
        assert status(80.9, ">=", 90, "higher") == "behind"
        assert status(0, ">=", 90, "higher") == "behind"

    def test_lower_is_better(self) -> None:
        assert status(5.5, "<=", 5, "lower") == "near"  # 5 / 5.5 = 0.909
        assert status(10, "<=", 5, "lower") == "behind"

    def test_near_threshold_is_configurable(self) -> None:
        assert status(85, ">=", 90, "higher", near_threshold=0.95) == "behind"
        assert status(70, ">=", 90, "higher", near_threshold=0.75) == "near"

    def test_equal_comparator_exceeded(self) -> None:
        assert status(100, "=", 100, "higher") == "met"
        assert status(95, "=", 100, "higher") == "near"

    def test_no_data(self) -> None:
        assert status(None, ">=", 90, "higher") == "no_data"

    def test_text_or_missing_target_is_never_scored(self) -> None:
        text = parse_target_cell("根据需求随时布点", baseline=False)
        assert text is not None
        assert status(1300, text.comparator, text.number, "higher") is None
        assert status(None, text.comparator, text.number, "higher") is None
        assert status(50, None, None, "higher") is None
        assert status(50, ">=", None, "higher") is None

    def test_baseline_cell_is_never_scored(self) -> None:
        baseline = parse_target_cell("1250", baseline=True)  # 青山区 5G基站数 2021
        assert baseline is not None
        assert status(1000, baseline.comparator, baseline.number, "higher") is None

    def test_seed_cell_end_to_end(self) -> None:
        # 青山区 一窗综合受理率 2022 "≥90" against the sample 青山区政务服务中心 398 / 491
        spec = parse_target_cell("≥90", baseline=False)
        assert spec is not None
        value = 100 * 398 / 491
        assert status(value, spec.comparator, spec.number, "higher") == "near"
        assert status(value, spec.comparator, spec.number, "higher", near_threshold=0.95) == "behind"
        assert achievement(value, spec.number, "higher") == pytest.approx(0.9007, abs=1e-4)
