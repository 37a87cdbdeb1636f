"""Typed instrument errors; each reads as one line naming the instrument, the command and a fix.

Every error derives from `InstrumentError`, so a caller that only wants "the bench failed"
catches one type, and one that wants to react (retry a timeout, power down on a lost
connection) catches the specific one.
"""

from __future__ import annotations


class InstrumentError(Exception):
    """Base of every error raised by `instruments`.

    `instrument` names the instrument (station role and address where known); `command` is the
    command or operation that failed, or None when the failure is not tied to one.
    """

    def __init__(self, message: str, *, instrument: str, command: str | None = None) -> None:
        super().__init__(message)
        self.instrument = instrument
        self.command = command


class InstrumentUnreachable(InstrumentError):
    """The instrument could not be opened at all (nothing answers at the address)."""

    def __init__(self, instrument: str, reason: str) -> None:
        super().__init__(
            f"{instrument}: cannot open the instrument ({reason}); check that it is powered, "
            "connected, and that the resource string in the station file is right",
            instrument=instrument,
        )
        self.reason = reason


class WrongInstrumentError(InstrumentError):
    """`*IDN?` at the address answered with an instrument the driver does not speak to."""

    def __init__(self, instrument: str, expected: str, answered: str) -> None:
        super().__init__(
            f"{instrument}: expected {expected} but *IDN? answered {answered!r}; "
            "fix the resource string or the driver name in the station file",
            instrument=instrument,
            command="*IDN?",
        )
        self.expected = expected
        self.answered = answered


class ScpiError(InstrumentError):
    """The instrument reported an error after a command (its error queue or error register).

    `code` is the SCPI error number (e.g. -222), or the error register value for instruments
    without a SCPI queue (the ThermoStream); `text` is the instrument's description.
    """

    def __init__(self, code: int, text: str, command: str, instrument: str) -> None:
        super().__init__(
            f"{instrument}: command {command!r} was rejected with error {code}, {text!r}; "
            "check the value against the instrument's range and state",
            instrument=instrument,
            command=command,
        )
        self.code = code
        self.text = text


class InstrumentTimeout(InstrumentError):
    """The instrument did not answer within the I/O timeout."""

    def __init__(self, instrument: str, command: str, timeout_s: float) -> None:
        super().__init__(
            f"{instrument}: no answer to {command!r} within {timeout_s:g} s; check that the "
            "instrument is not busy or hung, or raise its timeout in the station file",
            instrument=instrument,
            command=command,
        )
        self.timeout_s = timeout_s


class ConnectionLost(InstrumentError):
    """The connection dropped and reconnecting with one retry of the command did not help."""

    def __init__(self, instrument: str, command: str, reason: str) -> None:
        super().__init__(
            f"{instrument}: connection lost during {command!r} and reconnecting did not "
            f"help ({reason}); check the instrument's power and network",
            instrument=instrument,
            command=command,
        )
        self.reason = reason


class UnexpectedResponse(InstrumentError):
    """An answer could not be parsed as what the command returns."""

    def __init__(self, instrument: str, command: str, response: str, expected: str) -> None:
        super().__init__(
            f"{instrument}: {command!r} answered {response!r}, expected {expected}; "
            "the instrument may not be the model the driver is for, or its firmware differs",
            instrument=instrument,
            command=command,
        )
        self.response = response


class UnknownChannel(InstrumentError, ValueError):
    """A channel number the instrument does not have."""

    def __init__(self, instrument: str, channel: int, valid: range) -> None:
        super().__init__(
            f"{instrument}: has no channel {channel}; use {valid.start}..{valid.stop - 1}",
            instrument=instrument,
        )
        self.channel = channel


class UnknownDriver(InstrumentError, LookupError):
    """A driver name that the registry does not know."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown instrument driver {name!r}; known drivers: {', '.join(sorted(known))}",
            instrument=name,
        )
        self.known = known


class ConsoleError(InstrumentError):
    """The serial console failed (port closed, device gone, write stuck)."""


class ConsoleTimeout(ConsoleError):
    """`expect` saw no match for its pattern within the timeout."""

    def __init__(self, port: str, pattern: str, timeout_s: float, tail: str) -> None:
        super().__init__(
            f"{port}: no {pattern!r} within {timeout_s:g} s; last received: {tail!r}; "
            "check that the chip is powered and its firmware is running",
            instrument=port,
            command=f"expect {pattern!r}",
        )
        self.pattern = pattern
        self.timeout_s = timeout_s
        self.tail = tail
