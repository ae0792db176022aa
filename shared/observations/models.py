"""Observations (监测数据): each unit's own daily figures, their replaced versions, and the monthly pre-aggregate."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class Observation(Base):
    """The current figure of (indicator, unit, day). `value` is computed by the store, never taken on trust."""

    __tablename__ = "observations"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)
    obs_date: Mapped[date] = mapped_column(Date, primary_key=True)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(120))


class ObservationHistory(Base):
    """A figure as it was before a correction replaced it (who wrote it, who replaced it, when). No foreign keys:
    each row is copied from `observations`, which has them, and units and indicators are never deleted."""

    __tablename__ = "observation_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(Integer)
    obs_date: Mapped[date] = mapped_column(Date)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(120))
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[str] = mapped_column(String(120))


class ObservationMonth(Base):
    """Pre-aggregate per (indicator, unit, month), rebuilt for the touched keys in the same transaction as
    every write: sums for `sum` indicators, the month's latest figure for `last` indicators."""

    __tablename__ = "observation_months"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    days: Mapped[int] = mapped_column(Integer)
    sum_numerator: Mapped[float | None] = mapped_column(Float)
    sum_denominator: Mapped[float | None] = mapped_column(Float)
    sum_value: Mapped[float | None] = mapped_column(Float)
    last_date: Mapped[date] = mapped_column(Date)
    last_numerator: Mapped[float | None] = mapped_column(Float)
    last_denominator: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)


class RollupMonth(Base):
    """Region-level pre-aggregate per (indicator, unit incl. its whole subtree, month), rebuilt for the touched
    ancestors with every write: Σ of the descendants' monthly sums and of their latest figures in the month,
    and how many descendants reported. Lets a province-year roll-up read a dozen rows instead of thousands."""

    __tablename__ = "rollup_months"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(Integer)
    sum_numerator: Mapped[float | None] = mapped_column(Float)
    sum_denominator: Mapped[float | None] = mapped_column(Float)
    sum_value: Mapped[float | None] = mapped_column(Float)
    last_numerator: Mapped[float | None] = mapped_column(Float)
    last_denominator: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)


class IndicatorLevel(Base):
    """The org levels that have ever reported an indicator: what `units_expected` counts."""

    __tablename__ = "indicator_levels"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
