"""Ingest runs of the collector and idempotency keys of the push API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base

# Every status a run may have: `running` (committed at start) → succeeded | failed | skipped (the same export as
# the last one ingested) | not_modified (HTTP 304) | busy (another collector holds the source) | empty (a header
# and no data rows: not a success); a `running` run found by the next run of its source becomes abandoned
# (killed mid-run: nothing of it was kept).
RUN_STATUSES = ("running", "succeeded", "failed", "skipped", "not_modified", "busy", "empty", "abandoned")
# A run after which the source's figures for its day are current: it wrote them, or found them unchanged.
GOOD_STATUSES = ("succeeded", "skipped", "not_modified")
# What a failed run met, for the reader who must act on it (the message says exactly what): the platform could not
# be fetched from; the export itself was not as agreed (columns, encoding, size); the source's settings
# (sources.yaml) do not fit the database; the collector's disk; the database; anything else.
RUN_FAILURES = ("fetch", "export", "config", "disk", "database", "internal")


class IngestRun(Base):
    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    for_date: Mapped[date | None] = mapped_column(Date)  # the day (or month start) the export was fetched for
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # one of RUN_STATUSES
    failure: Mapped[str | None] = mapped_column(String(16))  # a failed run's: one of RUN_FAILURES
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
