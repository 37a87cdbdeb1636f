"""In-process fake supplies and clock for unit tests of the PowerController and the Sequencer where
timing matters (how many commands an abort lets through, what a blocked publisher delays).

Each command takes `latency_s` (a SCPI round trip) and is logged with the thread that sent it,
so tests assert the order of what reached the bench rather than wall-clock speed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bringup.runbook import LoadedRunbook, parse_runbook
from bringup.station import BoundRail, Station, StationSpec

RAILS = ("VDD_A", "VDD_B", "VDD_C")


@dataclass
class CommandLog:
    entries: list[tuple[str, str, Any]] = field(default_factory=list)  # (who, what, value)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, who: str, what: str, value: Any = None) -> int:
        with self.lock:
            self.entries.append((who, what, value))
            return len(self.entries)

    def index(self) -> int:
        with self.lock:
            return len(self.entries)

    def since(self, start: int) -> list[tuple[str, str, Any]]:
        with self.lock:
            return list(self.entries[start:])


class FakeChannel:
    """A supply output: the readback follows the set point at once while the output is on."""

    def __init__(self, name: str, log: CommandLog, latency_s: float) -> None:
        self.name = name
        self.log = log
        self.latency_s = latency_s
        self.output = False
        self.set_v = 0.0
        self.load_a = 0.05
        self.tripped: str | None = None
        self.silent = False
        self.commands = 0
        self.max_commands = 20_000  # a ramp that never ends fails the test instead of hanging it
        self.on_measure_voltage: Any = None  # a test hook: called from measure_voltage

    def _command(self, what: str, value: Any = None) -> None:
        self.commands += 1
        if self.commands > self.max_commands:
            raise AssertionError(f"{self.name}: more than {self.max_commands} commands")
        time.sleep(self.latency_s)
        if self.silent:
            raise TimeoutError(f"{self.name}: no answer")
        self.log.add(self.name, what, value)

    def set_voltage(self, volts: float) -> None:
        self._command("set_voltage", volts)
        self.set_v = volts

    def set_current_limit(self, amps: float) -> None:
        self._command("set_current_limit", amps)

    def set_output(self, on: bool) -> None:
        self._command("set_output", on)
        self.output = on

    def output_enabled(self) -> bool:
        self._command("output?")
        return self.output

    def measure_voltage(self) -> float:
        self._command("meas_v?")
        if self.on_measure_voltage is not None:
            self.on_measure_voltage()
        return self.set_v if self.output else 0.0

    def measure_current(self) -> float:
        self._command("meas_i?")
        return self.load_a if self.output else 0.0

    def set_over_voltage_protection(self, volts: float) -> None:
        self._command("ovp", volts)

    def set_over_current_protection(self, enabled: bool) -> None:
        self._command("ocp", enabled)

    def protection_tripped(self) -> str | None:
        self._command("prot?")
        return self.tripped

    def clear_protection(self) -> None:
        self._command("prot:clear")
        self.tripped = None


class FakeSupply:
    def __init__(self, channels: list[FakeChannel]) -> None:
        self.channels = channels
        self.identity = ("FAKE", "PSU", "0", "1")

    @property
    def channel_count(self) -> int:
        return len(self.channels)

    def channel(self, number: int) -> FakeChannel:
        return self.channels[number - 1]

    def all_off(self) -> None:
        for channel in self.channels:
            channel.set_output(False)

    def close(self) -> None:
        pass


class FakeClock:
    def __init__(self, log: CommandLog, latency_s: float) -> None:
        self.log = log
        self.latency_s = latency_s
        self.output = False
        self.identity = ("FAKE", "CLOCK", "0", "1")

    def _command(self, what: str, value: Any = None) -> None:
        time.sleep(self.latency_s)
        self.log.add("clock", what, value)

    def set_output(self, on: bool) -> None:
        self._command("set_output", on)
        self.output = on

    def set_frequency(self, hertz: float) -> None:
        self._command("set_frequency", hertz)

    def set_amplitude(self, volts_pp: float) -> None:
        self._command("set_amplitude", volts_pp)

    def close(self) -> None:
        pass


@dataclass
class FakeBench:
    spec: StationSpec
    station: Station
    channels: dict[str, FakeChannel]
    clock: FakeClock
    log: CommandLog

    def outputs_on(self) -> list[str]:
        on = [name for name, channel in self.channels.items() if channel.output]
        return on + (["clock"] if self.clock.output else [])

    def runbook(self, body: str) -> LoadedRunbook:
        return parse_runbook(f"name: fake\nsteps:\n{body}", "fake.yaml", self.spec, suites=set())


def fake_bench(*, nominal_v: float = 0.9, ramp_step_v: float = 0.1, ramp_rate_v_per_s: float = 10.0,
               latency_s: float = 0.002) -> FakeBench:
    """Three rails on one fake supply and a fake clock, bound as an opened Station."""
    rail = {"supply": "psu", "nominal_v": nominal_v, "abs_max_v": nominal_v + 0.2, "current_limit_a": 1.0,
            "tolerance_v": 0.02, "ramp_step_v": 0.1, "ramp_rate_v_per_s": 10.0}
    spec = StationSpec.model_validate({
        "name": "fake",
        "instruments": {"psu": {"driver": "keysight_e36312a", "resource": "TCPIP0::fake::5025::SOCKET"},
                        "refclk": {"driver": "keysight_33500b", "resource": "TCPIP0::fake::5026::SOCKET"}},
        "rails": {name: {**rail, "channel": index + 1} for index, name in enumerate(RAILS)},
        "power_on_order": list(RAILS),
        "clock": {"source": "refclk", "frequency_hz": 25e6, "amplitude_vpp": 1.8},
    })
    log = CommandLog()
    channels = {name: FakeChannel(name, log, latency_s) for name in RAILS}
    supply = FakeSupply(list(channels.values()))
    clock = FakeClock(log, latency_s)
    # The ramp is set past validation on purpose: a station file refuses steps and rates this
    # extreme, and the power controller must still stay safe whatever rail it is handed.
    ramp = {"ramp_step_v": ramp_step_v, "ramp_rate_v_per_s": ramp_rate_v_per_s}
    rails = {name: BoundRail(name, spec.rails[name].model_copy(update=ramp), supply, channels[name])
             for name in RAILS}
    station = Station(spec, {"psu": supply, "refclk": clock}, rails)
    return FakeBench(spec, station, channels, clock, log)


def raises_power(entry: tuple[str, str, Any]) -> bool:
    """A command that puts power on the chip: an output on, or a voltage above zero."""
    _, what, value = entry
    return (what == "set_output" and value is True) or (what == "set_voltage" and value > 0)
