"""The installed `bringup` console script against a running simulated lab, as a user runs it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_until as wait_for

from bringup.simlab import SimLab
from bringup.station import load_station

BRINGUP = Path(sys.executable).with_name("bringup")
CLI_TIMEOUT_S = 60.0
SIMLAB_START_TIMEOUT_S = 30.0
IDENTITIES = ("E36312A", "DP832", "34465A", "ATS-545", "33522B")

pytestmark = pytest.mark.skipif(not BRINGUP.exists(), reason=f"console script {BRINGUP} is not installed")


def run_bringup(*args: str) -> subprocess.CompletedProcess[str]:
    # A wide terminal so rich does not wrap an identity or an error across lines.
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run(
        [str(BRINGUP), *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_S, env=env
    )


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_instruments_check_prints_every_identity(simlab: SimLab, tmp_path: Path) -> None:
    station = simlab.write_station(tmp_path / "station.yaml")
    result = run_bringup("instruments", "check", "--station", str(station))
    assert result.returncode == 0, result.stdout + result.stderr
    for model in IDENTITIES:
        assert model in result.stdout
    assert "bench OK" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_instruments_check_names_an_instrument_on_a_bad_port(simlab: SimLab, tmp_path: Path) -> None:
    text = simlab.station_text().replace(
        simlab.resources["psu_io"], f"TCPIP0::127.0.0.1::{closed_port()}::SOCKET"
    )
    station = tmp_path / "station.yaml"
    station.write_text(text)
    result = run_bringup("instruments", "check", "--station", str(station))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"psu_io .*FAILED", output), output
    assert re.search(r"bench NOT OK: .*psu_io", output), output
    assert "Traceback" not in output


def test_instruments_check_names_an_instrument_that_stopped_answering(simlab: SimLab, tmp_path: Path) -> None:
    station = simlab.write_station(tmp_path / "station.yaml")
    simlab.faults("forcer").stop_answering()
    result = run_bringup("instruments", "check", "--station", str(station))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"forcer .*FAILED: .*\*IDN\?", output), output
    assert "Traceback" not in output


class SimlabProcess:
    """`bringup simlab` in the background, its output collected line by line as it arrives."""

    def __init__(self, station_out: Path) -> None:
        self.process = subprocess.Popen(
            [str(BRINGUP), "simlab", "--station-out", str(station_out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float) -> None:
        wait_for(lambda: any(text in line for line in self.lines), timeout, f"{text!r} in: {self.output}")

    def finish(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def simlab_process(tmp_path: Path) -> Iterator[SimlabProcess]:
    started = SimlabProcess(tmp_path / "out" / "station.yaml")
    try:
        yield started
    finally:
        started.kill()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_simlab_command_serves_a_loadable_station_and_stops_cleanly(
    simlab_process: SimlabProcess, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    station_file = tmp_path / "out" / "station.yaml"
    simlab_process.wait_for_line("Ctrl-C to stop.", SIMLAB_START_TIMEOUT_S)
    assert station_file.exists()
    spec = load_station(station_file)
    for role in ("psu_core", "psu_io", "dmm", "forcer", "refclk"):
        resource = spec.instruments[role].address
        assert resource.startswith("TCPIP0::127.0.0.1::")
        assert resource in simlab_process.output
    assert spec.instruments["console"].address in simlab_process.output
    simlab_process.process.send_signal(stop_signal)
    assert simlab_process.finish(timeout=10) == 0
    assert "simulated lab stopped." in simlab_process.output
    assert "Traceback" not in simlab_process.output
