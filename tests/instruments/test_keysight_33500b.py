"""Keysight33500B against its pyvisa-sim model (instruments/sim/keysight_33500b.yaml)."""

from __future__ import annotations

import pytest

from instruments.clocks.keysight_33500b import Keysight33500B
from instruments.errors import ScpiError
from instruments.roles import ClockSource

# The address each YAML in instruments/sim binds its instrument to.
SIM_RESOURCE = "TCPIP0::127.0.0.1::5025::SOCKET"


@pytest.fixture
def clock(sim_manager):
    with Keysight33500B(SIM_RESOURCE, resource_manager=sim_manager("keysight_33500b")) as gen:
        yield gen


def test_fulfils_the_clock_source_role(clock):
    assert isinstance(clock, ClockSource)
    assert clock.identity.model == "33522B"


def test_programs_the_reference_clock(clock):
    clock.set_frequency(25e6)
    clock.set_amplitude(1.8)
    clock.set_offset(0.9)
    assert clock.frequency() == 25e6
    assert clock.amplitude() == 1.8
    assert clock.offset() == 0.9


def test_output_on_is_always_a_square_wave(clock):
    assert clock.waveform() == "SIN"
    clock.set_output(True)
    assert clock.waveform() == "SQU"
    assert clock.output_enabled() is True
    clock.set_output(False)
    assert clock.output_enabled() is False


def test_frequency_out_of_range_raises(clock):
    with pytest.raises(ScpiError, match=r"FREQ 40000000\.0"):
        clock.set_frequency(40e6)
    assert clock.frequency() == 1000.0
