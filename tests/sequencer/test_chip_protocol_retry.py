"""A chip that babbles during run_vectors: the vector is retried from a reset as the runbook's
`retries:` allows; past that the step ends as a chip fault with a typed, one-line reason — never
a raw ValueError — and every output is off."""

from __future__ import annotations

from collections.abc import Callable

from sequencer_bench import Bench
from simlab_state import outputs_on

from bringup.events import Log, RunStatus, StepFinished, StepStatus

DIRECTED = """
- step: power_on
- step: run_vectors
  suite: directed
{retries}
- step: power_off
"""


def babble_before_dumps(bench: Bench, times: int) -> None:
    """The simulated chip sends garbage lines before its reply to the next `times` DUMPs."""
    firmware = bench.lab.chip._firmware
    original: Callable[[str], object] = firmware.handle
    left = [times]

    def babbling(line: str) -> object:
        if line.startswith("DUMP") and left[0] > 0:
            left[0] -= 1
            bench.lab.chip.babble(2)
        return original(line)

    firmware.handle = babbling  # type: ignore[method-assign]


def test_one_garbled_reply_is_retried_and_the_run_passes(bench: Bench) -> None:
    babble_before_dumps(bench, times=1)
    report = bench.run(DIRECTED.format(retries="  retries: 1"))
    assert report.status == RunStatus.PASSED, report.reason
    retried = [e.text for e in bench.events if isinstance(e, Log) and "retrying from a reset" in e.text]
    assert len(retried) == 1 and "DUMP" in retried[0]
    assert outputs_on(bench.lab) == []


def test_past_its_retries_a_garbled_chip_fails_the_step_as_a_chip_fault(bench: Bench) -> None:
    babble_before_dumps(bench, times=2)
    report = bench.run(DIRECTED.format(retries="  retries: 1"))
    assert report.status == RunStatus.ERROR
    assert report.reason.startswith("ChipProtocolError: chip SIM-0001 answered 'DUMP"), report.reason
    assert "ValueError" not in report.reason and "\n" not in report.reason
    step = next(e for e in bench.events if isinstance(e, StepFinished) and e.index == 1)
    assert step.status == StepStatus.ERROR and "ChipProtocolError" in step.message
    assert outputs_on(bench.lab) == []


def test_by_default_one_retry(bench: Bench) -> None:
    babble_before_dumps(bench, times=1)
    report = bench.run(DIRECTED.format(retries=""))
    assert report.status == RunStatus.PASSED, report.reason
