"""Builders of messy platform exports for the collector tests: GBK/GB18030 and UTF-8-BOM CSVs, XLSX with merged
title and header cells, full-width digits, thousands separators, 合计 rows, blank and repeated rows, title lines.

Only test helpers live here; expected numbers stay in the tests.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl

from services.collector.sources import SourceConfig, load_sources

# The sample exports, kept in the repository (tests/samples/README.md): the suite needs nothing outside it.
SAMPLES = Path(__file__).resolve().parents[1] / "samples"

WANGBAN_GROUPS = ["统计日期", "区划代码", "区划名称", "事项情况", None, None, "比率", None]
WANGBAN_COLUMNS = ["统计日期", "区划代码", "区划名称", "事项总数", "网上可办事项数", "全程网办事项数",
                   "网上可办率", "全程网办率"]
YICHUANG_COLUMNS = ["统计月份", "大厅名称", "区划代码", "依申请政务服务事项总数", "纳入综合窗口办理事项数",
                    "一窗综合受理率"]
HAOCHAPING_COLUMNS = ["序号", "评价编号", "办件编号", "事项编码", "事项名称", "实施部门", "区划代码", "区划名称",
                      "评价渠道", "评价等级", "评价时间", "评价人", "联系电话", "是否实名", "评价内容"]

_FULL_WIDTH = str.maketrans("0123456789%,.-", "０１２３４５６７８９％，．－")


def shipped(source_id: str) -> SourceConfig:
    """A source from the shipped services/collector/sources.yaml."""
    return next(s for s in load_sources() if s.id == source_id)


def source(base: str = "yichuang", **changes: Any) -> SourceConfig:
    """A shipped source with some settings changed, validated like the real file."""
    data = shipped(base).model_dump(by_alias=True, exclude_none=True)
    data.update(changes)
    return SourceConfig.model_validate(data)


def full_width(text: str) -> str:
    """"1,281" → "１，２８１": what some platforms (and hand-edited spreadsheets) export."""
    return text.translate(_FULL_WIDTH)


def thousands(n: int, sep: str = ",") -> str:
    return f"{n:,}".replace(",", sep)


def csv_bytes(rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8", title: str | None = None,
              newline: str = "\r\n", trailing_blank: bool = False) -> bytes:
    """A CSV export; cells are written as given (quote them yourself to test quoting)."""
    lines = [title] if title is not None else []
    lines += [",".join("" if c is None else str(c) for c in row) for row in rows]
    text = newline.join(lines) + (newline + newline if trailing_blank else newline)
    return text.encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, merges: Sequence[str] = (), start_row: int = 1,
               start_col: int = 1) -> bytes:
    """An XLSX export with openpyxl: rows from start_row and start_col, and merged ranges such as "A1:H1"."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for r, row in enumerate(rows, start=start_row):
        for c, value in enumerate(row, start=start_col):
            if value is not None:
                sheet.cell(row=r, column=c, value=value)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def wangban_xlsx(units: Sequence[Sequence[Any]], *, total: Sequence[Any] | None = None,
                 title: str = "青山区政务服务事项网办情况统计表（2022-05-31）") -> bytes:
    """The 一体化平台 layout: a merged title row, a two-row merged header (事项情况 over three count columns,
    比率 over two rates, the first three headers merged down), data rows, an optional 合计 row."""
    rows: list[Sequence[Any]] = [[title], WANGBAN_GROUPS, [None, None, None, *WANGBAN_COLUMNS[3:]], *units]
    if total is not None:
        rows.append(total)
    merges = ["A1:H1", "D2:F2", "G2:H2", "A2:A3", "B2:B3", "C2:C3"]
    return xlsx_bytes(rows, merges=merges)


def yichuang_rows(halls: Sequence[tuple[str, str, Any, Any, Any]], month: str = "2022-05") -> list[list[Any]]:
    """Header and rows of the 综合窗口 export: (大厅名称, 区划代码, 事项总数, 纳入数, 受理率) per hall."""
    return [YICHUANG_COLUMNS, *[[month, *hall] for hall in halls]]


def haochaping_row(n: int, code: str, level: str, *, person: str = "张*", phone: str = "138****0000",
                   named: str = "是", when: str = "2022-05-31 10:00:00", comment: str = "") -> list[str]:
    return [str(n), f"HCP20220531{n:06d}", f"BJ{n:08d}", "11150204MB7654321Y4000111300000", "城乡居民养老保险参保登记",
            "区人社局", code, "某街道", "窗口评价器", level, when, person, phone, named, comment]


def haochaping_csv(rows: Sequence[Sequence[str]], *, encoding: str = "gb18030") -> bytes:
    title = "政务服务“好差评”评价明细（统计日期：2022-05-31）"
    return csv_bytes([HAOCHAPING_COLUMNS, *rows], encoding=encoding, title=title, trailing_blank=True)
