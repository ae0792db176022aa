"""Subtotal rows with a unit's code (services/collector/subtotals.py): skipped only when every figure of the row is
the sum of two or more units directly under it in the same chunk."""

from __future__ import annotations

from datetime import date

from services.collector import subtotals
from services.collector.mapping import ParsedExport
from shared.observations.types import ObservationIn

DAY = date(2022, 5, 31)
QINGSHAN, FUQIANG, XINGFU = "150204000000", "150204004000", "150204002000"
BAOTOU, DONGHE = "150200000000", "150202000000"
PARENT_OF = {FUQIANG: QINGSHAN, XINGFU: QINGSHAN, QINGSHAN: BAOTOU, DONGHE: BAOTOU}


def chunk(*rows: tuple[int, str, list[tuple[str, float, float]]]) -> ParsedExport:
    """Rows of (file row, unit, [(indicator, numerator, denominator)]), like a wangban row of two figure pairs."""
    out = ParsedExport()
    for row, org, figures in rows:
        for indicator, num, den in figures:
            out.figures.append(ObservationIn(indicator, org, DAY, num, den))
            out.figure_rows.append(row)
    out.rows_read = len(rows)
    return out


def test_a_row_whose_every_figure_adds_up_is_skipped_with_a_warning() -> None:
    got = subtotals.drop(chunk((2, QINGSHAN, [("QS-05", 9, 12), ("QS-07", 5, 12)]),
                               (3, FUQIANG, [("QS-05", 4, 5), ("QS-07", 2, 5)]),
                               (4, XINGFU, [("QS-05", 5, 7), ("QS-07", 3, 7)])), PARENT_OF, "区划代码")
    assert sorted(set(got.figure_rows)) == [3, 4] and len(got.figures) == 4
    assert (got.rows_read, got.rows_skipped) == (2, 1)
    assert [(w.row, w.field) for w in got.warnings] == [(2, "区划代码")]


def test_a_row_with_one_figure_of_its_own_is_kept_whole() -> None:
    # The shared denominator adds up, QS-07's numerator does not: the district's own figures.
    parsed = chunk((2, QINGSHAN, [("QS-05", 9, 12), ("QS-07", 6, 12)]),
                   (3, FUQIANG, [("QS-05", 4, 5), ("QS-07", 2, 5)]),
                   (4, XINGFU, [("QS-05", 5, 7), ("QS-07", 3, 7)]))
    got = subtotals.drop(parsed, PARENT_OF, "区划代码")
    assert len(got.figures) == 6 and got.warnings == [] and got.rows_skipped == 0


def test_nested_subtotals_each_against_the_units_directly_under_it() -> None:
    parsed = chunk((2, BAOTOU, [("QS-07", 8, 20)]), (3, QINGSHAN, [("QS-07", 5, 12)]), (4, FUQIANG, [("QS-07", 2, 5)]),
                   (5, XINGFU, [("QS-07", 3, 7)]), (6, DONGHE, [("QS-07", 3, 8)]))
    got = subtotals.drop(parsed, PARENT_OF, "区划代码")
    assert got.figure_rows == [4, 5, 6] and got.rows_skipped == 2


def test_one_unit_below_or_another_day_is_no_sum() -> None:
    parsed = chunk((2, QINGSHAN, [("QS-07", 2, 5)]), (3, FUQIANG, [("QS-07", 2, 5)]))
    assert subtotals.drop(parsed, PARENT_OF, "区划代码").figure_rows == [2, 3]
    other_day = chunk((2, QINGSHAN, [("QS-07", 5, 12)]), (3, FUQIANG, [("QS-07", 2, 5)]),
                      (4, XINGFU, [("QS-07", 3, 7)]))
    other_day.figures[0] = ObservationIn("QS-07", QINGSHAN, date(2022, 5, 30), 5, 12)
    assert subtotals.drop(other_day, PARENT_OF, "区划代码").figure_rows == [2, 3, 4]
