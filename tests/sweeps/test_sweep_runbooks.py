"""Sweep steps in runbook files: the shipped ones are valid; a sweep outside the station's limits,
or needing what the bench lacks, is one clear line before any instrument is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from file_errors import assert_one_line_error, first_error, variant

from bringup.api import vector_library
from bringup.runbook import Shmoo, Vmin, load_runbook
from bringup.station import StationSpec, load_station

ROOT = Path(__file__).resolve().parents[2]
STATION_FILE = ROOT / "runbooks" / "stations" / "simlab.yaml"
SUITES = vector_library(ROOT / "runbooks" / "smoke.yaml").names()
SHMOO = ROOT / "runbooks" / "shmoo.yaml"


def _station(old: str = "", new: str = "") -> StationSpec:
    return load_station(STATION_FILE) if not old else StationSpec.model_validate(
        __import__("yaml").safe_load(STATION_FILE.read_text().replace(old, new, 1)))


@pytest.mark.parametrize("name", ["shmoo", "vmin", "overnight"])
def test_shipped_sweep_runbooks_are_valid(name: str) -> None:
    runbook = load_runbook(ROOT / "runbooks" / f"{name}.yaml", _station(), suites=SUITES)
    sweeps = [step for step in runbook.steps if isinstance(step, Shmoo | Vmin)]
    assert sweeps and all(step.temperatures_c == [25, 85] for step in sweeps)


@pytest.mark.parametrize(("old", "new", "where", "words"), [
    ("stop: 0.85, step: 0.01}", "stop: 0.97, step: 0.01}", "stop: 0.97",
     ["0.97 V is above VDD_CORE's absolute maximum of 0.95 V"]),
    ("{start: 0.60, stop: 0.85", "{start: 0.90, stop: 0.85", "start: 0.90", ["stop 0.85 is below start 0.9"]),
    ("method: adaptive", "method: binary", "method: binary", ["method"]),
    ("suite: random", "suite: nosuch", "suite: nosuch", ["no vector suite 'nosuch'"]),
    # Counted, never listed: 250 billion points (or infinitely many) are refused at once.
    ("stop: 0.85, step: 0.01}", "stop: 0.85, step: 1e-12}", "step: 1e-12", ["more than 2000 points"]),
    ("stop: 0.85, step: 0.01}", "stop: 0.85, step: 1e-320}", "step: 1e-320", ["more than 2000 points"]),
])
def test_a_bad_sweep_is_one_line_with_file_and_line(tmp_path: Path, old, new, where, words) -> None:
    path = variant(SHMOO, tmp_path, old, new)
    text = first_error(lambda p: load_runbook(p, _station(), suites=SUITES), path)
    assert_one_line_error(text, path, where, words)


VMIN = ROOT / "runbooks" / "vmin.yaml"


@pytest.mark.parametrize(("runbook", "old", "new", "where", "words"), [
    # A sweep runs its suite at every point: the bounds of run_vectors, and sane thermal values.
    (SHMOO, "count: 2", "count: 1000000000", "count: 1000000000", ["count", "10000"]),
    (SHMOO, "length: 30", "length: 1000000000", "length: 1000000000", ["length", "1000"]),
    (SHMOO, "soak_s: 30", "soak_s: 1.0e9", "soak_s: 1.0e9", ["soak_s", "86400"]),
    (SHMOO, "temperatures_c: [25, 85]", "temperatures_c: [25, 1.0e6]", "temperatures_c:", ["225"]),
    (SHMOO, "stop: 1000, step: 100}", "stop: 1.0e6, step: 1000}", "mhz: {start: 400, stop: 1.0e6",
     ["above 10000 MHz"]),
    (VMIN, "mhz: [400, 600, 800, 1000]", "mhz: [400, 1.0e9]", "mhz: [400, 1.0e9]", ["mhz", "10000"]),
    (VMIN, "guard_band_v: 0.02", "guard_band_v: .inf", "guard_band_v: .inf", ["guard_band_v", "finite"]),
    # Within any forcer's range, outside this station's air limits (the forcer would refuse it mid-run).
    (SHMOO, "temperatures_c: [25, 85]", "temperatures_c: [25, 160]", "temperatures_c: [25, 160]",
     ["160.0 °C is outside the forcer's limits of -60.0..150.0 °C", "low_c, high_c"]),
    (VMIN, "celsius: 25", "celsius: 200", "celsius: 200", ["200.0 °C is outside the forcer's limits"]),
])
def test_a_sweeps_numbers_are_bounded_when_it_loads(tmp_path: Path, runbook, old, new, where, words) -> None:
    path = variant(runbook, tmp_path, old, new)
    text = first_error(lambda p: load_runbook(p, _station(), suites=SUITES), path)
    assert_one_line_error(text, path, where, words)


def test_a_sweep_below_the_stations_floor_is_refused(tmp_path: Path) -> None:
    station = _station("abs_max_v: 0.95,", "abs_max_v: 0.95, min_v: 0.65,")
    text = first_error(lambda p: load_runbook(p, station, suites=SUITES), SHMOO)
    assert_one_line_error(text, SHMOO, "volts: {start: 0.60", ["0.6 V is below VDD_CORE's floor of 0.65 V",
                                                             "min_v"])


def test_temperatures_need_a_forcer(tmp_path: Path) -> None:
    station = _station("  forcer:   {driver: temptronic_ats, resource: \"TCPIP0::127.0.0.1::50004::SOCKET\"}\n", "")
    text = first_error(lambda p: load_runbook(p, station, suites=SUITES), SHMOO)
    assert_one_line_error(text, SHMOO, "temperatures_c:", ["temperatures need a thermal forcer"])
