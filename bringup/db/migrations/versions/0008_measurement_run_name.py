"""An index on measurement (run_id, name): one named result of a run without reading the others.

`bringup query vmin --lot` reads each chip's `vmin` measurements; without it SQLite walks every
measurement of every run of the lot (10,000 a chip in the history benchmark: 150 ms against
3 ms).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_measurement_run_name", "measurement", ["run_id", "name"])


def downgrade() -> None:
    op.drop_index("ix_measurement_run_name", table_name="measurement")
