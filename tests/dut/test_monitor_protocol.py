"""A chip that answers outside the monitor protocol: a typed ChipProtocolError, never a raw
ValueError. On the simulated lab (a babbling chip) and, for replies the simulated firmware never
sends (truncated, oversized, not a number), on a scripted console."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from bringup.dut.monitor import MAX_REPLY_LINE, ChipProtocolError, MonitorDut
from instruments.console import ConsoleMatch
from tests.dut.conftest import PoweredChip

RAM = 0x8000_0000


def babble_before(chip: PoweredChip, command: str, times: int = 1) -> None:
    """The simulated chip sends garbage lines just before its reply to the next `times` `command`s."""
    firmware = chip.lab.chip._firmware
    original: Callable[[str], object] = firmware.handle
    left = [times]

    def babbling(line: str) -> object:
        if line.startswith(command) and left[0] > 0:
            left[0] -= 1
            chip.lab.chip.babble(2)
        return original(line)

    firmware.handle = babbling  # type: ignore[method-assign]


def test_garbage_in_a_dump_is_a_protocol_error_naming_the_command_and_bytes(powered_chip: PoweredChip) -> None:
    babble_before(powered_chip, "DUMP")
    with pytest.raises(ChipProtocolError) as garbled:
        powered_chip.dut.read_memory(RAM, 16)
    message = str(garbled.value)
    assert "'DUMP 80000000 4'" in message and "SIM-0001" in message
    assert "\\ufffd" in message  # the undecodable bytes, escaped so the line stays printable
    assert "\n" not in message and len(message) < 400
    assert not isinstance(garbled.value, ValueError)


def test_after_a_protocol_error_the_link_resyncs(powered_chip: PoweredChip) -> None:
    powered_chip.dut.load(RAM, bytes(range(16)))
    babble_before(powered_chip, "DUMP")
    with pytest.raises(ChipProtocolError):
        powered_chip.dut.read_memory(RAM, 16)
    powered_chip.dut.resync()
    assert powered_chip.dut.read_memory(RAM, 16) == bytes(range(16))


class ScriptedConsole:
    """Answers every command with the next scripted reply text (for replies no firmware sends)."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.sent: list[str] = []

    def write_line(self, text: str) -> None:
        self.sent.append(text)

    def expect(self, pattern: re.Pattern[str], timeout: float) -> ConsoleMatch:
        text = self.replies.pop(0)
        match = pattern.search(text)
        assert match is not None, f"scripted reply {text!r} does not end a command"
        return ConsoleMatch(match, text[: match.start()])

    def drain(self) -> str:
        return ""


@pytest.mark.parametrize(("reply", "call", "words"), [
    ("OK exit 0\n> ", lambda dut: dut.run(RAM, 100), ["'RUN 80000000 100'", "garbled"]),
    ("OK exit zero 12\n> ", lambda dut: dut.run(RAM, 100), ["garbled", "zero"]),
    ("OK halted 0 12\n> ", lambda dut: dut.run(RAM, 100), ["unknown status 'halted'"]),
    ("OK\n> ", lambda dut: dut.clock_mhz(), ["'CLK'"]),
    ("OK fast\n> ", lambda dut: dut.die_temperature(), ["'TEMP'", "'fast'"]),
    ("OK nan\n> ", lambda dut: dut.die_temperature(), ["not finite"]),
    ("00000001 0000\x00002\nOK 2\n> ", lambda dut: dut.read_memory(RAM, 8), ["'DUMP 80000000 2'", "\\x00"]),
    ("00000001\nOK 2\n> ", lambda dut: dut.read_memory(RAM, 8), ["1 words instead of 2"]),
    ("0000000100000002\nOK 2\n> ", lambda dut: dut.read_memory(RAM, 8), ["DUMP"]),
    ("x" * 5000 + "\nOK 500\n> ", lambda dut: dut.clock_mhz(), ["a line of 5000 characters", "... (5003 characters)"]),
])
def test_a_reply_outside_the_protocol_is_a_protocol_error(reply: str, call: Callable, words: list[str]) -> None:
    dut = MonitorDut(ScriptedConsole(reply), name="SIM-0009")
    with pytest.raises(ChipProtocolError) as garbled:
        call(dut)
    message = str(garbled.value)
    for word in words:
        assert word in message, message
    assert "\n" not in message and len(message) < 400 and " — " in message


def test_the_longest_line_of_the_protocol_is_not_oversized() -> None:
    line = " ".join(["0000002a"] * 8)
    assert len(line) < MAX_REPLY_LINE
    dut = MonitorDut(ScriptedConsole(f"{line}\nOK 8\n> "), name="SIM-0009")
    assert dut.read_memory(RAM, 32) == (42).to_bytes(4, "little") * 8
