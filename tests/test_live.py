"""The live-server helper itself: a port taken between `free_port` and the server's bind."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

import tests.live
from tests.live import live_server
from tests.proxy import free_port


def test_a_server_whose_port_was_taken_starts_again_on_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1], free_port()])
        monkeypatch.setattr(tests.live, "free_port", lambda: next(ports))
        with live_server(tmp_path) as server:
            assert server.port != taken.getsockname()[1]
            assert httpx.get(f"{server.url}/todos/count").json() == {"count": 0}
