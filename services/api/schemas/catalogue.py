"""Response and request bodies for org units, indicators and targets (never ORM classes)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.api.schemas.strict import Flag, Integer, Number


class OrgUnitOut(BaseModel):
    code: str
    name: str
    kind: str
    level: str | None
    parent: str | None
    valid_from: date
    valid_to: date | None


class IndicatorOut(BaseModel):
    code: str
    plan: str | None
    name: str
    seed_name: str | None
    annex_name: str | None
    category: str | None = Field(description="领域 / 类别")
    unit: str | None
    calculation: str | None = Field(description="计算方法, verbatim from the seed")
    numerator_label: str | None
    denominator_label: str | None
    measure: str
    factor: float
    whole_numbers: bool = Field(description="its figures count things: a numerator, denominator or value with a "
                                "fraction is refused")
    time_aggregation: str
    rollup: str
    direction: str | None
    property: str | None = Field(description="约束性 | 预期性")
    responsible_unit: str | None
    inferred: list[str] = Field(description="fields the product inferred; the seed does not state them")
    version: int


class TargetOut(BaseModel):
    indicator: str
    org: str
    applies_to: str
    year: int
    half: int
    comparator: str | None
    number: float | None
    text: str | None
    baseline: bool
    derived: bool
    seed_cell: str | None
    rounded_up: bool = Field(default=False, description="a derived count target rounded up to whole items")


# 'self' or one of shared.org_units.models LEVELS / KINDS: a scope no unit can have would never apply.
AppliesTo = Literal["self", "province", "city", "county", "township", "village", "region", "zone", "department"]


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=32)
    org: str = Field(min_length=1, max_length=24)
    applies_to: AppliesTo = Field(default="self", description="'self', or a level/kind every unit under org gets")
    year: Integer = Field(ge=2000, le=2100)
    half: Integer = Field(default=0, ge=0, le=2, description="0 = whole year, 1 or 2 = half-year target")
    comparator: Literal[">=", "<=", "="] | None = None
    # A target is a share, a count or a score: never negative; bounded so every read can compute with it.
    number: Number | None = Field(default=None, ge=0, le=1e12)
    text: str | None = Field(default=None, max_length=500)
    baseline: Flag = False

    @model_validator(mode="after")
    def _number_or_text(self) -> TargetIn:
        if self.number is None and not self.text:
            raise ValueError("give a number (with a comparator) or a text-only target")
        if self.number is not None and self.comparator is None and not self.baseline:
            raise ValueError("a numeric target needs a comparator: >=, <= or =")
        return self


class TargetsPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: list[TargetIn] = Field(min_length=1, max_length=10_000)


class WriteCounts(BaseModel):
    inserted: int
    updated: int
    unchanged: int
