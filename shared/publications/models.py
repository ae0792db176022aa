"""Published results (通报): immutable snapshots of a scheme's scores and rankings, versioned, with a SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class Publication(Base):
    """A published result (通报) of a scheme's half-year or year; versions count up and are never changed."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("scheme_id", "period", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    period: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))  # of the snapshot document's bytes


class PublicationDocument(Base):
    """The stored bytes of a publication: the snapshot, each ranking (JSON, XLSX) and each unit's explained score."""

    __tablename__ = "publication_documents"

    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # snapshot | rankings/county.json | …
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
