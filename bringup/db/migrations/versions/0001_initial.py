"""Initial schema: stations, chips, runbooks, runs, steps and their results.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def _run_fk() -> sa.Column:
    return sa.Column("run_id", sa.String(32), nullable=False)


def _conditions() -> list[sa.Column]:
    return [
        sa.Column("vdd_core_v", sa.Float(), nullable=True),
        sa.Column("core_mhz", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "station",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_station"),
        sa.UniqueConstraint("name", name="uq_station_name"),
    )
    op.create_table(
        "chip",
        _id(),
        sa.Column("serial", sa.String(200), nullable=False),
        sa.Column("lot", sa.String(100), nullable=True),
        sa.Column("wafer", sa.Integer(), nullable=True),
        sa.Column("die_x", sa.Integer(), nullable=True),
        sa.Column("die_y", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_chip"),
        sa.UniqueConstraint("serial", name="uq_chip_serial"),
    )
    op.create_index("ix_chip_lot", "chip", ["lot"])
    op.create_table(
        "runbook",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runbook"),
        sa.UniqueConstraint("content_hash", name="uq_runbook_content_hash"),
    )
    op.create_table(
        "vector",
        _id(),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("golden", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vector"),
        sa.UniqueConstraint("content_hash", name="uq_vector_content_hash"),
    )
    op.create_index("ix_vector_name", "vector", ["name"])
    op.create_table(
        "instrument",
        _id(),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("driver", sa.String(200), nullable=False),
        sa.Column("resource", sa.String(500), nullable=False),
        sa.Column("idn", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"], name="fk_instrument_station_id_station"),
        sa.PrimaryKeyConstraint("id", name="pk_instrument"),
        sa.UniqueConstraint("station_id", "role", name="uq_instrument_station_id_role"),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("chip_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.Column("software_version", sa.String(100), nullable=False),
        sa.Column("resume_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["chip_id"], ["chip.id"], name="fk_run_chip_id_chip"),
        sa.ForeignKeyConstraint(["station_id"], ["station.id"], name="fk_run_station_id_station"),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbook.id"], name="fk_run_runbook_id_runbook"),
        sa.PrimaryKeyConstraint("id", name="pk_run"),
    )
    op.create_index("ix_run_chip_started", "run", ["chip_id", "started_at"])
    op.create_index("ix_run_started_at", "run", ["started_at"])
    op.create_index("ix_run_status_heartbeat", "run", ["status", "heartbeat_at"])
    op.create_table(
        "step",
        _id(),
        _run_fk(),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_step_run_id_run"),
        sa.PrimaryKeyConstraint("id", name="pk_step"),
        sa.UniqueConstraint("run_id", "index", name="uq_step_run_id_index"),
    )
    op.create_table(
        "measurement",
        _id(),
        _run_fk(),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("units", sa.String(20), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("time", sa.Float(), nullable=False),
        *_conditions(),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_measurement_run_id_run"),
        sa.PrimaryKeyConstraint("id", name="pk_measurement"),
    )
    op.create_index("ix_measurement_run_step", "measurement", ["run_id", "step_index"])
    op.create_table(
        "vector_result",
        _id(),
        _run_fk(),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("vector_id", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("first_mismatch_addr", sa.BigInteger(), nullable=True),
        sa.Column("flipped_bits", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.LargeBinary(), nullable=True),
        sa.Column("actual", sa.LargeBinary(), nullable=True),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        *_conditions(),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_vector_result_run_id_run"),
        sa.ForeignKeyConstraint(["vector_id"], ["vector.id"], name="fk_vector_result_vector_id_vector"),
        sa.PrimaryKeyConstraint("id", name="pk_vector_result"),
        sa.UniqueConstraint(
            "run_id",
            "step_index",
            "vector_id",
            "repeat",
            name="uq_vector_result_run_id_step_index_vector_id_repeat",
        ),
    )
    op.create_table(
        "rail_sample",
        _id(),
        _run_fk(),
        sa.Column("rail", sa.String(100), nullable=False),
        sa.Column("volts", sa.Float(), nullable=False),
        sa.Column("amps", sa.Float(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_rail_sample_run_id_run"),
        sa.PrimaryKeyConstraint("id", name="pk_rail_sample"),
    )
    op.create_index("ix_rail_sample_run_rail_time", "rail_sample", ["run_id", "rail", "time"])
    op.create_table(
        "event_log",
        _id(),
        _run_fk(),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name="fk_event_log_run_id_run"),
        sa.PrimaryKeyConstraint("id", name="pk_event_log"),
    )
    op.create_index("ix_event_log_run_time", "event_log", ["run_id", "time"])


def downgrade() -> None:
    for table in (
        "event_log",
        "rail_sample",
        "vector_result",
        "measurement",
        "step",
        "run",
        "instrument",
        "vector",
        "runbook",
        "chip",
        "station",
    ):
        op.drop_table(table)
