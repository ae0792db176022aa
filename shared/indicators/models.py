"""Plans (规划/方案) and the indicator catalogue (指标) with their arithmetic (PRODUCT.md §2.1)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class Plan(Base):
    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    issued_date: Mapped[date | None] = mapped_column(Date)
    # The seed column that predates the plan: a baseline, never a target.
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    seed_file: Mapped[str | None] = mapped_column(String(100))


class Indicator(Base):
    __tablename__ = "indicators"
    __table_args__ = (
        CheckConstraint("measure IN ('ratio', 'count')", name="measure"),
        CheckConstraint("time_aggregation IN ('sum', 'last')", name="time_aggregation"),
        CheckConstraint("rollup IN ('sum', 'none')", name="rollup"),
        CheckConstraint("direction IS NULL OR direction IN ('higher', 'lower')", name="direction"),
        CheckConstraint("property IS NULL OR property IN ('约束性', '预期性')", name="property"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    plan_code: Mapped[str | None] = mapped_column(ForeignKey("plans.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    seed_name: Mapped[str | None] = mapped_column(String(200))
    annex_name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(20))
    calculation: Mapped[str | None] = mapped_column(Text)
    numerator_label: Mapped[str | None] = mapped_column(String(200))
    denominator_label: Mapped[str | None] = mapped_column(String(200))
    measure: Mapped[str] = mapped_column(String(8))
    factor: Mapped[float] = mapped_column(Float, default=1.0)
    # The largest figure accepted for this indicator (numerator, denominator, value); NULL = the global bound.
    max_figure: Mapped[float | None] = mapped_column(Float)
    # Its figures count things (事项, 个, 次): a numerator, denominator or value with a fraction is a bad row.
    whole_numbers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    time_aggregation: Mapped[str] = mapped_column(String(8))
    rollup: Mapped[str] = mapped_column(String(8))
    direction: Mapped[str | None] = mapped_column(String(8))
    property: Mapped[str | None] = mapped_column(String(8))
    responsible_unit: Mapped[str | None] = mapped_column(String(200))
    # Names of the fields above whose values the product inferred rather than read in the seed.
    inferred: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)


class IndicatorReportLevel(Base):
    """Catalogue: the org levels expected to send an indicator, and how often (`every`: day or month). What the
    dashboard's `not_reporting` warning checks — read from the catalogue, never guessed from what has arrived
    (`indicator_levels` records the levels that did report, for `units_expected`)."""

    __tablename__ = "indicator_report_levels"
    __table_args__ = (CheckConstraint("every IN ('day', 'month')", name="every"),)

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    every: Mapped[str] = mapped_column(String(8))
