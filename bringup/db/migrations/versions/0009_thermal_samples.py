"""A run's temperature history, and each sweep point's progress.

- ``thermal_sample``: every ThermalSample (forcer set point, forcer and die readings,
  at-temperature, head) as a row; before this they were repr() lines in ``event_log``, which
  neither queries nor an attached TUI could read back.
- ``sweep_point.done``/``total``: the step's progress at the point, so a viewer following the
  run through the database draws the progress bar with its total. Older rows keep NULL.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thermal_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("setpoint_c", sa.Float(), nullable=True),
        sa.Column("forcer_c", sa.Float(), nullable=True),
        sa.Column("die_c", sa.Float(), nullable=True),
        sa.Column("at_temperature", sa.Boolean(), nullable=False),
        sa.Column("head", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_thermal_sample_run_id_run"),
        sa.PrimaryKeyConstraint("id", name="pk_thermal_sample"),
    )
    op.create_index("ix_thermal_sample_run_order", "thermal_sample", ["run_id", "id"])
    # Nullable, no default: SQLite adds them in place (no table copy), and rows recorded before
    # say "not recorded" rather than a made-up 0.
    with op.batch_alter_table("sweep_point") as batch:
        batch.add_column(sa.Column("done", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("total", sa.Integer(), nullable=True))


def downgrade() -> None:
    # The samples go with their table (0008 has no place for them); sweep points keep every
    # column they had before.
    with op.batch_alter_table("sweep_point") as batch:
        batch.drop_column("total")
        batch.drop_column("done")
    op.drop_index("ix_thermal_sample_run_order", table_name="thermal_sample")
    op.drop_table("thermal_sample")
