"""Fixtures for the instrument tests: a real TCP SCPI server with fault injection, sim managers."""

from __future__ import annotations

import shutil
import socket
import socketserver
import threading
import time
from collections import deque
from pathlib import Path

import pytest
import pyvisa

SIM_DIR = Path(__file__).resolve().parents[2] / "instruments" / "sim"


class FaultyScpiServer:
    """A line-based SCPI instrument on 127.0.0.1 that can misbehave on request.

    Settings `HEADER value` are stored and answered by `HEADER?`; `SYST:ERR?` pops the error
    queue. Faults: `errors_after[header]` queues an error after a setting with that header,
    `delay_once[command]` answers that query late once, `drop_on` closes the connection when a
    command arrives, `drop_after` closes it right after answering, `refuse_after_drop` also
    stops listening so that reconnecting fails.
    """

    def __init__(self, idn: str = "Acme Instruments,X1000,SN0001,1.0") -> None:
        self.idn = idn
        self.values: dict[str, str] = {}
        self.errors_after: dict[str, tuple[int, str]] = {}
        self.delay_once: dict[str, float] = {}
        self.drop_on: set[str] = set()
        self.drop_after: set[str] = set()
        self.refuse_after_drop = False
        self.received: list[str] = []
        self.connections = 0
        self._errors: deque[tuple[int, str]] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.resource = f"TCPIP0::127.0.0.1::{self.port}::SOCKET"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._listening = True

    def count(self, command: str) -> int:
        with self._lock:
            return self.received.count(command)

    def stop_listening(self) -> None:
        if self._listening:
            self._listening = False
            self._server.shutdown()
            self._server.server_close()

    # --- called from connection threads ---

    def handle(self, line: str) -> tuple[str | None, bool]:
        """The answer to one command (None for none) and whether to drop the connection."""
        with self._lock:
            self.received.append(line)
            if line in self.drop_on:
                self.drop_on.discard(line)
                return None, True
            delay = self.delay_once.pop(line, 0.0)
            answer = self._answer(line)
            drop = line in self.drop_after
            self.drop_after.discard(line)
        if delay:
            time.sleep(delay)  # the instrument being slow is the fault under test
        return answer, drop

    def _answer(self, line: str) -> str | None:
        header, _, argument = line.partition(" ")
        if header == "*IDN?":
            return self.idn
        if header == "SYST:ERR?":
            if not self._errors:
                return '+0,"No error"'
            code, text = self._errors.popleft()
            return f'{code:+d},"{text}"'
        if header.endswith("?"):
            return self.values.get(header[:-1], "0")
        self.values[header] = argument
        if header in self.errors_after:
            self._errors.append(self.errors_after[header])
        return None


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    owner: FaultyScpiServer


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        owner = self.server.owner  # type: ignore[attr-defined]
        with owner._lock:
            owner.connections += 1
        try:
            for raw in self.rfile:
                answer, drop = owner.handle(raw.decode().strip())
                if answer is not None:
                    self.wfile.write(answer.encode() + b"\n")
                if drop:
                    if owner.refuse_after_drop:
                        owner.stop_listening()
                    self.request.shutdown(socket.SHUT_RDWR)
                    return
        except OSError:
            return  # the client went away (e.g. it timed out and reconnected)


@pytest.fixture
def scpi_server():
    server = FaultyScpiServer()
    yield server
    server.stop_listening()


@pytest.fixture
def sim_manager(tmp_path):
    """`sim_manager("keysight_e36312a")`: a fresh pyvisa-sim manager on that instrument's YAML.

    pyvisa-sim keeps one device state per YAML path for the whole process, so each test gets
    its own copy of the file and starts from the instrument's power-on state.
    """
    managers: list[pyvisa.ResourceManager] = []

    def open_manager(driver: str) -> pyvisa.ResourceManager:
        copy = tmp_path / f"{driver}.yaml"
        shutil.copyfile(SIM_DIR / f"{driver}.yaml", copy)
        manager = pyvisa.ResourceManager(f"{copy}@sim")
        managers.append(manager)
        return manager

    yield open_manager
    for manager in managers:
        manager.close()
