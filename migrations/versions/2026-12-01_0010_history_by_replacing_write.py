"""observation_history gets an index on (replaced_write_id, indicator_id, org_id, obs_date): a collector run that
meets a conflicting repeat in its export withdraws the figure it wrote, restoring the version it replaced — found
by the replacing write and the key. Without the index each look-up read the whole history table (500 conflicts
over a 1 M-row history: 67 s). The write's own versions are the newest, so the index grows at its right edge.
Building it reads the table once (a few seconds a million rows).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ["replaced_write_id", "indicator_id", "org_id", "obs_date"]


def upgrade() -> None:
    op.create_index("ix_observation_history_replaced", "observation_history", _COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_observation_history_replaced", table_name="observation_history")
