"""The pure 好差评 arithmetic: working-day deadlines and the daily figures derived from level counts."""

from datetime import date

import chinese_calendar
import pytest

from shared.core.settings import RatingSettings
from shared.observations.types import ObservationIn
from shared.ratings import derive, workdays
from tests.builders import FUQIANG, XINGFU

POINTS = RatingSettings().level_points  # the product default: 100/80/60/40/20 (PRODUCT.md §2.4)
DAY = date(2022, 6, 1)


class TestAddWorkingDays:
    def test_skips_national_day_and_counts_the_adjusted_saturday(self) -> None:
        # National Day 2022: Oct 1–7 off; Saturday Oct 8 and Sunday Oct 9 were 调休 working days. The package
        # says so, and the next working day after Friday Sep 30 is therefore Saturday Oct 8.
        assert chinese_calendar.is_workday(date(2022, 9, 30))
        assert not any(chinese_calendar.is_workday(date(2022, 10, d)) for d in range(1, 8))
        assert chinese_calendar.is_workday(date(2022, 10, 8)) and date(2022, 10, 8).weekday() == 5
        assert workdays.add_working_days(date(2022, 9, 30), 1) == date(2022, 10, 8)
        assert workdays.add_working_days(date(2022, 9, 30), 3) == date(2022, 10, 10)

    def test_fifteen_working_days_over_national_day(self) -> None:
        # The default 15-day deadline from Thu 2022-09-29, counted out on the calendar:
        # Sep 30 (1), Oct 8 (2), Oct 9 (3), Oct 10–14 (4–8), Oct 17–21 (9–13), Oct 24 (14), Oct 25 (15).
        assert workdays.add_working_days(date(2022, 9, 29), 15) == date(2022, 10, 25)

    def test_plain_weeks_and_zero(self) -> None:
        assert workdays.add_working_days(date(2022, 6, 10), 1) == date(2022, 6, 13)  # Fri → Mon
        assert workdays.add_working_days(date(2022, 6, 10), 0) == date(2022, 6, 10)

    def test_falls_back_to_monday_to_friday_outside_the_package(self) -> None:
        with pytest.raises(NotImplementedError):
            chinese_calendar.is_workday(date(2099, 1, 1))
        # 2099-10-01 is a Thursday; with no holiday table it is an ordinary working day.
        assert workdays.add_working_days(date(2099, 9, 30), 1) == date(2099, 10, 1)
        assert workdays.add_working_days(date(2099, 10, 2), 1) == date(2099, 10, 5)  # Fri → Mon

    def test_negative_is_refused(self) -> None:
        with pytest.raises(ValueError):
            workdays.add_working_days(DAY, -1)


class TestDailyFigures:
    def test_levels_5_5_4_2_worked_by_hand(self) -> None:
        # (100 + 100 + 80 + 40) / 4 = 80 分; 好评 3 of 4; 差评 1 of 4; 4 ratings.
        figures = derive.daily_figures([(FUQIANG, DAY, {5: 2, 4: 1, 2: 1})], POINTS)
        assert figures == [
            ObservationIn("QS-11", FUQIANG, DAY, numerator=320, denominator=4),
            ObservationIn("HCP-GOOD", FUQIANG, DAY, numerator=3, denominator=4),
            ObservationIn("HCP-BAD", FUQIANG, DAY, numerator=1, denominator=4),
            ObservationIn("HCP-COUNT", FUQIANG, DAY, value=4),
        ]
        score = figures[0]
        assert score.numerator is not None and score.denominator is not None
        assert score.numerator / score.denominator == 80

    def test_basic_satisfied_is_good_and_levels_1_2_are_bad(self) -> None:
        figures = derive.daily_figures([(FUQIANG, DAY, {3: 1, 2: 1, 1: 1})], POINTS)
        by_code = {f.indicator: f for f in figures}
        assert (by_code["HCP-GOOD"].numerator, by_code["HCP-BAD"].numerator) == (1, 2)
        assert by_code["QS-11"].numerator == 60 + 40 + 20

    def test_level_points_is_a_setting(self) -> None:
        points = {5: 10, 4: 8, 3: 6, 2: 4, 1: 2}
        figures = derive.daily_figures([derive.LevelCounts(FUQIANG, DAY, {5: 1, 1: 1})], points)
        assert (figures[0].numerator, figures[0].denominator) == (12, 2)

    def test_one_set_per_unit_and_day_sorted_and_merged(self) -> None:
        counts = [(XINGFU, DAY, {5: 1}), (FUQIANG, DAY, {5: 1}), (FUQIANG, DAY, {1: 1}),
                  (FUQIANG, date(2022, 6, 2), {})]
        figures = derive.daily_figures(counts, POINTS)
        # Sorted by code: 幸福路 150204002000 before 富强路 150204004000.
        assert [(f.org, f.indicator) for f in figures] == [(u, c) for u in (XINGFU, FUQIANG) for c in
                                                           ("QS-11", "HCP-GOOD", "HCP-BAD", "HCP-COUNT")]
        assert figures[7].value == 2  # 富强路's two ratings merged; the day without ratings gives nothing

    def test_bad_levels_and_missing_points_are_refused(self) -> None:
        with pytest.raises(ValueError):
            derive.daily_figures([(FUQIANG, DAY, {6: 1})], POINTS)
        with pytest.raises(ValueError):
            derive.daily_figures([(FUQIANG, DAY, {5: 1})], {5: 100})
