"""One small class per step kind; `STEP_CLASSES` maps a runbook's `step:` to its class."""

from __future__ import annotations

from bringup.steps.base import Step
from bringup.steps.clock import SetClockStep
from bringup.steps.console import ConsoleExpectStep
from bringup.steps.measure import MeasureStep
from bringup.steps.power import PowerOffStep, PowerOnStep, SetRailStep
from bringup.steps.shmoo import ShmooStep
from bringup.steps.thermal import SetTemperatureStep
from bringup.steps.vectors import RunVectorsStep
from bringup.steps.vmin import VminStep
from bringup.steps.wait import CheckpointStep, WaitStep

STEP_CLASSES: dict[str, type[Step]] = {
    cls.kind: cls
    for cls in (
        PowerOnStep, PowerOffStep, SetRailStep, MeasureStep, ConsoleExpectStep, WaitStep,
        SetClockStep, SetTemperatureStep, RunVectorsStep, CheckpointStep, ShmooStep, VminStep,
    )
}
