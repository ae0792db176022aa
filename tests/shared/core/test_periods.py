from datetime import date

import pytest

from shared.core import periods
from shared.core.periods import TooManyPeriods, containing, parse_period, series


class TestParsePeriod:
    @pytest.mark.parametrize(
        ("text", "start", "end", "label"),
        [
            ("2022-05-31", date(2022, 5, 31), date(2022, 5, 31), "2022-05-31"),
            ("2022-05", date(2022, 5, 1), date(2022, 5, 31), "2022-05"),
            ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
            ("2022Q2", date(2022, 4, 1), date(2022, 6, 30), "2022Q2"),
            ("2022h2", date(2022, 7, 1), date(2022, 12, 31), "2022H2"),
            ("2022", date(2022, 1, 1), date(2022, 12, 31), "2022"),
        ],
    )
    def test_forms(self, text: str, start: date, end: date, label: str) -> None:
        p = parse_period(text)
        assert (p.start, p.end, p.label) == (start, end, label)

    @pytest.mark.parametrize("text", ["2022-13", "2022-02-30", "2022Q0", "2022H3", "22", "May"])
    def test_rejects_with_the_accepted_forms(self, text: str) -> None:
        with pytest.raises(ValueError, match="2022-05|real date"):
            parse_period(text)

    def test_half_of_a_quarter_and_year(self) -> None:
        assert parse_period("2022Q3").half == 2 and parse_period("2022").half is None


class TestSeries:
    def test_a_limit_stops_at_the_first_period_past_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        made = []
        real = periods.containing
        monkeypatch.setattr(periods, "containing", lambda day, g: made.append(day) or real(day, g))
        with pytest.raises(TooManyPeriods, match="more than 400 periods"):
            series(date(1, 1, 1), date(9999, 12, 31), "day", limit=400)
        assert len(made) == 401  # not the 3,652,059 days of the range
        assert len(series(date(2022, 1, 1), date(2022, 12, 31), "day", limit=365)) == 365

    def test_months_cover_the_range(self) -> None:
        assert [p.label for p in series(date(2022, 11, 15), date(2023, 2, 1), "month")] == [
            "2022-11",
            "2022-12",
            "2023-01",
            "2023-02",
        ]

    def test_halves(self) -> None:
        assert [p.label for p in series(date(2022, 1, 1), date(2023, 1, 1), "half")] == ["2022H1", "2022H2", "2023H1"]

    def test_reversed_range_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="before"):
            series(date(2022, 2, 1), date(2022, 1, 1), "day")

    def test_containing_quarter(self) -> None:
        assert containing(date(2022, 8, 9), "quarter").label == "2022Q3"
