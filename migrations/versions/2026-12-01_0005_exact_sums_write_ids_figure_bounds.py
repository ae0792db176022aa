"""Exact pre-aggregate sums (NUMERIC), an id per write, a per-indicator bound of figures

* `observation_months` / `rollup_months`: the sums (and the region rows' sums of latest figures) become
  NUMERIC, so adding (new − old) on a correction is exact. Existing float sums are converted as they are: run
  `python -m services.api preaggregates check` after the upgrade, and `preaggregates rebuild` if it reports
  differences (a data repair is not a migration's job).
* `observation_writes`: one row per call of the write path; `observations.write_id`, and in
  `observation_history` the version's `write_id` and the `replaced_write_id`, say which write set or replaced a
  figure (NULL for figures written before this revision).
* `indicators.max_figure`: an indicator's own bound of a figure (NULL = SCORECARD_OBSERVATIONS__MAX_FIGURE).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONTH_SUMS = ("sum_numerator", "sum_denominator", "sum_value")
_ROLLUP_SUMS = (*_MONTH_SUMS, "last_numerator", "last_denominator", "last_value")


def upgrade() -> None:
    op.create_table(
        "observation_writes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation_writes")),
    )
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_figure", sa.Float(), nullable=True))
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("write_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("observation_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("write_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("replaced_write_id", sa.Integer(), nullable=True))
    _retype("observation_months", _MONTH_SUMS, sa.Float(), sa.Numeric())
    _retype("rollup_months", _ROLLUP_SUMS, sa.Float(), sa.Numeric())


def downgrade() -> None:
    _retype("rollup_months", _ROLLUP_SUMS, sa.Numeric(), sa.Float())
    _retype("observation_months", _MONTH_SUMS, sa.Numeric(), sa.Float())
    with op.batch_alter_table("observation_history", schema=None) as batch_op:
        batch_op.drop_column("replaced_write_id")
        batch_op.drop_column("write_id")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_column("write_id")
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_column("max_figure")
    op.drop_table("observation_writes")


def _retype(table: str, columns: Sequence[str], old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    # float8 ↔ numeric is an assignment cast on PostgreSQL; SQLite rebuilds the table (batch mode).
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=True)
