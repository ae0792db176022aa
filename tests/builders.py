"""Small builders for test data (per concept, no god-factory)."""

from __future__ import annotations

from datetime import date
from typing import Any

QINGSHAN = "150204000000"
FUQIANG = "150204004000"  # 富强路街道
XINGFU = "150204002000"  # 幸福路街道


def obs(
    indicator: str,
    org: str,
    day: str | date,
    numerator: float | None = None,
    denominator: float | None = None,
    value: float | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {"indicator": indicator, "org": org, "date": str(day)}
    for k, v in (("numerator", numerator), ("denominator", denominator), ("value", value)):
        if v is not None:
            row[k] = v
    return row


def push_body(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"observations": list(rows)}
