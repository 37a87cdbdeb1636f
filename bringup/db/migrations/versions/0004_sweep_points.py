"""Sweep points: each point of a shmoo or Vmin sweep with its conditions and outcome.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("vdd_core_v", sa.Float(), nullable=True),
        sa.Column("core_mhz", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("die_c", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("vectors_passed", sa.Integer(), nullable=False),
        sa.Column("vectors_run", sa.Integer(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_sweep_point_run_id_run"),
        sa.PrimaryKeyConstraint("id", name="pk_sweep_point"),
    )
    op.create_index("ix_sweep_point_run_step", "sweep_point", ["run_id", "step_index"])


def downgrade() -> None:
    op.drop_index("ix_sweep_point_run_step", table_name="sweep_point")
    op.drop_table("sweep_point")
