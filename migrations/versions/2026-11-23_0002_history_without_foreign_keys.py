"""observation_history without foreign keys

Every history row is a copy of a row of observations, which has the foreign keys; units and indicators are
never deleted (validity dates, versioned catalogue). Checking them again on each replaced figure cost two
trigger calls per row of a correction batch.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("observation_history") as batch:
        batch.drop_constraint("fk_observation_history_indicator_id_indicators", type_="foreignkey")
        batch.drop_constraint("fk_observation_history_org_id_org_units", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("observation_history") as batch:
        batch.create_foreign_key(
            "fk_observation_history_indicator_id_indicators", "indicators", ["indicator_id"], ["id"]
        )
        batch.create_foreign_key("fk_observation_history_org_id_org_units", "org_units", ["org_id"], ["id"])
