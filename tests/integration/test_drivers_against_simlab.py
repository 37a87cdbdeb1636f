"""Every driver, opened through the registry, against the simulated lab over real TCP and a pty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from integration_bench import Bench

from instruments.errors import ScpiError
from instruments.roles import ClockSource, Multimeter, PowerSupply, ThermalForcer

EXPECTED_MODELS = {
    "psu_core": ("Keysight Technologies", "E36312A"),
    "psu_io": ("RIGOL TECHNOLOGIES", "DP832"),
    "dmm": ("Keysight Technologies", "34465A"),
    "forcer": ("TEMPTRONIC", "ATS-545"),
    "refclk": ("Keysight Technologies", "33522B"),
}
ROLES = {
    "psu_core": PowerSupply,
    "psu_io": PowerSupply,
    "dmm": Multimeter,
    "forcer": ThermalForcer,
    "refclk": ClockSource,
}


@pytest.mark.parametrize("role", sorted(EXPECTED_MODELS))
def test_each_driver_identifies_its_simulated_instrument_and_fits_its_role(bench: Bench, role: str) -> None:
    driver = bench[role]
    assert (driver.identity.maker, driver.identity.model) == EXPECTED_MODELS[role]
    assert driver.identity.serial
    assert isinstance(driver, ROLES[role])


@pytest.mark.parametrize(
    ("role", "channel", "volts", "amps"), [("psu_core", 3, 3.3, 0.25), ("psu_io", 2, 2.5, 1.5)]
)
def test_supply_channel_methods_program_and_read_back(
    bench: Bench, role: str, channel: int, volts: float, amps: float
) -> None:
    # Channels not wired to the chip: an open circuit, so the readback is the setting.
    output = bench[role].channel(channel)
    output.set_current_limit(amps)
    output.set_voltage(volts)
    output.set_over_voltage_protection(volts + 1.0)
    output.set_over_current_protection(True)
    assert output.voltage_setting() == pytest.approx(volts)
    assert output.current_limit() == pytest.approx(amps)
    assert output.over_voltage_protection() == pytest.approx(volts + 1.0)
    assert not output.output_enabled()
    output.set_output(True)
    assert output.output_enabled()
    assert output.measure_voltage() == pytest.approx(volts)
    assert output.measure_current() == pytest.approx(0.0, abs=1e-6)
    assert output.protection_tripped() is None
    output.clear_protection()
    bench[role].all_off()
    assert not output.output_enabled()
    assert output.measure_voltage() == 0.0


def test_supply_reports_an_over_voltage_trip_and_clears_it(bench: Bench) -> None:
    output = bench["psu_core"].channel(3)
    output.set_voltage(5.0)
    output.set_over_voltage_protection(4.0)
    output.set_output(True)
    assert output.protection_tripped() == "OVP"
    assert not output.output_enabled()
    with pytest.raises(ScpiError) as refused:
        output.set_output(True)  # a tripped output stays off until cleared
    assert refused.value.code == -221
    output.clear_protection()
    output.set_voltage(3.0)
    output.set_output(True)
    assert output.protection_tripped() is None
    assert output.measure_voltage() == pytest.approx(3.0)


def test_meter_configures_and_reads_the_core_rail(bench: Bench) -> None:
    bench.program_rail("VDD_CORE")
    bench.rail("VDD_CORE").set_output(True)
    meter = bench["dmm"]
    meter.configure_dc_voltage(full_scale=10, nplc=1)
    assert meter.configuration().startswith("VOLT")
    assert meter.nplc() == pytest.approx(1)
    # The meter senses at the die, after the board's IR drop: a little under the setting.
    assert 0.75 < meter.read() <= 0.80
    meter.configure_dc_current(nplc=0.2)
    assert meter.configuration().startswith("CURR")
    assert meter.read() > 0
    assert 0.75 < meter.measure_dc_voltage() <= 0.80
    assert meter.configuration().startswith("VOLT")  # MEAS reconfigures


def test_forcer_methods_round_trip(bench: Bench) -> None:
    forcer = bench["forcer"]
    forcer.set_limits(-40, 150)
    assert forcer.limits() == (-40, 150)
    forcer.set_window(1.5)
    forcer.set_soak(5)
    forcer.head_down()
    assert forcer.head_is_down()
    forcer.set_flow(True)
    assert forcer.flow_on()
    forcer.set_temperature(40)
    assert forcer.setpoint() == pytest.approx(40)
    assert 20 < forcer.temperature() < 45
    forcer.check_errors()


def test_forcer_head_up_is_not_an_error_when_parked(bench: Bench) -> None:
    forcer = bench["forcer"]
    forcer.head_up()
    assert not forcer.head_is_down()


def test_forcer_head_up_while_forcing_a_temperature_is_an_error(bench: Bench) -> None:
    forcer = bench["forcer"]
    forcer.set_temperature(85)
    with pytest.raises(ScpiError, match="test head up") as caught:
        forcer.head_up()
    assert "HEAD 0" in str(caught.value)


def test_clock_methods_round_trip(bench: Bench) -> None:
    clock = bench["refclk"]
    clock.set_frequency(25e6)
    clock.set_amplitude(1.8)
    clock.set_offset(0.9)
    clock.set_output(True)
    assert clock.frequency() == pytest.approx(25e6)
    assert clock.amplitude() == pytest.approx(1.8)
    assert clock.offset() == pytest.approx(0.9)
    assert clock.waveform().upper().startswith("SQU")
    assert clock.output_enabled()
    clock.set_output(False)
    assert not clock.output_enabled()


@pytest.mark.parametrize(
    ("role", "bad_setting", "code"),
    [
        ("psu_core", lambda d: d.channel(1).set_voltage(7.0), -222),  # channel 1 is 0-6 V
        ("psu_io", lambda d: d.channel(3).set_voltage(6.0), -222),  # channel 3 is 0-5 V
        ("refclk", lambda d: d.set_frequency(40e6), -222),
        ("dmm", lambda d: d.write("SENS:FROB 1"), -113),
        ("psu_core", lambda d: d.write("FROB 1"), -113),
    ],
)
def test_a_rejected_setting_raises_scpi_error_with_code_text_and_command(
    bench: Bench, role: str, bad_setting: Callable[[Any], None], code: int
) -> None:
    driver = bench[role]
    with pytest.raises(ScpiError) as rejected:
        bad_setting(driver)
    error = rejected.value
    assert error.code == code
    assert error.text
    assert error.command and error.command in str(error)
    assert role in str(error)
    driver.check_errors()  # the queue was drained: nothing left to report


def test_forcer_error_register_becomes_scpi_error(bench: Bench) -> None:
    forcer = bench["forcer"]
    forcer.set_limits(-10, 100)
    with pytest.raises(ScpiError) as rejected:
        forcer.set_temperature(120)  # outside ULIM: bit 12
    assert rejected.value.code & (1 << 12)
    assert "out of range" in rejected.value.text
    assert rejected.value.command == "SETP 120.0"


def test_console_over_the_pty_sees_the_boot_and_logs_both_directions(bench: Bench) -> None:
    serial = bench.boot()
    assert serial == "SIM-0001"
    status = bench.monitor("ID")
    assert status.startswith("OK chip=SIM-0001")
    directions = {entry.direction for entry in bench.console.log}
    assert directions == {"rx", "tx"}
    assert any(entry.text == "ID" for entry in bench.console.log if entry.direction == "tx")
