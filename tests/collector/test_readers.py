"""Reading CSV/XLSX/JSON into cells with file row numbers, and finding (stacked, merged) headers."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import pytest

from services.collector.readers import (
    NUL_ROW,
    BadRow,
    Table,
    cell_text,
    find_header,
    iter_rows,
    read_csv,
    read_json,
    read_table,
    read_xlsx,
)
from shared.core.errors import InvalidInput
from tests.collector.exports import SAMPLES, WANGBAN_COLUMNS, csv_bytes, wangban_xlsx, xlsx_bytes

WANGBAN_NEEDS = {"统计日期", "区划代码", "事项总数", "网上可办事项数", "全程网办事项数"}


class TestNul:
    def test_a_row_with_a_nul_character_is_rejected_unread_the_rest_read(self) -> None:
        # Past the first megabyte (where the codec is chosen and NUL means binary) a NUL reached the cells, and a
        # ratings write then failed whole with a DataError (issue 9, hostile corpus).
        text = "a,b\r\n1,2\r\n3,\x004\r\n\"5\n\x00\",6\r\n7,8\r\n"
        rows = read_csv(text).rows
        assert [(n, list(c)) for n, c in rows if not isinstance(c, BadRow)] == [(1, ["a", "b"]), (2, ["1", "2"]),
                                                                                  (6, ["7", "8"])]
        assert [(n, c.reason) for n, c in rows if isinstance(c, BadRow)] == [(3, NUL_ROW), (4, NUL_ROW)]


class TestCsv:
    def test_crlf_quotes_and_row_numbers(self) -> None:
        text = 'title\r\na,b\r\n"1,5","x"\r\n\r\n"multi\r\nline",2\r\nlast,3\r\n'
        table = read_csv(text)
        assert table.rows == [(1, ["title"]), (2, ["a", "b"]), (3, ["1,5", "x"]), (4, []),
                              (5, ["multi\r\nline", "2"]), (7, ["last", "3"])]

    def test_fast_path_numbers_every_line(self) -> None:
        assert read_csv("\ufeffa,b\n1,2\n\n3,4\n").rows == [(1, ["a", "b"]), (2, ["1", "2"]), (3, []), (4, ["3", "4"])]

    def test_unterminated_quote_is_unreadable(self) -> None:
        with pytest.raises(InvalidInput, match="cannot read the export as CSV"):
            read_csv('a,b\n"1,2\n' + "x" * 200_000)

    def test_read_table_decodes_gbk(self) -> None:
        content = csv_bytes([["区划代码", "事项总数"], ["150204004000", '"1,281"']], encoding="gbk", title="标题")
        table, used = read_table(content, "csv")
        assert used == "gb18030"
        assert table.rows == [(1, ["标题"]), (2, ["区划代码", "事项总数"]), (3, ["150204004000", "1,281"])]


class TestXlsx:
    def test_merged_title_and_header_cells_are_filled(self) -> None:
        content = wangban_xlsx([("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%")])
        rows = read_xlsx(content).rows
        assert rows[0] == (1, ["青山区政务服务事项网办情况统计表（2022-05-31）"] * 8)
        assert rows[1] == (2, ["统计日期", "区划代码", "区划名称", "事项情况", "事项情况", "事项情况", "比率", "比率"])
        assert rows[2] == (3, ["统计日期", "区划代码", "区划名称", *WANGBAN_COLUMNS[3:]])
        assert rows[3] == (4, ["2022-05-31", "150204004000", "富强路街道", "1281", "1161", "1010", "90.63%", "78.84%"])

    def test_values_as_text(self) -> None:
        content = xlsx_bytes([["a", "b", "c", "d", "e"], [1281, 0.9063, date(2022, 5, 31),
                                                         datetime(2022, 5, 31, 14, 43, 40), 150204004000]])
        expected = ["1281", "0.9063", "2022-05-31", "2022-05-31 14:43:40", "150204004000"]
        assert read_xlsx(content).rows[1] == (2, expected)

    def test_leading_empty_rows_keep_file_row_numbers(self) -> None:
        rows = read_xlsx(xlsx_bytes([["区划代码", "事项总数"], ["150204004000", 5]], start_row=4)).rows
        assert rows[3] == (4, ["区划代码", "事项总数"])
        assert rows[4] == (5, ["150204004000", "5"])

    def test_sample(self) -> None:
        path = SAMPLES / "wangban_stats_2022-05-31.xlsx"
        rows = read_xlsx(path.read_bytes()).rows
        assert len(rows) == 14
        assert rows[13] == (14, ["合计", "", "", "11126", "10487", "9534", "94.26%", "85.69%"])

    @pytest.mark.parametrize("cut", [0.5, 0.9])
    def test_truncated_file(self, cut: float) -> None:
        content = wangban_xlsx([("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%")])
        with pytest.raises(InvalidInput, match="cannot read the export as XLSX"):
            read_xlsx(content[: int(len(content) * cut)])

    @pytest.mark.parametrize(("content", "hint"), [
        ("区划代码,事项总数\n150204004000,5\n".encode("gb18030"), "it reads as CSV text: set format: csv"),
        (json.dumps([{"区划代码": "150204004000"}]).encode(), "it reads as JSON text: set format: json"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "an old .xls workbook: save it as .xlsx"),
    ], ids=["csv", "json", "xls"])
    def test_not_a_spreadsheet_says_what_it_is(self, content: bytes, hint: str) -> None:
        with pytest.raises(InvalidInput, match="cannot read the export as XLSX") as caught:
            read_table(content, "xlsx")
        assert hint in caught.value.message


class TestJson:
    def test_list_of_objects(self) -> None:
        records = [{"区划代码": "150204004000", "事项总数": 1281.0, "备注": None},
                   {"区划代码": "150204002000", "事项总数": 3, "extra": True}]
        rows = read_json(json.dumps(records, ensure_ascii=False)).rows
        assert rows == [(0, ["区划代码", "事项总数", "备注", "extra"]),
                        (1, ["150204004000", "1281", "", ""]), (2, ["150204002000", "3", "", "true"])]

    @pytest.mark.parametrize("key", ["data", "rows", "records", "list", "items"])
    def test_wrapped(self, key: str) -> None:
        assert read_json(json.dumps({"total": 1, key: [{"a": 1}]})).rows == [(0, ["a"]), (1, ["1"])]

    @pytest.mark.parametrize("doc", [
        {"code": 0, "msg": "success", "data": {"total": 1, "list": [{"a": 1}]}},
        {"success": True, "result": {"rows": [{"a": 1}]}},
        {"code": 200, "data": {"result": {"records": [{"a": 1}]}}},
    ])
    def test_wrapped_in_a_platform_api_envelope(self, doc: dict) -> None:
        assert read_json(json.dumps(doc)).rows == [(0, ["a"]), (1, ["1"])]

    @pytest.mark.parametrize("doc", [
        {"columns": ["a", "b"], "rows": [[1, "x"], [2.5, None]]},
        {"code": 0, "data": {"fields": ["a", "b"], "values": [[1, "x"], [2.5, None]]}},
    ])
    def test_columns_and_rows(self, doc: dict) -> None:
        assert read_json(json.dumps(doc)).rows == [(0, ["a", "b"]), (1, ["1", "x"]), (2, ["2.5", ""])]

    @pytest.mark.parametrize("doc", ['{"a": 1}', "[1, 2]", '"x"', "{broken"])
    def test_not_records(self, doc: str) -> None:
        with pytest.raises(InvalidInput, match="cannot read the export as JSON"):
            read_json(doc)


    @pytest.mark.parametrize(("doc", "says"), [
        ('[{"区划代码": "150204004000", "事项总数": 5, "区划代码": "150202001000"}]', "the key '区划代码' twice"),
        ('[{"事项总数": 1' + "0" * 5000 + "}]", "thousands of digits"),  # was a ValueError: an 'internal' failure
        ("[" * 100_000 + "]" * 100_000, "nested thousands of levels"),  # was a RecursionError
    ], ids=["a key twice in a record", "a 5001-digit number", "100,000 levels deep"])
    def test_malformed_documents_are_unreadable_exports(self, doc: str, says: str) -> None:
        with pytest.raises(InvalidInput, match="cannot read the export as JSON") as err:
            read_json(doc)
        assert says in err.value.message


class TestCellText:
    @pytest.mark.parametrize(
        ("value", "text"),
        [(1281.0, "1281"), (90.63, "90.63"), (None, ""), (True, "true"), (7, "7"), (date(2022, 5, 1), "2022-05-01"),
         ("x", "x"), (1e16, "10000000000000000")],
    )
    def test_cells(self, value: object, text: str) -> None:
        assert cell_text(value) == text


class TestFindHeader:
    def table(self, *rows: list[str]) -> Table:
        return Table([(i + 1, list(r)) for i, r in enumerate(rows)])

    def test_stacked_merged_header(self) -> None:
        content = wangban_xlsx([("2022-05-31", "150204004000", "富强路街道", 1281, 1161, 1010, "90.63%", "78.84%")])
        header = find_header(read_xlsx(content), WANGBAN_NEEDS, "auto", {"网上可办率"})
        assert (header.row, header.start, header.data_start) == (3, 1, 3)
        assert header.columns == {"统计日期": 0, "区划代码": 1, "事项总数": 3, "网上可办事项数": 4, "全程网办事项数": 5,
                                  "网上可办率": 6}

    def test_column_order_and_spacing_do_not_matter(self) -> None:
        table = self.table(["标题"], ["事项 总数", "区划代码\u3000", "ｘ"], ["1", "150204004000", ""])
        header = find_header(table, {"区划代码", "事项总数"})
        assert header.columns == {"区划代码": 1, "事项总数": 0} and header.data_start == 2

    def test_explicit_header_row(self) -> None:
        table = self.table(["区划代码", "x"], ["区划代码", "事项总数"], ["150204004000", "1"])
        assert find_header(table, {"区划代码", "事项总数"}, 2).columns == {"区划代码": 0, "事项总数": 1}

    def test_header_row_beyond_the_file(self) -> None:
        with pytest.raises(InvalidInput, match="header_row 9 is beyond the end"):
            find_header(self.table(["a"]), {"a"}, 9)

    def test_missing_columns_are_named_with_what_was_found(self) -> None:
        table = self.table(["区划代码", "事项数"], ["150204004000", "1"], ["1", "2"], ["3", "4"])
        with pytest.raises(InvalidInput) as caught:
            find_header(table, {"区划代码", "事项总数", "全程网办事项数"})
        # Rows holding bare numbers are data, never stacked into the header's labels.
        assert caught.value.message == "missing columns 事项总数, 全程网办事项数; found: 区划代码, 事项数"
        assert [(p.field, p.row) for p in caught.value.details] == [("事项总数", 1), ("全程网办事项数", 1)]

    def test_no_header_at_all(self) -> None:
        with pytest.raises(InvalidInput, match="no header row found"):
            find_header(self.table(["x", "y"], ["1", "2"]), {"区划代码"})

    def test_duplicate_header(self) -> None:
        with pytest.raises(InvalidInput, match="duplicate header '区划代码' in columns 1, 3"):
            find_header(self.table(["区划代码", "事项总数", "区划代码"]), {"区划代码", "事项总数"})

    def test_unused_duplicates_are_fine(self) -> None:
        header = find_header(self.table(["区划代码", "备注", "备注"]), {"区划代码"})
        assert header.columns == {"区划代码": 0}


class TestStreaming:
    """iter_rows reads a stream block by block; a line or a character cut at a block edge comes out whole."""

    def test_rows_and_numbers_survive_any_block_edge(self, monkeypatch) -> None:
        from services.collector import decode as decoding

        text = '标题\r\n区划代码,名称\r\n150204004000,"富强路\r\n街道"\r\n150204002000,幸福路街道\r\n'
        expected = [(1, ["标题"]), (2, ["区划代码", "名称"]), (3, ["150204004000", "富强路\r\n街道"]),
                    (5, ["150204002000", "幸福路街道"])]
        for encoding in ("utf-8", "gb18030"):
            content = text.encode(encoding)
            for block in range(1, 12):  # every edge: inside a character, between \r and \n, inside quotes
                monkeypatch.setattr(decoding, "PROBE", block)
                rows, used = iter_rows(io.BytesIO(content), "csv")
                assert list(rows) == expected, (encoding, block)

    def test_a_date_merged_down_the_data_rows_belongs_to_each_of_them(self) -> None:
        content = xlsx_bytes(
            [["统计日期", "区划代码"], ["2022-05-31", "150204004000"], [None, "150204002000"], [None, "150204007000"],
             ["2022-06-01", "150204004000"]],
            merges=["A2:A4"],
        )
        rows, _ = iter_rows(io.BytesIO(content), "xlsx")
        assert [cells[0] for _, cells in rows] == ["统计日期", "2022-05-31", "2022-05-31", "2022-05-31", "2022-06-01"]

    def test_xlsx_left_empty_columns_are_kept(self) -> None:
        content = xlsx_bytes([["区划代码", "事项总数"], ["150204004000", 5]], start_row=2, start_col=3)
        rows, _ = iter_rows(io.BytesIO(content), "xlsx")
        assert list(rows)[1:] == [(2, ["", "", "区划代码", "事项总数"]), (3, ["", "", "150204004000", "5"])]
