"""Domain words of schemes (考评方案) and assessments as types: the model's CHECK constraints, the schemas and the
rules all use these enums."""

from __future__ import annotations

from enum import StrEnum


class MethodKind(StrEnum):
    """How an assessment method (考评方式) scores: item by item, or one 0–100 score per unit and half-year."""

    ITEMS = "items"  # 日常监测, 实地调研
    OVERALL = "overall"  # 民意调查, 第三方评估


class RankingKind(StrEnum):
    """Units are ranked among their own kind (PRODUCT.md §2.3): counties with counties, departments with departments."""

    COUNTY = "county"  # 旗县区 and 稀土高新区
    DEPARTMENT = "department"  # 委办局, Party and vertically managed bodies


class AssessmentStatus(StrEnum):
    """The 数字政府专班+牵头考核单位 model: a lead unit's points count once the 专班 has verified them."""

    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"
    SUPERSEDED = "superseded"  # replaced by a newer submission of the same lead unit before verification


class MaxSource(StrEnum):
    """Where an effective maximum (max_points) came from."""

    SEED = "seed"  # the level's own points, as the seed gives them
    SPLIT = "split"  # set by the 专班 or the lead unit (PUT /v1/schemes/{id}/splits)
    WHOLE_PARENT = "whole_parent"  # the only unassigned child takes what its parent has left (三(一) = 20)
    EQUAL_SHARE = "equal_share"  # unassigned children share what their parent has left equally


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL for a CHECK constraint that keeps a column to an enum's values."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in enum)})"
