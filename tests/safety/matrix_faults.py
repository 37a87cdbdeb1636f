"""The faults of the safety matrix, each injected into the simulated lab (or the process, or the
database) while a run is in a given phase; and the end state every row is checked against."""

from __future__ import annotations

import selectors
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from safety_bench import SafetyBench

from bringup.simlab.thermal import AMBIENT_C

TRANSIENT_S = 2.0  # a silent supply or forcer answers again after this: the power-down retries 5 s
DB_LOCK_HELD_S = 2.0  # under SQLite's 10 s busy timeout: the recorder waits, nothing is lost
PG_OUTAGE_S = 4.0  # longer than the recorder's retries (~1.5 s): recording stops, the run faults


@dataclass
class Injection:
    """What a row's fault needs and leaves behind (undone at the end of the test)."""

    bench: SafetyBench
    child: subprocess.Popen | None = None  # the `bringup run` process, for signal rows
    undo: list[Callable[[], None]] = field(default_factory=list)
    second_run: subprocess.CompletedProcess | None = None
    estop: subprocess.CompletedProcess | None = None
    proxy: TcpProxy | None = None
    prepared: PreparedCli | None = None

    cleanup: list[Callable[[], None]] = field(default_factory=list)  # after the end state is read

    def later(self, seconds: float, action: Callable[[], object]) -> None:
        """Undo the fault after `seconds` (a transient fault), or at the end of the run at the latest."""
        once = threading.Lock()

        def run_once() -> None:
            if once.acquire(blocking=False):
                action()

        timer = threading.Timer(seconds, run_once)
        timer.daemon = True
        timer.start()
        self.undo.append(lambda: (timer.cancel(), run_once()))


def supply_silent(inj: Injection) -> None:
    faults = inj.bench.lab.faults("psu_io")
    faults.stop_answering()
    inj.later(TRANSIENT_S, faults.clear)


def scpi_error(inj: Injection) -> None:
    inj.bench.lab.faults("psu_io").scpi_error(-222, "Data out of range")


def tcp_dropped(inj: Injection) -> None:
    inj.bench.lab.faults("psu_io").drop_connection()


def ocp_trip(inj: Injection) -> None:
    physics = inj.bench.lab.physics
    with physics.lock:
        physics.channel_for("VDD_IO")._trip(ocp=True)
        physics.update()


def latch_up(inj: Injection) -> None:
    physics = inj.bench.lab.physics
    with physics.lock:
        physics.chip.latched.add("VDD_IO")  # what a latched IO ring draws: amps, not milliamps
        physics.update()


def chip_hang(inj: Injection) -> None:
    inj.bench.lab.chip.hang()


def uart_garbage(inj: Injection) -> None:
    inj.bench.lab.chip.babble(lines=5)


def forcer_failure(inj: Injection) -> None:
    faults = inj.bench.lab.faults("forcer")
    faults.stop_answering()
    inj.later(TRANSIENT_S, faults.clear)


def database_locked(inj: Injection) -> None:
    """Another process holds the SQLite database's write lock for a while."""
    path = inj.bench.db_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, timeout=30, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    inj.later(DB_LOCK_HELD_S, lambda: (blocker.rollback(), blocker.close()))


def database_gone(inj: Injection) -> None:
    """The SQLite file (and its WAL) is deleted under the run, as a cleaned-up scratch disk would."""
    path = Path(inj.bench.db_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def postgres_unreachable(inj: Injection) -> None:
    assert inj.proxy is not None
    inj.proxy.cut()
    inj.later(PG_OUTAGE_S, inj.proxy.restore)


def _signal(signum: int) -> Callable[[Injection], None]:
    def send(inj: Injection) -> None:
        assert inj.child is not None
        inj.child.send_signal(signum)

    return send


class PreparedCli:
    """`bringup ARGS` in another process, started (imports done) before the run and released
    at the moment of the fault, so that it acts mid-phase however slow a cold start is."""

    SCRIPT = ("import sys\n"
              "from bringup.cli import main\n"
              "import bringup.api, bringup.estop, instruments.registry  # the slow imports, done now\n"
              "sys.stdin.readline()\n"
              "main(sys.argv[1:], prog_name='bringup')\n")

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def go(self) -> subprocess.CompletedProcess:
        out, err = self.process.communicate("go\n", timeout=60)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def prepare_estop(inj: Injection) -> None:
    inj.prepared = PreparedCli("estop", "--station", str(inj.bench.station))


def prepare_second_run(inj: Injection) -> None:
    runbook = inj.bench.runbook("- step: power_on\n- step: power_off", name="intruder")
    inj.prepared = PreparedCli("run", str(runbook), "--station", str(inj.bench.station), "--chip", "SIM-0001",
                               "--db", inj.bench.db_url)


def estop_from_another_process(inj: Injection) -> None:
    assert inj.prepared is not None
    inj.estop = inj.prepared.go()


def second_run_on_the_bench(inj: Injection) -> None:
    assert inj.prepared is not None
    inj.second_run = inj.prepared.go()


PREPARE: dict[str, Callable[[Injection], None]] = {
    "estop from another process": prepare_estop,
    "two runs on one bench": prepare_second_run,
}
INJECTORS: dict[str, Callable[[Injection], None]] = {
    "supply silent": supply_silent,
    "SCPI error": scpi_error,
    "TCP dropped": tcp_dropped,
    "OCP trip": ocp_trip,
    "latch-up": latch_up,
    "chip hang": chip_hang,
    "UART garbage": uart_garbage,
    "forcer failure": forcer_failure,
    "database locked": database_locked,
    "database gone": database_gone,
    "PostgreSQL unreachable": postgres_unreachable,
    "SIGINT": _signal(signal.SIGINT),
    "SIGTERM": _signal(signal.SIGTERM),
    "SIGHUP": _signal(signal.SIGHUP),
    "kill -9": _signal(signal.SIGKILL),
    "estop from another process": estop_from_another_process,
    "two runs on one bench": second_run_on_the_bench,
}
SUBPROCESS_FAULTS = {"SIGINT", "SIGTERM", "SIGHUP", "kill -9"}


def forcer_parked(bench: SafetyBench) -> tuple[bool, str]:
    forcer = bench.lab.servers["forcer"].instrument
    setpoint = forcer.setpoints[forcer.selected]
    parked = setpoint == AMBIENT_C and not forcer.flow_on
    return parked, f"set point {setpoint} °C, flow {'on' if forcer.flow_on else 'off'}, " \
                   f"head {'down' if forcer.head_down else 'up'}"


class TcpProxy:
    """A loopback TCP forwarder to PostgreSQL that a test can cut (connections reset, new ones
    refused) and restore, as a network outage between a station and a shared database would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._accepting = threading.Thread(target=self._accept, args=(self._listener,), daemon=True)
        self._accepting.start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(a, selectors.EVENT_READ, b)
            selector.register(b, selectors.EVENT_READ, a)
            try:
                while True:
                    for key, _ in selector.select():
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if not data:
                            return
                        key.data.sendall(data)
            except OSError:
                return
            finally:
                a.close()
                b.close()

    def cut(self) -> None:
        try:  # close() alone would not wake the thread blocked in accept(): it would go on accepting
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, upstream in pairs:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self) -> None:
        if self._stopped.is_set() or self._listener.fileno() != -1:
            return
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._accepting = threading.Thread(target=self._accept, args=(self._listener,), daemon=True)
        self._accepting.start()

    def close(self) -> None:
        self._stopped.set()
        self.cut()
