"""ScpiInstrument: one pyvisa resource with identity check, error checking, timeouts and reconnect.

Drivers subclass it, declare which instrument they expect (`expected_makers`, `expected_model`)
and build their commands on `write` (setting commands, error queue checked after each) and
`query` / `query_float` / `query_bool` (no error check: a query that fails just times out or
answers garbage, and the hot measurement path must stay one round trip).

Connection handling, as measured with pyvisa-py 0.8 over a TCP socket:

- When the instrument closes the connection, pyvisa-py's read does not report it: it reads
  empty chunks until the I/O timeout and raises VI_ERROR_TMO. The first write after the close
  succeeds silently (the kernel accepts it; the peer answers with a reset), later ones raise
  `BrokenPipeError`/`ConnectionResetError` straight from the socket, not a VisaIOError.
- A refused connection is not reported at open either; the first I/O raises the `OSError`.

So before every command the socket is probed without blocking (readable with nothing to read
= the peer closed it), a timeout is re-checked the same way to tell a drop from a slow
instrument, and raw `OSError`s count as a dropped connection. A drop closes and reopens the
resource (checking `*IDN?` again) and retries the command once; a second failure raises
`ConnectionLost`.

Retrying setting commands: the retry repeats the whole unit, the setting command and the error
queue drain after it. That is safe because every setting command the drivers send is absolute
(set a level, a state, a channel), so applying it twice leaves the instrument as applying it
once; no driver sends a relative command (INCR/DECR, toggles). It is also needed: a command sent
just as the peer closes can vanish silently, and only re-sending it makes the setting certain.

After a timeout the connection is reopened before the next command, so that a late answer to
the timed-out query can never be read as the answer to the next one.
"""

from __future__ import annotations

import logging
import math
import re
import select
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar, NamedTuple, Self, TypeVar

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from instruments.errors import (
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    InstrumentUnreachable,
    ScpiError,
    UnexpectedResponse,
    WrongInstrumentError,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

_TIMEOUT = constants.StatusCode.error_timeout
_CONNECTION_ERRORS = frozenset({constants.StatusCode.error_connection_lost, constants.StatusCode.error_io})
_BOOLEANS = {"1": True, "0": False, "ON": True, "OFF": False, "YES": True, "NO": False}
# The SCPI queue holds at most 20 entries plus the overflow marker; more means a babbling
# instrument, and the drain must still end.
_MAX_ERRORS_DRAINED = 32


class Identity(NamedTuple):
    """The four fields of a `*IDN?` answer."""

    maker: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, answer: str) -> Identity | None:
        """Split `maker,model,serial,firmware`; None when the answer has another shape."""
        fields = [field.strip() for field in answer.split(",")]
        if len(fields) != 4:
            return None
        return cls(*fields)


class _ConnectionDropped(Exception):
    """Internal: the transport failed in a way a reconnect can fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def format_number(value: float) -> str:
    """A number as SCPI text: the shortest exact decimal (`0.8`, `25000000.0`, `1e-06`)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"cannot send {value!r} to an instrument: not a finite number")
    return repr(number)


def format_on_off(on: bool) -> str:
    return "ON" if on else "OFF"


def parse_error_entry(answer: str) -> tuple[int, str] | None:
    """`-222,"Data out of range"` -> (-222, 'Data out of range'); None if not of that shape."""
    code_text, _, text = answer.partition(",")
    try:
        code = int(code_text)
    except ValueError:
        return None
    return code, text.strip().strip('"')


def _socket_of(resource: Any) -> socket.socket | None:
    """The TCP socket under a pyvisa-py SOCKET session, None for any other backend or type."""
    sessions = getattr(resource.visalib, "sessions", {})
    interface = getattr(sessions.get(resource.session), "interface", None)
    return interface if isinstance(interface, socket.socket) else None


