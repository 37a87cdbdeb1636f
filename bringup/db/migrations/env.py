"""Alembic environment: runs on the connection that bringup.db.engine.upgrade() hands in."""

from alembic import context

from bringup.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "bringup migrations run through bringup.db.engine.upgrade() (or `bringup db upgrade`), "
        "not the bare alembic command"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
