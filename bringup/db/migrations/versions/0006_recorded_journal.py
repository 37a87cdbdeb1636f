"""How far each recorder journal is in the database, so a replay writes each event exactly once.

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recorded_journal",
        sa.Column("journal_id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("journal_id", name=op.f("pk_recorded_journal")),
    )
    op.create_index(op.f("ix_recorded_journal_run_id"), "recorded_journal", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recorded_journal_run_id"), table_name="recorded_journal")
    op.drop_table("recorded_journal")
