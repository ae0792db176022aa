"""org_unit_aliases: other names of org units (稀土高新区, 达茂旗, department short names)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_unit_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("product_reading", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["org_units.id"], name=op.f("fk_org_unit_aliases_org_id_org_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_unit_aliases")),
        sa.UniqueConstraint("alias", name=op.f("uq_org_unit_aliases_alias")),
    )
    with op.batch_alter_table("org_unit_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_unit_aliases_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("org_unit_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_unit_aliases_org_id"))
    op.drop_table("org_unit_aliases")
