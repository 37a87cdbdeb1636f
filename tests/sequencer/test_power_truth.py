"""Safety and truth on the simulated lab: the clock only on a fully powered chip, the forcer
parked at every end, latched protection refused and cleared, the chip's identity checked, an
abort recorded as an abort, and a resumed run's verdict counting what it recorded before."""

from __future__ import annotations

import socket
import subprocess

import pytest
from click.testing import CliRunner
from sequencer_bench import ROOT, Bench
from simlab_state import forcer_state, outputs_on
from sqlalchemy import func, select

from bringup.db.models import Run, Step, VectorResultRow
from bringup.events import (
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    VectorResult,
)
from bringup.steps.base import RunControl

VECTORS = """
- step: power_on
- step: run_vectors
  suite: random
  seed: 3
  count: 20
  length: 60
  clock_mhz: 500
- step: power_off
"""


def _steps(bench: Bench, run_id: str) -> list[tuple[int, str, str]]:
    with bench.engine().connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(Step.index, Step.kind, Step.status).where(Step.run_id == run_id).order_by(Step.index))]


def test_an_abort_during_vectors_is_recorded_as_the_abort_not_as_a_chip_error(bench: Bench) -> None:
    control = RunControl()
    seen: list[VectorResult] = []

    def on_event(event) -> None:
        if isinstance(event, VectorResult):
            seen.append(event)
            if len(seen) == 3:
                control.abort("aborted by the operator (key a in the TUI)")

    report = bench.run(VECTORS, control=control, on_event=on_event)
    assert (report.status, report.reason) == (RunStatus.ABORTED, "aborted by the operator (key a in the TUI)")
    assert outputs_on(bench.lab) == []
    with bench.engine().connect() as conn:
        assert conn.execute(select(Run.status, Run.reason).where(Run.id == report.run_id)).one() == \
            ("aborted", report.reason)
    assert _steps(bench, report.run_id)[1][2] == "aborted"


def test_a_run_for_another_chip_stops_before_any_vector_naming_both_serials(bench: Bench) -> None:
    from bringup.api import run_runbook

    report = run_runbook(bench.runbook(VECTORS), bench.station, "SIM-0999", db_url=bench.db_url,
                         vector_dirs=[ROOT / "runbooks" / "vectors"], monitor_hz=20)
    assert report.status == RunStatus.ERROR
    assert "the chip on the bench is SIM-0001, but the run is for SIM-0999" in report.reason
    with bench.engine().connect() as conn:
        assert conn.execute(select(func.count()).select_from(VectorResultRow)).scalar_one() == 0
    assert [kind for _, kind, _ in _steps(bench, report.run_id)] == ["power_on"]
    assert outputs_on(bench.lab) == []


def test_the_clock_stays_off_on_a_partly_powered_chip_and_set_clock_refuses(bench: Bench) -> None:
    clock_seen_on: list[bool] = []

    def on_event(event) -> None:
        if isinstance(event, StepStarted) and event.kind == "set_clock":
            clock_seen_on.append(bench.lab.physics.refclk.output)

    body = "- step: power_on\n  rails: [VDD_CORE]\n- step: set_clock\n  mhz: 500"
    report = bench.run(body, on_event=on_event)
    assert clock_seen_on == [False]
    assert report.status == RunStatus.ERROR
    assert "not powered on every rail with its clock running (rails up: VDD_CORE)" in report.reason
    assert outputs_on(bench.lab) == []


def test_the_forcer_gets_its_limits_then_is_parked_when_the_run_is_aborted(bench: Bench) -> None:
    control = RunControl()

    def on_event(event) -> None:
        if isinstance(event, StepStarted) and event.kind == "wait":
            control.abort("operator pressed abort")

    body = """
- step: power_on
- step: set_temperature
  celsius: 85
  window_c: 2
  soak_s: 1
  timeout_s: 60
- step: wait
  seconds: 60
"""
    hot: list[dict] = []
    report = bench.run(body, control=control, on_event=lambda e: (
        hot.append(forcer_state(bench.lab)) if isinstance(e, StepStarted) and e.kind == "wait" else None,
        on_event(e)))
    assert report.status == RunStatus.ABORTED
    assert hot and hot[0]["setpoint_c"] == 85 and hot[0]["head_down"] and hot[0]["flow_on"]
    assert forcer_state(bench.lab) == {"setpoint_c": 25.0, "flow_on": False, "head_down": False,
                                       "limits_c": (-60.0, 150.0)}


