"""TemptronicATS against its pyvisa-sim model (instruments/sim/temptronic_ats.yaml)."""

from __future__ import annotations

import pytest

from instruments.errors import ScpiError
from instruments.roles import ThermalForcer
from instruments.thermal.temptronic_ats import TemptronicATS, describe_error_register

# The address each YAML in instruments/sim binds its instrument to.
SIM_RESOURCE = "TCPIP0::127.0.0.1::5025::SOCKET"


@pytest.fixture
def forcer(sim_manager):
    with TemptronicATS(SIM_RESOURCE, resource_manager=sim_manager("temptronic_ats")) as ats:
        yield ats


def test_fulfils_the_thermal_forcer_role(forcer):
    assert isinstance(forcer, ThermalForcer)


def test_set_point_window_soak_and_limits(forcer):
    forcer.set_limits(-40, 150)
    forcer.set_window(0.5)
    forcer.set_soak(30)
    forcer.set_temperature(-40)
    assert forcer.limits() == (-40.0, 150.0)
    assert forcer.setpoint() == -40.0
    assert forcer.query_float("WNDW?") == 0.5
    assert forcer.query_int("SOAK?") == 30
    assert forcer.temperature() == 25.0
    assert forcer.at_temperature() is True


def test_head_and_flow(forcer):
    forcer.head_down()
    forcer.set_flow(True)
    assert forcer.head_is_down() and forcer.flow_on()
    forcer.head_up()
    forcer.set_flow(False)
    assert not forcer.head_is_down() and not forcer.flow_on()


def test_rejected_set_point_raises_from_the_error_register(forcer):
    with pytest.raises(ScpiError) as caught:
        forcer.set_temperature(300)
    assert caught.value.code == 4096
    assert caught.value.command == "SETP 300.0"
    assert "out of range" in caught.value.text
    forcer.check_errors()  # reading EROR? cleared it


def test_limits_in_the_wrong_order_are_refused(forcer):
    with pytest.raises(ValueError, match="low limit 100"):
        forcer.set_limits(100, 0)


def test_error_register_bits_are_explained():
    assert describe_error_register(0b1_0001) == "air temperature limit; test head up"
    assert describe_error_register(1 << 7) == "error bit 7"
