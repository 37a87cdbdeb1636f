"""Simulated Keysight 33522B waveform generator driving the chip's reference clock (`refclk`)."""

from __future__ import annotations

from collections.abc import Callable

from bringup.simlab.physics import Physics
from bringup.simlab.scpi_instrument import ScpiInstrument
from bringup.simlab.scpi_parse import Command, ScpiError, parse_bool, parse_number, scpi_float

FUNCTIONS = {
    "SIN": "SIN", "SINUSOID": "SIN", "SQU": "SQU", "SQUARE": "SQU", "RAMP": "RAMP",
    "PULS": "PULS", "PULSE": "PULS", "TRI": "TRI", "TRIANGLE": "TRI", "NOIS": "NOIS",
    "NOISE": "NOIS", "DC": "DC", "PRBS": "PRBS", "ARB": "ARB",
}
FREQUENCY_RANGE_HZ = (1e-6, 30e6)
AMPLITUDE_RANGE_VPP = (0.001, 10.0)
OFFSET_RANGE_V = (-5.0, 5.0)


class Keysight33500B(ScpiInstrument):
    idn = "Keysight Technologies,33522B,MY52401234,4.00-1.19-2.00-52-00"

    def __init__(self, physics: Physics) -> None:
        super().__init__()
        self.physics = physics
        self.clock = physics.refclk
        add = self.table.add
        add("[SOURce#]:FUNCtion:[SHAPe]", self._set_function)
        add("[SOURce#]:FUNCtion:[SHAPe]?", lambda cmd: self.clock.function)
        add("[SOURce#]:FREQuency:[CW]:[FIXed]", self._number("frequency_hz", FREQUENCY_RANGE_HZ))
        add("[SOURce#]:FREQuency:[CW]:[FIXed]?", lambda cmd: scpi_float(self.clock.frequency_hz))
        add("[SOURce#]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]",
            self._number("amplitude_vpp", AMPLITUDE_RANGE_VPP))
        add("[SOURce#]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]?",
            lambda cmd: scpi_float(self.clock.amplitude_vpp))
        add("[SOURce#]:VOLTage:[LEVel]:[IMMediate]:OFFSet", self._number("offset_v", OFFSET_RANGE_V))
        add("[SOURce#]:VOLTage:[LEVel]:[IMMediate]:OFFSet?", lambda cmd: scpi_float(self.clock.offset_v))
        add("OUTPut#:[STATe]", self._set_output)
        add("OUTPut#:[STATe]?", lambda cmd: "1" if self.clock.output else "0")

    def reset(self) -> None:
        with self.physics.lock:
            self.clock.function, self.clock.frequency_hz = "SIN", 1000.0
            self.clock.amplitude_vpp, self.clock.offset_v, self.clock.output = 0.1, 0.0, False
            self.physics.update()

    def _set_function(self, command: Command) -> None:
        command.param_count(1)
        shape = FUNCTIONS.get(command.params[0].upper())
        if shape is None:
            raise ScpiError(-224, f"unknown waveform {command.params[0]!r}")
        self._apply("function", shape)

    def _number(self, attribute: str, limits: tuple[float, float]) -> Callable[[Command], None]:
        def handle(command: Command) -> None:
            command.param_count(1)
            value = parse_number(command.params[0])
            if not limits[0] <= value <= limits[1]:
                raise ScpiError(-222, f"{value} outside {limits[0]}..{limits[1]}")
            self._apply(attribute, value)

        return handle

    def _set_output(self, command: Command) -> None:
        command.param_count(1)
        self._apply("output", parse_bool(command.params[0]))

    def _apply(self, attribute: str, value: object) -> None:
        with self.physics.lock:
            self.physics.update()
            setattr(self.clock, attribute, value)
            self.physics.update()