def _peer_closed(sock: socket.socket) -> bool:
    """True when the peer has closed or reset the connection; never blocks."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class ScpiInstrument:
    """A SCPI instrument on one pyvisa resource, `\\n`-terminated both ways.

    Thread-safe: every command runs under one re-entrant lock per instrument (pyvisa is not
    thread-safe per resource); `transaction()` holds it across several commands.
    """

    #: Makers accepted in `*IDN?` (case-insensitive); empty accepts any.
    expected_makers: ClassVar[tuple[str, ...]] = ()
    #: Model accepted in `*IDN?` (full match); None accepts any.
    expected_model: ClassVar[re.Pattern[str] | None] = None
    #: How the expected instrument is named in error messages.
    expected_description: ClassVar[str] = "any SCPI instrument"
    #: The query that pops one entry off the SCPI error queue.
    error_query: ClassVar[str] = "SYST:ERR?"

    def __init__(
        self,
        resource_name: str,
        *,
        resource_manager: pyvisa.ResourceManager | None = None,
        backend: str = "@py",
        timeout_s: float = 2.0,
        name: str | None = None,
    ) -> None:
        self.resource_name = resource_name
        self.name = f"{name} ({resource_name})" if name else resource_name
        self.timeout_s = timeout_s
        self._lock = threading.RLock()
        self._owns_manager = resource_manager is None
        self._manager = resource_manager or pyvisa.ResourceManager(backend)
        self._resource: Any = None
        self._socket: socket.socket | None = None
        self._closed = False
        self._identity = Identity("", "", "", "")
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    # --- public API -----------------------------------------------------------------------

    @property
    def identity(self) -> Identity:
        """Maker, model, serial and firmware as answered to `*IDN?` at open."""
        return self._identity

    def write(self, command: str) -> None:
        """Send a setting command, then raise `ScpiError` if the instrument reported an error."""
        with self._lock:
            self._call(command, self._write_checked)

    def query(self, command: str) -> str:
        """Send a query and return its answer without the terminator."""
        with self._lock:
            return self._call(command, self._query_once)

    def query_float(self, command: str) -> float:
        answer = self.query(command)
        try:
            return float(answer)
        except ValueError:
            raise UnexpectedResponse(self.name, command, answer, "a number") from None

    def query_int(self, command: str) -> int:
        answer = self.query(command)
        try:
            return int(float(answer))
        except ValueError:
            raise UnexpectedResponse(self.name, command, answer, "an integer") from None

    def query_bool(self, command: str) -> bool:
        """A boolean answer: `1`/`0`, `ON`/`OFF` or `YES`/`NO`."""
        answer = self.query(command)
        try:
            return _BOOLEANS[answer.strip().upper()]
        except KeyError:
            raise UnexpectedResponse(self.name, command, answer, "1/0, ON/OFF or YES/NO") from None

    def check_errors(self, command: str = "(error check)") -> None:
        """Raise `ScpiError` for what the instrument has reported since the last check."""
        with self._lock:
            self._call(command, self._check_errors)

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Hold the instrument's lock across several commands (select a channel, then set it)."""
        with self._lock:
            yield self

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close_resource()
            if self._owns_manager:
                with suppress(VisaIOError, OSError):
                    self._manager.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # --- for drivers ----------------------------------------------------------------------

    def _check_errors(self, command: str) -> None:
        """Drain the SCPI error queue; raise the oldest entry, attributed to `command`.

        Drivers of instruments without a SCPI queue override this. It runs inside the I/O
        guard, so it uses `_raw_query`.
        """
        reported: list[tuple[int, str]] = []
        for _ in range(_MAX_ERRORS_DRAINED):
            answer = self._raw_query(self.error_query)
            entry = parse_error_entry(answer)
            if entry is None:
                raise UnexpectedResponse(self.name, self.error_query, answer, '+0,"No error"')
            if entry[0] == 0:
                break
            reported.append(entry)
        if reported:
            code, text = reported[0]
            if len(reported) > 1:
                text += f" (and {len(reported) - 1} more: {reported[1:]})"
            raise ScpiError(code, text, command, self.name)

    def _raw_query(self, command: str) -> str:
        """A query with no lock, retry or translation: for use inside `_check_errors`."""
        return self._resource.query(command)

    # --- internals ------------------------------------------------------------------------

    def _write_checked(self, command: str) -> None:
        self._resource.write(command)
        self._check_errors(command)

    def _query_once(self, command: str) -> str:
        return self._resource.query(command)

    def _call(self, command: str, operation: Callable[[str], T]) -> T:
        """Run one command unit; on a dropped connection reopen and retry it once."""
        try:
            return self._attempt(command, operation)
        except _ConnectionDropped as dropped:
            log.warning("%s: %s during %r; reconnecting", self.name, dropped.reason, command)
            self._reopen(command)
            try:
                return self._attempt(command, operation)
            except _ConnectionDropped as again:
                raise ConnectionLost(self.name, command, again.reason) from again

    def _attempt(self, command: str, operation: Callable[[str], T]) -> T:
        if self._resource is None:
            if self._closed:
                raise InstrumentError(
                    f"{self.name}: {command!r} sent after close(); open the instrument again",
                    instrument=self.name,
                    command=command,
                )
            self._reopen(command)
        sock = self._socket
        if sock is not None and _peer_closed(sock):
            raise _ConnectionDropped("the instrument closed the connection")
        try:
            return operation(command)
        except VisaIOError as exc:
            if exc.error_code == _TIMEOUT:
                if sock is not None and _peer_closed(sock):
                    raise _ConnectionDropped("the instrument closed the connection") from exc
                self._close_resource()  # the next command reconnects: no late answer leaks in
                raise InstrumentTimeout(self.name, command, self.timeout_s) from exc
            if exc.error_code in _CONNECTION_ERRORS:
                raise _ConnectionDropped(exc.description) from exc
            raise InstrumentError(
                f"{self.name}: VISA error during {command!r}: {exc}",
                instrument=self.name,
                command=command,
            ) from exc
        except OSError as exc:
            raise _ConnectionDropped(f"{type(exc).__name__}: {exc}") from exc

    def _reopen(self, command: str) -> None:
        self._close_resource()
        try:
            self._open()
        except (InstrumentUnreachable, InstrumentTimeout) as exc:
            raise ConnectionLost(self.name, command, f"reconnecting failed: {exc}") from exc

    def _open(self) -> None:
        timeout_ms = max(1, round(self.timeout_s * 1000))
        try:
            # pyvisa-py raises bare Exception for some connect failures, so catch wide here.
            self._resource = self._manager.open_resource(
                self.resource_name,
                read_termination="\n",
                write_termination="\n",
                timeout=timeout_ms,
                open_timeout=timeout_ms,
            )
        except Exception as exc:
            raise InstrumentUnreachable(self.name, f"{type(exc).__name__}: {exc}") from exc
        self._socket = _socket_of(self._resource)
        try:
            self._disable_nagle()
            self._identity = self._identify()
        except BaseException:
            self._close_resource()
            raise

    def _disable_nagle(self) -> None:
        # A setting command and the SYST:ERR? after it are two small writes in a row; with
        # Nagle on, the second waits for the delayed ACK of the first (~40 ms on Linux).
        # pyvisa-py's VI_ATTR_TCPIP_NODELAY setter is broken in 0.8, so set it directly.
        if self._socket is None:
            return
        try:
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            raise InstrumentUnreachable(self.name, f"{type(exc).__name__}: {exc}") from exc

    def _identify(self) -> Identity:
        try:
            answer = self._resource.query("*IDN?")
        except VisaIOError as exc:
            if exc.error_code == _TIMEOUT:
                raise InstrumentTimeout(self.name, "*IDN?", self.timeout_s) from exc
            raise InstrumentUnreachable(self.name, str(exc)) from exc
        except OSError as exc:
            raise InstrumentUnreachable(self.name, f"{type(exc).__name__}: {exc}") from exc
        identity = Identity.parse(answer)
        if identity is None or not self._is_expected(identity):
            raise WrongInstrumentError(self.name, self.expected_description, answer)
        return identity

    def _is_expected(self, identity: Identity) -> bool:
        makers = self.expected_makers
        if makers and identity.maker.casefold() not in {m.casefold() for m in makers}:
            return False
        return self.expected_model is None or bool(self.expected_model.fullmatch(identity.model))

    def _close_resource(self) -> None:
        resource, self._resource, self._socket = self._resource, None, None
        if resource is not None:
            with suppress(VisaIOError, OSError):
                resource.close()
