"""Every number of a station file is finite and inside a physical range (docs/formats.md): a value
no bench has, or a ramp that would never end or block Ctrl-C for minutes, is one line with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from file_errors import assert_one_line_error, first_error, variant

from bringup.station import load_station

EXAMPLE = Path(__file__).parents[2] / "runbooks" / "stations" / "simlab.yaml"

OUT_OF_BOUNDS = [
    # (what, replace this, with this, a line holding this, words the message must hold)
    ("ramp rate of 1 mV/s (issue 7 defect 18)", "ramp_rate_v_per_s: 20.0, meter", "ramp_rate_v_per_s: 0.001, meter",
     "VDD_CORE:", ["ramp_rate_v_per_s", "0.001"]),
    ("ramp too slow to reach abs_max in 30 s", "ramp_rate_v_per_s: 20.0, meter", "ramp_rate_v_per_s: 0.02, meter",
     "VDD_CORE:", ["48 s", "ramp_rate_v_per_s >= 0.0317"]),
    ("ramp step below the supplies' resolution (defect 2)", "ramp_step_v: 0.1, ramp_rate_v_per_s: 20.0, meter",
     "ramp_step_v: 0.0000001, ramp_rate_v_per_s: 20.0, meter", "VDD_CORE:", ["ramp_step_v", "0.001"]),
    ("abs_max of 50003 V", "abs_max_v: 0.95", "abs_max_v: 50003", "VDD_CORE:", ["abs_max_v", "60"]),
    ("abs_max of 1e300 V", "abs_max_v: 0.95", "abs_max_v: 1.0e300", "VDD_CORE:", ["abs_max_v", "60"]),
    ("abs_max of .inf", "abs_max_v: 0.95", "abs_max_v: .inf", "VDD_CORE:", ["finite"]),
    ("nominal .nan", "nominal_v: 0.80", "nominal_v: .nan", "VDD_CORE:", ["finite"]),
    ("current limit .inf", "current_limit_a: 1.5", "current_limit_a: .inf", "VDD_CORE:", ["finite"]),
    ("baud rate 10^23", "baudrate: 115200", "baudrate: 100000000000000000000000", "console:", ["baudrate", "4000000"]),
    ("timeout .inf", 'resource: "TCPIP0::127.0.0.1::50001::SOCKET"}',
     'resource: "TCPIP0::127.0.0.1::50001::SOCKET", timeout_s: .inf}', "psu_core:", ["timeout_s", "finite"]),
    ("clock at 1 THz", "frequency_hz: 25000000", "frequency_hz: 1.0e12", "clock:", ["frequency_hz"]),
    # The run programs these into the forcer, which refuses them at the first set point, hours in.
    ("forcer limit 1e6 °C", "amplitude_vpp: 1.8}", "amplitude_vpp: 1.8}\nforcer: {high_c: 1.0e6}", "forcer: {high_c",
     ["high_c", "225"]),
    ("forcer parked at -200 °C", "amplitude_vpp: 1.8}", "amplitude_vpp: 1.8}\nforcer: {park_c: -200, low_c: -250}",
     "forcer: {park_c", ["-80"]),
]


@pytest.mark.parametrize(("old", "new", "where", "words"), [case[1:] for case in OUT_OF_BOUNDS],
                         ids=[case[0] for case in OUT_OF_BOUNDS])
def test_a_value_outside_its_physical_range_is_one_line(tmp_path: Path, old, new, where, words) -> None:
    path = variant(EXAMPLE, tmp_path, old, new)
    assert_one_line_error(first_error(load_station, path), path, where, words)


def test_the_shipped_ramps_are_inside_the_bounds() -> None:
    rails = load_station(EXAMPLE).rails
    assert all(rail.abs_max_v / rail.ramp_rate_v_per_s <= 30 for rail in rails.values())
