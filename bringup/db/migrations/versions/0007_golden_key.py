"""Goldens by golden key (content hash, reference core, method); a measurement may be NaN.

- ``golden``: the golden signatures stations share, keyed as the golden cache asks for them.
- ``measurement.value`` becomes nullable: NULL is a reading that is not a number (SQLite cannot
  store a REAL NaN; see docs/database.md). On SQLite this rebuilds the measurement table (a
  copy: minutes on a database of tens of millions of measurements, once).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "golden",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_golden")),
    )
    op.create_index(op.f("ix_golden_content_hash"), "golden", ["content_hash"])
    with op.batch_alter_table("measurement") as batch:
        batch.alter_column("value", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # A NaN reading has no NOT NULL form in 0006: PostgreSQL gets NaN back; SQLite, which has
    # no REAL NaN, keeps the text 'NaN' (readers of 0006 see a string, not a lost row).
    op.execute("UPDATE measurement SET value = 'NaN' WHERE value IS NULL")
    with op.batch_alter_table("measurement") as batch:
        batch.alter_column("value", existing_type=sa.Float(), nullable=False)
    op.drop_index(op.f("ix_golden_content_hash"), table_name="golden")
    op.drop_table("golden")
