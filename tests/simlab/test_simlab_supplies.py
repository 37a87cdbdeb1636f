"""The two supplies over pyvisa-py: command tables, error queues, CV/CC, OVP and OCP trips."""

from __future__ import annotations

import pytest


def test_e36312a_identifies_and_starts_with_an_empty_error_queue(bench) -> None:
    assert bench["psu_core"].query("*IDN?").startswith("Keysight Technologies,E36312A,")
    assert bench["psu_core"].query("SYST:ERR?") == '+0,"No error"'


@pytest.mark.parametrize(
    ("setting", "query"),
    [
        ("VOLT 1.25,(@3)", "VOLT? (@3)"),
        ("voltage 1.25,(@3)", ":SOURce:VOLTage:LEVel:IMMediate:AMPLitude? (@3)"),
        ("SOUR:VOLT:LEV 1.25,(@3)", "volt? (@3)"),
    ],
)
def test_e36312a_accepts_short_and_long_headers(bench, setting: str, query: str) -> None:
    bench.send("psu_core", setting)
    assert float(bench["psu_core"].query(query)) == pytest.approx(1.25)


def test_e36312a_multi_channel_query_answers_in_channel_order(bench) -> None:
    bench.send("psu_core", "VOLT 0.5,(@1)", "VOLT 1.5,(@2)", "VOLT 2.5,(@3)")
    assert bench["psu_core"].query("VOLT? (@1:3)") == (
        "+5.00000000E-01,+1.50000000E+00,+2.50000000E+00"
    )
    bench.send("psu_core", "OUTP ON,(@1,3)")
    assert bench["psu_core"].query("OUTP? (@1:3)") == "1,0,1"


def test_e36312a_out_of_range_and_unknown_commands_go_to_the_error_queue(bench) -> None:
    bench.send("psu_core", "VOLT 7,(@1)", "FOO:BAR 1", "VOLT 1,(@9)")
    assert bench["psu_core"].query("SYST:ERR?") == '-222,"Data out of range"'
    assert bench["psu_core"].query("SYSTem:ERRor?") == '-113,"Undefined header"'
    assert bench["psu_core"].query("SYST:ERR?") == '-222,"Data out of range"'
    assert bench["psu_core"].query("SYST:ERR?") == '+0,"No error"'
    assert float(bench["psu_core"].query("VOLT? (@1)")) == 0.0


def test_e36312a_regulates_voltage_below_the_limit_and_current_at_it(bench) -> None:
    # Channel 3 is not wired: an open load draws nothing, the output sits at its setting.
    bench.send("psu_core", "VOLT 3,(@3)", "CURR 0.5,(@3)", "OUTP ON,(@3)")
    assert float(bench["psu_core"].query("MEAS:VOLT? (@3)")) == pytest.approx(3.0)
    assert float(bench["psu_core"].query("MEAS:CURR? (@3)")) == 0.0


def test_e36312a_ovp_trips_the_output_off_and_must_be_cleared(bench) -> None:
    psu = bench["psu_core"]
    bench.send("psu_core", "VOLT:PROT 2.0,(@3)", "VOLT 1.5,(@3)", "OUTP ON,(@3)")
    assert psu.query("VOLT:PROT:TRIP? (@3)") == "0"
    bench.send("psu_core", "VOLT 2.5,(@3)")
    assert psu.query("VOLT:PROT:TRIP? (@3)") == "1"
    assert psu.query("OUTP? (@3)") == "0"
    assert float(psu.query("MEAS:VOLT? (@3)")) == 0.0
    bench.send("psu_core", "VOLT 1.5,(@3)", "OUTP ON,(@3)")
    assert psu.query("SYST:ERR?") == '-221,"Settings conflict"'
    bench.send("psu_core", "VOLT:PROT:CLE (@3)", "OUTP ON,(@3)")
    assert psu.query("VOLT:PROT:TRIP? (@3)") == "0"
    assert psu.query("OUTP? (@3)") == "1"


