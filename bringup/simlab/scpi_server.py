"""A raw-socket SCPI server (port 5025 style) on a free loopback port for one instrument."""

from __future__ import annotations

import socket
import socketserver
import threading

from bringup.simlab.faults import InstrumentFaults
from bringup.simlab.scpi_instrument import ScpiInstrument

MAX_LINE_BYTES = 65536


class _Handler(socketserver.StreamRequestHandler):
    server: _TcpServer

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.request)

    def finish(self) -> None:
        self.server.untrack(self.request)
        try:
            super().finish()
        except OSError:
            pass  # the peer or drop_connection() already closed the socket

    def handle(self) -> None:
        owner = self.server.owner
        while not owner.stopping.is_set():
            try:
                raw = self.rfile.readline(MAX_LINE_BYTES)
            except OSError:
                return
            if not raw:
                return
            reply = owner.serve_line(raw.decode("ascii", errors="replace"))
            if reply is None:
                continue
            try:
                self.wfile.write(reply.encode("ascii", errors="replace") + b"\n")
            except OSError:
                return


class _TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = True

    def __init__(self, owner: ScpiServer) -> None:
        self.owner = owner
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, sock: socket.socket) -> None:
        with self._clients_lock:
            self._clients.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._clients_lock:
            self._clients.discard(sock)

    def drop_clients(self) -> None:
        with self._clients_lock:
            clients = list(self._clients)
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone


class ScpiServer:
    """Serves `instrument` on 127.0.0.1:<free port>; reach it as `resource` through pyvisa-py."""

    def __init__(self, name: str, instrument: ScpiInstrument, faults: InstrumentFaults) -> None:
        self.name = name
        self.instrument = instrument
        self.faults = faults
        self.stopping = threading.Event()
        self._server: _TcpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"simulated {self.name} is not started; call SimLab.start() first")
        return self._server.server_address[1]

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def start(self) -> None:
        self._server = _TcpServer(self)
        self.faults.attach_drop_hook(self._server.drop_clients)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"simlab-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self.stopping.set()
        self.faults.interrupt_delay()
        self._server.shutdown()
        self._server.drop_clients()
        self._server.server_close()  # joins the connection threads (block_on_close)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def serve_line(self, line: str) -> str | None:
        """One received line -> the reply to send, honouring the injected faults."""
        if self.faults.silent:
            return None
        self.faults.wait_delay()
        if self.stopping.is_set():
            return None
        reply = self.instrument.execute(line)
        if reply is None and line.strip() and "?" not in line:
            pending = self.faults.take_pending_error()
            if pending is not None:
                self.instrument.errors.push(*pending)
        return reply
