"""The ranking (通报) as an XLSX table: Chinese headers, one row per unit; text that a spreadsheet would run as a
formula is neutralised."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from shared.scores import wording

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_STATUS = {"complete": "完整", "incomplete": "不完整", "missing": "缺失"}


def safe_text(value: str) -> str:
    """A leading ' makes Excel and LibreOffice show the text instead of evaluating it (CSV/formula injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def ranking_xlsx(document: dict[str, Any], title: str) -> bytes:
    methods = document["methods"]
    item_methods = [m for m in methods if any(m["method"] in r["by_section"] for r in document["rows"])]
    # A year's 通报: each half-year's total beside the year's (a document published before has no halves).
    halves = sorted({h for r in document["rows"] for h in r.get("halves", {})})
    headers = ["排名", "单位代码", "单位名称", "总分", *(wording.HALF[h[-2:]] for h in halves)]
    headers += [m["name"] for m in methods]
    headers += [f"{m['name']}·{s['section']}、{s['title']}" for m in item_methods for s in document["sections"]]
    headers += ["状态", "说明"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "通报"
    sheet.append([safe_text(title)])
    sheet.append(headers)
    for row in document["rows"]:
        cells: list[Any] = [row["rank"], row["org"], safe_text(row["org_name"]), row["total"]]
        cells += [row.get("halves", {}).get(h) for h in halves]
        cells += [row["by_method"].get(m["method"]) for m in methods]
        cells += [
            row["by_section"].get(m["method"], {}).get(s["section"]) for m in item_methods for s in document["sections"]
        ]
        reasons = [wording.chinese(r) for r in row["reasons"]]  # a document published before had only English
        cells += [_STATUS.get(row["status"], row["status"]), safe_text("；".join(reasons))]
        sheet.append(cells)
    if document.get("rounding"):  # documents published before the note have none
        sheet.append([])
        sheet.append([safe_text("注：" + document["rounding"])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
