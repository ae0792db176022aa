"""Export bytes → ObservationIn / RatingIn records plus per-row errors and warnings (syntax only).

Whether a figure fits its indicator, unit and date is decided later by shared.observations.validate.
PII columns are never indexed here; a ratings row whose cells are shifted is rejected unread, and no message about
a ratings row quotes a cell, so personal data cannot reach a record, an error or a warning.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, compress, islice, repeat
from operator import gt, itemgetter, not_
from typing import Any, BinaryIO

from services.collector import clean
from services.collector.readers import HEAD_ROWS, BadRow, ExportLimits, Header, Row, Table, find_header, iter_rows
from services.collector.runtime import gc_paused
from services.collector.sources import RatingsConfig, SourceConfig, UnitConfig
from shared.core.errors import InvalidInput, Problem
from shared.observations.types import ObservationIn
from shared.ratings.types import RatingIn

LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}
_LEVEL_KEYS = {**LEVELS, **{str(i): i for i in range(1, 6)}, **{f"{i}.0": i for i in range(1, 6)}}
_NAMED = {"是": True, "y": True, "yes": True, "1": True, "实名": True, "实名评价": True, "true": True,
          "否": False, "n": False, "no": False, "0": False, "匿名": False, "匿名评价": False, "非实名": False,
          "false": False, "": False}
# A level as some platforms print it: 非常满意（5分）, 5分, 5星 — the 好差评 standard's five levels either way.
_LEVEL_PRINTED = re.compile(r"(非常满意|基本满意|非常不满意|不满意|满意)?[(（]?([1-5])(?:分|星级|星)?[)）]?")
_CODES = re.compile(r"\d{12}(?:\n\d{12})*", re.ASCII)


@dataclass
class ParsedExport:
    """What one export yields: records ready for validation, and every row-level complaint."""

    figures: list[ObservationIn] = field(default_factory=list)
    ratings: list[RatingIn] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)    # rejected rows: file row, column header, reason
    warnings: list[Problem] = field(default_factory=list)  # accepted rows with a remark
    rows_read: int = 0     # data rows seen (not header, title, blank, note or total rows)
    rows_skipped: int = 0  # blank, note, total and exact-duplicate rows
    encoding: str = ""
    duplicates: int = 0    # exact repeats of a kept row: counted in rows_read and in rows_skipped
    figure_rows: list[int] = field(default_factory=list)  # file row of each figure, parallel to figures
    rating_rows: list[int] = field(default_factory=list)  # file row of each rating, parallel to ratings

    @property
    def rows_rejected(self) -> int:
        return len({e.row for e in self.errors})

    def absorb(self, chunk: ParsedExport) -> None:
        """Add a later chunk of the same export to this one."""
        self.figures += chunk.figures
        self.ratings += chunk.ratings
        self.errors += chunk.errors
        self.warnings += chunk.warnings
        self.figure_rows += chunk.figure_rows
        self.rating_rows += chunk.rating_rows
        self.rows_read += chunk.rows_read
        self.rows_skipped += chunk.rows_skipped
        self.duplicates += chunk.duplicates
        self.encoding = self.encoding or chunk.encoding


CHUNK_ROWS = 50_000  # data rows parsed at a time: bounds memory, and lets the writer merge while we parse


def parse_export(source: SourceConfig, content: bytes, *, filename: str | None = None, today: date,
                 known_names: Mapping[str, str] | None = None) -> ParsedExport:
    """Parse a whole export held in memory (small files, tests); the collector streams with `iter_export`."""
    whole = ParsedExport()
    for chunk in iter_export(source, io.BytesIO(content), filename=filename, today=today, known_names=known_names):
        whole.absorb(chunk)
    return whole


def iter_export(
    source: SourceConfig,
    stream: BinaryIO,
    *,
    filename: str | None = None,
    today: date,
    chunk_rows: int | None = None,
    known_names: Mapping[str, str] | None = None,
    limits: ExportLimits | None = None,
) -> Iterator[ParsedExport]:
    """Parse an export as it streams, `chunk_rows` (default CHUNK_ROWS) data rows at a time; at least one chunk.

    A file that cannot be read as a table raises InvalidInput (also from a later chunk: the run then fails
    whole); bad rows become errors. Repeated rows are found within a chunk here, and across chunks by the
    writer (shared.observations.store.FigureWriter); ratings are stored once per id anyway.
    `known_names` (shared.org_units.store.names_to_codes: official names and aliases such as 稀土高新区, 达茂旗)
    maps a name column's units; the source's own unit.names come first.
    """
    chunk_rows = chunk_rows or CHUNK_ROWS
    rows, encoding = iter_rows(stream, source.format, source.encoding, limits=limits,
                               names=source.mapped_columns())
    # Enough rows to find the header in: the search window, or down to a configured header row.
    wanted = HEAD_ROWS if source.header_row == "auto" else max(HEAD_ROWS, int(source.header_row) + HEAD_ROWS)
    head = list(islice(rows, wanted))
    if not any(cells for _, cells in head):
        # Not even a header: a truncated download or a platform that answered with nothing, never "no data".
        raise _whole_file("the export is empty: no rows at all, not even a header", "header")
    table = Table(head)
    optional = {f.printed_rate for f in source.figures if f.printed_rate}
    optional_rating = set(source.ratings.optional_columns()) if source.ratings else set()
    header = find_header(table, set(source.mapped_columns()) - optional_rating, source.header_row,
                         optional | optional_rating)
    fixed_day = _file_date(source, table, header, filename, today) if source.kind == "figures" else None
    warnings = [
        Problem(f"printed-rate column {c!r} not found; printed rates are not checked", header.row, c)
        for c in sorted(optional - header.columns.keys())
    ] + [
        Problem(f"column {c!r} not found; read as empty for every rating", header.row, c)
        for c in sorted(optional_rating - header.columns.keys())
    ]
    names = _name_map(source.unit, known_names or {})
    body = chain(head[header.data_start:], rows)
    while True:
        batch = list(islice(body, chunk_rows))
        out = ParsedExport(encoding=encoding, warnings=warnings)
        warnings = []
        with gc_paused():
            sheet = _Sheet(_data_rows(batch, header, source, out), header)
            if source.kind == "figures":
                _figures(source, sheet, fixed_day, today, out, names)
            else:
                _ratings(source, sheet, today, out, names)
        out.errors.sort(key=lambda p: p.row or 0)
        out.warnings.sort(key=lambda p: p.row or 0)
        yield out
        if len(batch) < chunk_rows:
            return


def _data_rows(rows: list[Row], header: Header, source: SourceConfig, out: ParsedExport) -> list[Row]:
    """Rows below the header without blank lines, notes ("注：…", which may name people) and 合计 rows."""
    if any(isinstance(cells, BadRow) for _, cells in rows):
        unread = [(number, cells) for number, cells in rows if isinstance(cells, BadRow)]
        out.errors += [Problem(cells.reason, number) for number, cells in unread]
        out.rows_read += len(unread)
        rows = [r for r in rows if not isinstance(r[1], BadRow)]
    # Five distinct cell texts (counted in C, "" among them) rule a row in at once; only the others need the
    # filler test (a note row has three notes at most).
    mask = list(map(gt, map(len, map(set, map(itemgetter(1), rows))), repeat(4)))
    for i in list(compress(range(len(mask)), map(not_, mask))):
        mask[i] = not clean.is_filler(rows[i][1])
    kept = list(compress(rows, mask))
    width = header.width
    cells_of = list(map(itemgetter(1), kept))
    ragged = _ragged(cells_of, width, short_ok=source.kind == "figures")
    if cells_of and min(map(len, cells_of)) < width:  # short CSV lines: pad so every column index exists
        for cells in cells_of:
            cells.extend([""] * (width - len(cells)))
    first_cells = [list(map(itemgetter(j), cells_of)) for j in range(min(_TOTAL_COLUMNS, width))]
    totals = clean.total_rows(first_cells, source.total_markers, label_only=_TOTAL_COLUMNS)
    totals |= _header_repeats(cells_of, header)
    if totals:
        kept = [r for i, r in enumerate(kept) if i not in totals]
    out.rows_read += len(kept)
    out.rows_skipped += len(rows) - len(kept)
    if ragged:
        # A lost or extra cell (an unquoted "1,281" in a CSV) moves every cell after it under another header —
        # counts, and for ratings names, phone and ID numbers: read none of it.
        for number, cells in kept:
            if id(cells) in ragged:
                out.errors.append(Problem(_RAGGED.format(ragged[id(cells)], width), number))
        kept = [r for r in kept if id(r[1]) not in ragged]
    return kept


_TOTAL_COLUMNS = 5  # a 合计 label sits in one of the first five columns (after empty code and date cells)
_RAGGED = ("row rejected unread: it has {} cells where the header has {}, so a cell is missing or extra (an "
           "unquoted comma?) and its columns are shifted; fix the row in the export")


def _header_repeats(rows: list[list[str]], header: Header) -> set[int]:
    """Indexes of rows repeating the header (an export printed in pages): a column read holds its own name."""
    hits: set[int] = set()
    for name, col in header.columns.items():
        key = clean.compact(name)
        cells = list(map(itemgetter(col), rows))
        if key[:1] in "\n".join(cells):  # one C-level scan rules out the usual column without the name's start
            hits.update(i for i, cell in enumerate(cells) if cell and key in clean.label_forms(clean.compact(cell)))
    return hits


def _ragged(rows: list[list[str]], width: int, *, short_ok: bool) -> dict[int, int]:
    """{id(cells): cell count} of the rows whose cells cannot be where the header says. A row may have as many
    cells as the header, or as many as the chunk's rows mostly have when the cells past the header are empty (a
    comma ending every line); one cell more than its neighbours is an extra cell. `short_ok`: a figures row
    with fewer cells is padded — a cell missing in the middle moves text into a count, which fails its row."""
    lengths = Counter(map(len, rows))
    usual = max(lengths, key=lengths.__getitem__, default=width)
    fits = {width, usual} if usual > width else {width}
    return {id(c): len(c) for c in rows
            if (len(c) not in fits and not (short_ok and len(c) < width))
            or (len(c) > width and any(x.strip() for x in c[width:]))}


def _file_date(source: SourceConfig, table: Table, header: Header, filename: str | None, today: date) -> date | None:
    """The day every row belongs to when it comes from the file name or the title lines above the header."""
    if source.date is None or source.date.from_ is None:
        return None
    if source.date.from_ == "filename":
        texts, where = [filename or ""], f"the file name {filename!r}"
    else:
        texts, where = [" ".join(cells) for _, cells in table.rows[: header.start]], "the title lines"
    month = source.date.grain == "month"
    day = next(filter(None, (clean.find_date(text, month=month) for text in texts)), None)
    if day is None:
        raise _whole_file(f"no date ({'YYYY-MM' if month else 'YYYY-MM-DD'}) found in {where}", "date")
    if day > today:
        raise _whole_file(f"the date {day} in {where} is in the future", "date")
    return day


def _whole_file(message: str, fld: str) -> InvalidInput:
    return InvalidInput(message, [Problem(message, field=fld)])


class _Sheet:
    """The data rows with their file row numbers, columns by header name, and problems by row index."""

    def __init__(self, rows: list[tuple[int, list[str]]], header: Header) -> None:
        self.rows, self.header = rows, header
        self.numbers = [r[0] for r in rows]
        self.cells = [r[1] for r in rows]
        self.problems: dict[int, list[Problem]] = {}

    def fail(self, i: int, message: str, column: str) -> None:
        self.problems.setdefault(i, []).append(Problem(message, self.numbers[i], column))

    def column(self, name: str) -> list[str]:
        return list(map(itemgetter(self.header.columns[name]), self.cells))

    def good(self) -> Sequence[int]:
        n = len(self.rows)
        return [i for i in range(n) if i not in self.problems] if self.problems else range(n)

    def dedupe(self, idx: Sequence[int], keys: list[Any], payload: Callable[[int], Any], column: str,
               out: ParsedExport) -> list[int]:
        """Keep each key once. An exact repeat is skipped; a same-key row with other values rejects both,
        because the export does not say which one is right."""
        if len(set(keys)) == len(keys):
            return list(idx)
        first: dict[Any, int] = {}
        dead: set[int] = set()
        for i, key in zip(idx, keys, strict=True):
            j = first.setdefault(key, i)
            if j == i:
                continue
            if payload(j) == payload(i):
                out.rows_skipped += 1
                out.duplicates += 1
                dead.add(i)
                continue
            # A rating id is not quoted: no message about a ratings row carries a cell's content.
            what = f"unit {key[0]} and date {key[1]}" if isinstance(key, tuple) else f"rating id ({column})"
            message = "conflicts with row {}: same " + what + ", different values; both rows rejected"
            self.fail(i, message.format(self.numbers[j]), column)
            if j not in dead:  # the first row is told about its first rival only
                self.fail(j, message.format(self.numbers[i]), column)
            dead.update((i, j))
        return [i for i in idx if i not in dead]

    def errors(self) -> list[Problem]:
        return [p for i in self.problems for p in self.problems[i]]


def _figures(source: SourceConfig, sheet: _Sheet, fixed_day: date | None, today: date, out: ParsedExport,
             unit_names: dict[str, str]) -> None:
    """Figures a column at a time: each column is parsed in bulk and only bad cells fall back to per-cell work."""
    assert source.date is not None  # a figures source always has date: (checked in sources.py)
    orgs = _units(sheet, source.unit, unit_names)
    date_col = source.date.column
    days = [fixed_day] * len(sheet.rows) if date_col is None else _days(sheet, date_col, source.date.grain, today)
    counts: dict[str, list[float]] = {}
    for name in dict.fromkeys(c for f in source.figures for c in f.columns()):
        counts[name], bad = clean.parse_counts(sheet.column(name))
        for i, reason in bad.items():
            sheet.fail(i, reason, name)
    good = sheet.good()
    remarks = _rate_remarks(source, sheet, counts)
    if len(good) == len(orgs) and len(set(orgs)) == len(orgs):
        keys: list[Any] = orgs  # one row per unit: no (unit, date) key can repeat, so skip building them
    else:
        keys = [(orgs[i], days[i]) for i in good]
    names = list(counts)
    unit_column = source.unit.code_column or source.unit.name_column or ""
    kept = sheet.dedupe(good, keys, lambda i: tuple(counts[n][i] for n in names), unit_column, out)
    numbers = sheet.numbers
    if len(kept) != len(orgs):
        orgs, days, numbers = [orgs[i] for i in kept], [days[i] for i in kept], [numbers[i] for i in kept]
        counts = {n: [v[i] for i in kept] for n, v in counts.items()}
    for f in source.figures:
        nums, dens, vals = (counts[c] if c else repeat(None) for c in (f.numerator, f.denominator, f.value))
        out.figures += map(ObservationIn, repeat(f.indicator), orgs, days, nums, dens, vals)
        out.figure_rows += numbers
    out.errors += sheet.errors()
    out.warnings += [p for i in kept if i in remarks for p in remarks[i]] if remarks else []


def _name_map(unit: UnitConfig, known: Mapping[str, str]) -> dict[str, str]:
    """Compacted unit name → code: the database's names and aliases, overridden by the source's unit.names."""
    if not unit.name_column:
        return {}
    return {clean.compact(k): v for k, v in chain(known.items(), unit.names.items())}


def _units(sheet: _Sheet, unit: UnitConfig, names: dict[str, str], *, quote: bool = True) -> list[str]:
    """Each row's unit code; a bad cell fails its row (quoted only when `quote`: never for a ratings row)."""
    name = unit.code_column or unit.name_column or ""
    show = clean.show if quote else (lambda _: "the cell")
    raw = sheet.column(name)
    if unit.code_column and _CODES.fullmatch("\n".join(raw)):
        return raw  # every cell is already a clean 12-digit code: the usual case, checked in one regex pass
    resolved: dict[str, str] = {}
    for cell in set(raw):
        text = clean.norm(cell)
        if not text:
            resolved[cell] = "\x00empty; every row needs its unit"
        elif unit.name_column:
            # An empty names map passes the name through; validation rejects it as an unknown unit.
            hit = names.get(clean.compact(text)) if names else text
            resolved[cell] = hit or (f"\x00unknown name {show(text)}; add it to unit.names in sources.yaml "
                                     "or as an alias of its unit")
        else:
            ok = len(text) == 12 and text.isdigit() and text.isascii()
            lost = (": a spreadsheet took it for a number and dropped its digits; export the column as text"
                    if clean.SCIENTIFIC.fullmatch(text) else "")
            resolved[cell] = text if ok else f"\x00{show(text)} is not a 12-digit division code{lost}"
    out = [resolved[c] for c in raw]
    for i, value in enumerate(out):
        if value.startswith("\x00"):
            sheet.fail(i, value[1:], name)
    return out


