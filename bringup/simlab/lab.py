"""SimLab: the whole virtual bench — five SCPI servers, the chip on a pty, one physics model."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType

from bringup.simlab.chip import (
    DEFAULT_RAM_BASE,
    DEFAULT_RAM_SIZE,
    Executor,
    ReferenceCoreExecutor,
    SimChip,
)
from bringup.simlab.faults import InstrumentFaults
from bringup.simlab.keysight_33500b import Keysight33500B
from bringup.simlab.keysight_34465a import Keysight34465A
from bringup.simlab.keysight_e36312a import KeysightE36312A
from bringup.simlab.physics import Physics
from bringup.simlab.rigol_dp832 import RigolDP832
from bringup.simlab.scpi_instrument import ScpiInstrument
from bringup.simlab.scpi_server import ScpiServer
from bringup.simlab.simtime import SimClock
from bringup.simlab.temptronic_ats import TemptronicATS

# role -> the driver name the station file gives it
DRIVERS = {
    "psu_core": "keysight_e36312a",
    "psu_io": "rigol_dp832",
    "dmm": "keysight_34465a",
    "forcer": "temptronic_ats",
    "refclk": "keysight_33500b",
}
CONSOLE_BAUDRATE = 115200

STATION_TEMPLATE = """\
# station written by `bringup simlab` for chip {serial}
name: simlab
visa_backend: "@py"
instruments:
  psu_core: {{driver: keysight_e36312a, resource: "{psu_core}"}}
  psu_io:   {{driver: rigol_dp832, resource: "{psu_io}"}}
  dmm:      {{driver: keysight_34465a, resource: "{dmm}"}}
  forcer:   {{driver: temptronic_ats, resource: "{forcer}"}}
  refclk:   {{driver: keysight_33500b, resource: "{refclk}"}}
  console:  {{driver: serial_console, port: {console}, baudrate: {baudrate}}}
rails:
  VDD_CORE: {{supply: psu_core, channel: 1, nominal_v: 0.80, abs_max_v: 0.95, current_limit_a: 1.5, tolerance_v: 0.02, ramp_step_v: 0.1, ramp_rate_v_per_s: 20.0, meter: dmm}}
  VDD_SRAM: {{supply: psu_core, channel: 2, nominal_v: 0.90, abs_max_v: 1.05, current_limit_a: 0.5, tolerance_v: 0.02, ramp_step_v: 0.1, ramp_rate_v_per_s: 20.0}}
  VDD_IO:   {{supply: psu_io, channel: 1, nominal_v: 1.80, abs_max_v: 1.98, current_limit_a: 0.3, tolerance_v: 0.04, ramp_step_v: 0.3, ramp_rate_v_per_s: 20.0}}
power_on_order: [VDD_CORE, VDD_SRAM, VDD_IO]
clock: {{source: refclk, frequency_hz: 25000000, amplitude_vpp: 1.8}}
"""  # noqa: E501  (the station format keeps one rail per line)


class SimLab:
    """A simulated bench on loopback ports and a pty; use as a context manager or start()/stop().

    `resources` maps each role to its VISA resource string (the console to its pty path);
    `faults(role)` injects instrument faults; `chip` and `physics` expose the DUT to tests.
    The chip runs programs on the reference core unless `executor` plugs in another.
    """

    def __init__(
        self,
        chip_serial: str = "SIM-0001",
        time_scale: float = 1.0,
        *,
        executor: Executor | None = None,
        ram_base: int = DEFAULT_RAM_BASE,
        ram_size: int = DEFAULT_RAM_SIZE,
        die: tuple[int, int] | None = None,
    ) -> None:
        self.chip_serial = chip_serial
        self.clock = SimClock(time_scale)
        self.physics = Physics(chip_serial, self.clock, die)
        self.chip = SimChip(
            chip_serial, self.physics, ram_base=ram_base, ram_size=ram_size,
            executor=executor if executor is not None else ReferenceCoreExecutor(),
        )
        instruments: dict[str, ScpiInstrument] = {
            "psu_core": KeysightE36312A(self.physics),
            "psu_io": RigolDP832(self.physics),
            "dmm": Keysight34465A(self.physics),
            "forcer": TemptronicATS(self.physics),
            "refclk": Keysight33500B(self.physics),
        }
        self._faults = {role: InstrumentFaults() for role in instruments}
        self.servers = {
            role: ScpiServer(role, instrument, self._faults[role])
            for role, instrument in instruments.items()
        }
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SimLab:
        if self._started:
            return self
        self._started = True
        try:
            for server in self.servers.values():
                server.start()
            self.chip.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every port and thread; safe to call twice or after a failed start.

        The servers stop together: each waits up to its poll interval for its accept loop to
        notice, and one after another that was 0.2 s for every bench a test builds."""
        stoppers = [threading.Thread(target=server.stop, name=f"simlab-stop-{name}", daemon=True)
                    for name, server in self.servers.items()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)
        self.chip.stop()
        self._started = False

    def __enter__(self) -> SimLab:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what the toolkit and tests use --------------------------------------------------

    @property
    def resources(self) -> dict[str, str]:
        found = {role: server.resource for role, server in self.servers.items()}
        found["console"] = self.chip.port
        return found

    def faults(self, role: str) -> InstrumentFaults:
        try:
            return self._faults[role]
        except KeyError:
            known = ", ".join(self._faults)
            raise KeyError(f"no simulated instrument '{role}'; roles are: {known}") from None

    def station_text(self) -> str:
        return STATION_TEMPLATE.format(
            serial=self.chip_serial, baudrate=CONSOLE_BAUDRATE, **self.resources
        )

    def write_station(self, path: str | Path) -> Path:
        """Write a station file describing this bench (the lead's station loader reads it)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.station_text(), encoding="utf-8")
        return target


def run_foreground(chip_serial: str, station_out: str | Path, time_scale: float = 1.0) -> None:
    """`bringup simlab`: serve the bench until Ctrl-C or SIGTERM, then stop cleanly."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with SimLab(chip_serial, time_scale) as lab:
            station = lab.write_station(station_out)
            print(f"simulated lab for chip {chip_serial} (corner {lab.chip.corner}):")
            for role, resource in lab.resources.items():
                print(f"  {role:<9} {resource}")
            print(f"station file: {station}")
            print("Ctrl-C to stop.", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("simulated lab stopped.", flush=True)
