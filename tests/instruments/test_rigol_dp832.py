"""RigolDP832 against its pyvisa-sim model (instruments/sim/rigol_dp832.yaml)."""

from __future__ import annotations

import threading

import pytest

from instruments.errors import ScpiError
from instruments.power.rigol_dp832 import RigolDP832
from instruments.roles import PowerChannel, PowerSupply

# The address each YAML in instruments/sim binds its instrument to.
SIM_RESOURCE = "TCPIP0::127.0.0.1::5025::SOCKET"


@pytest.fixture
def supply(sim_manager):
    with RigolDP832(SIM_RESOURCE, resource_manager=sim_manager("rigol_dp832")) as psu:
        yield psu


def test_fulfils_the_power_supply_roles(supply):
    assert isinstance(supply, PowerSupply)
    assert isinstance(supply.channel(3), PowerChannel)


def test_source_settings_land_on_the_selected_channel(supply):
    for number, volts in ((1, 1.8), (2, 3.3), (3, 5.0)):
        supply.channel(number).set_voltage(volts)
        supply.channel(number).set_current_limit(number / 2)
    assert [supply.channel(n).voltage_setting() for n in (1, 2, 3)] == [1.8, 3.3, 5.0]
    assert [supply.channel(n).current_limit() for n in (1, 2, 3)] == [0.5, 1.0, 1.5]


def test_over_current_protection_trips_at_the_current_limit(supply):
    channel = supply.channel(1)
    channel.set_current_limit(0.75)
    channel.set_over_current_protection(True)
    assert supply.query_float(":OUTP:OCP:VAL? CH1") == 0.75
    assert supply.query_bool(":OUTP:OCP? CH1") is True


def test_over_voltage_protection_is_programmed_and_enabled(supply):
    channel = supply.channel(2)
    channel.set_over_voltage_protection(1.98)
    assert channel.over_voltage_protection() == pytest.approx(1.98)
    assert supply.query_bool(":OUTP:OVP? CH2") is True


def test_outputs_readback_and_all_off(supply):
    for number in (1, 2, 3):
        supply.channel(number).set_output(True)
    assert all(supply.channel(n).output_enabled() for n in (1, 2, 3))
    assert supply.channel(1).measure_voltage() == pytest.approx(1.8)
    assert supply.channel(1).measure_current() == pytest.approx(0.05)
    assert supply.channel(1).protection_tripped() is None
    supply.all_off()
    assert not any(supply.channel(n).output_enabled() for n in (1, 2, 3))


def test_out_of_range_on_the_5v_channel_raises(supply):
    with pytest.raises(ScpiError, match=r"':SOUR:VOLT 12\.0'"):
        supply.channel(3).set_voltage(12.0)


def test_concurrent_channel_programming_never_crosses_channels(supply):
    def program(number: int) -> None:
        for step in range(20):
            supply.channel(number).set_voltage(number + step / 100)

    threads = [threading.Thread(target=program, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert supply.channel(1).voltage_setting() == pytest.approx(1.19)
    assert supply.channel(2).voltage_setting() == pytest.approx(2.19)
