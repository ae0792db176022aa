"""Export bytes → ObservationIn / RatingIn records plus per-row errors and warnings (syntax only).

Whether a figure fits its indicator, unit and date is decided later by shared.observations.validate.
PII columns are never indexed here, so their values cannot reach a record, an error or a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.collector.clean import (
    compact,
    is_blank,
    is_total_row,
    norm,
    parse_date,
    parse_datetime,
    parse_month,
    parse_number,
    parse_percent,
    show,
    total_markers,
)
from services.collector.readers import Header, Table, find_header, read_table
from services.collector.sources import SourceConfig
from shared.core.errors import InvalidInput, Problem
from shared.observations.types import ObservationIn
from shared.ratings.types import RatingIn

LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}
_LEVEL_KEYS = {**LEVELS, **{str(i): i for i in range(1, 6)}, **{f"{i}.0": i for i in range(1, 6)}}
_NAMED = {"是": True, "y": True, "yes": True, "1": True, "实名": True, "true": True,
          "否": False, "n": False, "no": False, "0": False, "匿名": False, "false": False, "": False}
_DAY_IN_TEXT = [re.compile(r"(?<!\d)(\d{4})[-/.年_](\d{1,2})[-/.月_](\d{1,2})(?!\d)"),
                re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")]
_MONTH_IN_TEXT = [re.compile(r"(?<!\d)(\d{4})[-/.年_](\d{1,2})(?!\d)"), re.compile(r"(?<!\d)(\d{4})(\d{2})(?!\d)")]


@dataclass
class ParsedExport:
    figures: list[ObservationIn] = field(default_factory=list)
    ratings: list[RatingIn] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)    # rejected rows: file row, column header, reason
    warnings: list[Problem] = field(default_factory=list)  # accepted rows with a remark
    rows_read: int = 0     # data rows seen (not header, title, blank or total rows)
    rows_skipped: int = 0  # blank, total, footnote and exact-duplicate rows
    encoding: str = ""

    @property
    def rows_rejected(self) -> int:
        return len({e.row for e in self.errors})


def parse_export(source: SourceConfig, content: bytes, *, filename: str | None = None, today: date) -> ParsedExport:
    """Parse one export. A file that cannot be read as a table raises InvalidInput; bad rows become errors."""
    table, encoding = read_table(content, source.format, source.encoding)
    optional = {f.printed_rate for f in source.figures if f.printed_rate}
    header = find_header(table, set(source.mapped_columns()), source.header_row, optional)
    out = ParsedExport(encoding=encoding)
    out.warnings += [
        Problem(f"printed-rate column {c!r} not found; printed rates are not checked", row=header.row, field=c)
        for c in sorted(optional - header.columns.keys())
    ]
    rows = _Rows(source, header, today)
    fixed_day = _file_date(source, table, header, filename, today)
    handle = rows.figure_row(fixed_day) if source.kind == "figures" else rows.rating_row
    markers = total_markers(source.total_markers)
    width = header.width
    for number, cells in table.rows[header.data_start:]:
        if is_blank(cells) or is_total_row(cells, markers) or _is_footnote(cells):
            out.rows_skipped += 1
            continue
        out.rows_read += 1
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        handle(number, cells)
    rows.finish(out, source)
    return out


def _is_footnote(cells: list[str]) -> bool:
    # "注：数据来源于…" or "制表人：…" under the table: one text cell, no figures; such notes may name people.
    filled = [c for c in cells if c and not c.isspace()]
    return len(filled) == 1 and filled[0] == cells[0] and not norm(filled[0]).replace(".", "").isdigit()


def _file_date(source: SourceConfig, table: Table, header: Header, filename: str | None, today: date) -> date | None:
    """The day every row belongs to when it comes from the file name or the title lines above the header."""
    if source.date is None or source.date.from_ is None:
        return None
    if source.date.from_ == "filename":
        texts, where = [filename or ""], f"the file name {filename!r}"
    else:
        texts, where = [" ".join(cells) for _, cells in table.rows[: header.start]], "the title lines"
    month = source.date.grain == "month"
    for text in map(norm, texts):
        for pattern in _DAY_IN_TEXT + (_MONTH_IN_TEXT if month else []):
            m = pattern.search(text)
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]) if m.re.groups == 3 else 1) if m else None
            except ValueError:
                day = None
            if day is not None:
                day = day.replace(day=1) if month else day
                if day > today:
                    raise _whole_file(f"the date {day} in {where} is in the future", "date")
                return day
    raise _whole_file(f"no date ({'YYYY-MM' if month else 'YYYY-MM-DD'}) found in {where}", "date")


def _whole_file(message: str, fld: str) -> InvalidInput:
    return InvalidInput(message, [Problem(message, field=fld)])


class _Rows:
    """Row handlers with column indexes resolved once; pending records wait for the duplicate check."""

    def __init__(self, source: SourceConfig, header: Header, today: date) -> None:
        self.col = header.columns
        self.today = today
        self.errors: list[Problem] = []
        self.seen: dict[Any, int] = {}
        self.pending: list[list[Any]] = []  # [row, key, payload, warnings, alive]
        self.duplicates = 0
        self.unit_name = source.unit.code_column or source.unit.name_column or ""
        self.unit_idx = self.col[self.unit_name]
        self.names = {compact(k): v for k, v in source.unit.names.items()}
        self.by_name = source.unit.name_column is not None
        self.date = source.date
        self.figs = [(f, self.col.get(f.printed_rate or "")) for f in source.figures]
        self.ratings = source.ratings

    def unit(self, number: int, cells: list[str], errs: list[Problem]) -> str:
        text = norm(cells[self.unit_idx])
        if not text:
            errs.append(Problem("empty; every row needs its unit", number, self.unit_name))
        elif self.by_name:
            # An empty names map passes the name through; validation rejects it as an unknown unit.
            if self.names:
                code = self.names.get(compact(text))
                if code is None:
                    errs.append(Problem(f"unknown name {show(text)}; add it to unit.names in sources.yaml",
                                        number, self.unit_name))
                return code or ""
        elif not (len(text) == 12 and text.isdigit() and text.isascii()):
            errs.append(Problem(f"{show(text)} is not a 12-digit division code", number, self.unit_name))
        return text

    def day(self, number: int, text: str, parse: Callable[[str], date], name: str, errs: list[Problem]) -> date:
        try:
            day = parse(text)
        except ValueError as exc:
            errs.append(Problem(str(exc) if text.strip() else "empty; a date is required", number, name))
            return date.min
        if day > self.today:
            errs.append(Problem(f"{day} is in the future (today is {self.today})", number, name))
        return day

    def number(self, number: int, cells: list[str], name: str, errs: list[Problem]) -> float:
        text = cells[self.col[name]]
        try:
            value = parse_number(text)
        except ValueError as exc:
            errs.append(Problem(str(exc), number, name))
            return 0.0
        if value is None:
            errs.append(Problem("empty; a number is required", number, name))
            return 0.0
        if value < 0:
            errs.append(Problem(f"{show(text)} is negative; counts cannot be below 0", number, name))
        return value

    def figure_row(self, fixed_day: date | None) -> Callable[[int, list[str]], None]:
        date_conf = self.date
        assert date_conf is not None  # a figures source always has date: (checked in sources.py)
        parse = parse_month if date_conf.grain == "month" else parse_date
        date_name = date_conf.column or ""
        date_idx = self.col.get(date_name)

        def handle(number: int, cells: list[str]) -> None:
            errs: list[Problem] = []
            org = self.unit(number, cells, errs)
            day = fixed_day if date_idx is None else self.day(number, cells[date_idx], parse, date_name, errs)
            values: list[float | None] = []
            warns: list[Problem] = []
            for f, rate_idx in self.figs:
                if f.numerator and f.denominator:
                    num = self.number(number, cells, f.numerator, errs)
                    den = self.number(number, cells, f.denominator, errs)
                    values += (num, den)
                    if rate_idx is not None and not errs:
                        warns += _rate_remark(cells[rate_idx], num, den, number, f.printed_rate or "")
                else:
                    values += (None, None)
                values.append(self.number(number, cells, f.value, errs) if f.value else None)
            if errs:
                self.errors += errs
            else:
                self.add(number, (org, day), tuple(values), warns)

        return handle

    def rating_row(self, number: int, cells: list[str]) -> None:
        conf = self.ratings
        assert conf is not None
        errs: list[Problem] = []
        org = self.unit(number, cells, errs)
        rid, channel, item = (self.text(number, cells, n, errs) for n in (conf.id, conf.channel, conf.item))
        level = self.level(number, cells[self.col[conf.level]], conf.level, errs)
        rated_at = None
        try:
            rated_at = parse_datetime(cells[self.col[conf.time]])
            if rated_at.date() > self.today:
                errs.append(Problem(f"{rated_at} is in the future (today is {self.today})", number, conf.time))
        except ValueError as exc:
            errs.append(Problem(str(exc), number, conf.time))
        named = _NAMED.get(compact(cells[self.col[conf.named]]).lower()) if conf.named else False
        if named is None:
            errs.append(Problem(f"{show(cells[self.col[conf.named or '']])} is not 是/否 (实名/匿名, Y/N, 1/0)",
                                number, conf.named))
        if errs or rated_at is None:
            self.errors += errs
            return
        optional = (norm(cells[self.col[c]]) or None if c else None for c in (conf.department, conf.item_code))
        department, item_code = optional
        rating = RatingIn(rid, org, item, channel, level, rated_at, bool(named), department, item_code)
        self.add(number, rid, rating, [])

    def text(self, number: int, cells: list[str], name: str, errs: list[Problem]) -> str:
        text = norm(cells[self.col[name]])
        if not text:
            errs.append(Problem("empty; a value is required", number, name))
        return text

    def level(self, number: int, text: str, name: str, errs: list[Problem]) -> int:
        level = _LEVEL_KEYS.get(compact(text), 0)
        if not level:
            errs.append(Problem(f"{show(text)} is not a rating level; use 非常满意, 满意, 基本满意, 不满意, "
                                "非常不满意 or 1–5", number, name))
        return level

    def add(self, number: int, key: Any, payload: Any, warns: list[Problem]) -> None:
        """Keep a parsed row unless it repeats one already kept; a same-key row with other figures
        rejects both, because the export does not say which one is right."""
        pos = self.seen.get(key)
        if pos is None:
            self.seen[key] = len(self.pending)
            self.pending.append([number, key, payload, warns, True])
            return
        first = self.pending[pos]
        if first[2] == payload:
            self.duplicates += 1
            return
        what = f"unit {key[0]} and date {key[1]}" if isinstance(key, tuple) else f"id {key}"
        self.errors.append(Problem(f"conflicts with row {first[0]}: same {what}, different values; both rows "
                                   "rejected", number, self.unit_name))
        if first[4]:
            self.errors.append(Problem(f"conflicts with row {number}: same {what}, different values; both rows "
                                       "rejected", first[0], self.unit_name))
            first[4] = False

    def finish(self, out: ParsedExport, source: SourceConfig) -> None:
        out.rows_skipped += self.duplicates
        alive = [p for p in self.pending if p[4]]
        for _, _, _, warns, _ in alive:
            out.warnings += warns
        if source.kind == "ratings":
            out.ratings = [p[2] for p in alive]
        else:
            codes = [f.indicator for f in source.figures]
            obs = ObservationIn
            out.figures = [
                obs(code, org, day, v[3 * i], v[3 * i + 1], v[3 * i + 2])
                for _, (org, day), v, _, _ in alive
                for i, code in enumerate(codes)
            ]
        out.errors += sorted(self.errors, key=lambda e: e.row or 0)


def _rate_remark(text: str, num: float, den: float, number: int, name: str) -> list[Problem]:
    """A printed rate off by more than half a unit of its last printed decimal ("95.20%" ± 0.005)."""
    if not text or text.isspace() or den == 0:
        return []
    try:
        printed = parse_percent(text)
    except ValueError:
        return [Problem(f"printed rate {show(text)} is not a number; the rate is computed from the counts",
                        number, name)]
    if printed is None:
        return []
    rate = 100 * num / den
    half = 0.5 * 10 ** -printed.decimals + 1e-9
    ok = abs(printed.value - rate) <= half
    if not printed.percent:
        # No % sign: a fraction (0.9063, a spreadsheet percent cell) or a bare number (90.63).
        ok = ok or abs(printed.value * 100 - rate) <= half * 100
    if ok:
        return []
    shown = norm(text)
    return [Problem(f"printed {shown} but {_plain(num)}/{_plain(den)} = {rate:.{max(2, printed.decimals)}f}%",
                    number, name)]


def _plain(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
