"""Every mistake in a runbook is one line naming file, line and the fix, before any instrument."""

from __future__ import annotations

from pathlib import Path

import pytest
from file_errors import assert_one_line_error, first_error, line_of, variant

from bringup.api import vector_library
from bringup.runbook import PowerOn, RunVectors, load_runbook, parse_runbook
from bringup.station import load_station
from bringup.yamlfile import ConfigErrors

ROOT = Path(__file__).parents[2]
STATION = load_station(ROOT / "runbooks" / "stations" / "simlab.yaml")
SUITES = vector_library(ROOT / "runbooks" / "smoke.yaml").names()
SMOKE = ROOT / "runbooks" / "smoke.yaml"


@pytest.mark.parametrize("name", ["power_on", "smoke", "overnight"])
def test_example_runbooks_are_valid_on_the_simlab_station(name: str) -> None:
    runbook = load_runbook(ROOT / "runbooks" / f"{name}.yaml", STATION, suites=SUITES)
    assert runbook.steps
    assert len(runbook.content_hash) == 64


def test_smoke_runbook_is_the_steps_it_says() -> None:
    runbook = load_runbook(SMOKE, STATION, suites=SUITES)
    assert isinstance(runbook.steps[0], PowerOn)
    vectors = [s for s in runbook.steps if isinstance(s, RunVectors)]
    assert [v.suite for v in vectors] == ["directed"]


def _write(tmp_path: Path, old: str, new: str) -> Path:
    return variant(SMOKE, tmp_path, old, new)


def _load(path: Path) -> object:
    return load_runbook(path, STATION, suites=SUITES)


BAD_RUNBOOKS = [
    # (what the user did, replace this, with this, the line holding this, words in the message)
    ("unknown step", "step: power_off", "step: power_of", "step: power_of", ["unknown step 'power_of'", "power_off"]),
    ("step without kind", "  - step: power_off", "  - name: off", "- name: off", ["does not say its kind"]),
    ("misspelled key", "    timeout_s: 5", "    timeout: 5", "timeout: 5", ["unknown key 'timeout'", "did you mean 'timeout_s'"]),
    ("rail the station lacks", "rail: VDD_SRAM", "rail: VDD_PLL", "rail: VDD_PLL", ["'VDD_PLL' is not on station simlab", "VDD_CORE"]),
    ("low above high", "    low: 0.88\n    high: 0.92", "    low: 0.95\n    high: 0.92", "high: 0.92", ["low 0.95 is above high 0.92", "swap"]),
    ("missing suite", "suite: directed", "suite: directd", "suite: directd", ["no vector suite 'directd'", "directed"]),
    ("text for a number", "clock_mhz: 500", "clock_mhz: fast", "clock_mhz: fast", ["must be a number"]),
    ("negative clock", "clock_mhz: 500", "clock_mhz: -500", "clock_mhz: -500", ["greater than 0"]),
    ("bad on_fail", "  - step: power_off", "  - step: power_off\n    on_fail: ignore", "on_fail: ignore", ["'stop' or 'continue'"]),
    ("unknown quantity", "quantity: current", "quantity: power", "quantity: power", ["'voltage', 'current' or 'die_temperature'"]),
    ("meter on an unmetered rail", "    rail: VDD_IO\n    quantity: voltage", "    rail: VDD_IO\n    quantity: voltage\n    source: meter  # on IO", "meter  # on IO", ["no meter senses VDD_IO"]),
    ("measure voltage without rail", "    name: VDD_IO voltage\n    rail: VDD_IO\n", "    name: VDD_IO voltage\n", "- step: measure\n    name: VDD_IO voltage", ["needs a rail"]),
    ("tab-broken YAML", "  - step: power_off", "  - step: power_off\n   bad: [", "bad: [", ["YAML syntax"]),
    ("duplicate key in a step", "    clock_mhz: 500", "    clock_mhz: 500\n    clock_mhz: 600", "clock_mhz: 600", ["duplicate key 'clock_mhz'"]),
]


@pytest.mark.parametrize(("old", "new", "where", "words"), [case[1:] for case in BAD_RUNBOOKS],
                         ids=[case[0] for case in BAD_RUNBOOKS])
def test_bad_runbook_is_one_line_with_file_and_line(tmp_path: Path, old, new, where, words) -> None:
    path = _write(tmp_path, old, new)
    assert_one_line_error(first_error(_load, path), path, where, words)


def test_a_voltage_above_the_rails_absolute_maximum_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - step: power_off", "  - step: set_rail\n    rail: VDD_CORE\n    volts: 0.99\n"
                  "  - step: power_off")
    with pytest.raises(ConfigErrors) as caught:
        load_runbook(path, STATION, suites=SUITES)
    text = str(caught.value.errors[0])
    assert text.startswith(f"{path}:{line_of(path, 'volts: 0.99')}: ")
    assert "above VDD_CORE's absolute maximum of 0.95 V" in text


def test_a_rail_powered_out_of_order_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - step: power_on\n", "  - step: power_on\n    rails: [VDD_CORE, VDD_IO]\n")
    with pytest.raises(ConfigErrors) as caught:
        load_runbook(path, STATION, suites=SUITES)
    text = str(caught.value.errors[0])
    assert text.startswith(f"{path}:{line_of(path, 'rails: [VDD_CORE, VDD_IO]')}: VDD_IO would come up before VDD_SRAM")
    assert "power VDD_SRAM on first" in text


def test_set_rail_before_power_on_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - step: power_on\n", "  - step: set_rail\n    rail: VDD_CORE\n    volts: 0.7\n  - step: power_on\n")
    with pytest.raises(ConfigErrors, match=r":6: set_rail VDD_CORE before it is powered — add a power_on step"):
        load_runbook(path, STATION, suites=SUITES)


def test_a_runbook_from_a_run_record_is_validated_the_same_way() -> None:
    with pytest.raises(ConfigErrors, match="run 42 runbook:3: unknown step 'boot'"):
        parse_runbook("name: x\nsteps:\n  - step: boot\n", "run 42 runbook", STATION)


def test_steps_that_are_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "runbook.yaml"
    path.write_text("name: lonely\nsteps: power_on\n")
    with pytest.raises(ConfigErrors) as caught:
        load_runbook(path, STATION)
    assert str(caught.value.errors[0]) == (
        f"{path}:2: steps must be a list — write it as [a, b] or as '- item' lines"
    )
