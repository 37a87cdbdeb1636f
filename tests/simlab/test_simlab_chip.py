"""Physics and the chip: sequencing, latch-up, damage, currents, Vmin, the monitor protocol."""

from __future__ import annotations

import pytest

from bringup.simlab import SimLab
from bringup.simlab.monitor_firmware import RunOutcome


def test_rails_in_order_with_clock_boot_the_chip(bench) -> None:
    bench.clock_on()
    bench.power_up()
    assert bench.read_reply() == ["BRINGUP-MON 1.0 chip=SIM-0001"]
    assert bench.lab.chip.booted
    # A healthy chip at nominal draws well under the station's limits.
    core, sram = (float(a) for a in bench["psu_core"].query("MEAS:CURR? (@1,2)").split(","))
    io = float(bench["psu_io"].query(":MEAS:CURR? CH1"))
    assert 0.2 < core < 0.8 and 0.05 < sram < 0.2 and 0.02 < io < 0.1


def test_without_the_reference_clock_the_chip_stays_silent(bench) -> None:
    bench.send("refclk", "FUNC SQU", "FREQ 25e6", "VOLT 0.5", "OUTP ON")  # too small to clock
    bench.power_up()
    bench.console.timeout = 0.3
    assert bench.console.read_until(b"> ") == b""
    assert not bench.lab.chip.booted
    bench.send("refclk", "VOLT 1.8")
    assert bench.read_reply() == ["BRINGUP-MON 1.0 chip=SIM-0001"]


def test_wrong_order_latches_up_into_current_limit_and_never_boots(bench) -> None:
    bench.clock_on()
    bench.power_up(order=("VDD_SRAM", "VDD_CORE", "VDD_IO"))
    psu = bench["psu_core"]
    assert float(psu.query("MEAS:CURR? (@2)")) == pytest.approx(0.5)  # constant current
    assert float(psu.query("MEAS:VOLT? (@2)")) < 0.45  # collapsed to I_lim * R_load
    assert bench.lab.chip.latched_up
    bench.console.timeout = 0.3
    assert bench.console.read_until(b"> ") == b""
    assert not bench.lab.chip.booted
    # Only a full power cycle clears the latch-up.
    bench.power_down()
    bench.power_up()
    bench.console.timeout = 3
    assert bench.read_reply() == ["BRINGUP-MON 1.0 chip=SIM-0001"]


def test_a_rail_above_absolute_maximum_damages_the_chip_for_good(bench) -> None:
    bench.clock_on()
    bench.power_up()
    bench.read_reply()
    bench.send("psu_core", "VOLT 1.0,(@1)")
    damage = bench.lab.chip.damage
    assert damage is not None and damage.rail == "VDD_CORE" and damage.volts > 0.95
    assert not bench.lab.chip.booted
    bench.power_down()
    bench.send("psu_core", "VOLT 0.8,(@1)")
    bench.power_up()
    bench.console.timeout = 0.3
    assert bench.console.read_until(b"> ") == b""
    assert bench.lab.chip.damaged


def test_core_current_rises_with_voltage_frequency_and_temperature(booted) -> None:
    def core_amps() -> float:
        return float(booted["psu_core"].query("MEAS:CURR? (@1)"))

    at_nominal = core_amps()
    booted.send("psu_core", "VOLT 0.84,(@1)")
    assert core_amps() > at_nominal
    booted.send("psu_core", "VOLT 0.8,(@1)")
    assert booted.command("CLK 800")[-1] == "OK 800 25.000 32"
    faster = core_amps()
    assert faster > at_nominal
    forcer = booted["forcer"]
    booted.send("forcer", "SETP 100")
    booted.wait_for(lambda: float(forcer.query("TEMP?")) > 95, what="air at 100 degC")
    assert core_amps() > faster
    die_c = float(booted.command("TEMP")[-1].split()[1])
    assert die_c > float(forcer.query("TEMP?"))  # self-heating on top of the air


def test_each_serial_has_its_own_deterministic_vmin() -> None:
    first, second, again = SimLab("SIM-0001"), SimLab("SIM-0002"), SimLab("SIM-0001")
    assert first.chip.vmin(500, 25) != second.chip.vmin(500, 25)
    assert first.chip.vmin(500, 25) == again.chip.vmin(500, 25)
    assert first.chip.vmin(1000, 25) > first.chip.vmin(500, 25)
    assert first.chip.vmin(500, 100) > first.chip.vmin(500, 25)


def test_monitor_identifies_and_sets_the_clock(booted) -> None:
    assert booted.command("ID") == [
        "OK chip=SIM-0001 fw=bringup-mon/1.0 ram=80000000+00010000 ref_mhz=25.000 core_mhz=500"
    ]
    assert booted.command("clk") == ["OK 500 25.000 20"]
    assert booted.command("CLK 2000") == ["ERR 422 core clock 2000 MHz out of range 50-1600 MHz"]
    assert booted.command("CLK 500")[-1] == "OK 500 25.000 20"


def test_monitor_loads_and_dumps_memory_in_chunks(booted) -> None:
    words = [f"{n * 0x01010101 & 0xFFFFFFFF:08x}" for n in range(40)]
    assert booted.command("LOAD 80000100 " + " ".join(words)) == ["OK"]
    reply = booted.command("DUMP 0x80000100 40")
    assert reply[-1] == "OK 40"
    assert [len(line.split()) for line in reply[:-1]] == [16, 16, 8]
    assert " ".join(reply[:-1]).split() == words


def test_monitor_errors_are_clear(booted) -> None:
    assert booted.command("LOAD 80010000 1")[0].startswith("ERR 416 ")
    assert booted.command("LOAD 80000002 1")[0].startswith("ERR 416 ")
    assert booted.command("LOAD 80000000 xyz")[0].startswith("ERR 400 ")
    assert booted.command("DUMP 80000000")[0].startswith("ERR 400 ")
    assert booted.command("FROB")[0] == "ERR 404 unknown command 'FROB' (try HELP)"
    assert booted.command("LOAD 80000000 " + "0 " * 600)[0].startswith("ERR 413 ")
    booted.lab.chip.executor = None  # a firmware build without the run engine
    assert booted.command("RUN 80000000 100") == ["ERR 501 run needs the reference core"]


def test_monitor_run_uses_the_plugged_executor(booted) -> None:
    def executor(memory: bytearray, base: int, entry: int, max_steps: int) -> RunOutcome:
        memory[entry - base] = 0x2A  # the "program" writes its result in place
        return RunOutcome("exit", 7, min(max_steps, 3))

    booted.lab.chip.executor = executor
    assert booted.command("RUN 80000040 1000") == ["OK exit 7 3"]
    assert booted.command("DUMP 80000040 1") == ["0000002a", "OK 1"]


def test_monitor_reset_prints_the_banner_again(booted) -> None:
    booted.command("CLK 800")
    assert booted.command("RESET") == ["OK", "BRINGUP-MON 1.0 chip=SIM-0001"]
    assert booted.command("CLK") == ["OK 500 25.000 20"]


def test_monitor_temperature_follows_the_forcer(booted) -> None:
    reply = booted.command("TEMP")
    assert len(reply) == 1 and reply[0].startswith("OK ")
    assert 25.0 <= float(reply[0].split()[1]) < 40.0
