"""Targets (目标值) per indicator, year (or half-year) and scope (PRODUCT.md §2.2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class Target(Base):
    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("indicator_id", "org_id", "year", "half", "applies_to"),
        CheckConstraint("comparator IS NULL OR comparator IN ('>=', '<=', '=')", name="comparator"),
        CheckConstraint("half IN (0, 1, 2)", name="half"),
        CheckConstraint("number IS NOT NULL OR text IS NOT NULL", name="number_or_text"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    # Scope: the unit itself ('self'), or every unit of a level/kind under it ('county', 'department' …).
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    applies_to: Mapped[str] = mapped_column(String(16), default="self")
    year: Mapped[int] = mapped_column(Integer)
    half: Mapped[int] = mapped_column(Integer, default=0)  # 0 = the whole year
    comparator: Mapped[str | None] = mapped_column(String(2))
    number: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)  # a text-only target is shown, never scored
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_cell: Mapped[str | None] = mapped_column(String(200))  # the seed table's cell, verbatim
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
