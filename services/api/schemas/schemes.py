"""Bodies of the scheme, assessment, score and ranking endpoints (never ORM classes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

# true and "12" are not numbers; nor NaN or Infinity, which Python's JSON parser reads
Number = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
# Bounds go on each member of the union: on the union itself pydantic writes them as "ge"/"le", keywords JSON
# Schema does not know, so the document promised no bound (found by tests/api/test_schema_fuzz.py).
Points = Annotated[StrictInt, Field(ge=0)] | Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
Score = Annotated[StrictInt, Field(ge=0, le=100)] | Annotated[StrictFloat, Field(ge=0, le=100)]


class SchemeSummary(BaseModel):
    id: int
    code: str
    name: str
    jurisdiction: str
    jurisdiction_name: str
    year: int
    version: int


class LeadUnitOut(BaseModel):
    code: str
    name: str
    seed_name: str = Field(description="the name as the seed writes it (审批服务局 → 市审批服务局)")


class ItemOut(BaseModel):
    number: int = Field(description="1–90, as in the seed")
    text: str
    points: float | None = Field(description="as the seed gives them; null where not assigned")
    max_points: float = Field(description="effective maximum, 4 decimals; max_points_exact is the fraction")
    max_points_exact: str
    max_points_source: str = Field(description="seed | split | whole_parent | equal_share")
    split_points: float | None
    lead_units: list[LeadUnitOut]
    deadline_text: str | None = Field(description="完成时限 as written")
    due_date: date | None = Field(description="end of the month the deadline names; null for 持续推进 etc.")
    indicator: str | None = Field(description="linked indicator for automatic monitoring points")


class GroupOut(BaseModel):
    number: str
    label: str = Field(description="section and group, e.g. 六（一）: the name splits use")
    title: str
    points: float | None
    max_points: float
    max_points_exact: str
    max_points_source: str
    split_points: float | None
    items: list[ItemOut]


class SectionOut(BaseModel):
    number: str
    title: str
    points: float
    groups: list[GroupOut]


class MethodOut(BaseModel):
    code: str
    name: str
    weight: float
    kind: str = Field(description="items (scored item by item) | overall (one 0–100 score per unit)")


class UnitAssessedOut(BaseModel):
    code: str
    name: str
    ranking_kind: str


class SchemeOut(SchemeSummary):
    seed_file: str | None
    verifier: str | None = Field(description="the 专班 that verifies lead units' points")
    methods: list[MethodOut]
    sections: list[SectionOut]
    units: list[UnitAssessedOut]
    not_applicable: list[dict[str, Any]] = Field(description="(item, org) pairs the 专班 marked not applicable")
    problems: list[str] = Field(description="levels whose points do not add up (empty for a valid scheme)")


class AssessmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org: str = Field(max_length=24, description="the unit assessed")
    period: str = Field(max_length=8, examples=["2022H1"])
    method: str = Field(max_length=32, examples=["monitoring"])
    item: StrictInt | None = Field(default=None, description="item number, for item-based methods")
    points: Points | None = Field(default=None, description="0 … the item's max_points")
    score: Score | None = Field(default=None, description="overall methods: 0–100")
    note: str | None = Field(default=None, max_length=2000, description="evidence")
    source: str | None = Field(default=None, max_length=500, description="overall methods: the survey or report")
    reason: str | None = Field(default=None, max_length=1000, description="required for an adjustment")


class AssessmentsPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessments: list[AssessmentBody] = Field(min_length=1, max_length=10_000)


class AssessmentsWritten(BaseModel):
    ids: list[int]
    submitted: int
    verified: int


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


class AssessmentOut(BaseModel):
    id: int
    status: str
    return_reason: str | None
    verified_by: str | None


class SplitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str | None = Field(default=None, max_length=20, examples=["六（一）"])
    item: StrictInt | None = None
    points: Number | None = Field(description="null clears the split")


class SplitsPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    splits: list[SplitBody] = Field(min_length=1, max_length=500)


class ApplicabilityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: StrictInt
    org: str = Field(max_length=24)
    applicable: bool
    reason: str | None = Field(default=None, max_length=500)


class ApplicabilityPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    applicability: list[ApplicabilityBody] = Field(min_length=1, max_length=10_000)


class PublicationPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(max_length=8, examples=["2022H1"])


class PublicationOut(BaseModel):
    scheme: int
    period: str
    version: int
    published_at: str
    published_by: str
    sha256: str


def decimal(x: Number | None) -> Decimal | None:
    """A JSON number as the exact decimal it was written as (0.1 stays 0.1)."""
    return None if x is None else Decimal(str(x))


class SectionScoreOut(BaseModel):
    section: str
    title: str
    max_points: float | None
    applicable_max: float | None
    points: float | None = Field(description="awarded, capped at the section's maximum")
    score: float | None = Field(description="its share of the method score (scaled when normalised)")


class MethodScoreOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # explain=true adds items, not_assessed, overall, adjusted

    method: str
    name: str
    weight: float
    score: float | None
    score_exact: str | None
    by_section: list[SectionScoreOut]


class ScoreOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # a published score carries its publication

    scheme: int
    org: str
    org_name: str
    ranking_kind: str
    period: str
    status: str = Field(description="complete | incomplete | missing")
    reasons: list[str]
    total: float | None = Field(description="2 decimals, half up; null when missing")
    total_exact: str | None = Field(description="the exact total as a fraction")
    rank: int | None
    by_method: list[MethodScoreOut]
    halves: list[dict[str, Any]]


class RankingRowOut(BaseModel):
    rank: int | None
    org: str
    org_name: str
    status: str
    total: float | None
    by_method: dict[str, float | None]
    by_section: dict[str, dict[str, float | None]]
    reasons: list[str]
    reasons_zh: list[str] = Field(default_factory=list, description="the reasons in Chinese, for the 通报's readers")
    halves: dict[str, float | None] = Field(
        default_factory=dict, description="a year's row: the total of each half-year (年度 = (上半年 + 下半年) ÷ 2)")


class RankingOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    scheme: int
    scheme_version: int
    period: str
    kind: str
    methods: list[dict[str, Any]]
    sections: list[dict[str, Any]]
    rows: list[RankingRowOut]
    rounding: str | None = Field(None, description="how the shown totals and columns are rounded (the 通报's 注)")


class AssessmentListed(BaseModel):
    """One entry: the unit and half-year it is for, its method and item, who gave it, and its review."""

    model_config = ConfigDict(extra="allow")  # the explanation's entry fields (note, source, basis, …)

    id: int
    org: str
    period: str
    method: str
    item: int | None
    lead_unit: str | None = Field(description="the lead unit that entered it; null: the 数字政府专班")
    points: str | None = Field(description="exact, as a fraction (1/4)")
    score: str | None
    status: str = Field(description="submitted | verified | returned | superseded")
    return_reason: str | None = Field(description="why the 专班 returned it")
    adjusts: int | None = Field(description="the verified entry a 专班 adjustment corrects")


class AssessmentList(BaseModel):
    total: int = Field(description="entries matching, on every page")
    assessments: list[AssessmentListed]
