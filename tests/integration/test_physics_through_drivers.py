"""The lab's physics as the drivers see it: boot, sequencing, damage, and what the chip draws."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from integration_bench import POWER_ON_ORDER, Bench, open_bench
from polling import wait_until as wait_for

from bringup.simlab import SimLab
from instruments.errors import ConsoleTimeout

# How long to listen for a banner that must not come: the chip boots within milliseconds.
NO_BOOT_WAIT_S = 0.5
WRONG_ORDER = ("VDD_IO", "VDD_CORE", "VDD_SRAM")


def core_amps(bench: Bench) -> float:
    return bench.rail("VDD_CORE").measure_current()


def test_right_order_and_clock_boot_the_chip_to_its_prompt(bench: Bench) -> None:
    assert bench.boot() == "SIM-0001"
    assert bench.monitor("CLK").startswith("OK 500 25.000 20")
    for name in POWER_ON_ORDER:
        assert bench.rail(name).protection_tripped() is None


def test_without_the_reference_clock_the_chip_stays_silent(bench: Bench) -> None:
    for name in POWER_ON_ORDER:
        bench.program_rail(name)
        bench.rail(name).set_output(True)
    with pytest.raises(ConsoleTimeout):
        bench.console.expect("BRINGUP-MON", timeout=NO_BOOT_WAIT_S)


def test_wrong_order_latches_up_into_the_current_limit_and_never_boots(bench: Bench) -> None:
    bench.power_on(order=WRONG_ORDER)
    io = bench.rail("VDD_IO")
    # The latched IO rail wants amps; the DP832 holds it at its 0.3 A limit and its volts sag.
    assert io.measure_current() == pytest.approx(0.3, rel=0.02)
    assert io.measure_voltage() < 1.8 * 0.9
    with pytest.raises(ConsoleTimeout):
        bench.console.expect("BRINGUP-MON", timeout=NO_BOOT_WAIT_S)


def test_wrong_order_with_over_current_protection_trips_the_supply(bench: Bench) -> None:
    bench.rail("VDD_IO").set_over_current_protection(True)
    bench.power_on(order=WRONG_ORDER)
    io = bench.rail("VDD_IO")
    assert io.protection_tripped() == "OCP"
    assert not io.output_enabled()
    assert io.measure_current() == 0.0
    with pytest.raises(ConsoleTimeout):
        bench.console.expect("BRINGUP-MON", timeout=NO_BOOT_WAIT_S)


def test_above_absolute_maximum_damages_the_chip_for_good(bench: Bench) -> None:
    assert not bench.lab.chip.damaged
    bench.power_on()
    bench.rail("VDD_CORE").set_voltage(1.0)  # VDD_CORE absolute maximum is 0.95 V
    assert bench.lab.chip.damaged
    bench.power_off()
    bench.console.drain()
    bench.power_on()
    with pytest.raises(ConsoleTimeout):
        bench.console.expect("BRINGUP-MON", timeout=NO_BOOT_WAIT_S)


def test_core_current_rises_with_core_voltage(bench: Bench) -> None:
    bench.boot()
    core = bench.rail("VDD_CORE")
    readings = []
    for volts in (0.77, 0.80, 0.83):
        core.set_voltage(volts)
        readings.append(core_amps(bench))
    assert readings == sorted(readings) and readings[0] < readings[-1]


def test_core_current_rises_with_core_clock_set_over_the_console(bench: Bench) -> None:
    bench.boot()
    at_500 = core_amps(bench)
    assert bench.monitor("CLK 800").startswith("OK 800")
    at_800 = core_amps(bench)
    # Dynamic current is C*V*f: 300 MHz more at 0.8 V and 0.75 nF is about 0.18 A.
    assert at_800 - at_500 == pytest.approx(0.75e-9 * 0.8 * 300e6, rel=0.15)


def test_core_current_follows_the_reference_clock(bench: Bench) -> None:
    bench.boot()
    at_25 = core_amps(bench)
    bench["refclk"].set_frequency(20e6)
    assert core_amps(bench) < at_25


def test_current_rises_with_temperature_from_the_forcer(lab_factory: Callable[..., SimLab]) -> None:
    lab = lab_factory(time_scale=2000.0)  # the forcer's air settles in milliseconds
    bench = open_bench(lab)
    try:
        bench.boot()
        at_25c = core_amps(bench)
        forcer = bench["forcer"]
        forcer.set_window(1.0)
        forcer.set_soak(1)
        forcer.set_temperature(95)
        wait_for(forcer.at_temperature, 5.0, "the forcer to report at temperature")
        assert forcer.temperature() == pytest.approx(95, abs=1.0)
        at_95c = core_amps(bench)
    finally:
        bench.close()
    # Leakage doubles every 35 degC, so 70 degC hotter is about 4x the leakage on top of the
    # unchanged dynamic current.
    assert at_95c > at_25c * 1.2


def test_two_serials_have_different_vmin_and_leakage(lab_factory: Callable[..., SimLab]) -> None:
    found = {}
    for serial in ("SIM-0001", "SIM-0042"):
        lab = lab_factory(chip_serial=serial)
        bench = open_bench(lab)
        try:
            assert bench.boot() == serial
            found[serial] = (lab.chip.vmin(core_mhz=500, die_c=25), core_amps(bench))
        finally:
            bench.close()
    (vmin_a, amps_a), (vmin_b, amps_b) = found.values()
    assert vmin_a != pytest.approx(vmin_b, abs=1e-3)
    assert amps_a != pytest.approx(amps_b, rel=1e-3)
