"""A TCP proxy that a test can stop and restart, to take a database away and bring it back.

`Proxy` sits in front of a database server: `stop` cuts every connection and stops listening,
as a server that went away; `start` listens again on the same port, as the server coming back.
`freeze` keeps every connection open, and accepts new ones, but forwards nothing, as a server
(or a network path) that hangs: TCP still acknowledges, so only a client-side timeout notices;
`thaw` delivers what was held and forwards again. `free_port` is a local port nothing listens
on, for a server that is not there at all.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    """A local port that nothing listens on, for now: another process may take it before the
    caller binds it (`live_server` starts again then), so it suits a server meant to be absent
    best."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proxy:
    """A TCP proxy in front of a database server, to cut and bring back on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._sockets.append(listener)
        self._running.set()
        self._flowing.set()
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        """Stop listening and cut every connection, as a server that went away."""
        self._running.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _cut(sock)
        for thread in self._threads:
            thread.join(5)
        self._threads = []
        for sock in sockets:
            sock.close()

    def freeze(self) -> None:
        """Forward nothing, either way, until `thaw`: every byte received meanwhile is held."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Deliver what was held, and forward again."""
        self._flowing.set()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while not self._flowing.wait(0.05):
                    if not self._running.is_set():
                        return  # stopped while frozen: `stop` cuts the sockets
                sink.sendall(data)
        except OSError:
            pass
        _cut(source)
        _cut(sink)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already cut
        sock.shutdown(socket.SHUT_RDWR)
