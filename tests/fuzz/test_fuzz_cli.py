"""`bringup run` with a bad file against a running simulated lab: exit 2, one `error: file:line:`
line per mistake, no traceback — and not one SCPI line reaches a simulated instrument, nor one
line the chip's UART. A sample of the corpus and of flipped bytes of the lab's own station file
by default; more with -m slow."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_support import CORPUS, ERROR_LINE, ROOT, outcome

from bringup.simlab import SimLab

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")
SMOKE = ROOT / "runbooks" / "smoke.yaml"
DEFAULT_SAMPLE, SLOW_SAMPLE = 3, 60


class CountingLab:
    """Counts every line the simulated instruments and the chip receive."""

    def __init__(self, lab: SimLab) -> None:
        self.lab = lab
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()
        for role, server in lab.servers.items():
            server.serve_line = self._counting(role, server.serve_line)  # type: ignore[method-assign]
        lab.chip._firmware.handle = self._counting("chip", lab.chip._firmware.handle)  # type: ignore[method-assign]

    def _counting(self, role: str, original):
        def counted(line: str):
            with self._lock:
                self.received[role] += 1
            return original(line)

        return counted


@pytest.fixture
def counting_lab(simlab: SimLab) -> Iterator[CountingLab]:
    yield CountingLab(simlab)


def _bringup_run(runbook: Path, station: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BRINGUP, "run", str(runbook), "--station", str(station), "--chip", "SIM-0001",
         "--db", f"sqlite:///{tmp_path / 'lab.db'}"],
        capture_output=True, text=True, timeout=60,
    )


def _assert_refused_untouched(done: subprocess.CompletedProcess[str], lab: CountingLab) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and "Traceback" not in done.stderr, done.stderr
    for line in lines:
        assert line.startswith("error: ") and ERROR_LINE.match(line.removeprefix("error: ")), line
    assert sum(lab.received.values()) == 0, f"instruments received commands: {dict(lab.received)}"


def _station_cases(lab: SimLab, folder: Path, count: int, seed: int) -> list[Path]:
    """The lab's own station file with one hostile edit or flipped bytes, each one refused."""
    text = lab.station_text()
    edits = [("abs_max_v: 0.95", "abs_max_v: 50003"), ("current_limit_a: 1.5", "current_limit_a: .inf"),
             ("baudrate: 115200", "baudrate: 100000000000000000000000"),
             ("ramp_rate_v_per_s: 20.0, meter", "ramp_rate_v_per_s: 0.001, meter"),
             ('resource: "TCPIP0', 'timeout_s: .inf, resource: "TCPIP0')]
    cases = []
    for index, (old, new) in enumerate(edits):
        cases.append(folder / f"edit-{index}.yaml")
        cases[-1].write_text(text.replace(old, new, 1))
    rng = random.Random(seed)
    raw = text.encode()
    while len(cases) < count:
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        path = folder / f"flip-{len(cases)}.yaml"
        path.write_bytes(bytes(mutated))
        if outcome("station", path):  # only files that validation refuses (a harmless flip runs)
            cases.append(path)
    return cases[:count]


def _runbook_cases(count: int, seed: int) -> list[Path]:
    corpus = sorted((CORPUS / "runbook").glob("*.yaml"))
    return random.Random(seed).sample(corpus, min(count, len(corpus)))


def _check_sample(lab: CountingLab, tmp_path: Path, count: int) -> None:
    station = lab.lab.write_station(tmp_path / "station.yaml")
    for runbook in _runbook_cases(count, seed=count):
        _assert_refused_untouched(_bringup_run(runbook, station, tmp_path), lab)
    for bad_station in _station_cases(lab.lab, tmp_path, count, seed=count):
        _assert_refused_untouched(_bringup_run(SMOKE, bad_station, tmp_path), lab)


def test_bad_files_never_reach_an_instrument(counting_lab: CountingLab, tmp_path: Path) -> None:
    _check_sample(counting_lab, tmp_path, DEFAULT_SAMPLE)


@pytest.mark.slow
def test_bad_files_never_reach_an_instrument_soak(counting_lab: CountingLab, tmp_path: Path) -> None:
    _check_sample(counting_lab, tmp_path, SLOW_SAMPLE)


def test_the_count_sees_a_good_run(counting_lab: CountingLab, tmp_path: Path) -> None:
    """The counter itself works: a valid runbook does reach the instruments."""
    station = counting_lab.lab.write_station(tmp_path / "station.yaml")
    runbook = tmp_path / "on-off.yaml"
    runbook.write_text("name: on-off\nsteps:\n  - step: power_on\n  - step: power_off\n")
    done = _bringup_run(runbook, station, tmp_path)
    assert done.returncode == 0, done.stderr
    # The supplies were driven, and the chip was asked who it is once every rail was up.
    assert counting_lab.received["psu_core"] > 0 and counting_lab.received["chip"] > 0
    assert not re.search(r"Traceback", done.stderr)
