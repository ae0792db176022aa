"""observation_months fills its pages to half (fillfactor 50, was 70): a daily push updates every unit's current
month, and those rows share pages (they are written month by month, and a rebuild writes them so too); with 30 %
room only some of a page's rows had space for their new version there (a HOT update), the rest went to another
page with a new entry in each index. Half-full pages leave room for one new version of every row; PostgreSQL
reclaims the old ones on a later visit. Province push (`make bench --scale 1.0`): new rows 0.43–0.45× → 0.46–0.48×
the bare path. The table takes ~1.4× the space. Pages written before this revision keep their old fill until
rewritten (`python -m services.api preaggregates rebuild`, or `VACUUM FULL observation_months` in a quiet hour).
PostgreSQL only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE observation_months SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE observation_months SET (fillfactor = 70)")
