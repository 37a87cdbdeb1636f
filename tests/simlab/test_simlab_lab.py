"""The lab as a whole: resources, the station file, clean and prompt shutdown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bringup.simlab import SimLab


def test_resources_are_loopback_sockets_and_a_pty(simlab) -> None:
    resources = simlab.resources
    assert set(resources) == {"psu_core", "psu_io", "dmm", "forcer", "refclk", "console"}
    for role in ("psu_core", "psu_io", "dmm", "forcer", "refclk"):
        assert resources[role].startswith("TCPIP0::127.0.0.1::")
        assert resources[role].endswith("::SOCKET")
    assert resources["console"].startswith("/dev/pts/")


def test_station_file_describes_the_bench(simlab, tmp_path: Path) -> None:
    path = simlab.write_station(tmp_path / "stations" / "simlab.yaml")
    text = path.read_text()
    assert text.startswith("# station written by `bringup simlab` for chip SIM-0001\n")
    station = yaml.safe_load(text)
    assert station["visa_backend"] == "@py"
    assert station["instruments"]["psu_core"] == {
        "driver": "keysight_e36312a", "resource": simlab.resources["psu_core"],
    }
    assert station["instruments"]["console"] == {
        "driver": "serial_console", "port": simlab.resources["console"], "baudrate": 115200,
    }
    assert station["rails"]["VDD_CORE"]["meter"] == "dmm"
    assert station["rails"]["VDD_IO"]["abs_max_v"] == 1.98
    assert station["power_on_order"] == ["VDD_CORE", "VDD_SRAM", "VDD_IO"]
    assert station["clock"] == {"source": "refclk", "frequency_hz": 25000000, "amplitude_vpp": 1.8}


def test_stop_is_prompt_and_closes_every_port(bench) -> None:
    lab = bench.lab
    bench["psu_core"].query("*IDN?")  # a connection is open while we stop
    port = int(lab.resources["psu_core"].split("::")[2])
    started = time.monotonic()
    lab.stop()
    assert time.monotonic() - started < 1.0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_context_manager_stops_on_error() -> None:
    try:
        with SimLab("SIM-0042") as lab:
            port = int(lab.resources["dmm"].split("::")[2])
            raise RuntimeError("test body failed")
    except RuntimeError:
        pass
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_run_foreground_serves_until_sigterm(tmp_path: Path) -> None:
    station = tmp_path / "station.yaml"
    code = (
        "from bringup.simlab import run_foreground; "
        f"run_foreground('SIM-0007', {str(station)!r})"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        assert station.exists() and "SIM-0007" in station.read_text()
        assert any("psu_core" in line and "TCPIP0::127.0.0.1::" in line for line in lines)
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert "simulated lab stopped." in process.stdout.read()
    finally:
        if process.poll() is None:
            os.kill(process.pid, 9)
