"""Talk to the simulated lab as the drivers will: pyvisa-py over TCP and pyserial on the pty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pyvisa
import serial
from polling import wait_until as wait_for

from bringup.simlab import SimLab

VISA_TIMEOUT_MS = 2000
CONSOLE_TIMEOUT_S = 3.0
PROMPT = b"> "

RAIL_SETUP = {  # rail -> (role, commands to program it, command to switch it on)
    "VDD_CORE": ("psu_core", ["VOLT 0.8,(@1)", "CURR 1.5,(@1)"], "OUTP ON,(@1)"),
    "VDD_SRAM": ("psu_core", ["VOLT 0.9,(@2)", "CURR 0.5,(@2)"], "OUTP ON,(@2)"),
    "VDD_IO": ("psu_io", [":SOUR1:VOLT 1.8", ":SOUR1:CURR 0.3"], ":OUTP CH1,ON"),
}
CLOCK_ON = ["FUNC SQU", "FREQ 25e6", "VOLT 1.8", "OUTP ON"]


class Bench:
    """Open pyvisa sessions to every simulated instrument plus the chip's console."""

    wait_for = staticmethod(wait_for)

    def __init__(self, lab: SimLab, manager: pyvisa.ResourceManager) -> None:
        self.lab = lab
        self.manager = manager
        self._sessions: dict[str, pyvisa.resources.MessageBasedResource] = {}
        self.console = serial.Serial(lab.resources["console"], 115200, timeout=CONSOLE_TIMEOUT_S)

    def open(self, role: str) -> pyvisa.resources.MessageBasedResource:
        session = self.manager.open_resource(
            self.lab.resources[role],
            read_termination="\n",
            write_termination="\n",
            timeout=VISA_TIMEOUT_MS,
        )
        self._sessions.setdefault(role, session)
        return session

    def __getitem__(self, role: str) -> pyvisa.resources.MessageBasedResource:
        return self._sessions[role] if role in self._sessions else self.open(role)

    def send(self, role: str, *commands: str) -> None:
        """Write setting commands, then wait until the instrument has executed them."""
        for command in commands:
            self[role].write(command)
        assert self[role].query("*OPC?") == "1"

    def clock_on(self) -> None:
        self.send("refclk", *CLOCK_ON)

    def power_up(self, order: tuple[str, ...] = ("VDD_CORE", "VDD_SRAM", "VDD_IO")) -> None:
        for rail in order:
            role, program, switch_on = RAIL_SETUP[rail]
            self.send(role, *program, switch_on)

    def power_down(self) -> None:
        self.send("psu_io", ":OUTP CH1,OFF")
        self.send("psu_core", "OUTP OFF,(@1:3)")

    def command(self, line: str) -> list[str]:
        """Send one monitor command; the reply lines up to and including the status line."""
        self.console.write(line.encode("ascii") + b"\n")
        return self.read_reply()

    def read_reply(self) -> list[str]:
        raw = self.console.read_until(PROMPT)
        assert raw.endswith(PROMPT), f"no prompt from the chip, got {raw!r}"
        return raw[: -len(PROMPT)].decode("ascii").splitlines()

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self.console.close()


@pytest.fixture(scope="session")
def visa() -> Iterator[pyvisa.ResourceManager]:
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


@pytest.fixture
def bench(simlab: SimLab, visa: pyvisa.ResourceManager) -> Iterator[Bench]:
    opened = Bench(simlab, visa)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def booted(bench: Bench) -> Bench:
    """A chip powered up in order with its clock running, banner and prompt consumed."""
    bench.clock_on()
    bench.power_up()
    banner = bench.read_reply()
    assert banner == ["BRINGUP-MON 1.0 chip=SIM-0001"]
    return bench
