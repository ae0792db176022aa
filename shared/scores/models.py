"""Assessments (考核评分) entered by lead units and the 专班; a resubmission or adjustment is a new row."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base
from shared.schemes.types import AssessmentStatus, check_in


class Assessment(Base):
    """One entry: points for (item, unit, half-year, method) from one lead unit, or the 专班's overall score.

    Rows are never updated in their numbers: a resubmission or an adjustment is a new row, the old one kept."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(check_in("status", AssessmentStatus), name="status"),
        CheckConstraint("(item_id IS NULL) = (points IS NULL)", name="item_points"),
        CheckConstraint("(item_id IS NULL) = (score IS NOT NULL)", name="overall_score"),
        # A unit's entries: what a lead unit's new points replace, a unit's score, the dashboard's overdue items.
        Index("ix_assessments_unit_item_period", "org_id", "item_id", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    method_id: Mapped[int] = mapped_column(ForeignKey("scheme_methods.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_items.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))  # the unit assessed
    period: Mapped[str] = mapped_column(String(8))  # 2022H1 | 2022H2
    points: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    score: Mapped[Decimal | None] = mapped_column(Numeric(7, 3))  # overall methods, 0–100
    # The lead unit that gave the points; NULL = the 专班 (its entries are verified on entry).
    lead_org_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str | None] = mapped_column(String(500))
    adjusts_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))  # the verified entry it corrects
    reason: Mapped[str | None] = mapped_column(String(1000))  # why the 专班 adjusted
    return_reason: Mapped[str | None] = mapped_column(String(1000))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    basis: Mapped[Any | None] = mapped_column(JSON)  # indicator figures behind automatic points
    entered_by: Mapped[str] = mapped_column(String(120))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[str | None] = mapped_column(String(120))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
