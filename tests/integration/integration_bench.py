"""A bench of real drivers on the simulated lab: pyvisa-py over real TCP and pyserial on the pty.

Nothing here reaches into the lab's internals to drive it; tests read only the chip's hidden
truth (`lab.chip.damaged`, `lab.chip.vmin()`) to check what the drivers made happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bringup.simlab import SimLab
from bringup.simlab.lab import DRIVERS
from instruments.console import SerialConsole
from instruments.registry import open_driver

DRIVER_TIMEOUT_S = 2.0
BOOT_TIMEOUT_S = 3.0
BANNER = r"BRINGUP-MON 1\.0 chip=(\S+)"
PROMPT = "> "

# The wiring of docs/scpi-commands.md: rail -> (supply role, channel, volts, current limit).
RAILS = {
    "VDD_CORE": ("psu_core", 1, 0.80, 1.5),
    "VDD_SRAM": ("psu_core", 2, 0.90, 0.5),
    "VDD_IO": ("psu_io", 1, 1.80, 0.3),
}
POWER_ON_ORDER = ("VDD_CORE", "VDD_SRAM", "VDD_IO")
REFCLK_HZ = 25e6
REFCLK_VPP = 1.8


@dataclass
class Bench:
    """Every simulated instrument opened through the registry, as a station would open it."""

    lab: SimLab
    drivers: dict[str, Any]
    console: SerialConsole

    def __getitem__(self, role: str) -> Any:
        return self.drivers[role]

    def rail(self, name: str) -> Any:
        role, channel, _, _ = RAILS[name]
        return self.drivers[role].channel(channel)

    def program_rail(self, name: str, volts: float | None = None) -> None:
        _, _, nominal, limit = RAILS[name]
        channel = self.rail(name)
        channel.set_current_limit(limit)
        channel.set_voltage(nominal if volts is None else volts)

    def start_clock(self, hertz: float = REFCLK_HZ) -> None:
        clock = self.drivers["refclk"]
        clock.set_frequency(hertz)
        clock.set_amplitude(REFCLK_VPP)
        clock.set_output(True)

    def power_on(self, order: tuple[str, ...] = POWER_ON_ORDER) -> None:
        """Program every rail, then switch them on in `order` (the clock first)."""
        self.start_clock()
        for name in RAILS:
            self.program_rail(name)
        for name in order:
            self.rail(name).set_output(True)

    def power_off(self) -> None:
        for name in reversed(POWER_ON_ORDER):
            self.rail(name).set_output(False)

    def boot(self) -> str:
        """Power on in the right order and wait for the banner and prompt; the chip's serial."""
        self.power_on()
        found = self.console.expect(BANNER, timeout=BOOT_TIMEOUT_S)
        self.console.expect(PROMPT, timeout=BOOT_TIMEOUT_S)
        return found.match.group(1)

    def monitor(self, command: str) -> str:
        """One monitor command; its status line (`OK ...`)."""
        found = self.console.exchange(command, r"(OK|ERR)[^\n]*\n", timeout=BOOT_TIMEOUT_S)
        self.console.expect(PROMPT, timeout=BOOT_TIMEOUT_S)
        return found.match.group(0).strip()

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
        self.console.close()


def open_bench(lab: SimLab, timeout_s: float = DRIVER_TIMEOUT_S) -> Bench:
    resources = lab.resources
    drivers = {
        role: open_driver(driver, resources[role], name=role, timeout_s=timeout_s)
        for role, driver in DRIVERS.items()
    }
    console = open_driver("serial_console", resources["console"], name="console")
    return Bench(lab, drivers, console)
