"""Export bytes → a table of string cells with file row numbers, and header detection over it.

CSV, XLSX (python-calamine, merged cells filled) and JSON; no cleaning of values or mapping to fields here.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import chain, islice
from typing import Any, BinaryIO

from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from services.collector import clean
from services.collector.clean import compact
from services.collector.decode import open_text
from shared.core.errors import InvalidInput, Problem

_MAX_STACK = 3            # header rows stacked under one another (wangban: 事项情况 over 事项总数)
_MAX_HEADER_SEARCH = 100  # a header further down than this is not a header (and garbage fails fast)
HEAD_ROWS = _MAX_HEADER_SEARCH + _MAX_STACK  # rows a reader of a stream keeps to find the header in
_JSON_KEYS = ("data", "result", "rows", "records", "list", "items")
_JSON_COLUMNS, _JSON_ROWS = ("columns", "fields", "header"), ("rows", "data", "values")
_DATA_CELL = re.compile(r"[\d.,%:/+\-]+")


@dataclass(slots=True)
class Table:
    """Rows as (1-based file row number, cells as strings); for JSON the number is the record's index."""

    rows: list[tuple[int, list[str]]]


@dataclass(slots=True)
class Header:
    """Where the header ended and which column index each wanted name lives at."""

    row: int                 # file row number of the (last) header row
    start: int               # index into Table.rows of the first header row (rows above are titles)
    data_start: int          # index into Table.rows of the first row after the header
    columns: dict[str, int]  # wanted name (as configured) → column index
    width: int


Row = tuple[int, list[str]]


def read_table(content: bytes, fmt: str, encoding: str = "auto") -> tuple[Table, str]:
    """Read a whole export of format csv, xlsx or json; returns the table and the text encoding used."""
    rows, used = iter_rows(io.BytesIO(content), fmt, encoding)
    return Table(list(rows)), used


def iter_rows(stream: BinaryIO, fmt: str, encoding: str = "auto", *, limits: ExportLimits | None = None,
              names: Iterable[str] = ()) -> tuple[Iterator[Row], str]:
    """The export's rows one by one, and the text encoding used ("binary" for XLSX). CSV is read as it streams;
    an XLSX sheet is read by calamine at once (compact, in Rust) and a JSON document whole, both within `limits`.
    `names`: the columns the source reads, by which a workbook's data sheet is told from the others."""
    if fmt == "xlsx":
        return _xlsx_rows(stream, limits or ExportLimits(), frozenset(map(compact, names))), "binary"
    if fmt == "json":
        _check_json_size(stream, limits or ExportLimits())
    blocks, used = open_text(stream, encoding)
    if fmt == "csv":
        return _csv_rows(_lines(blocks)), used
    if fmt == "json":
        return iter(read_json("".join(blocks)).rows), used
    raise InvalidInput(f"unknown format {fmt!r}; use csv, xlsx or json", [Problem("unknown", field="format")])


def read_csv(text: str) -> Table:
    return Table(list(_csv_rows(_lines(iter([text])))))


def _lines(blocks: Iterator[str]) -> Iterator[str]:
    """Lines with their endings (\n, \r\n or \r, as csv wants them) from text blocks cut anywhere."""
    carry = ""
    for block in blocks:
        lines = io.StringIO(carry + block, newline="").readlines()
        # The last line may go on in the next block (also a "\r" whose "\n" comes next).
        carry = lines.pop() if lines and (not lines[-1].endswith("\n")) else ""
        yield from lines
    if carry:
        yield carry


