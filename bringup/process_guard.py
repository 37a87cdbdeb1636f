"""Every way a run's process can end takes the bench to its safe state first.

While a run is active, `guard_run(control)`:
- turns SIGINT (Ctrl-C), SIGTERM, SIGHUP (closed terminal or SSH session) and SIGQUIT (Ctrl-\\)
  into `control.abort(reason)`, the reason naming the signal, so the run powers down and is
  recorded `aborted` instead of the process dying with the rails on;
- turns SIGUSR1 into an abort "estop from host H (pid P)": `bringup estop` sends it to the
  station lease's owner so that the run records what happened instead of a collapsed rail;
- aborts the run on an uncaught exception in any thread (`threading.excepthook`), because a
  thread that died may have been the one watching the rails or writing the record.

Signal handlers can only be set on the main thread; a run on another thread (the TUI, a
script's worker) keeps the excepthook and leaves signals to its owner. kill -9 cannot be
caught at all: that is the watchdog's job (bringup/watchdog.py).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

SIGNAL_REASONS: dict[int, str] = {
    signal.SIGINT: "interrupted by Ctrl-C (SIGINT)",
    signal.SIGTERM: "terminated (SIGTERM)",
    signal.SIGHUP: "terminal closed (SIGHUP)",
    signal.SIGQUIT: "quit (SIGQUIT)",
}
ESTOP_SIGNAL = signal.SIGUSR1


class Abortable(Protocol):
    def abort(self, reason: str) -> None: ...


class guard_run:
    """Context manager: while active, signals and thread crashes abort `control`'s run."""

    def __init__(self, control: Abortable, *, station: str | None = None) -> None:
        self.control = control
        self.station = station
        self.previous_signals: dict[int, Any] = {}
        self.previous_hook: Callable[[threading.ExceptHookArgs], Any] | None = None

    def __enter__(self) -> guard_run:
        self.previous_hook = threading.excepthook
        threading.excepthook = self._thread_died
        if threading.current_thread() is threading.main_thread():
            for signum, reason in SIGNAL_REASONS.items():
                self.previous_signals[signum] = signal.signal(signum, self._aborter(reason))
            self.previous_signals[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._hung_up)
            self.previous_signals[ESTOP_SIGNAL] = signal.signal(ESTOP_SIGNAL, self._estop)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for signum, handler in self.previous_signals.items():
            signal.signal(signum, handler)
        self.previous_signals.clear()
        if threading.excepthook is self._thread_died and self.previous_hook is not None:
            threading.excepthook = self.previous_hook

    def _aborter(self, reason: str) -> Callable[[int, Any], None]:
        return lambda signum, frame: self.control.abort(reason)

    def _hung_up(self, signum: int, frame: Any) -> None:
        # The terminal is gone: a later write to it fails with EIO, which would turn the orderly
        # abort into a crash exit. What the run has to say from here on is in the record.
        _detach_from_terminal()
        self.control.abort(SIGNAL_REASONS[signal.SIGHUP])

    def _estop(self, signum: int, frame: Any) -> None:
        from bringup.lease import estop_reason

        self.control.abort(estop_reason(self.station))

    def _thread_died(self, args: threading.ExceptHookArgs) -> None:
        if self.previous_hook is not None:
            self.previous_hook(args)  # still print the traceback for whoever debugs it
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        self.control.abort(f"uncaught {args.exc_type.__name__} in thread {name}: {args.exc_value}")


def _detach_from_terminal() -> None:
    """Point stdout and stderr at /dev/null (best effort; nothing here may raise)."""
    import os
    import sys

    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    for fd in (1, 2):
        try:
            os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)