def test_a_passing_run_parks_the_forcer_too(bench: Bench) -> None:
    report = bench.run("- step: power_on\n- step: power_off")
    assert report.status == RunStatus.PASSED, report.reason
    assert forcer_state(bench.lab)["head_down"] is False and forcer_state(bench.lab)["flow_on"] is False


def test_estop_parks_the_forcer(bench: Bench) -> None:
    from bringup.estop import emergency_stop
    from bringup.station import load_station

    forcer = bench.lab.servers["forcer"].instrument
    forcer.setpoints[forcer.selected], forcer.head_down, forcer.flow_on = 85.0, True, True
    results = emergency_stop(load_station(bench.station))
    assert all(result.ok for result in results), results
    assert {"setpoint_c": 25.0, "flow_on": False, "head_down": False}.items() <= forcer_state(bench.lab).items()


def test_latched_protection_refuses_the_run_until_cleared_after_asking(bench: Bench, tmp_path) -> None:
    from bringup.cli import main

    tripping = bench.station_with("current_limit_a: 1.5", "current_limit_a: 0.2")
    assert bench.run("- step: power_on", station=tripping).status == RunStatus.ERROR  # OCP trips
    refused = bench.run("- step: power_on\n- step: power_off")
    assert refused.status == RunStatus.ERROR
    assert "VDD_CORE: OCP is latched on psu_core channel 1" in refused.reason
    assert "bringup instruments clear" in refused.reason
    assert _steps(bench, refused.run_id) == []  # refused before any step enabled anything
    assert outputs_on(bench.lab) == []

    runner = CliRunner()
    args = ["instruments", "clear", "--station", str(bench.station), "--db", bench.db_url]
    declined = runner.invoke(main, args, input="n\n")
    assert declined.exit_code == 1 and "latched VDD_CORE OCP" in declined.output
    assert bench.run("- step: power_on").status == RunStatus.ERROR  # still latched
    cleared = runner.invoke(main, [*args, "--yes"])
    assert cleared.exit_code == 0, cleared.output
    assert "cleared VDD_CORE OCP" in cleared.output
    assert "cleared VDD_CORE OCP" in (tmp_path / "bringup-audit.log").read_text()
    assert bench.run("- step: power_on\n- step: power_off").status == RunStatus.PASSED


def test_instruments_check_says_the_bench_is_live_after_a_killed_run(bench: Bench) -> None:
    from bringup.cli import main
    from bringup.power import PowerController
    from bringup.station import Station, load_station

    spec = load_station(bench.station)
    with Station.open(spec) as station:  # a run that dies here leaves every rail up
        power = PowerController(station.rails, spec.power_on_order,
                                clock=(station.instruments[spec.clock.source], spec.clock))
        power.power_on()
        power.close()  # the monitor ends with the process; the outputs stay on
    assert outputs_on(bench.lab)
    result = CliRunner().invoke(main, ["instruments", "check", "--station", str(bench.station)])
    assert result.exit_code != 0
    assert "bench OK" not in result.output
    assert "bench LIVE: VDD_CORE, VDD_SRAM, VDD_IO, clock output(s) ON" in result.output
    assert f"bringup estop --station {bench.station}" in result.output


