"""Body of GET /v1/dashboard (named component schemas; the router serves the cached bytes, a test validates
them against these models)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["met", "near", "behind", "no_data"]
WarningKind = Literal["behind_target", "not_reporting", "stale_source", "rating_followup_overdue", "item_overdue"]


class DashboardOrg(BaseModel):
    code: str
    name: str
    level: str | None
    kind: str


class DashboardTarget(BaseModel):
    year: int
    half: int = Field(description="0 = the annual target")
    comparator: str | None
    number: float | None
    text: str | None = Field(description="a text-only target: shown, never scored")
    derived: bool = Field(description="interpolated between a baseline and a later target")


class DashboardMonth(BaseModel):
    period: str = Field(description="YYYY-MM")
    value: float | None
    target: float | None
    achievement: float | None
    status: Status | None
    units_reporting: int


class DashboardDay(BaseModel):
    date: str
    value: float | None
    status: Status | None


class DashboardIndicator(BaseModel):
    indicator: str
    name: str
    unit: str | None = Field(description="the indicator's unit (%, 分, 个 …)")
    direction: str | None
    value: float | None = Field(description="the year to date: GET /v1/values?period=<year> for the unit")
    numerator: float | None
    denominator: float | None
    units_reporting: int
    units_expected: int
    target: DashboardTarget | None
    achievement: float | None
    status: Status | None = Field(description="null when there is no scored target")
    months: list[DashboardMonth] = Field(description="the year's 12 months")
    trend: list[DashboardDay] = Field(description="the 30 days up to as_of")


class DashboardScore(BaseModel):
    scheme: int
    scheme_name: str
    period: str = Field(description="the latest half-year with a score (H2, else H1)")
    kind: str = Field(description="the ranking the unit is in: county | department")
    status: str = Field(description="complete | incomplete | missing")
    total: float | None
    rank: int | None
    ranked: int = Field(description="units ranked in that ranking")


class DashboardUnit(DashboardOrg):
    score: DashboardScore | None = Field(description="where a scheme of the year assesses the unit")
    indicators: list[DashboardIndicator] = Field(description="the indicators of the plans covering the unit")


class WarningSubject(BaseModel):
    type: Literal["indicator", "source", "item", "rating", "ratings"] = Field(
        description="ratings: the overdue 差评 beyond the listed ones, counted (code = the jurisdiction)"
    )
    code: str
    name: str


class DashboardWarning(BaseModel):
    kind: WarningKind
    unit: str = Field(description="the dashboard row (the jurisdiction or a child unit) the warning belongs to")
    unit_name: str
    subject: WarningSubject
    since: str | None = Field(description="date or time from which the condition holds; null = never reported")
    message: str = Field(description="in Chinese, for people")
    details: dict[str, Any]


class DashboardOut(BaseModel):
    org: DashboardOrg
    year: int
    as_of: str = Field(description="the last day shown: today, or 31 December of a past year")
    days: list[str]
    months: list[str]
    jurisdiction: DashboardUnit = Field(description="the jurisdiction's own roll-up")
    units: list[DashboardUnit] = Field(description="its child units")
    warnings: list[DashboardWarning]
