"""Every injected fault is observable from the outside, and clear() ends it."""

from __future__ import annotations

import time

import pytest
import pyvisa


def test_delay_holds_every_reply_back(simlab, bench) -> None:
    simlab.faults("psu_core").delay(0.3)
    started = time.monotonic()
    assert bench["psu_core"].query("*IDN?").startswith("Keysight")
    assert time.monotonic() - started >= 0.3
    simlab.faults("psu_core").clear()
    started = time.monotonic()
    bench["psu_core"].query("*IDN?")
    assert time.monotonic() - started < 0.3


def test_an_instrument_that_stops_answering_times_out_the_driver(simlab, bench) -> None:
    meter = bench["dmm"]
    meter.timeout = 300
    simlab.faults("dmm").stop_answering()
    with pytest.raises(pyvisa.errors.VisaIOError) as caught:
        meter.query("*IDN?")
    assert caught.value.error_code == pyvisa.constants.StatusCode.error_timeout
    simlab.faults("dmm").clear()
    assert meter.query("*IDN?").startswith("Keysight Technologies,34465A")


def test_injected_scpi_error_lands_after_the_next_setting_command(simlab, bench) -> None:
    simlab.faults("psu_io").scpi_error(-100, "Command error")
    assert bench["psu_io"].query(":SYST:ERR?") == '+0,"No error"'  # a query is not a setting
    bench.send("psu_io", ":SOUR1:VOLT 1.0")
    assert bench["psu_io"].query(":SYST:ERR?") == '-100,"Command error"'


def test_dropped_connection_fails_the_open_session_and_a_new_one_works(simlab, bench) -> None:
    clock = bench["refclk"]
    clock.timeout = 500
    assert clock.query("OUTP?") == "0"
    simlab.faults("refclk").drop_connection()
    with pytest.raises(pyvisa.errors.VisaIOError):
        clock.query("OUTP?")
    fresh = bench.manager.open_resource(
        simlab.resources["refclk"], read_termination="\n", write_termination="\n", timeout=2000
    )
    try:
        assert fresh.query("OUTP?") == "0"
    finally:
        fresh.close()


def test_hung_chip_is_silent_until_a_power_cycle(simlab, booted) -> None:
    simlab.chip.hang()
    booted.console.write(b"ID\n")
    booted.console.timeout = 0.3
    assert booted.console.read_until(b"> ") == b""
    booted.power_down()
    booted.power_up()
    booted.console.timeout = 3
    assert booted.read_reply() == ["BRINGUP-MON 1.0 chip=SIM-0001"]
    assert booted.command("ID")[0].startswith("OK chip=SIM-0001")


def test_clear_faults_wakes_a_hung_chip(simlab, booted) -> None:
    simlab.chip.hang()
    booted.console.write(b"ID\n")
    booted.console.timeout = 0.3
    assert booted.console.read_until(b"> ") == b""
    simlab.chip.clear_faults()
    booted.console.timeout = 3
    assert booted.command("TEMP")[0].startswith("OK ")


def test_babbling_chip_sends_garbage_lines(simlab, booted) -> None:
    simlab.chip.babble(3)
    garbage = [booted.console.readline() for _ in range(3)]
    assert all(line.endswith(b"\n") and any(byte >= 0x80 for byte in line) for line in garbage)
    assert booted.command("CLK") == ["OK 500 25.000 20"]


def test_unknown_role_names_the_known_ones(simlab) -> None:
    with pytest.raises(KeyError, match="psu_core"):
        simlab.faults("scope")
