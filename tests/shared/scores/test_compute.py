"""Pure scoring rules: rounding as shown, shared ranks, the annual mean, formula-safe XLSX text."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from shared.scores import compute, xlsx
from shared.scores.compute import ScoreStatus, UnitScore


class TestShown:
    def test_half_up_on_the_exact_value(self) -> None:
        assert compute.shown(Fraction(18105, 1000)) == Decimal("18.11")  # float rounding would give 18.1
        assert compute.shown(Fraction(1, 3)) == Decimal("0.33")
        assert compute.shown(None) is None


class TestRanks:
    def test_equal_totals_as_shown_share_a_rank(self) -> None:
        totals = [("a", Fraction(9050, 100)), ("b", Fraction(9050, 100)), ("c", Fraction(8000, 100)),
                  ("d", Fraction(90501, 1000)), ("e", None)]  # fmt: skip
        # 90.501 shows as 90.50: equal to a and b
        assert compute.ranks(totals) == {"a": 1, "b": 1, "d": 1, "c": 4, "e": None}


class TestAnnual:
    def test_mean_of_the_halves(self) -> None:
        h1 = UnitScore("x", "2022H1", ScoreStatus.COMPLETE, Fraction(80))
        h2 = UnitScore("x", "2022H2", ScoreStatus.COMPLETE, Fraction(91))
        assert compute.annual(h1, h2, "2022").total == Fraction(171, 2)

    def test_a_missing_half_is_missing_never_zero(self) -> None:
        h1 = UnitScore("x", "2022H1", ScoreStatus.COMPLETE, Fraction(80))
        h2 = UnitScore("x", "2022H2", ScoreStatus.MISSING, None)
        year = compute.annual(h1, h2, "2022")
        assert (year.status, year.total, year.reasons) == (ScoreStatus.MISSING, None, ["2022H2 is missing"])


class TestItemScore:
    def test_two_lead_units_average_and_a_missing_one_flags_it(self) -> None:
        item = compute.ItemView(3, "一", Fraction(1), ("L1", "L2"))

        def entry(i: int, lead: str, points: str) -> compute.Entry:
            return compute.Entry(i, "o", "2022H1", "monitoring", 3, Fraction(points), None, lead, "verified", "t",
                                 datetime(2022, 6, 1))  # fmt: skip

        both = compute.item_score(item, [entry(1, "L1", "1"), entry(2, "L2", "1/2")])
        assert (both.points, both.partly_assessed) == (Fraction(3, 4), False)
        one = compute.item_score(item, [entry(1, "L1", "1")])
        assert (one.points, one.partly_assessed) == (Fraction(1), True)


class TestSafeText:
    def test_formula_like_text_is_neutralised(self) -> None:
        assert xlsx.safe_text("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
        assert xlsx.safe_text("+1") == "'+1" and xlsx.safe_text("@SUM(A1)") == "'@SUM(A1)"
        assert xlsx.safe_text("青山区") == "青山区"
