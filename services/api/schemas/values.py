"""Body of GET /v1/values."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class ValueOut(BaseModel):
    indicator: str
    indicator_name: str
    unit: str | None = Field(description="the indicator's unit (%, 分, 个 …)")
    org: str
    org_name: str
    period: str
    start: date
    end: date
    numerator: float | None
    denominator: float | None
    value: float | None
    units_reporting: int
    units_expected: int
    target: dict[str, Any] | None
    achievement: float | None
    status: str | None = Field(description="met | near | behind | no_data; null when there is no scored target")
    formula: str = Field(description="how the value was computed")


class ValuesOut(BaseModel):
    values: list[ValueOut]
