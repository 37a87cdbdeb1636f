"""The DMM, the waveform generator and the thermal forcer over pyvisa-py."""

from __future__ import annotations

import pytest


def test_dmm_configures_reads_and_reports_its_configuration(booted) -> None:
    dmm = booted["dmm"]
    assert dmm.query("*IDN?").startswith("Keysight Technologies,34465A,")
    booted.send("dmm", "CONF:VOLT:DC 10", "VOLT:DC:NPLC 1")
    assert dmm.query("CONF?") == '"VOLT +1.000000E+01,+3.000000E-06"'
    assert float(dmm.query("VOLT:DC:NPLC?")) == 1.0
    die_volts = float(dmm.query("READ?"))
    # Senses at the die: a few mV of board IR drop below the 0.800 V the supply holds.
    assert 0.790 < die_volts < 0.800
    core_amps = float(dmm.query("MEAS:CURR:DC?"))
    assert core_amps == pytest.approx(float(booted["psu_core"].query("MEAS:CURR? (@1)")), rel=1e-3)
    assert dmm.query("CONF?").startswith('"CURR ')


def test_dmm_rejects_an_impossible_range(bench) -> None:
    bench.send("dmm", "CONF:VOLT:DC 5000", "VOLT:DC:NPLC 1000")
    assert bench["dmm"].query("SYST:ERR?") == '-222,"Data out of range"'
    assert bench["dmm"].query("SYST:ERR?") == '-222,"Data out of range"'


def test_waveform_generator_settings_read_back(bench) -> None:
    gen = bench["refclk"]
    assert gen.query("*IDN?").startswith("Keysight Technologies,335")
    bench.send("refclk", "FUNC SQU", "FREQ 25e6", "VOLT 1.8", "VOLT:OFFS 0.9", "OUTP ON")
    assert gen.query("FUNC?") == "SQU"
    assert float(gen.query("FREQ?")) == 25e6
    assert float(gen.query("VOLT?")) == 1.8
    assert float(gen.query("VOLT:OFFS?")) == 0.9
    assert gen.query("OUTP?") == "1"
    bench.send("refclk", "FREQ 40e6", "FUNC WIGGLE")
    assert gen.query("SYST:ERR?") == '-222,"Data out of range"'
    assert gen.query("SYST:ERR?") == '-224,"Illegal parameter value"'


def test_forcer_approaches_the_set_point_and_reports_at_temperature(bench) -> None:
    forcer = bench["forcer"]
    assert forcer.query("*IDN?").startswith("TEMPTRONIC,ATS-545")
    bench.send("forcer", "WNDW 1.0", "SOAK 5", "SETP 85")
    assert float(forcer.query("SETP?")) == 85.0
    assert int(forcer.query("TECR?")) & 0b10  # not at temperature yet
    bench.wait_for(lambda: int(forcer.query("TECR?")) & 0b1, what="forcer at temperature")
    assert float(forcer.query("TEMP?")) == pytest.approx(85.0, abs=1.0)


def test_forcer_flags_bad_commands_in_its_error_register_and_clears_on_read(bench) -> None:
    bench.send("forcer", "ULIM 150", "SETP 200", "BOGUS 1")
    assert float(bench["forcer"].query("SETP?")) == 25.0  # ignored
    assert int(bench["forcer"].query("EROR?")) == 1 << 12
    assert int(bench["forcer"].query("EROR?")) == 0


def test_forcer_head_up_is_reported_and_stops_control(bench) -> None:
    bench.send("forcer", "HEAD 0", "SETP 60")
    assert bench["forcer"].query("HEAD?") == "0"
    assert int(bench["forcer"].query("EROR?")) & (1 << 4)
    assert int(bench["forcer"].query("TECR?")) == 0b10
