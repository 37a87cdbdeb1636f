"""A fixed, recorded run for deterministic screens: events with fixed timestamps, a fixed clock.

`ReplayApp` is the real BringupApp whose live screen is fed this sequence instead of a run, so
snapshot tests and key tests see the same screen every time, at any terminal size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bringup.events import (
    Conditions,
    ConsoleLine,
    InstrumentInfo,
    Log,
    Measurement,
    RailSample,
    RunEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    SweepOutcome,
    SweepPoint,
    ThermalSample,
    VectorResult,
)
from bringup.tui.app import BringupApp
from bringup.tui.live_state import LiveRun, RailInfo

RUN_ID = "5eed0000c0ffee00112233445566778a"
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
NOW = T0 + 95.0  # the fixed "now" of the live screen: 1:35 into the run
RAILS = (RailInfo("VDD_CORE", 0.80, 0.95, 1.5), RailInfo("VDD_SRAM", 0.85, 1.0, 0.5),
         RailInfo("VDD_IO", 1.80, 2.0, 0.3))
RUNBOOK_TEXT = """\
name: shmoo-night
steps:
  - step: set_temperature
    name: forcer to 25 °C
    celsius: 25
  - step: power_on
  - step: run_vectors
    name: directed at 500 MHz
    suite: random
    count: 8
    clock_mhz: 500
  - step: shmoo
    name: shmoo at 25 °C
  - step: power_off
