"""shared.targets.resolve.with_derived and rules.whole_count_target: interpolated years, counts rounded up."""

from __future__ import annotations

import pytest

from shared.targets import rules
from shared.targets.resolve import TargetRow, with_derived

NANCHANG = "360100000000"


def anchors(indicator: str, measure: str, baseline: float, target: float) -> list[TargetRow]:
    """A 南昌 row as the seed gives it: 2022 baseline, 2025 target."""
    row = TargetRow(indicator, NANCHANG, "self", 2022, 0, None, baseline, None, True, measure=measure)
    return [row, TargetRow(indicator, NANCHANG, "self", 2025, 0, ">=", target, None, False, measure=measure)]


def derived(rows: list[TargetRow]) -> dict[int, tuple[float | None, bool]]:
    return {r.year: (r.number, r.rounded_up) for r in with_derived(rows) if r.derived}


class TestWithDerived:
    def test_count_targets_are_rounded_up(self) -> None:
        # 南昌 秒批秒办事项数 (NC-13): 2022 20 → 2025 100 interpolates to 46.67 and 73.33 items.
        assert derived(anchors("NC-13", "count", 20, 100)) == {2023: (47, True), 2024: (74, True)}
        # 免证办事项数 (NC-12) 100 → 500: 233.33 → 234, 366.67 → 367; 开放数据集 (NC-08) 18 → 50: 29, 40.
        assert derived(anchors("NC-12", "count", 100, 500)) == {2023: (234, True), 2024: (367, True)}
        assert derived(anchors("NC-08", "count", 18, 50)) == {2023: (29, True), 2024: (40, True)}

    def test_a_whole_interpolation_is_not_marked(self) -> None:
        assert derived(anchors("X", "count", 10, 40)) == {2023: (20, False), 2024: (30, False)}

    def test_ratios_and_fractional_counts_keep_the_interpolated_value(self) -> None:
        ratio = derived(anchors("NC-05", "ratio", 80, 87))
        assert ratio[2023][0] == pytest.approx(82.3333, abs=1e-4) and not ratio[2023][1]
        compute = derived(anchors("NC-01", "count", 5.7, 6))  # 政务云资源算力规模: not a tally of items
        assert compute[2023][0] == pytest.approx(5.8) and compute[2024][0] == pytest.approx(5.9)


class TestWholeCountTarget:
    def test_float_noise_does_not_add_an_item(self) -> None:
        assert rules.whole_count_target(20 + 80 * (3 / 3) * (1 / 1), "count", 20, 100) == 100
        assert rules.whole_count_target(73.000000000001, "count", 20, 100) == 73
        assert rules.whole_count_target(73.01, "count", 20, 100) == 74
