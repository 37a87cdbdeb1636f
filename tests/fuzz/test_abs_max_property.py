"""Property: a station file that validation accepts never lets a later step command a rail above
its absolute maximum — over generated stations × runbooks, through the real PowerController,
on fake channels that record every command."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bringup.power import PowerController, PowerFault
from bringup.runbook import PowerOff, PowerOn, SetRail, load_runbook
from bringup.station import BoundRail, StationSpec, load_station
from bringup.yamlfile import ConfigError, ConfigErrors

RAILS = ["R0", "R1", "R2"]


class RecordingChannel:
    """A supply output that does what it is told and remembers every level it was told."""

    def __init__(self) -> None:
        self.level = 0.0
        self.on = False
        self.commanded: list[float] = []
        self.ovp: list[float] = []

    def set_voltage(self, volts: float) -> None:
        self.commanded.append(volts)
        self.level = volts

    def set_current_limit(self, amps: float) -> None:
        pass

    def set_output(self, on: bool) -> None:
        self.on = on

    def output_enabled(self) -> bool:
        return self.on

    def measure_voltage(self) -> float:
        return self.level if self.on else 0.0

    def measure_current(self) -> float:
        return 0.01 if self.on else 0.0

    def set_over_voltage_protection(self, volts: float) -> None:
        self.ovp.append(volts)

    def set_over_current_protection(self, enabled: bool) -> None:
        pass

    def protection_tripped(self) -> str | None:
        return None

    def clear_protection(self) -> None:
        pass


class RecordingSupply:
    def __init__(self) -> None:
        self.channels = {number: RecordingChannel() for number in (1, 2, 3)}

    @property
    def channel_count(self) -> int:
        return 3

    def channel(self, number: int) -> RecordingChannel:
        return self.channels[number]

    def all_off(self) -> None:
        for channel in self.channels.values():
            channel.on = False


def millivolts(low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda mv: mv / 1000)  # on the supplies' 1 mV grid


@st.composite
def stations(draw: st.DrawFn) -> dict:
    """Mostly sensible rails (so that many are accepted), some with hostile values."""
    rails = {}
    for index, name in enumerate(RAILS[: draw(st.integers(1, 3))]):
        abs_max_mv = draw(st.integers(100, 60_000))

        def rarely(normal: st.SearchStrategy, hostile: list) -> object:
            """The normal value, and one time in ten a hostile one."""
            return draw(st.sampled_from(hostile)) if draw(st.integers(0, 9)) == 0 else draw(normal)

        rails[name] = {
            "supply": "psu", "channel": index + 1,
            "abs_max_v": rarely(st.just(abs_max_mv / 1000), [1e300, 50003.0, 0.0, float("nan")]),
            "nominal_v": rarely(millivolts(1, abs_max_mv * 11 // 10), [float("inf"), -0.5]),
            "current_limit_a": rarely(st.sampled_from([0.001, 0.5, 3.0]), [25.0, 0.0]),
            "tolerance_v": draw(millivolts(1, 50)),
            "ramp_step_v": rarely(millivolts(max(1, abs_max_mv // 1000), 5_000), [1e-7, 0.0]),
            "ramp_rate_v_per_s": rarely(st.sampled_from([20.0, 1000.0]), [0.001, 5000.0]),
        }
    return {
        "name": "generated",
        "instruments": {"psu": {"driver": "keysight_e36312a", "resource": "TCPIP0::127.0.0.1::1::SOCKET"}},
        "rails": rails,
        "power_on_order": list(rails),
    }


@st.composite
def runbooks(draw: st.DrawFn, station: dict) -> dict:
    """Power on, then set_rail around each rail's maximum (some above it), power off and on."""
    steps: list[dict] = [{"step": "power_on"}]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["set_rail", "set_rail", "set_rail", "power_off", "power_on"]))
        if kind == "set_rail":
            rail = draw(st.sampled_from(list(station["rails"])))
            abs_max = station["rails"][rail]["abs_max_v"]
            ceiling = min(abs_max, 60.0) if math.isfinite(abs_max) and abs_max > 0 else 1.0
            top = max(1, int(ceiling * 1000))
            volts = draw(st.one_of(millivolts(1, top), st.just(ceiling), millivolts(top, top * 12 // 10 + 1)))
            steps.append({"step": "set_rail", "rail": rail, "volts": volts})
        else:
            steps.append({"step": kind})
    steps.append({"step": "power_off"})
    return {"name": "generated", "steps": steps}


@st.composite
def benches(draw: st.DrawFn) -> tuple[dict, dict]:
    station = draw(stations())
    return station, draw(runbooks(station))


def _accepted(folder: Path, station: dict, runbook: dict) -> tuple[StationSpec, list] | None:
    station_path, runbook_path = folder / "station.yaml", folder / "runbook.yaml"
    station_path.write_text(yaml.safe_dump(station))
    runbook_path.write_text(yaml.safe_dump(runbook))
    try:
        spec = load_station(station_path)
        return spec, load_runbook(runbook_path, spec).steps
    except (ConfigError, ConfigErrors):
        return None


def _execute(spec: StationSpec, steps: list, supply: RecordingSupply) -> None:
    rails = {name: BoundRail(name, rail, supply, supply.channel(rail.channel)) for name, rail in spec.rails.items()}
    power = PowerController(rails, spec.power_on_order, sleep=lambda seconds: None, monitor_hz=1000)
    try:
        for step in steps:
            if isinstance(step, PowerOn):
                power.power_on(step.rails)
            elif isinstance(step, SetRail):
                power.set_rail(step.rail, step.volts)
            elif isinstance(step, PowerOff):
                power.safe_off("runbook power_off")
    except PowerFault:
        pass  # refused or tripped: the bench went down, which is safe
    finally:
        power.safe_off("end of run")
        power.close()


def _check(folder: Path, station: dict, runbook: dict) -> bool:
    accepted = _accepted(folder, station, runbook)
    if accepted is None:
        return False
    spec, steps = accepted
    supply = RecordingSupply()
    _execute(spec, steps, supply)
    for rail in spec.rails.values():
        channel = supply.channel(rail.channel)
        assert all(volts <= rail.abs_max_v for volts in channel.commanded), (rail, channel.commanded)
        assert all(volts <= rail.abs_max_v for volts in channel.ovp), (rail, channel.ovp)
    return True


@pytest.mark.parametrize("examples", [pytest.param(150, id="default"),
                                      pytest.param(3000, id="soak", marks=pytest.mark.slow)])
def test_an_accepted_station_never_lets_a_rail_exceed_its_absolute_maximum(examples: int, tmp_path: Path) -> None:
    accepted = []

    # The default run is derandomized: the same 150 cases on every machine, so CI never meets a
    # draw with too few accepted stations; the soak draws afresh each time.
    @settings(max_examples=examples, deadline=None, database=None, derandomize=examples <= 150,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(bench=benches())
    def run(bench: tuple[dict, dict]) -> None:
        accepted.append(_check(tmp_path, *bench))

    run()
    # About one generated bench in ten passes validation (the strategies aim at its edges); a
    # twentieth is the floor below which the property would be tested on too little.
    assert sum(accepted) >= examples // 20, f"only {sum(accepted)} of {len(accepted)} generated benches accepted"
