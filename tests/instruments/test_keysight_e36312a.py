"""KeysightE36312A against its pyvisa-sim model (instruments/sim/keysight_e36312a.yaml)."""

from __future__ import annotations

import pytest

from instruments.errors import ScpiError, UnknownChannel
from instruments.power.keysight_e36312a import KeysightE36312A
from instruments.roles import PowerChannel, PowerSupply

# The address each YAML in instruments/sim binds its instrument to.
SIM_RESOURCE = "TCPIP0::127.0.0.1::5025::SOCKET"


@pytest.fixture
def supply(sim_manager):
    with KeysightE36312A(SIM_RESOURCE, resource_manager=sim_manager("keysight_e36312a")) as psu:
        yield psu


def test_fulfils_the_power_supply_roles(supply):
    assert isinstance(supply, PowerSupply)
    assert isinstance(supply.channel(1), PowerChannel)
    assert supply.identity.serial == "MY59001234"


@pytest.mark.parametrize("number", [1, 2, 3])
def test_programs_each_channel_independently(supply, number):
    channel = supply.channel(number)
    channel.set_voltage(0.8)
    channel.set_current_limit(0.25)
    channel.set_over_voltage_protection(0.95)
    channel.set_over_current_protection(True)
    channel.set_output(True)
    assert channel.voltage_setting() == pytest.approx(0.8)
    assert channel.current_limit() == pytest.approx(0.25)
    assert channel.over_voltage_protection() == pytest.approx(0.95)
    assert channel.output_enabled() is True
    others = [supply.channel(n) for n in (1, 2, 3) if n != number]
    assert all(other.output_enabled() is False for other in others)


def test_readback_and_protection_state(supply):
    channel = supply.channel(1)
    assert channel.measure_voltage() == pytest.approx(0.7998)
    assert channel.measure_current() == pytest.approx(0.125)
    assert channel.protection_tripped() is None
    channel.clear_protection()


def test_out_of_range_setting_raises_with_the_command(supply):
    with pytest.raises(ScpiError) as caught:
        supply.channel(1).set_voltage(7.0)  # channel 1 is a 6 V output
    assert caught.value.command == "VOLT 7.0,(@1)"
    assert caught.value.code == -222
    supply.channel(2).set_voltage(7.0)  # channels 2 and 3 go to 25 V
    assert supply.channel(1).voltage_setting() == 0.0


def test_unknown_channel_names_the_valid_ones(supply):
    with pytest.raises(UnknownChannel, match=r"1\.\.3"):
        supply.channel(4)


def test_all_off_is_accepted(supply):
    supply.all_off()  # the channel list form; its effect is checked against the simulated lab
