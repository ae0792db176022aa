"""The data revision: one counter that every write counts up in its own transaction (figures, targets,
assessments and scheme changes, publications, the org tree, ratings and their follow-ups, ingest runs). Kept
answers (/v1/values, /v1/dashboard) are keyed by it, so a committed write makes every one unreachable at once."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class DataRevision(Base):
    __tablename__ = "data_revision"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
