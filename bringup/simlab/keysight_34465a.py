"""Simulated Keysight 34465A DMM (the `dmm` role).

Its voltage input senses VDD_CORE at the die (after the board's IR drop); its current input is
in series with VDD_CORE. A reading takes NPLC / 50 s of simulated time, as at 50 Hz mains.
"""

from __future__ import annotations

import time

from bringup.simlab.physics import Physics
from bringup.simlab.scpi_instrument import ScpiInstrument
from bringup.simlab.scpi_parse import Command, ScpiError, parse_number, scpi_float

RANGES = {"VOLT": (0.1, 1.0, 10.0, 100.0, 1000.0), "CURR": (1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0)}
NPLC_CHOICES = (0.02, 0.2, 1.0, 10.0, 100.0)
# resolution in parts of range per NPLC choice (the datasheet's 34465A figures, rounded)
RESOLUTION_PPM = {0.02: 1.5, 0.2: 0.7, 1.0: 0.3, 10.0: 0.1, 100.0: 0.03}
MAINS_HZ = 50.0


class Keysight34465A(ScpiInstrument):
    idn = "Keysight Technologies,34465A,MY57501234,A.02.14-02.40-02.14-00.49-03-01"

    def __init__(self, physics: Physics) -> None:
        super().__init__()
        self.physics = physics
        self.reset()
        add = self.table.add
        add("CONFigure:VOLTage:[DC]", lambda cmd: self._configure("VOLT", cmd))
        add("CONFigure:CURRent:[DC]", lambda cmd: self._configure("CURR", cmd))
        add("CONFigure?", self._configuration)
        add("[SENSe]:VOLTage:[DC]:NPLCycles", lambda cmd: self._set_nplc("VOLT", cmd))
        add("[SENSe]:CURRent:[DC]:NPLCycles", lambda cmd: self._set_nplc("CURR", cmd))
        add("[SENSe]:VOLTage:[DC]:NPLCycles?", lambda cmd: scpi_float(self.nplc["VOLT"]))
        add("[SENSe]:CURRent:[DC]:NPLCycles?", lambda cmd: scpi_float(self.nplc["CURR"]))
        add("READ?", lambda cmd: self._read())
        add("MEASure:VOLTage:[DC]?", lambda cmd: self._measure("VOLT", cmd))
        add("MEASure:CURRent:[DC]?", lambda cmd: self._measure("CURR", cmd))

    def reset(self) -> None:
        self.function = "VOLT"
        self.range: dict[str, float | None] = {"VOLT": None, "CURR": None}  # None: autorange
        self.nplc = {"VOLT": 10.0, "CURR": 10.0}

    def _configure(self, function: str, command: Command) -> None:
        command.param_count(0, 2)
        requested = command.params[0].upper() if command.params else "AUTO"
        if requested in ("AUTO", "DEF"):
            chosen = None
        else:
            value = abs(parse_number(requested))
            chosen = next((r for r in RANGES[function] if r >= value), None)
            if chosen is None:
                raise ScpiError(-222, f"no {function} range covers {value}")
        self.function = function
        self.range[function] = chosen

    def _configuration(self, command: Command) -> str:
        span = self._range_for(self.function, self._sample(self.function))
        resolution = span * RESOLUTION_PPM[self.nplc[self.function]] * 1e-6
        return f'"{self.function} {span:+.6E},{resolution:+.6E}"'

    def _set_nplc(self, function: str, command: Command) -> None:
        command.param_count(1)
        value = parse_number(command.params[0])
        chosen = next((n for n in NPLC_CHOICES if n >= value * (1 - 1e-9)), None)
        if value <= 0 or chosen is None:
            raise ScpiError(-222, f"NPLC {value} outside 0.02..100")
        self.nplc[function] = chosen

    def _measure(self, function: str, command: Command) -> str:
        self._configure(function, command)
        return self._read()

    def _read(self) -> str:
        integration_s = self.nplc[self.function] / MAINS_HZ
        time.sleep(self.physics.clock.real_seconds(integration_s))
        value = self._sample(self.function)
        span = self._range_for(self.function, value)
        if abs(value) > span * 1.2:
            return "+9.90000000E+37"  # overload, as the real meter reports it
        return scpi_float(value)

    def _sample(self, function: str) -> float:
        if function == "VOLT":
            return self.physics.core_die_volts()
        return self.physics.rail_amps("VDD_CORE")

    def _range_for(self, function: str, value: float) -> float:
        fixed = self.range[function]
        if fixed is not None:
            return fixed
        return next((r for r in RANGES[function] if r >= abs(value)), RANGES[function][-1])