def _days(sheet: _Sheet, name: str, grain: str, today: date) -> list[date]:
    raw = sheet.column(name)
    parse = clean.parse_month if grain == "month" else clean.parse_date
    parsed: dict[str, date | str] = {}
    for cell in set(raw):
        try:
            day = parse(cell)
            parsed[cell] = day if day <= today else f"{day} is in the future (today is {today})"
        except ValueError as exc:
            parsed[cell] = str(exc) if cell.strip() else "empty; a date is required"
    days = [parsed[c] for c in raw]
    for i, value in enumerate(days):
        if isinstance(value, str):
            sheet.fail(i, value, name)
    return days  # type: ignore[return-value]  # rows holding a message are rejected above


def _rate_remarks(source: SourceConfig, sheet: _Sheet, counts: dict[str, list[float]]) -> dict[int, list[Problem]]:
    found: dict[int, list[Problem]] = {}
    for f in source.figures:
        if f.printed_rate in sheet.header.columns and f.numerator and f.denominator:
            remarks = clean.rate_remarks(sheet.column(f.printed_rate or ""), counts[f.numerator], counts[f.denominator])
            for i, remark in remarks.items():
                found.setdefault(i, []).append(Problem(remark, sheet.numbers[i], f.printed_rate))
    return found


def _ratings(source: SourceConfig, sheet: _Sheet, today: date, out: ParsedExport, names: dict[str, str]) -> None:
    """Ratings row by row (a day's detail export is far smaller than a figures table)."""
    conf = source.ratings
    assert conf is not None  # a ratings source always has ratings: (checked in sources.py)
    orgs = _units(sheet, source.unit, names, quote=False)
    idx = {name: sheet.header.columns[name] for name in (*conf.columns(), *conf.optional_columns())
           if name in sheet.header.columns}
    parsed = [_rating(i, cells, orgs[i], conf, idx, today, sheet) for i, (_, cells) in enumerate(sheet.rows)]
    by_index = {i: r for i, r in enumerate(parsed) if r is not None}
    good = list(by_index)
    kept = sheet.dedupe(good, [r.rating_id for r in by_index.values()], by_index.__getitem__, conf.id, out)
    out.ratings = [by_index[i] for i in kept]
    out.rating_rows = [sheet.numbers[i] for i in kept]
    out.errors += sheet.errors()


