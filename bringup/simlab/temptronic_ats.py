"""Simulated Temptronic ThermoStream ATS-545 (the `forcer` role).

No SCPI error queue: a bad command or value sets bit 12 of the error register, `EROR?` answers
it as an integer and clears it. The air follows the selected set point with a first-order lag
while the head is down and the flow on; otherwise it relaxes to ambient.
"""

from __future__ import annotations

from collections.abc import Callable

from bringup.simlab.physics import Physics
from bringup.simlab.scpi_instrument import ScpiInstrument
from bringup.simlab.scpi_parse import Command, ScpiError, parse_number
from bringup.simlab.thermal import AMBIENT_C

SET_COUNT = 12
AIR_RANGE_C = (-99.0, 225.0)
ERROR_FLOW_OFF = 1 << 3
ERROR_HEAD_UP = 1 << 4
ERROR_BAD_COMMAND = 1 << 12
TECR_AT_TEMPERATURE = 1 << 0
TECR_NOT_AT_TEMPERATURE = 1 << 1


class TemptronicATS(ScpiInstrument):
    idn = "TEMPTRONIC,ATS-545,A54512345,7.1"
    has_error_queue = False

    def __init__(self, physics: Physics) -> None:
        super().__init__()
        self.physics = physics
        self._error_register = 0
        self.reset()
        add = self.table.add
        add("SETP", self._setting(self._set_setpoint))
        add("SETP?", lambda cmd: f"{self.setpoints[self.selected]:.1f}")
        add("SETN", self._setting(self._select_set))
        add("SETN?", lambda cmd: str(self.selected))
        add("TEMP?", lambda cmd: f"{self._air_c():.1f}")
        add("TECR?", lambda cmd: str(self._event_register()))
        add("WNDW", self._setting(lambda v: setattr(self, "window_c", _positive(v))))
        add("WNDW?", lambda cmd: f"{self.window_c:.1f}")
        add("SOAK", self._setting(lambda v: setattr(self, "soak_s", _positive(v))))
        add("SOAK?", lambda cmd: f"{self.soak_s:.0f}")
        add("HEAD", self._setting(lambda v: setattr(self, "head_down", _flag(v))))
        add("HEAD?", lambda cmd: str(int(self.head_down)))
        add("FLOW", self._setting(lambda v: setattr(self, "flow_on", _flag(v))))
        add("FLOW?", lambda cmd: str(int(self.flow_on)))
        add("ULIM", self._setting(self._set_upper_limit))
        add("ULIM?", lambda cmd: f"{self.upper_c:.1f}")
        add("LLIM", self._setting(self._set_lower_limit))
        add("LLIM?", lambda cmd: f"{self.lower_c:.1f}")
        add("EROR?", lambda cmd: str(self._read_error_register()))

    def reset(self) -> None:
        self.setpoints = [AMBIENT_C] * SET_COUNT
        self.selected = 0
        self.window_c = 1.0
        self.soak_s = 10.0
        self.head_down = True
        self.flow_on = True
        self.lower_c, self.upper_c = AIR_RANGE_C
        self._retarget()

    def reject(self, error: ScpiError) -> None:
        self._error_register |= ERROR_BAD_COMMAND

    # -- state --------------------------------------------------------------------------

    @property
    def controlling(self) -> bool:
        return self.head_down and self.flow_on

    def _retarget(self) -> None:
        target = self.setpoints[self.selected] if self.controlling else AMBIENT_C
        with self.physics.lock:
            self.physics.air.retarget(self.physics.clock.now(), target)
            self.physics.update()

    def _air_c(self) -> float:
        return self.physics.air.at(self.physics.clock.now())

    def _event_register(self) -> int:
        now = self.physics.clock.now()
        air = self.physics.air
        settled = (
            self.controlling
            and abs(air.at(now) - self.setpoints[self.selected]) <= self.window_c
            and now - air.entered_window_at(self.window_c) >= self.soak_s
        )
        return TECR_AT_TEMPERATURE if settled else TECR_NOT_AT_TEMPERATURE

    def _read_error_register(self) -> int:
        value = self._error_register
        # Flow off or head up is a fault only while the forcer is asked to hold a temperature
        # away from ambient; a parked forcer (head up, flow off) is normal.
        forcing = abs(self.setpoints[self.selected] - AMBIENT_C) > self.window_c
        if forcing and not self.flow_on:
            value |= ERROR_FLOW_OFF
        if forcing and self.flow_on and not self.head_down:
            value |= ERROR_HEAD_UP
        self._error_register = 0
        return value

    # -- settings -----------------------------------------------------------------------

    def _setting(self, apply: Callable[[float], None]) -> Callable[[Command], None]:
        def handle(command: Command) -> None:
            command.param_count(1)
            apply(parse_number(command.params[0]))
            self._retarget()

        return handle

    def _set_setpoint(self, degc: float) -> None:
        if not self.lower_c <= degc <= self.upper_c:
            raise ScpiError(-222, f"set point {degc} outside {self.lower_c}..{self.upper_c}")
        self.setpoints[self.selected] = degc

    def _select_set(self, number: float) -> None:
        if number != int(number) or not 0 <= number < SET_COUNT:
            raise ScpiError(-222, f"set {number} outside 0..{SET_COUNT - 1}")
        self.selected = int(number)

    def _set_upper_limit(self, degc: float) -> None:
        self.upper_c = _within_air_range(degc)

    def _set_lower_limit(self, degc: float) -> None:
        self.lower_c = _within_air_range(degc)


def _within_air_range(degc: float) -> float:
    low, high = AIR_RANGE_C
    if not low <= degc <= high:
        raise ScpiError(-222, f"limit {degc} outside {low}..{high}")
    return degc


def _positive(value: float) -> float:
    if value < 0:
        raise ScpiError(-222, f"{value} must not be negative")
    return value


def _flag(value: float) -> bool:
    if value not in (0, 1):
        raise ScpiError(-224, f"{value} must be 1 or 0")
    return bool(value)