# ------------------------------------------------------------------------- resume verdicts
RESUMABLE = """
- step: power_on
- step: measure
  name: core volts
  rail: VDD_CORE
  quantity: voltage
  low: 0.78
  high: 0.82
{on_fail}- step: measure
  name: io volts
  rail: VDD_IO
  quantity: voltage
  low: 1.7
  high: 1.9
- step: power_off
"""


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _record_dead_run(bench: Bench, on_fail: str) -> str:
    """A run that recorded power_on passed and step 2 failed, then died before RunFinished."""
    from bringup.db.recorder import Recorder

    text = "name: resumable\nsteps:\n" + "\n".join(
        "  " + line for line in RESUMABLE.format(on_fail=on_fail).strip().splitlines())
    run_id = "dead" + "0" * 28
    engine = bench.engine()
    with Recorder(engine) as recorder:
        for event in (
            RunStarted(run_id=run_id, chip_serial="SIM-0001", station_name="simlab", runbook_name="resumable",
                       runbook_hash="r" * 64, runbook_text=text, pid=_dead_pid(), host=socket.gethostname()),
            StepStarted(run_id=run_id, index=0, name="power_on", kind="power_on"),
            StepFinished(run_id=run_id, index=0, status=StepStatus.PASSED),
            StepStarted(run_id=run_id, index=1, name="core volts", kind="measure"),
            StepFinished(run_id=run_id, index=1, status=StepStatus.FAILED, message="core volts = 0.7 outside"),
        ):
            recorder.handle(event)
    engine.dispose()
    return run_id


def _resume(bench: Bench, run_id: str):
    from bringup.api import resume_run

    return resume_run(run_id, bench.station, db_url=bench.db_url, vector_dirs=[ROOT / "runbooks" / "vectors"],
                      monitor_hz=20)


def test_a_resume_after_a_failed_stop_step_ends_failed_and_runs_nothing_more(bench: Bench) -> None:
    run_id = _record_dead_run(bench, on_fail="")
    report = _resume(bench, run_id)
    assert report.status == RunStatus.FAILED
    assert "step 2 (core volts) failed before the resume; on_fail: stop" in report.reason
    assert [index for index, _, _ in _steps(bench, run_id)] == [0, 1]  # nothing after the stop ran
    with bench.engine().connect() as conn:
        assert conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one() == "failed"
    assert outputs_on(bench.lab) == []


def test_a_resume_after_a_failed_continue_step_ends_failed(bench: Bench) -> None:
    run_id = _record_dead_run(bench, on_fail="  on_fail: continue\n")
    report = _resume(bench, run_id)
    assert report.status == RunStatus.FAILED, report.reason
    assert "2 core volts" in report.reason
    assert [(i, status) for i, _, status in _steps(bench, run_id)] == \
        [(0, "passed"), (1, "failed"), (2, "passed"), (3, "passed")]
    assert outputs_on(bench.lab) == []


@pytest.fixture(autouse=True)
def _audit_log_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # the audit log and any default lab.db land in the test's folder


def test_a_vector_that_failed_before_the_resume_fails_its_step_after_it(bench: Bench) -> None:
    from bringup.db.recorder import Recorder

    text = ("name: vectors\nsteps:\n  - step: power_on\n  - step: run_vectors\n    suite: directed\n"
            "    clock_mhz: 500\n  - step: power_off\n")
    run_id = "deadfeed" + "0" * 24
    engine = bench.engine()
    with Recorder(engine) as recorder:
        for event in (
            RunStarted(run_id=run_id, chip_serial="SIM-0001", station_name="simlab", runbook_name="vectors",
                       runbook_hash="v" * 64, runbook_text=text, pid=_dead_pid(), host=socket.gethostname()),
            StepStarted(run_id=run_id, index=0, name="power_on", kind="power_on"),
            StepFinished(run_id=run_id, index=0, status=StepStatus.PASSED),
            StepStarted(run_id=run_id, index=1, name="run_vectors", kind="run_vectors"),
            VectorResult(run_id=run_id, step_index=1, vector_name="alu", content_hash="a" * 64, passed=False,
                         expected=(1,), actual=(3,), first_mismatch_addr=0x8000_0000, flipped_bits=2),
        ):
            recorder.handle(event)
    engine.dispose()
    report = _resume(bench, run_id)
    assert report.status == RunStatus.FAILED, report.reason
    assert [(i, status) for i, _, status in _steps(bench, run_id)] == [(0, "passed"), (1, "failed")]  # stop
    with bench.engine().connect() as conn:
        message = conn.execute(select(Step.message).where(Step.run_id == run_id, Step.index == 1)).scalar_one()
    assert "1 vector(s) recorded before the resume failed" in message
