"""`bringup estop`: every output of a station off, now, from any process; the forcer parked.

It opens its own connection to each supply and clock source (instruments accept several), so
it works while a run holds the bench, and it keeps going past an instrument that fails. The
clock goes first, then the supplies; the thermal forcer is parked last (ambient set point,
flow off, head up, as the station file's `forcer:` section says).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bringup.messages import first_line
from bringup.station import StationSpec


@dataclass(frozen=True)
class EstopResult:
    instrument: str
    ok: bool
    detail: str


def emergency_stop(spec: StationSpec, *, timeout_s: float = 2.0) -> list[EstopResult]:
    """Clock outputs off first, then every supply's outputs; one result per instrument."""
    from instruments.registry import open_driver

    results = []
    order = (("clock_source", _clock_off), ("power_supply", _supply_off),
             ("thermal_forcer", _forcer_park(spec)))
    for role, action in order:
        for name in spec.instruments_with_role(role):
            inst = spec.instruments[name]
            try:
                driver = open_driver(inst.driver, inst.address, name=name, backend=spec.visa_backend,
                                     timeout_s=timeout_s)
                try:
                    detail = action(driver)
                finally:
                    driver.close()
                results.append(EstopResult(name, True, detail))
            except Exception as exc:
                results.append(EstopResult(name, False, first_line(exc)))
    return results


def _supply_off(supply: object) -> str:
    supply.all_off()  # type: ignore[attr-defined]
    channels = range(1, supply.channel_count + 1)  # type: ignore[attr-defined]
    still_on = [n for n in channels if supply.channel(n).output_enabled()]  # type: ignore[attr-defined]
    if still_on:
        raise RuntimeError(f"outputs {still_on} still read ON after all-off")
    return "all outputs off (verified)"


def _forcer_park(spec: StationSpec) -> Callable[[object], str]:
    def park(forcer: object) -> str:
        from bringup.thermal import describe_park, park_forcer

        failures = park_forcer(forcer, spec.forcer)
        if failures:
            raise RuntimeError("; ".join(failures))
        return f"parked ({describe_park(spec.forcer)})"

    return park


def _clock_off(clock: object) -> str:
    clock.set_output(False)  # type: ignore[attr-defined]
    return "output off"
