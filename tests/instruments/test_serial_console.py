"""SerialConsole over a real pty, with a thread on the master side playing the chip."""

from __future__ import annotations

import os
import re
import select
import threading
import time
import tty

import pytest

from instruments.console import LoggedLine, SerialConsole
from instruments.errors import ConsoleError, ConsoleTimeout

PROMPT = "> "


class FakeChip:
    """Answers lines on the pty master: `id`, `echo <text>`, `dump <n>`, `babble`, `quiet`."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.received: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def unplug(self) -> None:
        """Close both pty ends, as when a USB-serial adapter is pulled."""
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = -1

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                pending += os.read(self.master, 4096)
            except OSError:
                return
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._answer(line.decode())

    def _answer(self, line: str) -> None:
        self.received.append(line)
        command, _, argument = line.partition(" ")
        if command == "id":
            reply = "bringup-chip rev A\n"
        elif command == "echo":
            reply = f"{argument}\n"
        elif command == "dump":
            reply = "".join(f"{address:08x}: {address * 3:08x}\n" for address in range(int(argument)))
        elif command == "quiet":
            return
        else:
            reply = f"ERR unknown command {command}\n"
        self.send((reply + PROMPT).encode())


@pytest.fixture
def chip():
    fake = FakeChip()
    yield fake
    fake.stop()


@pytest.fixture
def console(chip):
    with SerialConsole(chip.port, name="dut") as uart:
        yield uart


def test_exchange_returns_the_output_before_the_prompt(console):
    found = console.exchange("id", PROMPT, timeout=2)
    assert found.before == "bringup-chip rev A\n"
    assert found.match.group(0) == PROMPT


def test_expect_accepts_compiled_patterns_and_groups(console):
    console.write_line("echo value=42")
    found = console.expect(re.compile(r"value=(\d+)"), timeout=2)
    assert found.match.group(1) == "42"
    console.expect(PROMPT, timeout=2)  # what follows the match stays for the next expect


def test_timeout_names_port_pattern_and_what_arrived(chip, console):
    chip.send(b"booting...\nstuck in DDR training")
    started = time.monotonic()
    with pytest.raises(ConsoleTimeout) as caught:
        console.expect("login:", timeout=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.5  # never blocks much past the deadline
    message = str(caught.value)
    assert chip.port in message and "dut" in message and "'login:'" in message
    assert caught.value.tail.endswith("stuck in DDR training")


def test_silent_device_times_out(console):
    console.write_line("quiet")
    with pytest.raises(ConsoleTimeout):
        console.expect(PROMPT, timeout=0.2)


def test_line_log_records_both_directions_with_times(console):
    before = time.time()
    console.exchange("echo hello", PROMPT, timeout=2)
    assert [(e.direction, e.text) for e in console.log] == [("tx", "echo hello"), ("rx", "hello")]
    assert all(before <= entry.time <= time.time() for entry in console.log)


def test_line_callback_sees_each_line_once_even_when_split_across_reads(chip):
    seen: list[LoggedLine] = []
    with SerialConsole(chip.port, on_line=seen.append) as uart:
        chip.send(b"partial li")
        with pytest.raises(ConsoleTimeout):
            uart.expect("never", timeout=0.1)  # the first half is read and buffered
        chip.send(b"ne\r\nsecond\n")
        uart.expect("second\n", timeout=2)
    assert [(e.direction, e.text) for e in seen] == [("rx", "partial line"), ("rx", "second")]


def test_line_log_is_bounded(chip):
    with SerialConsole(chip.port, log_lines=5) as uart:
        uart.exchange("dump 50", PROMPT, timeout=2)
        assert len(uart.log) == 5
        assert uart.log[-1].text == f"{49:08x}: {49 * 3:08x}"


def test_multibyte_characters_split_across_reads_decode_intact(chip, console):
    encoded = "température 25 °C\n".encode()
    cut = encoded.index("°".encode()) + 1  # in the middle of the two-byte degree sign
    chip.send(encoded[:cut])
    with pytest.raises(ConsoleTimeout):
        console.expect("never", timeout=0.1)
    chip.send(encoded[cut:])
    assert console.expect("°C", timeout=2).before == "température 25 "


def test_large_output_arrives_complete(console):
    found = console.exchange("dump 4000", PROMPT, timeout=5)
    lines = found.before.splitlines()
    assert len(lines) == 4000
    assert lines[-1] == f"{3999:08x}: {3999 * 3:08x}"


def test_many_exchanges_in_a_row_stay_in_step(chip, console):
    for index in range(500):
        assert console.exchange(f"echo {index}", PROMPT, timeout=2).before == f"{index}\n"
    assert len(chip.received) == 500


def test_drain_takes_what_is_waiting(chip, console):
    chip.send(b"unsolicited banner\n")
    deadline = time.monotonic() + 2
    text = ""
    while "banner" not in text and time.monotonic() < deadline:
        text += console.drain()
    assert text == "unsolicited banner\n"
    assert console.pending() == ""


def test_unplugged_port_raises_console_error_instead_of_hanging(chip, console):
    chip.unplug()
    with pytest.raises(ConsoleError, match="dut"):
        console.expect(PROMPT, timeout=2)


def test_missing_port_is_a_console_error_naming_it():
    with pytest.raises(ConsoleError, match="/dev/does-not-exist"):
        SerialConsole("/dev/does-not-exist")