def test_e36312a_ocp_trips_at_the_current_limit_instead_of_regulating(bench) -> None:
    # Latch the chip up on VDD_SRAM (it comes up before VDD_CORE): it wants ~2.5 A.
    psu = bench["psu_core"]
    bench.send("psu_core", "VOLT 0.9,(@2)", "CURR 0.5,(@2)", "CURR:PROT:STAT ON,(@2)")
    assert psu.query("CURR:PROT:STAT? (@2)") == "1"
    bench.send("psu_core", "OUTP ON,(@2)")
    assert psu.query("CURR:PROT:TRIP? (@2)") == "1"
    assert psu.query("OUTP? (@2)") == "0"
    bench.send("psu_core", "CURR:PROT:CLE (@2)")
    assert psu.query("CURR:PROT:TRIP? (@2)") == "0"


def test_dp832_selected_channel_and_numbered_source(bench) -> None:
    dp = bench["psu_io"]
    assert dp.query("*IDN?").startswith("RIGOL TECHNOLOGIES,DP832,")
    bench.send("psu_io", ":INST:NSEL 2", ":SOUR:VOLT 5.5", ":SOUR3:VOLT 3.3", ":SOUR:CURR 1.25")
    assert dp.query(":INST:NSEL?") == "2"
    assert float(dp.query(":SOUR2:VOLT?")) == pytest.approx(5.5)
    assert float(dp.query(":SOUR2:CURR?")) == pytest.approx(1.25)
    assert float(dp.query(":SOUR3:VOLT?")) == pytest.approx(3.3)
    bench.send("psu_io", ":OUTP CH2,ON")
    assert dp.query(":OUTP? CH2") == "ON"
    assert float(dp.query(":MEAS:VOLT? CH2")) == pytest.approx(5.5)


def test_dp832_range_errors_use_the_scpi_queue(bench) -> None:
    bench.send("psu_io", ":SOUR3:VOLT 6", ":OUTP CH7,ON")
    assert bench["psu_io"].query(":SYST:ERR?") == '-222,"Data out of range"'
    assert bench["psu_io"].query(":SYST:ERR?") == '-222,"Data out of range"'


def test_dp832_ovp_trip_question_and_clear(bench) -> None:
    dp = bench["psu_io"]
    bench.send("psu_io", ":OUTP:OVP:VAL CH2,4.0", ":OUTP:OVP CH2,ON", ":SOUR2:VOLT 3", ":OUTP CH2,ON")
    assert dp.query(":OUTP:OVP? CH2") == "ON"
    assert float(dp.query(":OUTP:OVP:VAL? CH2")) == pytest.approx(4.0)
    assert dp.query(":OUTP:OVP:QUES? CH2") == "NO"
    bench.send("psu_io", ":SOUR2:VOLT 5")
    assert dp.query(":OUTP:OVP:QUES? CH2") == "YES"
    assert dp.query(":OUTP? CH2") == "OFF"
    bench.send("psu_io", ":OUTP:OVP:CLEAR CH2")
    assert dp.query(":OUTP:OVP:QUES? CH2") == "NO"


def test_dp832_ocp_trips_a_latched_rail(bench) -> None:
    # VDD_IO first, core and SRAM still off: latch-up on VDD_IO draws far above 0.3 A.
    dp = bench["psu_io"]
    bench.send("psu_io", ":OUTP:OCP:VAL CH1,0.3", ":OUTP:OCP CH1,ON", ":SOUR1:VOLT 1.8", ":SOUR1:CURR 1.0")
    bench.send("psu_io", ":OUTP CH1,ON")
    assert dp.query(":OUTP:OCP:QUES? CH1") == "YES"
    assert dp.query(":OUTP? CH1") == "OFF"
    bench.send("psu_io", ":OUTP CH1,ON")
    assert dp.query(":SYST:ERR?") == '-221,"Settings conflict"'
