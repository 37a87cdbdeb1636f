"""Keysight34465A against its pyvisa-sim model (instruments/sim/keysight_34465a.yaml)."""

from __future__ import annotations

import pytest

from instruments.errors import ScpiError
from instruments.meters.keysight_34465a import Keysight34465A
from instruments.roles import Multimeter

# The address each YAML in instruments/sim binds its instrument to.
SIM_RESOURCE = "TCPIP0::127.0.0.1::5025::SOCKET"


@pytest.fixture
def meter(sim_manager):
    with Keysight34465A(SIM_RESOURCE, resource_manager=sim_manager("keysight_34465a")) as dmm:
        yield dmm


def test_fulfils_the_multimeter_role(meter):
    assert isinstance(meter, Multimeter)


def test_configure_then_read(meter):
    meter.configure_dc_voltage(full_scale=10, nplc=0.2)
    assert meter.query_float("VOLT:DC:NPLC?") == 0.2
    assert meter.read() == pytest.approx(0.801234567)
    assert meter.configuration().startswith("VOLT ")


def test_current_configuration_sets_its_own_integration_time(meter):
    meter.configure_dc_current(nplc=100)
    assert meter.query_float("CURR:DC:NPLC?") == 100
    assert meter.measure_dc_current() == pytest.approx(0.123456789)


def test_an_nplc_the_meter_lacks_is_refused_before_sending(meter):
    with pytest.raises(ValueError, match="NPLC 3"):
        meter.configure_dc_voltage(nplc=3)


def test_a_range_the_meter_rejects_raises(meter):
    with pytest.raises(ScpiError, match="VOLT:DC:NPLC"):
        meter.write("VOLT:DC:NPLC 5")