def _rating(i: int, cells: list[str], org: str, conf: RatingsConfig, idx: dict[str, int], today: date,
            sheet: _Sheet) -> RatingIn | None:
    # Messages say what was expected and never quote the cell (it may hold personal data put there by hand).
    errs: list[tuple[str, str]] = []
    rid, channel, item = (_required(cells[idx[n]], n, errs) for n in (conf.id, conf.channel, conf.item))
    level = _level(cells[idx[conf.level]])
    if not level:
        errs.append(("not a rating level; use 非常满意, 满意, 基本满意, 不满意, 非常不满意 or 1–5", conf.level))
    rated_at = None
    try:
        rated_at = clean.parse_datetime(cells[idx[conf.time]])
        if rated_at.date() > today:
            errs.append((f"the time is in the future (today is {today})", conf.time))
    except ValueError:
        errs.append(("not a date and time (expected e.g. 2022-05-31 14:43:40)" if cells[idx[conf.time]].strip()
                     else "empty; a time is required", conf.time))
    # An empty 是否实名 reads as not named: the rating itself is still worth keeping.
    named = _NAMED.get(clean.compact(cells[idx[conf.named]]).lower()) if conf.named in idx else False
    if named is None:
        errs.append(("not 是/否 (实名/匿名, Y/N, 1/0)", conf.named or ""))
    for message, column in errs:
        sheet.fail(i, message, column)
    if errs or rated_at is None or i in sheet.problems:
        return None
    department, item_code = (clean.norm(cells[idx[c]]) or None if c in idx else None
                             for c in (conf.department, conf.item_code))
    # Free text a person typed may hold a contact ("经办人 … 137…"): never stored.
    item, channel, department = clean.masked(item), clean.masked(channel), department and clean.masked(department)
    return RatingIn(rid, org, item, channel, level, rated_at, bool(named), department, item_code)


def _level(cell: str) -> int:
    """1–5, or 0 for a cell that is not a level (also 满意（5分）: its label and its points disagree)."""
    text = clean.compact(cell)
    if (level := _LEVEL_KEYS.get(text)) is not None:
        return level
    m = _LEVEL_PRINTED.fullmatch(text)
    if m is None or (m[1] is not None and LEVELS[m[1]] != int(m[2])):
        return 0
    return int(m[2])


def _required(text: str, name: str, errs: list[tuple[str, str]]) -> str:
    text = clean.norm(text)
    if not text:
        errs.append(("empty; a value is required", name))
    return text
