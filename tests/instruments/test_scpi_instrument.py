"""ScpiInstrument against a real TCP SCPI server (pyvisa-py), with injected faults."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from polling import wait_until as wait_for

from instruments.errors import (
    ConnectionLost,
    InstrumentError,
    InstrumentTimeout,
    InstrumentUnreachable,
    ScpiError,
    UnexpectedResponse,
    WrongInstrumentError,
)
from instruments.power.keysight_e36312a import KeysightE36312A
from instruments.scpi import Identity, ScpiInstrument, format_number


def open_instrument(server, timeout_s: float = 0.5, name: str = "psu_core") -> ScpiInstrument:
    return ScpiInstrument(server.resource, timeout_s=timeout_s, name=name)


def test_open_reads_identity(scpi_server):
    with open_instrument(scpi_server) as instrument:
        assert instrument.identity == Identity("Acme Instruments", "X1000", "SN0001", "1.0")
        assert instrument.name == f"psu_core ({scpi_server.resource})"


def test_wrong_instrument_is_refused_naming_resource_expected_and_answer(scpi_server):
    scpi_server.idn = "RIGOL TECHNOLOGIES,DP832,DP8C000000001,00.01.14"
    with pytest.raises(WrongInstrumentError) as caught:
        KeysightE36312A(scpi_server.resource, timeout_s=0.5)
    message = str(caught.value)
    assert scpi_server.resource in message
    assert "E36312A" in message
    assert "RIGOL TECHNOLOGIES,DP832" in message
    assert caught.value.command == "*IDN?"


def test_malformed_identity_is_refused(scpi_server):
    scpi_server.idn = "hello"
    with pytest.raises(WrongInstrumentError, match="'hello'"):
        KeysightE36312A(scpi_server.resource, timeout_s=0.5)


def test_nothing_listening_is_unreachable_naming_the_resource():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resource = f"TCPIP0::127.0.0.1::{port}::SOCKET"
    with pytest.raises(InstrumentUnreachable) as caught:
        ScpiInstrument(resource, timeout_s=0.5, name="dmm")
    assert f"dmm ({resource})" in str(caught.value)


def test_setting_then_query_round_trip(scpi_server):
    with open_instrument(scpi_server) as instrument:
        instrument.write("VOLT 1.25")
        assert instrument.query_float("VOLT?") == 1.25


def test_scpi_error_after_setting_names_code_text_command_and_instrument(scpi_server):
    scpi_server.errors_after["VOLT"] = (-222, "Data out of range")
    with open_instrument(scpi_server) as instrument, pytest.raises(ScpiError) as caught:
        instrument.write("VOLT 99")
    error = caught.value
    assert (error.code, error.text, error.command) == (-222, "Data out of range", "VOLT 99")
    assert error.instrument == f"psu_core ({scpi_server.resource})"
    assert "psu_core" in str(error) and "'VOLT 99'" in str(error) and "-222" in str(error)


def test_error_queue_is_drained_so_the_next_command_is_not_blamed(scpi_server):
    scpi_server.errors_after["VOLT"] = (-222, "Data out of range")
    with open_instrument(scpi_server) as instrument:
        with pytest.raises(ScpiError):
            instrument.write("VOLT 99")
        instrument.write("CURR 0.5")


def test_several_queued_errors_raise_the_oldest_and_mention_the_rest(scpi_server):
    with open_instrument(scpi_server) as instrument:
        scpi_server._errors.extend([(-113, "Undefined header"), (-222, "Data out of range")])
        with pytest.raises(ScpiError) as caught:
            instrument.write("OUTP ON")
        assert caught.value.code == -113
        assert "-222" in caught.value.text
        instrument.write("OUTP OFF")  # queue now empty: no error


def test_queries_do_not_drain_the_error_queue(scpi_server):
    with open_instrument(scpi_server) as instrument:
        for _ in range(5):
            instrument.query("MEAS:VOLT?")
    assert scpi_server.count("SYST:ERR?") == 0


def test_timeout_names_instrument_and_command(scpi_server):
    scpi_server.values["MEAS:VOLT"] = "1.5"
    scpi_server.delay_once["MEAS:VOLT?"] = 1.0
    with open_instrument(scpi_server, timeout_s=0.3) as instrument:
        with pytest.raises(InstrumentTimeout) as caught:
            instrument.query("MEAS:VOLT?")
        assert caught.value.command == "MEAS:VOLT?"
        assert "psu_core" in str(caught.value) and "'MEAS:VOLT?'" in str(caught.value)


def test_late_answer_after_timeout_is_not_read_as_the_next_answer(scpi_server):
    scpi_server.values["MEAS:VOLT"] = "1.5"
    scpi_server.values["MEAS:CURR"] = "0.25"
    scpi_server.delay_once["MEAS:VOLT?"] = 0.5
    with open_instrument(scpi_server, timeout_s=0.2) as instrument:
        with pytest.raises(InstrumentTimeout):
            instrument.query("MEAS:VOLT?")
        # The late "1.5" would arrive now on the old connection; ours must be "0.25".
        assert instrument.query_float("MEAS:CURR?") == 0.25
        assert instrument.query_float("MEAS:VOLT?") == 1.5


def test_connection_dropped_between_commands_reconnects_and_retries(scpi_server):
    scpi_server.values["MEAS:VOLT"] = "0.8"
    scpi_server.drop_after.add("VOLT?")
    with open_instrument(scpi_server) as instrument:
        instrument.query("VOLT?")  # answered, then the server closes the connection
        wait_for(lambda: _peer_gone(instrument))
        started = time.monotonic()
        assert instrument.query_float("MEAS:VOLT?") == 0.8
        assert time.monotonic() - started < instrument.timeout_s  # detected, not timed out
    assert scpi_server.connections == 2


def test_connection_dropped_during_a_query_reconnects_and_retries(scpi_server):
    scpi_server.values["MEAS:VOLT"] = "0.8"
    scpi_server.drop_on.add("MEAS:VOLT?")
    with open_instrument(scpi_server, timeout_s=0.3) as instrument:
        assert instrument.query_float("MEAS:VOLT?") == 0.8
    assert scpi_server.count("MEAS:VOLT?") == 2
    assert scpi_server.connections == 2


def test_setting_lost_to_a_dropped_connection_is_sent_again(scpi_server):
    scpi_server.drop_on.add("VOLT 1.5")
    with open_instrument(scpi_server, timeout_s=0.3) as instrument:
        instrument.write("VOLT 1.5")
        assert instrument.query_float("VOLT?") == 1.5
    assert scpi_server.count("VOLT 1.5") == 2


def test_reconnect_that_fails_raises_connection_lost_naming_instrument_and_command(scpi_server):
    scpi_server.drop_on.add("MEAS:VOLT?")
    scpi_server.refuse_after_drop = True
    instrument = open_instrument(scpi_server, timeout_s=0.3)
    with instrument, pytest.raises(ConnectionLost) as caught:
        instrument.query("MEAS:VOLT?")
    assert caught.value.command == "MEAS:VOLT?"
    assert "psu_core" in str(caught.value) and "'MEAS:VOLT?'" in str(caught.value)


def test_instrument_that_drops_again_after_reconnect_raises_connection_lost(scpi_server):
    scpi_server.drop_after.add("*IDN?")  # every connection dies right after identifying
    with open_instrument(scpi_server) as instrument:
        scpi_server.drop_after.add("*IDN?")
        wait_for(lambda: _peer_gone(instrument))
        with pytest.raises(ConnectionLost, match="'VOLT\\?'"):
            instrument.query("VOLT?")


def test_unparsable_answers_raise_unexpected_response(scpi_server):
    scpi_server.values["MEAS:VOLT"] = "OVERLOAD"
    with open_instrument(scpi_server) as instrument:
        with pytest.raises(UnexpectedResponse, match="'OVERLOAD'"):
            instrument.query_float("MEAS:VOLT?")
        with pytest.raises(UnexpectedResponse, match="'OVERLOAD'"):
            instrument.query_bool("MEAS:VOLT?")


@pytest.mark.parametrize(("answer", "expected"), [("1", True), ("OFF", False), ("YES", True)])
def test_boolean_answers_in_every_instrument_dialect(scpi_server, answer, expected):
    scpi_server.values["OUTP"] = answer
    with open_instrument(scpi_server) as instrument:
        assert instrument.query_bool("OUTP?") is expected


def test_transaction_keeps_select_and_set_together_across_threads(scpi_server):
    with open_instrument(scpi_server, timeout_s=2.0) as instrument:

        def program(channel: int) -> None:
            for _ in range(25):
                with instrument.transaction():
                    instrument.write(f"INST:NSEL {channel}")
                    instrument.write(f"VOLT {channel}")

        threads = [threading.Thread(target=program, args=(n,)) for n in (1, 2, 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    settings = [c for c in scpi_server.received if c.startswith(("INST:NSEL", "VOLT"))]
    assert len(settings) == 150
    for select, setting in zip(settings[::2], settings[1::2], strict=True):
        assert select.split()[1] == setting.split()[1]


def test_use_after_close_is_an_instrument_error(scpi_server):
    instrument = open_instrument(scpi_server)
    instrument.close()
    with pytest.raises(InstrumentError, match="after close"):
        instrument.query("VOLT?")


def test_numbers_are_sent_exactly():
    assert format_number(0.8) == "0.8"
    assert format_number(25e6) == "25000000.0"
    assert format_number(-40) == "-40.0"
    with pytest.raises(ValueError, match="finite"):
        format_number(float("nan"))


def _peer_gone(instrument: ScpiInstrument) -> bool:
    from instruments.scpi import _peer_closed

    return instrument._socket is not None and _peer_closed(instrument._socket)
