"""The roles instruments play on a bench, as small structural protocols.

Code above the drivers (the power controller, the steps) programs instruments only through
these, so any supply, meter, forcer or clock with a driver that fits can be wired in. Units are
SI throughout: volts, amps, hertz, seconds, degrees Celsius.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class PowerChannel(Protocol):
    """One output of a power supply."""

    def set_voltage(self, volts: float) -> None: ...

    def set_current_limit(self, amps: float) -> None: ...

    def set_output(self, on: bool) -> None: ...

    def output_enabled(self) -> bool: ...

    def measure_voltage(self) -> float: ...

    def measure_current(self) -> float: ...

    def set_over_voltage_protection(self, volts: float) -> None:
        """Program and enable over-voltage protection at `volts`."""
        ...

    def set_over_current_protection(self, enabled: bool) -> None:
        """Trip the output off at the current limit instead of regulating at it."""
        ...

    def protection_tripped(self) -> str | None:
        """'OVP' or 'OCP' when a protection has tripped the output off, else None."""
        ...

    def clear_protection(self) -> None: ...


@runtime_checkable
class PowerSupply(Protocol):
    """A supply with numbered outputs, 1..channel_count."""

    @property
    def channel_count(self) -> int: ...

    def channel(self, number: int) -> PowerChannel: ...

    def all_off(self) -> None:
        """Turn every output off, in one command where the instrument allows."""
        ...


@runtime_checkable
class Multimeter(Protocol):
    """A DMM; `full_scale` None means autorange, `nplc` is the integration time."""

    def configure_dc_voltage(self, full_scale: float | None = None, nplc: float = 1) -> None: ...

    def configure_dc_current(self, full_scale: float | None = None, nplc: float = 1) -> None: ...

    def read(self) -> float:
        """One reading of the configured function."""
        ...


@runtime_checkable
class ThermalForcer(Protocol):
    """A thermal forcer (ThermoStream-like) over the chip."""

    def set_temperature(self, degc: float) -> None: ...

    def temperature(self) -> float: ...

    def at_temperature(self) -> bool:
        """True once within the window for the soak time."""
        ...

    def set_window(self, degc: float) -> None: ...

    def set_soak(self, seconds: float) -> None: ...

    def head_down(self) -> None: ...

    def head_up(self) -> None: ...

    def set_flow(self, on: bool) -> None: ...

    def set_limits(self, low_degc: float, high_degc: float) -> None: ...

    def check_errors(self) -> None:
        """Raise `ScpiError` for any error the forcer reports."""
        ...


@runtime_checkable
class ClockSource(Protocol):
    """A reference clock (square wave) for the chip."""

    def set_frequency(self, hertz: float) -> None: ...

    def frequency(self) -> float: ...

    def set_amplitude(self, volts_pp: float) -> None: ...

    def set_output(self, on: bool) -> None: ...
