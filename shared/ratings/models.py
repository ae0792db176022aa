"""好差评 rating records (no personal data columns exist) and the follow-up of bad ratings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base

FOLLOWUP_STATES = ("待核实", "核实中", "已整改")
OPEN_STATES = FOLLOWUP_STATES[:2]  # not yet 已整改


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
        CheckConstraint(f"followup_state IS NULL OR followup_state IN {FOLLOWUP_STATES}", name="followup"),
        # The open follow-ups by deadline (GET /v1/ratings/overdue): not every bad rating ever rectified.
        Index("ix_ratings_followup_due", "followup_state", "followup_due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rating_id: Mapped[str] = mapped_column(String(64), unique=True)  # the platform's 评价编号
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    rating_date: Mapped[date] = mapped_column(Date, index=True)
    rated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    level: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    service_item: Mapped[str] = mapped_column(String(200))
    item_code: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(100))
    named: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    # Bad ratings (level ≤ 2) only: 待核实 → 已整改 within the deadline (working days, a setting).
    followup_state: Mapped[str | None] = mapped_column(String(8))
    followup_due_date: Mapped[date | None] = mapped_column(Date)
    followup_done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
