"""The shared SCPI parsing: mnemonics, channel lists, the error queue."""

from __future__ import annotations

import pytest

from bringup.simlab.scpi_instrument import ErrorQueue
from bringup.simlab.scpi_parse import CommandTable, ScpiError, parse_channel_list, split_params


def _table() -> CommandTable:
    table = CommandTable()
    table.add("[SOURce#]:VOLTage:PROTection:[LEVel]", lambda cmd: "prot")
    table.add("[SOURce#]:VOLTage:[LEVel]?", lambda cmd: "volt?")
    return table


@pytest.mark.parametrize(
    "header", ["VOLT:PROT", "voltage:protection", ":SOUR:VOLT:PROT:LEV", "Sour2:Volt:Prot"]
)
def test_short_and_long_forms_match_case_insensitively(header: str) -> None:
    found = _table().lookup(header)
    assert found is not None and found[0](None) == "prot"


@pytest.mark.parametrize("header", ["VOLTA:PROT", "VOL:PROT", "VOLT:PROT?", "CURR:PROT"])
def test_partial_mnemonics_and_wrong_query_form_do_not_match(header: str) -> None:
    assert _table().lookup(header) is None


def test_numeric_suffix_is_captured() -> None:
    found = _table().lookup(":SOUR3:VOLT?")
    assert found is not None and found[1][0] == 3


@pytest.mark.parametrize(
    ("text", "channels"),
    [("(@1)", [1]), ("(@1,2)", [1, 2]), ("(@1:3)", [1, 2, 3]), ("(@1, 2:3)", [1, 2, 3])],
)
def test_channel_lists(text: str, channels: list[int]) -> None:
    assert parse_channel_list(text, range(1, 4)) == channels


def test_channel_outside_the_instrument_is_data_out_of_range() -> None:
    with pytest.raises(ScpiError) as caught:
        parse_channel_list("(@4)", range(1, 4))
    assert caught.value.code == -222


def test_parameters_split_outside_parentheses_only() -> None:
    assert split_params("0.8,(@1,2)") == ("0.8", "(@1,2)")


def test_error_queue_keeps_twenty_and_marks_overflow() -> None:
    queue = ErrorQueue()
    for _ in range(25):
        queue.push(-222)
    entries = [queue.pop() for _ in range(21)]
    assert entries[:19] == ['-222,"Data out of range"'] * 19
    assert entries[19] == '-350,"Queue overflow"'
    assert entries[20] == '+0,"No error"'
