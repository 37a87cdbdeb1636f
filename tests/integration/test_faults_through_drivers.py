"""Each fault the lab injects reaches the caller as its typed error, naming instrument and command."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from integration_bench import Bench, open_bench

from bringup.simlab import SimLab
from instruments.errors import ConnectionLost, ConsoleTimeout, InstrumentTimeout, ScpiError

# Short, so that a fault costs the suite well under a second.
FAULT_TIMEOUT_S = 0.3


@pytest.fixture
def quick_bench(simlab: SimLab) -> Iterator[Bench]:
    opened = open_bench(simlab, timeout_s=FAULT_TIMEOUT_S)
    try:
        yield opened
    finally:
        opened.close()


def test_a_slow_instrument_times_out_then_answers_once_cleared(quick_bench: Bench) -> None:
    meter = quick_bench["dmm"]
    quick_bench.lab.faults("dmm").delay(5.0)
    with pytest.raises(InstrumentTimeout) as timed_out:
        meter.measure_dc_voltage()
    assert timed_out.value.command == "MEAS:VOLT:DC?"
    assert "dmm" in str(timed_out.value) and "MEAS:VOLT:DC?" in str(timed_out.value)
    quick_bench.lab.faults("dmm").clear()
    # The driver reconnected, so the late answer to the timed-out query cannot leak in here.
    assert meter.query("*IDN?").startswith("Keysight Technologies,34465A")


def test_an_instrument_that_stops_answering_times_out_naming_the_command(quick_bench: Bench) -> None:
    quick_bench.lab.faults("refclk").stop_answering()
    with pytest.raises(InstrumentTimeout) as timed_out:
        quick_bench["refclk"].frequency()
    assert timed_out.value.command == "FREQ?"
    assert "refclk" in timed_out.value.instrument
    assert timed_out.value.timeout_s == FAULT_TIMEOUT_S


@pytest.mark.parametrize(
    ("role", "setting", "command"),
    [
        ("psu_core", lambda d: d.channel(1).set_voltage(0.5), "VOLT 0.5,(@1)"),
        ("psu_io", lambda d: d.channel(1).set_output(False), ":OUTP CH1,OFF"),
        ("refclk", lambda d: d.set_amplitude(1.0), "VOLT 1.0"),
        ("dmm", lambda d: d.configure_dc_voltage(), "CONF:VOLT:DC AUTO"),
    ],
)
def test_an_injected_scpi_error_is_raised_for_the_command_that_caused_it(
    quick_bench: Bench, role: str, setting: Callable[[object], None], command: str
) -> None:
    quick_bench.lab.faults(role).scpi_error(-224, "Illegal parameter value")
    with pytest.raises(ScpiError) as rejected:
        setting(quick_bench[role])
    error = rejected.value
    assert (error.code, error.text, error.command) == (-224, "Illegal parameter value", command)
    assert role in str(error) and command in str(error)
    setting(quick_bench[role])  # one error, one failure: the next identical setting is fine


def test_a_dropped_connection_is_reopened_and_the_command_succeeds(quick_bench: Bench) -> None:
    core = quick_bench.rail("VDD_CORE")
    core.set_voltage(0.7)
    quick_bench.lab.faults("psu_core").drop_connection()
    assert core.voltage_setting() == pytest.approx(0.7)
    core.set_voltage(0.75)  # settings go through after the reconnect too
    assert core.voltage_setting() == pytest.approx(0.75)


def test_a_dropped_connection_that_cannot_be_reopened_raises_connection_lost(quick_bench: Bench) -> None:
    faults = quick_bench.lab.faults("psu_io")
    faults.stop_answering()  # the reconnect's *IDN? gets no answer
    faults.drop_connection()
    with pytest.raises(ConnectionLost) as lost:
        quick_bench.rail("VDD_IO").measure_voltage()
    assert lost.value.command == ":MEAS:VOLT? CH1"
    assert "psu_io" in str(lost.value) and ":MEAS:VOLT? CH1" in str(lost.value)


def test_a_hung_chip_gives_a_console_timeout_naming_the_port_and_pattern(quick_bench: Bench) -> None:
    quick_bench.boot()
    quick_bench.lab.chip.hang()
    with pytest.raises(ConsoleTimeout) as timed_out:
        quick_bench.console.exchange("ID", r"OK chip=", timeout=FAULT_TIMEOUT_S)
    message = str(timed_out.value)
    assert quick_bench.lab.resources["console"] in message and "OK chip=" in message
    # A power cycle brings a hung chip back.
    quick_bench.power_off()
    quick_bench.boot()
    assert quick_bench.monitor("ID").startswith("OK chip=SIM-0001")


def test_a_babbling_chip_shows_its_garbage_in_the_console_timeout(quick_bench: Bench) -> None:
    quick_bench.boot()
    quick_bench.lab.chip.babble(lines=3)
    with pytest.raises(ConsoleTimeout) as timed_out:
        quick_bench.console.expect(r"OK chip=", timeout=FAULT_TIMEOUT_S)
    assert "\ufffd" in timed_out.value.tail  # undecodable bytes, kept visible for the log
    quick_bench.console.drain()
    assert quick_bench.monitor("ID").startswith("OK chip=SIM-0001")
