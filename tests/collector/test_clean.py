"""Cell normalisers: full-width text, numbers with separators, percentages, dates, total and filler rows."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.collector import clean


class TestNorm:
    def test_full_width_digits_signs_and_ideographic_space(self) -> None:
        assert clean.norm("\u3000１２３，４５６％ ") == "123,456%"

    def test_ascii_is_only_stripped(self) -> None:
        assert clean.norm("  150204004000 \t") == "150204004000"

    @pytest.mark.parametrize(("cell", "text"), [('="150204004000"', "150204004000"), ("'150204004000", "150204004000"),
                                               (' ="503" ', "503"), ("=SUM(D2:D9)", "=SUM(D2:D9)"), ("'", "")])
    def test_a_cell_kept_as_text_for_a_spreadsheet_is_its_text(self, cell: str, text: str) -> None:
        assert clean.norm(cell) == text

    def test_compact_removes_inner_spaces(self) -> None:
        assert clean.compact(" 合 计 ") == "合计"
        assert clean.compact("事项\n总数") == "事项总数"
        assert clean.compact("\ufeff统计日期") == "统计日期"


class TestParseNumber:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1281", 1281.0),
            ("１２８１", 1281.0),
            ("1,281", 1281.0),
            ("1，281", 1281.0),
            ("１，２８１", 1281.0),
            ("12,345,678.5", 12345678.5),
            (" 42 ", 42.0),
            ("0", 0.0),
            ("-3", -3.0),
            ("3.25", 3.25),
            ("1281个", 1281.0),  # a count printed with its unit
            ("503 件", 503.0),
            ("1,281项", 1281.0),
        ],
    )
    def test_accepts(self, text: str, expected: float) -> None:
        assert clean.parse_number(text) == expected

    @pytest.mark.parametrize("text", ["", "   ", "\u3000"])
    def test_empty_is_none(self, text: str) -> None:
        assert clean.parse_number(text) is None

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("12a", "'12a' is not a number"),
            ("1,23", "'1,23' is not a number (misplaced thousands separator)"),
            ("95.2%", "'95.2%' is a percentage; a count is expected here"),
            ("nan", "'nan' is not a number"),
            ("inf", "'inf' is not a number"),
            ("1_000", "'1_000' is not a number"),
            ("—", "'—' is not a number"),
            ("个", "'个' is not a number"),  # a unit alone is no count
            ("12个个", "'12个个' is not a number"),
        ],
    )
    def test_refuses_with_a_reason(self, text: str, reason: str) -> None:
        with pytest.raises(ValueError) as caught:
            clean.parse_number(text)
        assert str(caught.value) == reason


class TestParsePercent:
    def test_percent_sign_and_decimals(self) -> None:
        assert clean.parse_percent("95.20%") == clean.Percent(95.2, 2, True)
        assert clean.parse_percent("81%") == clean.Percent(81.0, 0, True)
        assert clean.parse_percent("９５．２％") == clean.Percent(95.2, 1, True)

    def test_fraction_without_sign(self) -> None:
        assert clean.parse_percent("0.9063") == clean.Percent(0.9063, 4, False)

    def test_empty_and_bad(self) -> None:
        assert clean.parse_percent(" ") is None
        with pytest.raises(ValueError, match="is not a"):
            clean.parse_percent("abc%")


class TestDates:
    @pytest.mark.parametrize(
        "text", ["2022-05-31", "2022/5/31", "2022年5月31日", "20220531", "2022-05-31 14:43:40", "２０２２-０５-３１",
                 "2022.05.31", " 2022-5-31 ", "2022年5月31号", "2022-05-31T00:00:00+08:00"],
    )
    def test_day(self, text: str) -> None:
        assert clean.parse_date(text) == date(2022, 5, 31)

    @pytest.mark.parametrize("text", ["2022-02-30", "31/05/2022", "", "昨天", "2022-13-01",
                                      "2022-05-31T00:00:00Z"])  # only Beijing time is taken as written
    def test_bad_day(self, text: str) -> None:
        with pytest.raises(ValueError, match="date"):
            clean.parse_date(text)

    @pytest.mark.parametrize("text", ["2022-05", "2022/5", "2022年5月", "202205", "2022-05-31", "2022年05月"])
    def test_month_is_its_first_day(self, text: str) -> None:
        assert clean.parse_month(text) == date(2022, 5, 1)

    @pytest.mark.parametrize("text", ["2022-13", "May 2022", ""])
    def test_bad_month(self, text: str) -> None:
        with pytest.raises(ValueError, match="month"):
            clean.parse_month(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2022-05-31 14:43:40", datetime(2022, 5, 31, 14, 43, 40)),
            ("2022/5/31 9:05", datetime(2022, 5, 31, 9, 5)),
            ("2022-05-31T14:43:40", datetime(2022, 5, 31, 14, 43, 40)),
            ("2022-05-31 14:43:40.250", datetime(2022, 5, 31, 14, 43, 40)),
            ("2022-05-31", datetime(2022, 5, 31)),
            ("2022年5月31日 14时43分", datetime(2022, 5, 31, 14, 43)),
            ("2022年5月31日 14时43分40秒", datetime(2022, 5, 31, 14, 43, 40)),
            ("2022-05-31T14:43:40+08:00", datetime(2022, 5, 31, 14, 43, 40)),
        ],
    )
    def test_datetime(self, text: str, expected: datetime) -> None:
        assert clean.parse_datetime(text) == expected

    def test_bad_datetime(self) -> None:
        with pytest.raises(ValueError, match="not a valid date and time"):
            clean.parse_datetime("2022-05-31 25:00:00")


class TestRows:
    MARKERS = ["合计", "总计", "小计"]

    @pytest.mark.parametrize(
        "cells",
        [["合计", "", "", "11126"], ["总计：", "", "9"], [" 合 计 ", "1"], ["", "全区合计", "3"], ["", "", "小计", "4"],
         ["合\u3000计", "5"]],
    )
    def test_total_rows(self, cells: list[str]) -> None:
        assert clean.is_total_row(cells, self.MARKERS)

    @pytest.mark.parametrize(
        "cells",
        [["2022-05-31", "150204004000", "富强路街道", "合计"],  # a marker past the first 3 cells
         ["1", "HCP1", "说明：本次合计的口径与上月相同，具体见附件中的统计说明"]],  # long text, not a label
    )
    def test_not_total_rows(self, cells: list[str]) -> None:
        assert not clean.is_total_row(cells, self.MARKERS)

    def test_total_rows_over_columns(self) -> None:
        columns = [["2022-05-31", "2022-05-31", "合计"], ["150204004000", "150204002000", ""]]
        assert clean.total_rows(columns, self.MARKERS) == {2}
        assert clean.total_rows([["a", "b"]], self.MARKERS) == set()

    @pytest.mark.parametrize("cells", [[], [""], ["", "  ", ""], ["注：数据来源于一体化平台", "", ""],
                                       ["制表人：张三"] * 8])
    def test_filler(self, cells: list[str]) -> None:
        assert clean.is_filler(cells)

    def test_data_row_is_not_filler(self) -> None:
        assert not clean.is_filler(["150204004000", "12", ""])


class TestCounts:
    def test_clean_column_in_bulk(self) -> None:
        assert clean.parse_counts(["1", "2.5", "0"]) == ([1.0, 2.5, 0.0], {})

    def test_dirty_column_cell_by_cell(self) -> None:
        values, bad = clean.parse_counts(["1,281", "１２", "", "x", "-1", "9"])
        assert values[:2] == [1281.0, 12.0] and values[5] == 9.0
        assert bad == {2: "empty; a number is required", 3: "'x' is not a number",
                       4: "'-1' is negative; counts cannot be below 0"}


class TestRateRemark:
    def test_within_half_a_unit_of_the_last_decimal(self) -> None:
        assert clean.rate_remark("90.63%", 1161, 1281) is None  # 90.6323
        assert clean.rate_remark("81%", 398, 491) is None       # 81.06, tolerance 0.5
        assert clean.rate_remark("0.9063", 1161, 1281) is None  # a fraction
        assert clean.rate_remark("90.63", 1161, 1281) is None   # a bare percentage number
        assert clean.rate_remark("", 1, 2) is None
        assert clean.rate_remark("50%", 0, 0) is None            # no rate over nothing

    def test_disagreement(self) -> None:
        assert clean.rate_remark("95.20%", 1161, 1281) == "printed 95.20% but 1161/1281 = 90.63%"
        assert clean.rate_remark("80%", 398, 491) == "printed 80% but 398/491 = 81.06%"
        assert clean.rate_remark("90.62%", 1161, 1281) == "printed 90.62% but 1161/1281 = 90.63%"

    def test_unreadable_printed_rate(self) -> None:
        assert clean.rate_remark("九成", 1, 2) == (
            "printed rate '九成' is not a number; the rate is computed from the counts")

    def test_columns(self) -> None:
        printed = ["90.63%", "95.20%", "84.10%", "50.00%"]
        remarks = clean.rate_remarks(printed, [1161, 1161, 1095, 0], [1281, 1281, 1302, 0])
        assert remarks == {1: "printed 95.20% but 1161/1281 = 90.63%"}

    def test_columns_of_mixed_formats(self) -> None:
        remarks = clean.rate_remarks(["91%", "0.5", "x"], [91, 1, 1], [100, 2, 2])
        assert remarks == {2: "printed rate 'x' is not a number; the rate is computed from the counts"}

    def test_columns_without_decimals(self) -> None:
        assert clean.rate_remarks(["81%", "50%"], [398, 1], [491, 3]) == {1: "printed 50% but 1/3 = 33.33%"}


class TestWhatAMessageMayQuote:
    @pytest.mark.parametrize(("cell", "shown"), [
        ("联系电话:13812345678", "'联系电话:***********'"),
        ("身份证 15020419900101123X", "'身份证 ******************'"),
        ("0472-5123456", "'************'"),
        ("150204999000", "'150204999000'"),  # a division code is quoted: it is what the operator must fix
        ("1,281", "'1,281'"),
    ])
    def test_phone_and_id_numbers_are_masked(self, cell: str, shown: str) -> None:
        assert clean.show(cell) == shown


class TestNotesTotalsAndLabels:
    @pytest.mark.parametrize(("cells", "filler"), [
        (["制表人：张三丰", "", "联系电话：13812345678", ""], True),
        (["审核人: 李四", "导出时间：2022-06-01 08:00"], True),
        (["150204004000", "富强路街道", "10:30"], False),  # a time is data, not a note
        (["2022-05", "大厅：一楼", "150204004000"], False),
    ])
    def test_note_rows(self, cells: list[str], filler: bool) -> None:
        assert clean.is_filler(cells) is filler

    def test_a_total_label_alone_further_right_and_a_name_holding_the_word(self) -> None:
        columns = [["150204004000", "", ""], ["2022-05-31", "", ""], ["1281", "", ""],
                   ["富强路街道", "合计", "工伤保险待遇合计核定"], ["1161", "1161", "1"]]
        assert clean.total_rows(columns, ["合计"], label_only=5) == {1}
        assert clean.total_rows(columns, ["合计"]) == set()  # only the first three columns by default

    def test_a_unit_in_brackets_after_a_label(self) -> None:
        assert clean.label_forms("事项总数（个）") == ("事项总数（个）", "事项总数")
        assert clean.label_forms("网上可办率(%)")[1] == "网上可办率"
        assert clean.label_forms("区划代码") == ("区划代码",)

    def test_an_excel_day_number_is_named_as_such(self) -> None:
        with pytest.raises(ValueError, match="'44712' is not a date .*an Excel day number"):
            clean.parse_date("44712")
        with pytest.raises(ValueError, match=r"^'abc' is not a date \(expected e.g. 2022-05-31\)$"):
            clean.parse_date("abc")
