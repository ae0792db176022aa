"""Org units (考评对象): regions with 12-digit division codes, zones and departments, in one tree with history,
and the other names (aliases) documents use for them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base

KINDS = ("region", "zone", "department")
LEVELS = ("province", "city", "county", "township", "village")


class OrgUnit(Base):
    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint(f"level IS NULL OR level IN {LEVELS}", name="level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Regions and zones use their 12-digit statistical division code; departments a code under their government.
    code: Mapped[str] = mapped_column(String(24), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # A re-organised tree closes old units (valid_to) instead of deleting them, so history keeps its units.
    valid_from: Mapped[date] = mapped_column(Date, default=date(2000, 1, 1))
    valid_to: Mapped[date | None] = mapped_column(Date)


class OrgUnitPath(Base):
    """Closure table: one row per (ancestor, descendant) incl. each unit with itself at depth 0.

    Roll-ups join on it instead of walking the tree recursively.
    """

    __tablename__ = "org_unit_paths"

    ancestor_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    descendant_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)
    depth: Mapped[int] = mapped_column(Integer)


class OrgUnitAlias(Base):
    """Another name a document or an export uses for a unit (稀土高新区, 达茂旗, 审批服务局).

    An alias names one unit only, so a name always resolves the same way. `product_reading` marks an alias the
    product inferred (the seed does not say the two names are one body, e.g. 市文旅局 for 市文旅广电局).
    """

    __tablename__ = "org_unit_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    alias: Mapped[str] = mapped_column(String(100), unique=True)
    product_reading: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(String(300))
