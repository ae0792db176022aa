"""Observations (监测数据): each unit's own daily figures, their replaced versions, and the monthly pre-aggregate."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base

# Sums are NUMERIC, not float8: a month's sum is kept in step by adding (new − old), and in float8 a large
# figure corrected away leaves its rounding error behind for good (10¹² + 0.1, then 10¹² → 1, reads
# 1.0999755859375). Each figure enters as CAST(x AS NUMERIC) — its 15 significant digits, the same in the
# write, the rebuild and the check — and sums of those are exact and cannot overflow. Fixed-scale integers would
# be faster but need a scale per indicator and overflow a bigint on a province-year of large counts.
# The raw figures stay float8 (bounded, see validate.MAX_FIGURE): one figure is a double either way.
Sum = Numeric(asdecimal=True)


class ObservationWrite(Base):
    """One call of the write path (a push, a collector run's figures, a ratings write): the id stamped on
    every figure it writes (`observations.write_id`) and every version it replaces, so a write recognises its
    own rows — never by the clock, which two writes may share."""

    __tablename__ = "observation_writes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
    # The write that set this version (no foreign key: checking one per figure would slow the merge; NULL for
    # figures written before revision 0005).
    write_id: Mapped[int | None] = mapped_column(Integer)


class ObservationHistory(Base):
    """A figure as it was before a correction replaced it (who wrote it, who replaced it, when). No foreign keys:
    each row is copied from `observations`, which has them, and units and indicators are never deleted."""

    __tablename__ = "observation_history"
    # The versions a write replaced, by key: how a collector run withdraws a figure it wrote when a later row of
    # its export conflicts (the write's own versions are the newest, so the index grows at its right edge).
    __table_args__ = (
        Index("ix_observation_history_replaced", "replaced_write_id", "indicator_id", "org_id", "obs_date"),
    )

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
    write_id: Mapped[int | None] = mapped_column(Integer)  # the write that had set this version
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[str] = mapped_column(String(120))
    replaced_write_id: Mapped[int | None] = mapped_column(Integer)  # the write that replaced it


class ObservationMonth(Base):
    """Pre-aggregate per (indicator, unit, month), rebuilt for the touched keys in the same transaction as
    every write: sums for `sum` indicators, the month's latest figure for `last` indicators."""

    __tablename__ = "observation_months"
    # Room on each page for a new version of every row: a push updates each unit's current month in place, and
    # those rows share pages (HOT updates; migrations 0008, 0009).
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    days: Mapped[int] = mapped_column(Integer)
    sum_numerator: Mapped[Decimal | None] = mapped_column(Sum)
    sum_denominator: Mapped[Decimal | None] = mapped_column(Sum)
    # Σ of the counts' values only (figures without a numerator); NULL for a ratio's month: a ratio's value is
    # factor × Σnumerator / Σdenominator, recomputed by every read, so its Σ of percentages is not kept.
    sum_value: Mapped[Decimal | None] = mapped_column(Sum)
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
    sum_numerator: Mapped[Decimal | None] = mapped_column(Sum)
    sum_denominator: Mapped[Decimal | None] = mapped_column(Sum)
    sum_value: Mapped[Decimal | None] = mapped_column(Sum)
    last_numerator: Mapped[Decimal | None] = mapped_column(Sum)  # Σ of the units' latest figures
    last_denominator: Mapped[Decimal | None] = mapped_column(Sum)
    last_value: Mapped[Decimal | None] = mapped_column(Sum)  # Σ of latest values that are counts' (as sum_value)


class IndicatorLevel(Base):
    """The org levels that have ever reported an indicator: what `units_expected` counts."""

    __tablename__ = "indicator_levels"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
