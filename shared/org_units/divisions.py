"""Official division lists (国家统计局 统计用区划代码, CSV code,name,level,parent_code) → unit specs. Pure: the text
comes in, specs or a precise InvalidInput come out; the database side is shared.org_units.store.apply_tree."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from shared.core.errors import InvalidInput, Problem
from shared.org_units import codes

COLUMNS = ("code", "name", "level", "parent_code")
LEVEL_DEPTH = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
# Significant digits of a code per level: 内蒙古 "15", 包头 "1502", 青山区 "150204", 富强路街道 "150204004".
_SIGNIFICANT = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
# The list has no kind column. An official name containing one of these marks a development zone or park
# (开发区, 产业园区, 工业园, 生态管理区, 综合保税区, 和林格尔新区 …) — unless it ends as a street or town named after
# one (丰镇市 工业区街道 is a 街道). The number ranges of the code do not tell: 4xx townships include 街道 and farms.
ZONE_MARKERS = ("开发区", "园区", "产业园", "工业园", "工业区", "创业园", "管理区", "保税区", "新区")
_NOT_ZONE_ENDINGS = ("街道", "镇", "乡", "苏木")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str | None
    kind: str  # region or zone
    row: int  # file row (the header is row 1)


def kind_of(name: str) -> str:
    """region or zone (考评对象 kinds, PRODUCT.md §2), read from the official name by ZONE_MARKERS."""
    if any(m in name for m in ZONE_MARKERS) and not name.endswith(_NOT_ZONE_ENDINGS):
        return "zone"
    return "region"


def root_code(prefix: str) -> str:
    """A --prefix (150200 or 150200000000) as the 12-digit code of the unit it names."""
    text = prefix.strip()
    if not text.isascii() or not text.isdigit() or len(text) not in (2, 4, 6, 9, 12):
        raise InvalidInput(
            f"prefix {prefix!r} is not a division code (e.g. 150200 or 150200000000)",
            [Problem("not a division code", field="prefix")],
        )
    return text.ljust(12, "0")


def within(code: str, root: str) -> bool:
    """Whether a division code lies in the subtree of `root` (itself included), by its significant digits."""
    return code.startswith(root[: _SIGNIFICANT[codes.level_of(root)]])


def parse(text: str, *, prefix: str | None = None) -> list[Division]:
    """Every row of the list (or those within `prefix`), parents before children. A bad row raises
    InvalidInput naming the file row and column; nothing is returned then."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise _bad(f"missing column(s) {', '.join(missing)}; the header must be {','.join(COLUMNS)}", 1, missing[0])
    at = {c: header.index(c) for c in COLUMNS}
    root = root_code(prefix) if prefix else None
    found: dict[str, Division] = {}
    for row, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        division = _division(row, cells, at)
        if division.code in found:
            raise _bad(f"code {division.code} repeats row {found[division.code].row}", row, "code")
        if root is None or within(division.code, root):
            found[division.code] = division
    if root is not None and root not in found:
        raise _bad(f"the prefix unit {root} is not in the file", None, "code")
    return sorted(found.values(), key=lambda d: (LEVEL_DEPTH[d.level], d.code))


def _division(row: int, cells: list[str], at: dict[str, int]) -> Division:
    value = {c: (cells[i].strip() if i < len(cells) else "") for c, i in at.items()}
    code, name, level, parent = value["code"], value["name"], value["level"], value["parent_code"] or None
    if not codes.is_division_code(code):
        raise _bad(f"{code!r} is not a 12-digit division code", row, "code")
    if not name:
        raise _bad("empty; every unit needs its official name", row, "name")
    if level != codes.level_of(code):
        raise _bad(f"level {level!r} does not match code {code} (a {codes.level_of(code)} code)", row, "level")
    if parent is None and level != "province":
        raise _bad(f"empty; a {level} needs its parent's code", row, "parent_code")
    # A parent is a unit of a higher level, usually the one the code's digits name; not always: a street moved
    # under another county or a zone (托管) keeps its code, and history keeps its figures.
    if parent is not None and (
        not codes.is_division_code(parent) or LEVEL_DEPTH[codes.level_of(parent)] >= LEVEL_DEPTH[level]
    ):
        raise _bad(f"{parent!r} is not the code of a unit above the {level} {code}", row, "parent_code")
    return Division(code, name, level, parent, kind_of(name), row)


def _bad(message: str, row: int | None, column: str) -> InvalidInput:
    where = f"row {row}, column {column}" if row is not None else f"column {column}"
    return InvalidInput(f"{where}: {message}", [Problem(message, row, column)])
