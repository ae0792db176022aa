"""Schemes (考评方案): methods with weights, sections (方面) → groups (大项) → items (小项), lead units, who
undertakes which item. Points are exact decimals; NULL points = the seed assigns none."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base
from shared.schemes.types import MethodKind, RankingKind, check_in

POINTS = Numeric(10, 4)


class Scheme(Base):
    __tablename__ = "schemes"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "year", "version"), UniqueConstraint("code", "version"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    seed_file: Mapped[str | None] = mapped_column(String(100))
    # The unit that verifies lead units' points (the 专班); its admin keys act for the jurisdiction.
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # Counts up with every change its scores depend on (entries, reviews, splits, applicability, the org tree):
    # computed results are cached under it, so a write makes every cached answer unreachable at once.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SchemeMethod(Base):
    __tablename__ = "scheme_methods"
    __table_args__ = (UniqueConstraint("scheme_id", "code"), CheckConstraint(check_in("kind", MethodKind), name="kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)


class SchemeSection(Base):
    __tablename__ = "scheme_sections"
    __table_args__ = (UniqueConstraint("scheme_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(8))  # 一 … 七
    title: Mapped[str] = mapped_column(String(200))
    points: Mapped[Decimal] = mapped_column(POINTS)


class SchemeGroup(Base):
    __tablename__ = "scheme_groups"
    __table_args__ = (UniqueConstraint("section_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("scheme_sections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(8))  # （一） …
    title: Mapped[str] = mapped_column(String(200))
    points: Mapped[Decimal | None] = mapped_column(POINTS)  # as the seed gives them; NULL = not assigned
    split_points: Mapped[Decimal | None] = mapped_column(POINTS)  # set later by the 专班 where the seed is silent


class SchemeItem(Base):
    __tablename__ = "scheme_items"
    __table_args__ = (UniqueConstraint("scheme_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("scheme_groups.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1–90, as in the seed
    text: Mapped[str] = mapped_column(Text)
    points: Mapped[Decimal | None] = mapped_column(POINTS)
    split_points: Mapped[Decimal | None] = mapped_column(POINTS)  # set by the lead unit or the 专班
    deadline_text: Mapped[str | None] = mapped_column(String(100))
    due_date: Mapped[date | None] = mapped_column(Date)
    # Optional link for automatic monitoring points (max × achievement); configuration, not in the seed.
    indicator_code: Mapped[str | None] = mapped_column(ForeignKey("indicators.code"))


class SchemeItemLead(Base):
    """The lead assessment units (牵头考核单位) of an item; several per item are possible (items 3, 4, 5, 8 …)."""

    __tablename__ = "scheme_item_leads"

    item_id: Mapped[int] = mapped_column(ForeignKey("scheme_items.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    seed_name: Mapped[str] = mapped_column(String(100))  # the name as the seed writes it (审批服务局)


class SchemeUnit(Base):
    """A unit assessed by the scheme (考评对象), with the group it is ranked in."""

    __tablename__ = "scheme_units"
    __table_args__ = (CheckConstraint(check_in("ranking_kind", RankingKind), name="ranking_kind"),)

    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    ranking_kind: Mapped[str] = mapped_column(String(16))


class ItemExclusion(Base):
    """An item the 专班 marked not applicable to a unit (the unit does not undertake it)."""

    __tablename__ = "scheme_item_exclusions"

    item_id: Mapped[int] = mapped_column(ForeignKey("scheme_items.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(120))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
