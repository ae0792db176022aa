"""indicators.whole_numbers: the indicator's figures count things (事项, 个, 次), so a numerator, denominator or
value with a fraction is a bad row. Set here for the seed catalogue's counting indicators as shared/seeds/*.yaml
marks them on this date (loading the catalogue again sets it from the YAML); false for any other.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTING = ("QS-01", "QS-02", "QS-03", "QS-04", "QS-05", "QS-07", "QS-08", "QS-09", "QS-10", "QS-12", "QS-13",
             "QS-14", "QS-15", "NC-08", "NC-12", "NC-13", "NC-14", "HCP-GOOD", "HCP-BAD", "HCP-COUNT")


def upgrade() -> None:
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("whole_numbers", sa.Boolean(), server_default=sa.false(), nullable=False))
    counting = ", ".join(f"'{code}'" for code in _COUNTING)
    op.execute(f"UPDATE indicators SET whole_numbers = true WHERE code IN ({counting})")


def downgrade() -> None:
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_column("whole_numbers")
