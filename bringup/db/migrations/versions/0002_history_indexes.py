"""Indexes for the history queries: failures by corner, Vmin, measurement trends.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FAILURES_ONLY = sa.column("passed") == sa.false()


def upgrade() -> None:
    op.create_index(
        "ix_vector_result_failures",
        "vector_result",
        ["vector_id", "core_mhz", "temperature_c", "vdd_core_v"],
        sqlite_where=_FAILURES_ONLY,
        postgresql_where=_FAILURES_ONLY,
    )
    op.create_index("ix_vector_result_corner", "vector_result", ["core_mhz", "temperature_c", "vdd_core_v"])
    op.create_index(
        "ix_measurement_name_corner",
        "measurement",
        ["name", "core_mhz", "temperature_c", "vdd_core_v"],
    )


def downgrade() -> None:
    op.drop_index("ix_measurement_name_corner", table_name="measurement")
    op.drop_index("ix_vector_result_corner", table_name="vector_result")
    op.drop_index("ix_vector_result_failures", table_name="vector_result")
