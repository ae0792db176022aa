"""The dashboard: one data revision every write counts up (cached dashboards are keyed by it), and the catalogue
of the levels expected to report each indicator (the `not_reporting` warning).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_data_revision_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_revision")),
    )
    op.execute("INSERT INTO data_revision (id, revision) VALUES (1, 0)")
    op.create_table(
        "indicator_report_levels",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("every", sa.String(length=8), nullable=False),
        sa.CheckConstraint("every IN ('day', 'month')", name=op.f("ck_indicator_report_levels_every")),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicators.id"], name=op.f("fk_indicator_report_levels_indicator_id_indicators")
        ),
        sa.PrimaryKeyConstraint("indicator_id", "level", name=op.f("pk_indicator_report_levels")),
    )


def downgrade() -> None:
    op.drop_table("indicator_report_levels")
    op.drop_table("data_revision")
