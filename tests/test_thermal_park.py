"""The forcer park retries a forcer that stops answering for a moment, in the order it needs."""

from __future__ import annotations

from bringup.station import ForcerSpec
from bringup.thermal import park_forcer


class SilentForAWhile:
    """A forcer that times out on its first `silent_calls` commands, then obeys; and, like a
    ThermoStream, refuses flow off while its set point is still away from ambient."""

    def __init__(self, silent_calls: int) -> None:
        self.silent_calls = silent_calls
        self.setpoint, self.flow, self.head_down = 85.0, True, True
        self.commands: list[str] = []

    def _answer(self, command: str) -> None:
        self.commands.append(command)
        if self.silent_calls > 0:
            self.silent_calls -= 1
            raise TimeoutError(f"no answer to {command!r}")

    def set_temperature(self, degc: float) -> None:
        self._answer("set point")
        self.setpoint = degc

    def set_flow(self, on: bool) -> None:
        self._answer("flow")
        if not on and abs(self.setpoint - 25.0) > 1.0:
            raise RuntimeError("flow off while cooling or heating")
        self.flow = on

    def head_up(self) -> None:
        self._answer("head up")
        self.head_down = False


def test_a_forcer_silent_for_a_moment_is_still_parked_in_order() -> None:
    forcer = SilentForAWhile(silent_calls=3)
    failures = park_forcer(forcer, ForcerSpec(), retry_s=5.0, sleep=lambda s: None)
    assert failures == []
    assert (forcer.setpoint, forcer.flow, forcer.head_down) == (25.0, False, False)
    # Flow off was never tried before the set point was back at ambient.
    assert forcer.commands[:4] == ["set point"] * 4


def test_a_forcer_that_never_answers_is_reported_not_parked_and_the_wait_is_bounded() -> None:
    forcer = SilentForAWhile(silent_calls=10**9)
    failures = park_forcer(forcer, ForcerSpec(), retry_s=0.0, sleep=lambda s: None)
    assert [line.split(":")[0] for line in failures] == ["forcer set point", "forcer flow off", "forcer head up"]
