"""The run's watchdog: a small separate process that powers the bench down if the run dies.

Nothing inside a process survives kill -9 (or the OOM killer, or a segfault in a driver
library), so every command that powers a chip starts this supervisor first
(`python -m bringup.watchdog`, its own session so that a closed terminal or Ctrl-C does not
reach it). The run process keeps the write end of a pipe to the watchdog's stdin: that pipe is
the heartbeat. The kernel closes it when the run's process dies, however it dies.

- A clean end writes `release`: the watchdog exits without touching anything.
- End of file without `release`: the run's process died. The watchdog turns the bench off the
  way `bringup estop` does (its own instrument connections: clock first, then every supply
  output, and what estop parks), records the run `interrupted` with the reason, and exits.

The watchdog inherits the station lease's locked file, so the bench stays leased (no second run
can start) until it has finished powering down. It imports only the standard library until it
has to act, so starting it costs a few tens of milliseconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import IO, Any

READY = "ready"
RELEASE = "release"
READY_TIMEOUT_S = 20.0
EXIT_TIMEOUT_S = 5.0
DIED_REASON = "run process died (killed?); watchdog powered the bench down"


class WatchdogError(RuntimeError):
    """The watchdog could not be started; the run does not start without it."""


@dataclass(frozen=True)
class WatchdogConfig:
    run_id: str
    station: dict[str, Any]  # StationSpec.model_dump(): what estop needs to reach the bench
    db_url: str | None


class Watchdog:
    """The run process's side: start the supervisor, and release it at a clean end."""

    def __init__(self, config: WatchdogConfig, *, lease_fd: int | None = None) -> None:
        self.config = config
        self.lease_fd = lease_fd
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Watchdog:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bringup.watchdog"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            pass_fds=() if self.lease_fd is None else (self.lease_fd,),
            start_new_session=True,  # no terminal signals: it must outlive a closed terminal
        )
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(self.config.__dict__) + "\n")
        self.process.stdin.flush()
        return self

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Block (bounded) until the watchdog has read its orders: only then may power go on."""
        process = self._running()
        assert process.stdout is not None
        line = _read_line(process.stdout, timeout_s)
        process.stdout.close()
        if line.strip() != READY:
            self._kill()
            raise WatchdogError(f"the run's watchdog did not start within {timeout_s:g} s "
                                f"(it said {line.strip()!r}); nothing was powered")

    def release(self) -> None:
        """A clean end: the watchdog exits without touching the bench."""
        process = self.process
        if process is None:
            return
        self.process = None
        try:
            assert process.stdin is not None
            process.stdin.write(RELEASE + "\n")
            process.stdin.close()
            process.wait(EXIT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()

    def _running(self) -> subprocess.Popen[str]:
        if self.process is None:
            raise WatchdogError("the watchdog was not started")
        return self.process

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_line(stream: IO[str], timeout_s: float) -> str:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            return ""
    return stream.readline()


# ---------------------------------------------------------------------- the watchdog process
def main() -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)  # only the end of its pipe ends it
    config = WatchdogConfig(**json.loads(sys.stdin.readline()))
    print(READY, flush=True)
    sys.stdout.close()
    for line in sys.stdin:
        if line.strip() == RELEASE:
            return 0
    return power_down(config)


def power_down(config: WatchdogConfig) -> int:
    """The run's process is gone: bench off first, then the record; never raises."""
    from bringup.estop import emergency_stop
    from bringup.station import StationSpec

    reason = DIED_REASON
    try:
        results = emergency_stop(StationSpec.model_validate(config.station))
        not_off = [f"{r.instrument}: {r.detail}" for r in results if not r.ok]
    except Exception as exc:  # the station itself is unusable: say so in the record
        not_off = [f"estop failed: {exc}"]
    if not_off:
        reason += f"; NOT OFF: {'; '.join(not_off)}"
    _say(f"watchdog: run {config.run_id[:8]}: {reason}")
    try:
        _record(config, reason)
    except Exception as exc:
        _say(f"watchdog: could not record it in the database: {exc}")
        return 1
    return 0 if not not_off else 1


def _record(config: WatchdogConfig, reason: str) -> None:
    from bringup.db.engine import make_engine
    from bringup.db.recorder import mark_run_interrupted

    engine = make_engine(config.db_url, upgrade=False)
    try:
        mark_run_interrupted(engine, config.run_id, reason)
    finally:
        engine.dispose()


def _say(text: str) -> None:
    try:
        print(text, file=sys.stderr, flush=True)
    except OSError:  # the terminal it was started from is gone
        pass


if __name__ == "__main__":
    sys.exit(main())
