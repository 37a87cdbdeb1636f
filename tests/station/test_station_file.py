"""Every mistake a user can make in a station file is one line naming file, line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from file_errors import assert_one_line_error, first_error, variant

from bringup.station import DRIVER_ROLES, load_station
from bringup.yamlfile import ConfigError

EXAMPLE = Path(__file__).parents[2] / "runbooks" / "stations" / "simlab.yaml"


def test_example_station_is_valid() -> None:
    spec = load_station(EXAMPLE)
    assert spec.power_on_order == ["VDD_CORE", "VDD_SRAM", "VDD_IO"]
    assert spec.rails["VDD_CORE"].abs_max_v == 0.95
    assert spec.instruments["console"].address == "/dev/pts/9"


def test_driver_roles_match_the_instrument_registry() -> None:
    from instruments.registry import DRIVERS

    assert set(DRIVERS) == set(DRIVER_ROLES)


BAD_STATIONS = [
    # (what the user did, replace this, with this, a line containing this, words the message must hold)
    ("unknown driver", "driver: rigol_dp832", "driver: rigol_dp999", "rigol_dp999", ["unknown driver", "rigol_dp832"]),
    ("misspelled key", "nominal_v: 0.90", "nominal_volts: 0.90", "nominal_volts", ["unknown key 'nominal_volts'", "did you mean 'nominal_v'"]),
    ("nominal above maximum", "nominal_v: 1.80", "nominal_v: 2.10", "VDD_IO:", ["above abs_max_v"]),
    ("text for a number", "current_limit_a: 0.5", "current_limit_a: lots", "current_limit_a: lots", ["must be a number"]),
    ("negative current limit", "current_limit_a: 0.3", "current_limit_a: -0.3", "VDD_IO:", ["greater than 0"]),
    ("rail on an unknown supply", "supply: psu_io", "supply: psu_aux", "supply: psu_aux", ["not a power supply", "psu_core"]),
    ("rail on a meter", "supply: psu_io", "supply: dmm", "supply: dmm", ["not a power supply"]),
    ("channel the supply lacks", "channel: 2", "channel: 4", "channel: 4", ["channels 1..3"]),
    ("two rails on one channel", "channel: 2", "channel: 1", "VDD_SRAM:", ["already powers VDD_CORE"]),
    ("order names a missing rail", "[VDD_CORE, VDD_SRAM, VDD_IO]", "[VDD_CORE, VDD_SRAM, VDD_IO, VDD_PLL]", "power_on_order", ["VDD_PLL", "not a rail"]),
    ("order leaves a rail out", "[VDD_CORE, VDD_SRAM, VDD_IO]", "[VDD_CORE, VDD_IO]", "power_on_order", ["leaves out VDD_SRAM"]),
    ("order repeats a rail", "[VDD_CORE, VDD_SRAM, VDD_IO]", "[VDD_CORE, VDD_SRAM, VDD_IO, VDD_CORE]", "power_on_order", ["twice"]),
    ("meter that is a supply", "meter: dmm", "meter: psu_io", "meter: psu_io", ["not a multimeter"]),
    ("console without port", "port: /dev/pts/9, ", "", "console:", ["needs 'port'"]),
    ("supply without resource", '{driver: keysight_34465a, resource: "TCPIP0::127.0.0.1::50003::SOCKET"}', "{driver: keysight_34465a}", "dmm:", ["needs 'resource'"]),
    ("missing rails", "power_on_order:", "power_order:", "power_order", ["unknown key 'power_order'"]),
    ("duplicate rail", "  VDD_IO:   {", "  VDD_CORE: {", "VDD_CORE: {supply: psu_io", ["duplicate key 'VDD_CORE'"]),
    ("bad indentation", "  psu_io:   {driver", " psu_io:   {driver", "psu_io:   {driver", ["YAML syntax"]),
    ("clock from a supply", "source: refclk", "source: psu_io", "clock:", ["not a clock source"]),
    ("tolerance reaching the maximum", "tolerance_v: 0.04", "tolerance_v: 0.2", "VDD_IO:", ["reaches abs_max_v"]),
]


@pytest.mark.parametrize(("old", "new", "where", "words"), [case[1:] for case in BAD_STATIONS],
                         ids=[case[0] for case in BAD_STATIONS])
def test_bad_station_is_one_line_with_file_and_line(tmp_path: Path, old, new, where, words) -> None:
    path = variant(EXAMPLE, tmp_path, old, new)
    assert_one_line_error(first_error(load_station, path), path, where, words)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such station file"):
        load_station(tmp_path / "nope.yaml")