class BadRow(list[str]):
    """A row the reader could not split into cells (a cell over the CSV field limit): no cells, and why. The
    mapping rejects it with its row number; the rows after it are read as usual."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


NUL_ROW = "a cell holds a NUL character (\\x00), which no text may; row rejected unread"
CSV_CELL_LIMIT = csv.field_size_limit()  # 131,072 characters: far beyond any real cell


def _csv_rows(lines: Iterator[str]) -> Iterator[Row]:
    first = next(lines, None)
    if first is None:
        return
    nul = [False]  # a NUL character in the lines of the record being read (past the first megabyte: see decode)

    def noted(text: Iterator[str]) -> Iterator[str]:
        for each in text:
            if "\x00" in each:
                nul[0] = True
            yield each

    head = [first.removeprefix("\ufeff"), *islice(lines, _MAX_HEADER_SEARCH - 1)]
    reader = csv.reader(noted(chain(head, lines)), delimiter=_delimiter(head))
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" not in str(exc) or reader.line_num > line:
                # Over several lines it is an unclosed quote swallowing the rows below: they cannot be counted.
                raise _unreadable("CSV", f"line {line}: malformed (an unclosed or stray quote)") from None
            # The reader drops the rest of that line and goes on: one over-long cell costs its row, not the run.
            cells = BadRow(f"a cell is longer than {CSV_CELL_LIMIT:,} characters; row rejected unread")
        if nul[0]:
            # No database text holds NUL: the row goes, not the run (nor a DataError at the write).
            nul[0] = False
            cells = BadRow(NUL_ROW)
        yield line, cells
        # line_num counts physical lines read, so a quoted field spanning lines keeps numbers right.
        line = reader.line_num + 1


def _delimiter(head: list[str]) -> str:
    """The separator: a tab or ";" when some of the first lines has two or more of it and no line as many
    commas (Excel's "Unicode text" export is tab-separated), else ","."""
    def most(sep: str) -> int:
        return max((line.count(sep) for line in head), default=0)
    commas = most(",")
    for sep in ("\t", ";"):
        if most(sep) >= 2 and most(sep) > commas:
            return sep
    return ","


@dataclass(frozen=True, slots=True)
class ExportLimits:
    """What an export may unpack to or be (defaults: those of SCORECARD_COLLECTOR__XLSX_* and __JSON_MAX_MB): an
    XLSX sheet and a JSON document are read whole, unlike a CSV."""

    max_unpacked_mb: int = 200
    max_ratio: int = 100
    max_rows: int = 1_000_000
    json_max_mb: int = 50


_RATIO_FROM = 1 << 20  # parts smaller than this unpacked are never a threat, whatever their ratio


def read_xlsx(content: bytes) -> Table:
    return Table(list(_xlsx_rows(io.BytesIO(content), ExportLimits())))


def check_xlsx(stream: BinaryIO, limits: ExportLimits) -> None:
    """Refuse a workbook that would unpack past the limits, before any of it is unpacked: calamine holds the whole
    sheet, so a 1 MB file unpacking to 1 GB would take a gigabyte. The zip's declared sizes are checked here;
    a part whose data unpacks to more than it declares fails its CRC when read, so the declaration cannot lie."""
    try:
        parts = zipfile.ZipFile(stream).infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip at all: calamine says it cannot read it
    finally:
        stream.seek(0)
    total = sum(p.file_size for p in parts)
    if total > limits.max_unpacked_mb << 20:
        raise _too_big(f"the XLSX export unpacks to {total >> 20:,} MB, more than the {limits.max_unpacked_mb} MB "
                       "limit (SCORECARD_COLLECTOR__XLSX_MAX_UNPACKED_MB); refused unopened")
    for p in parts:
        if p.file_size > _RATIO_FROM and p.file_size > limits.max_ratio * max(p.compress_size, 1):
            ratio = p.file_size // max(p.compress_size, 1)
            raise _too_big(f"the XLSX part {p.filename} unpacks {ratio:,}× its packed size, more than the "
                           f"{limits.max_ratio}× limit (SCORECARD_COLLECTOR__XLSX_MAX_RATIO; real sheets pack "
                           "about 15×); refused unopened")


def _what_it_is(stream: BinaryIO) -> str:
    """A hint when an XLSX source sent something else: a platform that switched its export to CSV or JSON."""
    stream.seek(0)
    head = stream.read(4096)
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # the old binary .xls
        return "; it is an old .xls workbook: save it as .xlsx"
    if head.startswith(b"PK") or b"\x00" in head:  # a zip, or binary: nothing to say about it
        return ""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \r\n")  # its ASCII is all this looks at
    kind = "JSON" if text[:1] in ("{", "[") else "CSV" if "," in text or "\t" in text else None
    if kind is None:
        return ""
    return f"; it reads as {kind} text: set format: {kind.lower()} in sources.yaml if the platform now sends that"


def _check_json_size(stream: BinaryIO, limits: ExportLimits) -> None:
    """Refuse a JSON export too large to read whole (it takes ~4× its size in memory) before reading it."""
    at = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(at)
    if size > limits.json_max_mb << 20:
        raise _too_big(f"the JSON export is {size / (1 << 20):,.1f} MB, more than the {limits.json_max_mb} MB limit "
                       "for JSON exports, which are read whole (SCORECARD_COLLECTOR__JSON_MAX_MB); nothing was read "
                       "— ask the platform for CSV, or raise the limit if the machine has the memory")


def _too_big(message: str) -> InvalidInput:
    return InvalidInput(message, [Problem(message, field="format")])


def _xlsx_rows(stream: BinaryIO, limits: ExportLimits, names: frozenset[str] = frozenset()) -> Iterator[Row]:
    check_xlsx(stream, limits)
    try:
        sheet = _data_sheet(CalamineWorkbook.from_filelike(stream), names)
        merged = sheet.merged_cell_ranges or []
        left = (sheet.start or (0, 0))[1]
        rows = sheet.iter_rows()
    except InvalidInput:
        raise
    except Exception:  # calamine raises several types for broken zips and sheets; their text is the library's
        raise _unreadable("XLSX", "not a readable workbook (broken, truncated or encrypted, or not XLSX)"
                          + _what_it_is(stream)) from None
    # Positions are absolute (row numbers, merged ranges). iter_rows starts at the sheet's first row but at its
    # first used column, so the empty columns on the left are put back.
    spans = _merged_by_row(merged)
    pad = [""] * left
    carried: dict[int, tuple[str, int]] = {}  # column → (text, last row) of a merged range over this row
    too_many = (f"the XLSX sheet has more than {limits.max_rows:,} rows (SCORECARD_COLLECTOR__XLSX_MAX_ROWS); "
                "nothing was written")
    if (getattr(sheet, "height", 0) or 0) > limits.max_rows:
        raise _too_big(too_many)
    for number, values in enumerate(rows, 1):
        if number > limits.max_rows:
            raise _too_big(too_many)
        cells = pad + [cell_text(v) for v in values]
        _fill_merged_row(cells, number - 1, spans, carried)
        yield number, cells


def _data_sheet(book: CalamineWorkbook, names: frozenset[str]) -> CalamineSheet:
    """The sheet to read: the visible worksheet whose first rows name a column the source reads (a hidden sheet —
    raw data, a lookup list — is never it, nor a 填报说明 sheet before the table); the first visible one when
    none does (the header search then says what is missing). Two such sheets: refused, since reading one would
    drop the other's rows unseen."""
    visible = [m.name for m in book.sheets_metadata
               if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet]
    if len(visible) <= 1 or not names:
        return book.get_sheet_by_name(visible[0]) if visible else book.get_sheet_by_index(0)
    sheets = [book.get_sheet_by_name(name) for name in visible]
    tables = [sheet for sheet in sheets if any(
        cell and not names.isdisjoint(clean.label_forms(compact(cell_text(cell))))
        for row in islice(sheet.iter_rows(), _MAX_HEADER_SEARCH + _MAX_STACK) for cell in row)]
    if len(tables) > 1:
        both = "、".join(sheet.name for sheet in tables)
        raise _unreadable("XLSX", f"the sheets {both} both hold a table of the columns read; the collector reads one "
                                  "sheet: export the figures on one sheet (or hide the others)")
    return tables[0] if tables else sheets[0]


def _merged_by_row(merged: list[tuple[tuple[int, int], tuple[int, int]]]) -> dict[int, list[tuple[int, int, int]]]:
    """Merged ranges by their first row: (first column, last column, last row)."""
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for (r0, c0), (r1, c1) in merged:
        spans.setdefault(r0, []).append((c0, c1, r1))
    return spans


def _fill_merged_row(cells: list[str], r: int, spans: dict[int, list[tuple[int, int, int]]],
                     carried: dict[int, tuple[str, int]]) -> None:
    """A merged cell's text belongs to every cell it spans (a header over several columns, or rows)."""
    for c0, c1, r1 in spans.get(r, ()):
        value = cells[c0] if c0 < len(cells) else ""
        for c in range(c0, c1 + 1):
            carried[c] = (value, r1)
    for c, (value, last) in list(carried.items()):
        if last < r:
            del carried[c]
            continue
        if len(cells) <= c:
            cells.extend([""] * (c + 1 - len(cells)))
        cells[c] = value


def read_json(text: str) -> Table:
    try:
        doc = json.loads(text, object_pairs_hook=_one_value_per_key)
    except json.JSONDecodeError as exc:
        raise _unreadable("JSON", f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except _RepeatedKey as exc:
        raise _unreadable("JSON", f"an object gives the key {exc.key!r} twice: which value is meant?") from None
    except ValueError:  # Python refuses integers of over 4,300 digits
        raise _unreadable("JSON", "a number of thousands of digits, which no figure has") from None
    except RecursionError:
        raise _unreadable("JSON", "nested thousands of levels deep; a table of records is two") from None
    # The records, also one envelope down: {"code": 0, "data": {"total": 10, "list": [...]}} (a platform API's).
    for _ in range(3):
        if isinstance(doc, dict):
            if (columnar := _columnar(doc)) is not None:
                return columnar
            doc = next((doc[k] for k in _JSON_KEYS if isinstance(doc.get(k), (list, dict))), None)
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise _unreadable("JSON", "expected a list of objects, or {\"data\": [...]} / result / rows / records / list / "
                                  "items, maybe inside {\"data\": {...}}, or {\"columns\": [...], \"rows\": [[...]]}")
    keys: dict[str, None] = {}
    for record in doc:
        keys.update(dict.fromkeys(record))
    header = list(keys)
    rows = [(0, header)]
    rows += [(i + 1, [cell_text(r.get(k)) for k in header]) for i, r in enumerate(doc)]
    return Table(rows)


def _columnar(doc: dict[str, Any]) -> Table | None:
    """{"columns": ["区划代码", …], "rows": [["150204004000", …], …]} (also fields / header, data / values)."""
    header = next((doc[k] for k in _JSON_COLUMNS if isinstance(doc.get(k), list)), None)
    body = next((doc[k] for k in _JSON_ROWS if isinstance(doc.get(k), list)), None)
    if header is None or body is None or not all(isinstance(c, str) for c in header):
        return None
    if not all(isinstance(r, list) for r in body):
        return None
    return Table([(0, list(header))] + [(i + 1, [cell_text(c) for c in r]) for i, r in enumerate(body)])


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _one_value_per_key(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys without a word: {"区划代码": "150204…", "区划代码": "150202…"}
    record = dict(pairs)
    if len(record) != len(pairs):  # checked only then: the usual object costs one dict and a length
        raise _RepeatedKey(next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1))
    return record


def cell_text(value: Any) -> str:
    """A cell as text: 1281.0 → "1281", 0.9063 → "0.9063", dates ISO, None → ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _unreadable(kind: str, reason: str) -> InvalidInput:
    message = f"cannot read the export as {kind}: {reason}"
    return InvalidInput(message, [Problem(message, field="format")])


def find_header(
    table: Table, required: set[str], header_row: int | str = "auto", optional: set[str] | frozenset[str] = frozenset()
) -> Header:
    """Locate the header: the first row naming any required column, stacked with up to 2 more rows
    until every required name is found. A name matches a column when it equals one of its stacked labels."""
    wanted = {compact(n): n for n in (*required, *optional)}
    start = _header_start(table, {compact(n) for n in required}, header_row)
    labels: list[list[str]] = []
    columns: dict[str, int] = {}
    for depth in range(_MAX_STACK):
        if start + depth >= len(table.rows) or (depth and _looks_like_data(table.rows[start + depth][1])):
            break
        for col, cell in enumerate(table.rows[start + depth][1]):
            if col >= len(labels):
                labels.append([])
            for label in clean.label_forms(compact(cell)) if cell else ():
                if label and label not in labels[col]:
                    labels[col].append(label)
        columns = _match(labels, wanted, table.rows[start][0])
        if all(n in columns for n in required):
            return Header(table.rows[start + depth][0], start, start + depth + 1, columns, len(labels))
    raise _missing(required, columns, labels, table.rows[start][0])


def _looks_like_data(cells: list[str]) -> bool:
    # A row holding a bare number or date is data, so it is never stacked under the header as a label.
    return any(cell and _DATA_CELL.fullmatch(compact(cell)) for cell in cells)


def _header_start(table: Table, required: set[str], header_row: int | str) -> int:
    if header_row != "auto":
        for i, (number, _) in enumerate(table.rows):
            if number == header_row:
                return i
        raise InvalidInput(
            f"header_row {header_row} is beyond the end of the export",
            [Problem("no such row", row=int(header_row), field="header_row")],
        )
    search = table.rows[:_MAX_HEADER_SEARCH]
    counts = [_names_in(cells, required) for _, cells in search]
    for i, (_, cells) in enumerate(search):
        # A metadata line naming a column ("统计日期 | 2022-05-31") is not the header when a row below names more.
        if counts[i] and not (_key_value(cells) and max(counts[i + 1:], default=0) > counts[i]):
            return i
    names = ", ".join(sorted(required))
    raise InvalidInput(
        f"no header row found: none of the first {_MAX_HEADER_SEARCH} rows names any of {names}",
        [Problem(f"no header row naming any of {names}", field="header")],
    )


def _names_in(cells: list[str], required: set[str]) -> int:
    """How many of the required names the row's cells are."""
    return sum(1 for cell in cells if cell and not required.isdisjoint(clean.label_forms(compact(cell))))


def _key_value(cells: list[str]) -> bool:
    """A metadata line above the table ("统计日期 | 2022-05-31", "导出单位 | …"): two cells at most."""
    return sum(1 for cell in cells if cell.strip()) <= 2


def _match(labels: list[list[str]], wanted: dict[str, str], row: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for key, name in wanted.items():
        hits = [col for col, stack in enumerate(labels) if key in stack]
        if len(hits) > 1:
            cols = ", ".join(str(c + 1) for c in hits)
            message = f"duplicate header {name!r} in columns {cols}; the column to read is ambiguous"
            raise InvalidInput(message, [Problem(message, row=row, field=name)])
        if hits:
            columns[name] = hits[0]
    return columns


def _missing(required: set[str], columns: dict[str, int], labels: list[list[str]], row: int) -> InvalidInput:
    found = ", ".join("/".join(stack) for stack in labels if stack) or "(nothing)"
    missing = sorted(n for n in required if n not in columns)
    message = f"missing columns {', '.join(missing)}; found: {found}"
    return InvalidInput(message, [Problem(f"missing column; found: {found}", row=row, field=n) for n in missing])