"""
VOLTS = (0.70, 0.75, 0.80, 0.85)
MHZ = (400.0, 600.0, 800.0)


def _outcome(volts: float, mhz: float) -> SweepOutcome:
    if volts - 0.0002 * mhz < 0.60:
        return SweepOutcome.HANG if volts <= 0.70 and mhz >= 800 else SweepOutcome.FAIL
    return SweepOutcome.PASS if volts < 0.85 else SweepOutcome.INFERRED


def live_events() -> list[RunEvent]:
    """A run 95 s in: steps 1-3 done, the shmoo 9 points of 12 in, rails and forcer sampled."""
    ev: list[RunEvent] = [RunStarted(
        run_id=RUN_ID, chip_serial="SIM-0042", station_name="simlab", runbook_name="shmoo-night",
        runbook_hash="h", runbook_text=RUNBOOK_TEXT, operator="ana", lot="L7", wafer=3, die_x=4, die_y=11,
        instruments=(InstrumentInfo(role="power_supply", driver="e36312", resource="TCPIP0::x"),), ts=T0)]
    t = T0
    ev += [StepStarted(run_id=RUN_ID, index=0, name="forcer to 25 °C", kind="set_temperature", ts=t + 1),
           ThermalSample(run_id=RUN_ID, setpoint_c=25.0, forcer_c=24.9, die_c=27.3, at_temperature=True,
                         head="down", ts=t + 20),
           StepFinished(run_id=RUN_ID, index=0, status=StepStatus.PASSED, message="25.0 °C after 30 s soak",
                        ts=t + 30),
           StepStarted(run_id=RUN_ID, index=1, name="power_on", kind="power_on", ts=t + 31)]
    for i, (rail, volts, amps) in enumerate((("VDD_CORE", 0.801, 0.412), ("VDD_SRAM", 0.849, 0.121),
                                             ("VDD_IO", 1.799, 0.043))):
        for k in range(12):
            ev.append(RailSample(run_id=RUN_ID, rail=rail, volts=volts, amps=amps * (1 + 0.02 * (k % 5)),
                                 ts=t + 32 + i * 0.1 + k))
    ev += [StepFinished(run_id=RUN_ID, index=1, status=StepStatus.PASSED, message="3 rails up", ts=t + 34),
           StepStarted(run_id=RUN_ID, index=2, name="directed at 500 MHz", kind="run_vectors", ts=t + 35)]
    for k in range(8):
        ev += [ConsoleLine(run_id=RUN_ID, text=f"LOAD 80000000 00100513 05d0089{k}", direction="tx", ts=t + 35 + k),
               ConsoleLine(run_id=RUN_ID, text="OK", ts=t + 35.1 + k),
               ConsoleLine(run_id=RUN_ID, text="RUN 80000000 20000", direction="tx", ts=t + 35.2 + k),
               ConsoleLine(run_id=RUN_ID, text=f"OK halted steps={812 + k}", ts=t + 35.3 + k),
               ConsoleLine(run_id=RUN_ID, text="DUMP 80001000 2", direction="tx", ts=t + 35.4 + k),
               ConsoleLine(run_id=RUN_ID, text="00000001 0000002a", ts=t + 35.5 + k),
               ConsoleLine(run_id=RUN_ID, text="OK 2", ts=t + 35.6 + k)]
        passed = k != 5
        ev.append(VectorResult(
            run_id=RUN_ID, step_index=2, vector_name=f"random-{k}", content_hash=f"c{k}", passed=passed,
            expected=(1, 42), actual=(1, 42 if passed else 46), first_mismatch_addr=None if passed else 0x80001004,
            flipped_bits=0 if passed else 4, conditions=Conditions(vdd_core_v=0.8, core_mhz=500, temperature_c=25),
            ts=t + 35.7 + k))
    ev += [Measurement(run_id=RUN_ID, step_index=2, name="idd core", value=0.61, units="A", low=0.1, high=0.5,
                       passed=False, ts=t + 44),
           Log(run_id=RUN_ID, text="1 of 8 vectors failed at 0.800 V", level="warning", ts=t + 44),
           StepFinished(run_id=RUN_ID, index=2, status=StepStatus.FAILED, message="1 of 8 vectors failed",
                        ts=t + 45),
           StepStarted(run_id=RUN_ID, index=3, name="shmoo at 25 °C", kind="shmoo", ts=t + 46)]
    points = [(v, f) for f in MHZ for v in VOLTS]
    for n, (v, f) in enumerate(points[:9], start=1):
        ev.append(SweepPoint(run_id=RUN_ID, step_index=3, conditions=Conditions(vdd_core_v=v, core_mhz=f,
                                                                                 temperature_c=25.0),
                             outcome=_outcome(v, f), vectors_passed=4, vectors_run=4, done=n, total=len(points),
                             ts=t + 46 + 5 * n))
    ev.append(Log(run_id=RUN_ID, text="shmoo: 9 of 12 points", ts=t + 92))
    return ev


def end_events() -> list[RunEvent]:
    """The same run to its end: the shmoo complete, rails down, a verdict."""
    ev = live_events()
    t = T0 + 100
    points = [(v, f) for f in MHZ for v in VOLTS]
    for n, (v, f) in enumerate(points[9:], start=10):
        ev.append(SweepPoint(run_id=RUN_ID, step_index=3, conditions=Conditions(vdd_core_v=v, core_mhz=f,
                                                                                 temperature_c=25.0),
                             outcome=_outcome(v, f), done=n, total=len(points), ts=t + n))
    ev += [StepFinished(run_id=RUN_ID, index=3, status=StepStatus.PASSED, message="Vmin 0.75 V at 600 MHz",
                        ts=t + 25),
           StepStarted(run_id=RUN_ID, index=4, name="power_off", kind="power_off", ts=t + 26),
           StepFinished(run_id=RUN_ID, index=4, status=StepStatus.PASSED, ts=t + 27),
           RunFinished(run_id=RUN_ID, status=RunStatus.FAILED, reason="1 step(s) failed", ts=t + 28)]
    return ev


class ReplayApp(BringupApp):
    """The real app; its live screen shows `events` as if a run had published them."""

    def __init__(self, events: list[RunEvent], station: Path | None = None, **kwargs: Any) -> None:
        super().__init__(station, clock=lambda: NOW, **kwargs)
        self.replayed = events

    def open_first_screen(self) -> None:
        self.live = LiveRun(RAILS, clock=lambda: NOW)
        for event in self.replayed:
            self.live(event)
        self._show_live()
