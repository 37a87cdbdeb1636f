"""Numbers and patterns of a runbook are checked when it loads: infinite, absurd or uncompilable
values are one line with the fix, not a hang or a traceback once the chip is powered."""

from __future__ import annotations

from pathlib import Path

import pytest
from file_errors import assert_one_line_error, first_error, variant

from bringup.runbook import DEFAULT_RETRIES, RunVectors, load_runbook
from bringup.station import load_station

ROOT = Path(__file__).parents[2]
STATION = load_station(ROOT / "runbooks" / "stations" / "simlab.yaml")
SMOKE = ROOT / "runbooks" / "smoke.yaml"
WAIT = "  - step: power_off"


def _load(path: Path) -> object:
    return load_runbook(path, STATION)


def _with_step(tmp_path: Path, step: str) -> Path:
    """The smoke runbook with `step` (YAML lines of one list item) before its power_off."""
    return variant(SMOKE, tmp_path, WAIT, step + "\n" + WAIT)


OUT_OF_BOUNDS = [
    # (what, the step, a line holding this, words in the message)
    ("wait .inf", "  - step: wait\n    seconds: .inf", "seconds: .inf", ["seconds", "finite"]),
    ("wait of a year", "  - step: wait\n    seconds: 31536000", "seconds: 31536000", ["86400"]),
    ("set_clock .inf", "  - step: set_clock\n    mhz: .inf", "mhz: .inf", ["mhz", "finite"]),
    ("celsius 1e6", "  - step: set_temperature\n    celsius: 1.0e6", "celsius: 1.0e6", ["celsius", "225"]),
    ("thermal timeout .inf", "  - step: set_temperature\n    celsius: 25\n    timeout_s: .inf",
     "timeout_s: .inf", ["timeout_s", "finite"]),
    ("pattern '('", '  - step: console_expect\n    pattern: "("', 'pattern: "("',
     ["pattern '(' is not a regular expression", "backslash"]),
    ("console timeout .inf", "  - step: console_expect\n    pattern: OK\n    timeout_s: .inf", "timeout_s: .inf",
     ["finite"]),
    ("count 1e9", "  - step: run_vectors\n    suite: random\n    count: 1000000000", "count: 1000000000", ["count"]),
    ("length 1e9", "  - step: run_vectors\n    suite: random\n    length: 1000000000", "length: 1000000000",
     ["length", "1000"]),
    ("repeat 1e9", "  - step: run_vectors\n    suite: directed\n    repeat: 1000000000", "repeat: 1000000000",
     ["repeat"]),
    ("set_rail 1e300 V", "  - step: set_rail\n    rail: VDD_CORE\n    volts: 1.0e300", "volts: 1.0e300", ["volts"]),
    ("measure limit .nan", "  - step: measure\n    rail: VDD_CORE\n    quantity: voltage\n    low: .nan",
     "low: .nan", ["low", "finite"]),
    ("retries 1000", "  - step: run_vectors\n    suite: directed\n    retries: 1000", "retries: 1000", ["retries"]),
]


@pytest.mark.parametrize(("step", "where", "words"), [case[1:] for case in OUT_OF_BOUNDS],
                         ids=[case[0] for case in OUT_OF_BOUNDS])
def test_a_value_outside_its_range_is_one_line(tmp_path: Path, step: str, where: str, words: list[str]) -> None:
    path = _with_step(tmp_path, step)
    assert_one_line_error(first_error(_load, path), path, where, words)


def test_run_vectors_retries_once_by_default() -> None:
    vectors = [step for step in load_runbook(SMOKE, STATION).steps if isinstance(step, RunVectors)]
    assert DEFAULT_RETRIES == 1 and all(step.retries == DEFAULT_RETRIES for step in vectors)


def test_a_long_runbook_keeps_its_line_numbers(tmp_path: Path) -> None:
    """10,000 steps in one pass of the C parser, and the mistake in the last but one still named
    by its line."""
    body = "".join(f"  - step: wait\n    seconds: {i % 7}\n" for i in range(9_998))
    path = tmp_path / "long.yaml"
    path.write_text(f"name: long\nsteps:\n  - step: power_on\n{body}  - step: wait\n    seconds: .inf\n"
                    "  - step: power_off\n")
    assert_one_line_error(first_error(_load, path), path, "seconds: .inf", ["step 10000 seconds", "finite"])
