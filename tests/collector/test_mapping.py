"""parse_export on the three real samples and on generated messy exports: exact figures, row errors, warnings."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime

import openpyxl
import pytest

from services.collector.mapping import ParsedExport, parse_export
from shared.core.errors import InvalidInput, Problem
from shared.observations.types import ObservationIn
from shared.ratings.types import RatingIn
from tests.collector.exports import (
    HAOCHAPING_COLUMNS,
    SAMPLES,
    YICHUANG_COLUMNS,
    csv_bytes,
    full_width,
    haochaping_csv,
    haochaping_row,
    shipped,
    source,
    thousands,
    wangban_xlsx,
    yichuang_rows,
)

TODAY = date(2022, 6, 1)
MAY = date(2022, 5, 1)
DAY = date(2022, 5, 31)
HALLS = [("青山区政务服务中心", "150204000000", 491, 398, "81.06%"),
         ("富强路街道便民服务中心", "150204004000", 503, 421, "83.70%"),
         ("幸福路街道便民服务中心", "150204002000", 469, 380, "81.02%")]


def sample(name: str) -> bytes:
    path = SAMPLES / name
    return path.read_bytes()


def yichuang(rows: Sequence[Sequence[object]], **options: object) -> ParsedExport:
    return parse_export(shipped("yichuang"), csv_bytes(rows, **options), today=TODAY)  # type: ignore[arg-type]


def figures_by_org(parsed: ParsedExport) -> dict[str, tuple[float | None, float | None]]:
    return {f.org: (f.numerator, f.denominator) for f in parsed.figures}


class TestSamples:
    def test_wangban(self) -> None:
        parsed = parse_export(shipped("wangban"), sample("wangban_stats_2022-05-31.xlsx"),
                              filename="wangban_stats_2022-05-31.xlsx", today=TODAY)
        assert (parsed.errors, parsed.warnings) == ([], [])
        assert (parsed.rows_read, parsed.rows_skipped, len(parsed.figures)) == (10, 1, 20)
        assert ObservationIn("QS-07", "150204004000", DAY, 1010.0, 1281.0, None) in parsed.figures
        assert ObservationIn("QS-05", "150204004000", DAY, 1161.0, 1281.0, None) in parsed.figures
        assert ObservationIn("QS-05", "150204101000", DAY, 1227.0, 1303.0, None) in parsed.figures
        qs05 = [f for f in parsed.figures if f.indicator == "QS-05"]
        qs07 = [f for f in parsed.figures if f.indicator == "QS-07"]
        assert len({f.org for f in qs05}) == 10 and all(f.date == DAY and f.value is None for f in parsed.figures)
        # The 合计 row (11126 / 10487 / 9534) is not a unit: it equals the sum of the ten rows and is not stored.
        assert sum(f.denominator or 0 for f in qs05) == 11126
        assert (sum(f.numerator or 0 for f in qs05), sum(f.numerator or 0 for f in qs07)) == (10487, 9534)
        assert all(f.org.isdigit() for f in parsed.figures)
        assert parsed.figure_rows[:2] == [4, 5] and len(parsed.figure_rows) == 20

    def test_yichuang(self) -> None:
        parsed = parse_export(shipped("yichuang"), sample("yichuang_stats_2022-05.csv"), today=TODAY)
        assert (parsed.errors, parsed.warnings, parsed.encoding) == ([], [], "utf-8-sig")
        assert (parsed.rows_read, parsed.rows_skipped) == (6, 0)
        assert {f.indicator for f in parsed.figures} == {"QS-08"} and {f.date for f in parsed.figures} == {MAY}
        assert figures_by_org(parsed) == {
            "150204000000": (398, 491), "150204004000": (421, 503), "150204002000": (380, 469),
            "150204007000": (619, 655), "150204003000": (369, 377), "150204005000": (311, 371)}

    def test_haochaping(self) -> None:
        content = sample("haochaping_detail_2022-05-31.csv")
        parsed = parse_export(shipped("haochaping"), content, today=TODAY)
        assert (parsed.errors, parsed.warnings, parsed.encoding) == ([], [], "gb18030")
        assert (parsed.rows_read, parsed.rows_skipped, len(parsed.ratings)) == (40, 1, 40)
        assert Counter(r.org for r in parsed.ratings) == {
            "150204004000": 4, "150204002000": 6, "150204007000": 8, "150204003000": 4, "150204005000": 9,
            "150204001000": 9}
        assert Counter(r.level for r in parsed.ratings) == {5: 19, 4: 13, 3: 6, 2: 2}
        assert sum(r.named for r in parsed.ratings) == 31
        assert parsed.ratings[0] == RatingIn(
            "HCP20220531000001", "150204005000", "城乡居民养老保险参保登记", "自助终端", 5,
            datetime(2022, 5, 31, 14, 43, 40), True, "区人社局", "11150204MB7654321Y4000111300000")
        assert parsed.rating_rows[:2] == [3, 4]

    def test_haochaping_keeps_no_personal_data(self) -> None:
        content = sample("haochaping_detail_2022-05-31.csv")
        parsed = parse_export(shipped("haochaping"), content, today=TODAY)
        rows = list(csv.reader(io.StringIO(content.decode("gb18030"))))[2:]
        pii = {row[i] for row in rows if row for i in (11, 12, 14) if row[i]}
        assert {"杨*", "181****1200", "等待时间太长"} <= pii
        text = repr(parsed)
        assert [value for value in pii if value in text] == []

    def test_a_contact_typed_into_a_stored_text_column_is_masked(self) -> None:
        row = haochaping_row(1, "150204004000", "满意")
        row[4], row[5] = "养老保险登记(代办人13700001111)", "区人社局 经办 0472-5123456 身份证15020419900101123X"
        [rating] = parse_export(shipped("haochaping"), haochaping_csv([row]), today=TODAY).ratings
        assert (rating.service_item, rating.department) == ("养老保险登记(代办人***********)",
                                                           "区人社局 经办 ************ 身份证******************")


class TestMessyFigures:
    def test_gbk_title_line_blank_lines_full_width_and_thousands(self) -> None:
        rows = yichuang_rows([
            ("青山区政务服务中心", "150204000000", thousands(1491), thousands(1398, "，"), "93.76%"),
            ("富强路街道便民服务中心", "150204004000", full_width("503"), full_width("421"), full_width("83.70%")),
            ("幸福路街道便民服务中心 ", " 150204002000\u3000", "469 ", "380", " 81.02% "),
        ])
        rows.insert(2, [])
        rows = [[f'"{c}"' if "," in str(c) else c for c in row] for row in rows]
        parsed = yichuang(rows, encoding="gbk", title="青山区一窗综合受理情况（2022年5月）", trailing_blank=True)
        assert (parsed.errors, parsed.warnings, parsed.encoding) == ([], [], "gb18030")
        assert figures_by_org(parsed) == {"150204000000": (1398, 1491), "150204004000": (421, 503),
                                          "150204002000": (380, 469)}
        assert (parsed.rows_read, parsed.rows_skipped) == (3, 2)

    def test_other_column_order(self) -> None:
        header = list(reversed(YICHUANG_COLUMNS))
        rows = [header, ["81.06%", "398", "491", "150204000000", "青山区政务服务中心", "2022年5月"]]
        parsed = yichuang(rows, encoding="utf-8-sig")
        assert parsed.figures == [ObservationIn("QS-08", "150204000000", MAY, 398, 491, None)]

    def test_printed_rate_disagreement_is_a_warning(self) -> None:
        units = [("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "95.20%", "78.84%"),
                 ("2022-05-31", "150204002000", "幸福路街道", 1302, 1242, 1095, "95.39%", "84%")]
        parsed = parse_export(shipped("wangban"), wangban_xlsx(units), today=TODAY)
        assert parsed.errors == []
        assert parsed.warnings == [Problem("printed 95.20% but 1161/1281 = 90.63%", 4, "网上可办率")]
        assert len(parsed.figures) == 4  # the row is still accepted; the rate is never taken from print

    def test_total_rows_in_many_spellings(self) -> None:
        rows = yichuang_rows(HALLS)
        rows += [["", " 合 计 ", "", "1463", "1199", ""], ["总计：", "", "", "1463", "1199", ""],
                 ["", "全区小计", "", "1", "1", ""]]
        parsed = yichuang(rows)
        assert (len(parsed.figures), parsed.errors, parsed.rows_read, parsed.rows_skipped) == (3, [], 3, 3)

    def test_wangban_total_row_and_notes_are_skipped(self) -> None:
        units = [("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%"),
                 ("注：数据来源于一体化政务服务平台，制表人张三", None, None, None, None, None, None, None)]
        content = wangban_xlsx(units, total=("合计", None, None, 1281, 1161, 1010, "90.63%", "78.84%"))
        parsed = parse_export(shipped("wangban"), content, today=TODAY)
        assert (len(parsed.figures), parsed.errors, parsed.rows_read, parsed.rows_skipped) == (2, [], 1, 2)
        assert "张三" not in repr(parsed)

    def test_exact_duplicates_are_dropped_silently(self) -> None:
        rows = yichuang_rows([*HALLS, HALLS[0], HALLS[0]])
        parsed = yichuang(rows)
        assert (parsed.errors, len(parsed.figures), parsed.rows_read, parsed.rows_skipped) == ([], 3, 5, 2)
        assert parsed.duplicates == 2 and parsed.figure_rows == [2, 3, 4]

    def test_conflicting_duplicates_reject_both_rows(self) -> None:
        rows = yichuang_rows([*HALLS, ("青山区政务服务中心", "150204000000", 491, 399, "81.26%")])
        parsed = yichuang(rows)
        assert figures_by_org(parsed) == {"150204004000": (421, 503), "150204002000": (380, 469)}
        same = "same unit 150204000000 and date 2022-05-01, different values; both rows rejected"
        assert parsed.errors == [Problem(f"conflicts with row 5: {same}", 2, "区划代码"),
                                 Problem(f"conflicts with row 2: {same}", 5, "区划代码")]
        assert parsed.rows_rejected == 2

    def test_bad_unit_code_rejects_only_its_row(self) -> None:
        rows = yichuang_rows([HALLS[0], ("某中心", "1502040010", 1, 1, ""), ("某中心", "", 1, 1, ""),
                              ("某中心", "联系人13812345678", 1, 1, ""), HALLS[1]])
        parsed = yichuang(rows)
        assert figures_by_org(parsed) == {"150204000000": (398, 491), "150204004000": (421, 503)}
        assert parsed.errors == [Problem("'1502040010' is not a 12-digit division code", 3, "区划代码"),
                                 Problem("empty; every row needs its unit", 4, "区划代码"),
                                 # a phone number is never quoted (nor an ID number: test_clean)
                                 Problem("'联系人***********' is not a 12-digit division code", 5, "区划代码")]

    def test_bad_numbers_and_dates_name_row_and_column(self) -> None:
        rows = yichuang_rows(HALLS)
        rows += [["2022-05", "a", "150204007000", "655", "6l9", ""], ["2022-05", "b", "150204003000", "-1", "0", ""],
                 ["2022-05", "c", "150204005000", "", "311", ""], ["2022-13", "d", "150204001000", "1", "1", ""],
                 ["2022-07", "e", "150204006000", "1", "1", ""]]
        parsed = yichuang(rows)
        assert len(parsed.figures) == 3
        assert parsed.errors == [
            Problem("'6l9' is not a number", 5, "纳入综合窗口办理事项数"),
            Problem("'-1' is negative; counts cannot be below 0", 6, "依申请政务服务事项总数"),
            Problem("empty; a number is required", 7, "依申请政务服务事项总数"),
            Problem("'2022-13' is not a valid month", 8, "统计月份"),
            Problem("2022-07-01 is in the future (today is 2022-06-01)", 9, "统计月份"),
        ]

    def test_missing_column_fails_the_file(self) -> None:
        rows = [["统计月份", "区划代码", "依申请政务服务事项总数"], ["2022-05", "150204000000", "1"]]
        with pytest.raises(InvalidInput, match="missing columns 纳入综合窗口办理事项数; found: 统计月份, 区划代码"):
            yichuang(rows)

    def test_printed_rate_column_may_be_absent(self) -> None:
        rows = [row[:5] for row in yichuang_rows(HALLS)]
        parsed = yichuang(rows)
        assert len(parsed.figures) == 3
        message = "printed-rate column '一窗综合受理率' not found; printed rates are not checked"
        assert parsed.warnings == [Problem(message, 1, "一窗综合受理率")]


class TestSourceOptions:
    def test_date_from_file_name(self) -> None:
        config = source("yichuang", date={"from": "filename", "grain": "month"})
        rows = [row[1:] for row in yichuang_rows(HALLS)]
        parsed = parse_export(config, csv_bytes(rows), filename="yichuang_stats_2022-05.csv", today=TODAY)
        assert {f.date for f in parsed.figures} == {MAY} and len(parsed.figures) == 3
        with pytest.raises(InvalidInput, match="no date \\(YYYY-MM\\) found in the file name 'export.csv'"):
            parse_export(config, csv_bytes(rows), filename="export.csv", today=TODAY)

    def test_date_from_title_line(self) -> None:
        config = source("yichuang", date={"from": "title", "grain": "day"})
        rows = [row[1:] for row in yichuang_rows(HALLS)]
        content = csv_bytes(rows, title="青山区（150204）一窗受理统计（统计日期：2022年5月30日）")
        parsed = parse_export(config, content, today=TODAY)
        assert {f.date for f in parsed.figures} == {date(2022, 5, 30)}

    def test_unit_names_map(self) -> None:
        config = source("yichuang", unit={"name_column": "大厅名称", "names": {"青山区政务服务中心": "150204000000"}})
        rows = [[c for i, c in enumerate(row) if i != 2] for row in yichuang_rows(HALLS[:2])]
        parsed = parse_export(config, csv_bytes(rows), today=TODAY)
        assert figures_by_org(parsed) == {"150204000000": (398, 491)}
        message = ("unknown name '富强路街道便民服务中心'; add it to unit.names in sources.yaml "
                   "or as an alias of its unit")
        assert parsed.errors == [Problem(message, 3, "大厅名称")]

    def test_empty_names_map_passes_names_through(self) -> None:
        config = source("yichuang", unit={"name_column": "大厅名称"})
        parsed = parse_export(config, csv_bytes(yichuang_rows(HALLS[:1])), today=TODAY)
        assert [f.org for f in parsed.figures] == ["青山区政务服务中心"]

    def test_json_export(self) -> None:
        config = source("yichuang", format="json")
        records = [dict(zip(YICHUANG_COLUMNS, ["2022-05", *hall], strict=True)) for hall in HALLS]
        records[0]["依申请政务服务事项总数"] = 491.0
        parsed = parse_export(config, json.dumps({"data": records}, ensure_ascii=False).encode(), today=TODAY)
        assert figures_by_org(parsed)["150204000000"] == (398, 491) and parsed.errors == []


class TestRatings:
    def test_levels_named_and_bad_rows(self) -> None:
        rows = [haochaping_row(1, "150204004000", "非常满意"), haochaping_row(2, "150204004000", "3", named="匿名"),
                haochaping_row(3, "150204002000", "很好", phone="13912345678", person="王五"),
                haochaping_row(4, "150204002000", "不满意", named="", when="2022/5/31 8:05"),
                haochaping_row(5, "150204002000", "满意", named="也许", comment="请回电13800001111")]
        parsed = parse_export(shipped("haochaping"), haochaping_csv(rows), today=TODAY)
        assert [(r.rating_id[-1], r.level, r.named) for r in parsed.ratings] == [("1", 5, True), ("2", 3, False),
                                                                                 ("4", 2, False)]
        assert parsed.ratings[2].rated_at == datetime(2022, 5, 31, 8, 5)
        assert parsed.errors == [
            Problem("not a rating level; use 非常满意, 满意, 基本满意, 不满意, 非常不满意 or 1–5", 5, "评价等级"),
            Problem("not 是/否 (实名/匿名, Y/N, 1/0)", 7, "是否实名")]  # a ratings cell is never quoted
        text = repr(parsed)
        assert "13912345678" not in text and "王五" not in text and "13800001111" not in text

    def test_conflicting_rating_ids(self) -> None:
        first = haochaping_row(1, "150204004000", "满意")
        rows = [first, list(first), [*first[:9], "不满意", *first[10:]], haochaping_row(2, "150204004000", "满意")]
        parsed = parse_export(shipped("haochaping"), haochaping_csv(rows), today=TODAY)
        assert [r.rating_id for r in parsed.ratings] == ["HCP20220531000002"]
        assert [(p.row, p.field) for p in parsed.errors] == [(3, "评价编号"), (5, "评价编号")]
        assert parsed.errors[0].message.startswith("conflicts with row 5: same rating id (评价编号)")
        assert parsed.rows_skipped == 2  # the exact repeat and the trailing blank line

    def test_header_order_does_not_matter(self) -> None:
        order = list(reversed(range(len(HAOCHAPING_COLUMNS))))
        header = [HAOCHAPING_COLUMNS[i] for i in order]
        row = haochaping_row(1, "150204004000", "基本满意")
        content = csv_bytes([header, [row[i] for i in order]], encoding="utf-8-sig")
        parsed = parse_export(shipped("haochaping"), content, today=TODAY)
        assert [(r.org, r.level) for r in parsed.ratings] == [("150204004000", 3)]


class TestBrokenFiles:
    @pytest.mark.parametrize("source_id", ["wangban", "yichuang", "haochaping"])
    def test_random_bytes(self, source_id: str) -> None:
        with pytest.raises(InvalidInput):
            parse_export(shipped(source_id), bytes([0x80, 0xFF]) + os.urandom(3000), today=TODAY)

    def test_truncated_xlsx(self) -> None:
        content = wangban_xlsx([("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%")])
        with pytest.raises(InvalidInput, match="cannot read the export as XLSX"):
            parse_export(shipped("wangban"), content[: len(content) // 2], today=TODAY)

    def test_xlsx_served_as_csv(self) -> None:
        content = wangban_xlsx([("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%")])
        with pytest.raises(InvalidInput, match="cannot decode"):
            parse_export(shipped("yichuang"), content, today=TODAY)

    @pytest.mark.parametrize(("content", "message"), [
        (b"", "the export is empty: no rows at all"),
        (b"\xef\xbb\xbf", "the export is empty: no rows at all"),
        ("<html>服务维护中</html>".encode(), "no header row found"),
    ])
    def test_no_header(self, content: bytes, message: str) -> None:
        with pytest.raises(InvalidInput, match=message):
            parse_export(shipped("yichuang"), content, today=TODAY)


@pytest.mark.slow
def test_a_large_export_parses_whole_across_its_chunks() -> None:
    # Several CHUNK_ROWS chunks: every row comes out once, with its own file row number. (Speed is make bench's.)
    lines = [",".join(YICHUANG_COLUMNS)]
    lines += [f"2022-05,大厅{i},{150200000000 + i:012d},{1000 + i % 900},{900 + i % 97},"
              f"{100 * (900 + i % 97) / (1000 + i % 900):.2f}%" for i in range(120_000)]
    content = "\r\n".join(lines).encode("gb18030")
    parsed = parse_export(shipped("yichuang"), content, today=TODAY)
    assert (len(parsed.figures), parsed.errors, parsed.warnings) == (120_000, [], [])
    assert parsed.figure_rows == list(range(2, 120_002))
    assert parsed.figures[-1].org == f"{150200000000 + 119_999:012d}"


class TestExplicitSettings:
    def test_a_header_row_far_below_the_search_window(self) -> None:
        preamble = [[f"说明第{i}行"] for i in range(150)]
        config = source("yichuang", header_row=152)
        parsed = parse_export(config, csv_bytes([*preamble, *yichuang_rows(HALLS)], title="标题"), today=TODAY)
        assert (len(parsed.figures), parsed.figure_rows, parsed.errors) == (3, [153, 154, 155], [])

    def test_named_encoding_and_header_row(self) -> None:
        config = source("yichuang", encoding="gbk", header_row=3)
        rows = [["说明：统计日期", "区划代码"], *yichuang_rows(HALLS)]
        parsed = parse_export(config, csv_bytes(rows, encoding="gbk", title="标题"), today=TODAY)
        assert (parsed.encoding, len(parsed.figures), parsed.figure_rows) == ("gb18030", 3, [4, 5, 6])

    def test_value_column_for_a_count_indicator(self) -> None:
        config = source("yichuang", figures=[{"indicator": "QS-99", "value": "依申请政务服务事项总数"}])
        parsed = parse_export(config, csv_bytes(yichuang_rows(HALLS[:1])), today=TODAY)
        assert parsed.figures == [ObservationIn("QS-99", "150204000000", MAY, None, None, 491.0)]


def workbook(sheets: Sequence[tuple[str, Sequence[Sequence[object]], str]]) -> bytes:
    """An XLSX of several sheets: (name, rows, state), state "visible" or "hidden"."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows, state in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
        sheet.sheet_state = state
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class TestExportsNotSeenBefore:
    """Layouts of the same families found by a blind probe (stop 18): each read exactly, or refused saying why."""

    def test_cells_kept_as_text_for_a_spreadsheet(self) -> None:
        # ="…" keeps Excel from turning a 12-digit code into 1.50204E+11; a leading ' does the same by hand.
        rows = [YICHUANG_COLUMNS, ["2022-05", "富强路街道便民服务中心", '="150204004000"', '="503"', "421", "83.70%"],
                ["2022-05", "幸福路街道便民服务中心", "'150204002000", "469", "'380", "81.02%"]]
        parsed = yichuang(rows)
        assert parsed.errors == []
        assert figures_by_org(parsed) == {"150204004000": (421, 503), "150204002000": (380, 469)}

    def test_a_code_a_spreadsheet_turned_into_a_number_says_so(self) -> None:
        parsed = yichuang([YICHUANG_COLUMNS, ["2022-05", "富强路街道便民服务中心", "1.50204E+11", "503", "421", ""]])
        [error] = parsed.errors
        assert "dropped its digits; export the column as text" in error.message and error.field == "区划代码"

    def test_the_visible_data_sheet_is_read_not_a_hidden_or_notes_sheet(self) -> None:
        data = yichuang_rows(HALLS[:2])
        raw = yichuang_rows([(n, c, total + 100, part, "") for n, c, total, part, _ in HALLS[:2]])
        content = workbook([("原始数据", raw, "hidden"), ("填报说明", [["注：本表由各大厅填报"]], "visible"),
                            ("统计", data, "visible")])
        parsed = parse_export(source(format="xlsx"), content, today=TODAY)
        assert figures_by_org(parsed) == {"150204000000": (398, 491), "150204004000": (421, 503)}

    def test_two_sheets_of_figures_are_refused_not_half_read(self) -> None:
        content = workbook([("街道", yichuang_rows(HALLS[:1]), "visible"), ("镇", yichuang_rows(HALLS[1:]), "visible")])
        with pytest.raises(InvalidInput, match="the sheets 街道、镇 both hold a table"):
            parse_export(source(format="xlsx"), content, today=TODAY)

    def test_an_unquoted_thousands_separator_rejects_its_row(self) -> None:
        # "1,281" unquoted splits into two cells: 纳入 = 1, 总数 = 281 was stored (and 1/281 kept).
        rows = [*yichuang_rows(HALLS[:1]), ["2022-05", "富强路街道便民服务中心", "150204004000", "1,281", "421", ""]]
        parsed = yichuang(rows)
        assert figures_by_org(parsed) == {"150204000000": (398, 491)}
        assert [(p.row, p.message[:40]) for p in parsed.errors] == [(3, "row rejected unread: it has 7 cells wher")]

    def test_note_rows_are_skipped_and_never_quoted(self) -> None:
        rows = [*yichuang_rows(HALLS[:2]), ["制表人：张三丰", "", "联系电话：13812345678", "", "", ""],
                ["审核人: 李四", "导出时间：2022-06-01 08:00"]]
        parsed = yichuang(rows)
        assert figures_by_org(parsed) == {"150204000000": (398, 491), "150204004000": (421, 503)}
        assert (parsed.errors, parsed.rows_rejected, parsed.rows_skipped) == ([], 0, 2)

    def test_a_header_repeated_on_every_page_is_skipped(self) -> None:
        rows = [*yichuang_rows(HALLS[:1]), YICHUANG_COLUMNS, *yichuang_rows(HALLS[1:])[1:]]
        parsed = yichuang(rows)
        assert len(parsed.figures) == 3 and parsed.errors == [] and parsed.rows_skipped == 1

    @pytest.mark.parametrize(("sep", "codec"), [("\t", "utf-16"), (";", "utf-16"), ("\t", "utf-16-le"),
                                                 (",", "utf-16-be")])
    def test_tab_or_semicolon_separated(self, sep: str, codec: str) -> None:
        # Excel's "Unicode text" is UTF-16 with a tab; a platform may write it without the BOM (-le / -be).
        lines = [sep.join(map(str, row)) for row in yichuang_rows(HALLS)]
        content = ("青山区一窗受理情况\r\n" + "\r\n".join(lines) + "\r\n").encode(codec)
        parsed = parse_export(shipped("yichuang"), content, today=TODAY)
        assert parsed.errors == [] and figures_by_org(parsed)["150204002000"] == (380, 469)

    def test_headers_with_their_unit_in_brackets(self) -> None:
        header = [c if c in ("统计月份", "大厅名称", "区划代码") else c + ("（%）" if "率" in c else "（个）")
                  for c in YICHUANG_COLUMNS]
        parsed = yichuang([header, *yichuang_rows(HALLS)[1:]])
        assert parsed.errors == [] and figures_by_org(parsed)["150204004000"] == (421, 503)

    def test_metadata_lines_above_the_header_are_not_taken_for_it(self) -> None:
        rows = [["统计月份", "2022-05"], ["导出单位", "青山区政务服务局"], ["导出时间", "2022-06-01 08:00"],
                *yichuang_rows(HALLS)]
        parsed = yichuang(rows)
        assert parsed.errors == [] and len(parsed.figures) == 3

    @pytest.mark.parametrize(("cells", "read"), [
        ({"评价等级": "非常满意（5分）"}, (5, True)), ({"评价等级": "4星"}, (4, True)),
        ({"评价等级": "2分"}, (2, True)),
        ({"评价时间": "2022年5月31日 10时05分"}, (4, True)), ({"是否实名": "匿名评价"}, (4, False)),
        ({"是否实名": "非实名"}, (4, False)), ({"是否实名": "实名评价"}, (4, True)),
        ({"评价等级": "满意（5分）"}, None), ({"评价等级": "6分"}, None), ({"评价等级": "好评"}, None),
    ])
    def test_ratings_levels_times_and_naming_as_platforms_print_them(self, cells: dict, read: tuple | None) -> None:
        row = haochaping_row(1, "150204004000", "满意")
        for column, text in cells.items():
            row[HAOCHAPING_COLUMNS.index(column)] = text
        parsed = parse_export(shipped("haochaping"), haochaping_csv([row]), today=TODAY)
        if read is None:  # its label and points disagree, a sixth level, or two levels for five: not guessed
            assert parsed.ratings == [] and [e.field for e in parsed.errors] == ["评价等级"]
            return
        [rating] = parsed.ratings
        assert (rating.level, rating.named) == read and parsed.errors == []
        assert rating.rated_at.date() == date(2022, 5, 31)

    def test_a_ratings_export_without_its_optional_columns(self) -> None:
        dropped = [HAOCHAPING_COLUMNS.index(c) for c in ("事项编码", "实施部门", "是否实名")]
        keep = [i for i in range(len(HAOCHAPING_COLUMNS)) if i not in dropped]
        rows = [HAOCHAPING_COLUMNS, haochaping_row(1, "150204004000", "不满意")]
        content = csv_bytes([[row[i] for i in keep] for row in rows], encoding="gb18030")
        parsed = parse_export(shipped("haochaping"), content, today=TODAY)
        [rating] = parsed.ratings
        assert (rating.level, rating.department, rating.item_code, rating.named) == (2, None, None, False)
        assert [w.field for w in parsed.warnings] == ["事项编码", "实施部门", "是否实名"]
