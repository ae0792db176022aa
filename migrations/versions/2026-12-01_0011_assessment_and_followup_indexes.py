"""Two indexes for statements that read a whole growing table (found by running the suite with sequential scans
switched off, tests/test_index_paths.py):

* `assessments (org_id, item_id, period)`: a lead unit's new points replace its earlier unverified ones — one
  statement a row of the body, each reading every assessment ever entered — and the dashboard's overdue items
  look for a unit's verified points per item;
* `ratings (followup_state, followup_due_date)`: GET /v1/ratings/overdue read every rating (good ones included)
  to find the open follow-ups past their deadline.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assessments_unit_item_period", "assessments", ["org_id", "item_id", "period"])
    op.create_index("ix_ratings_followup_due", "ratings", ["followup_state", "followup_due_date"])


def downgrade() -> None:
    op.drop_index("ix_ratings_followup_due", table_name="ratings")
    op.drop_index("ix_assessments_unit_item_period", table_name="assessments")
