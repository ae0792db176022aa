"""ingest_runs.failure: what a failed run met — fetch (the platform), export (its columns, encoding, size), config
(the source's settings), disk, database or internal — so that the web view can say it in Chinese; the message
keeps the exact words. Runs that failed before this revision get `internal` (their message still says what
happened).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure", sa.String(length=16), nullable=True))
    op.execute("UPDATE ingest_runs SET failure = 'internal' WHERE status = 'failed'")


def downgrade() -> None:
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.drop_column("failure")
