"""The lifespan (`server/lifecycle.py`): observers and mounted apps started in order and
stopped in reverse; a failing start stops what had started."""

from __future__ import annotations

import asyncio

import pytest

from server.app import App, ContractError
from server.types import Message
from tests.client import Client
from tests.composition import LifespanApp, handlers_on_path, make_app


@pytest.fixture(autouse=True)
def _handlers_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    handlers_on_path(monkeypatch)


class Observer:
    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def start(self) -> None:
        if self.fail:
            raise OSError("no pool")
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        await asyncio.sleep(0)
        self.log.append(f"stop {self.name}")


def lifespan(app: App) -> list[str]:
    """Run the app's lifespan, startup then shutdown; the messages it sent back."""
    answers: list[str] = []
    inbox = [{"type": "lifespan.shutdown"}, {"type": "lifespan.startup"}]

    async def receive() -> Message:
        return inbox.pop()

    async def send(message: Message) -> None:
        answers.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    return answers


def test_observers_start_in_order_and_stop_in_reverse_with_the_mounted_apps() -> None:
    log: list[str] = []
    app = make_app(observers=[Observer("pool", log), Observer("client", log)],
                   mounts={"/legacy": LifespanApp(log)})
    assert lifespan(app) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert log == ["start pool", "start client", "lifespan.startup",
                   "lifespan.shutdown", "stop client", "stop pool"]


def test_a_failing_start_stops_the_server_and_what_had_started() -> None:
    log: list[str] = []
    app = make_app(observers=[Observer("pool", log), Observer("client", log, fail=True)])
    assert lifespan(app) == ["lifespan.startup.failed"]
    assert log == ["start pool", "stop pool"]


def test_an_observer_needs_start_or_stop() -> None:
    with pytest.raises(ContractError) as caught:
        make_app(observers=[object()])
    assert "has neither start() nor stop()" in caught.value.problems[0]


def test_the_test_client_serves_between_the_start_up_and_the_shutdown() -> None:
    log: list[str] = []
    app = make_app(observers=[Observer("pool", log)])
    client = Client(app)
    with pytest.raises(RuntimeError, match="use it as `with Client"):
        client.get("/items")
    with client:
        assert log == ["start pool"]
        assert client.get("/items").status_code == 200
        assert client.get("/items").status_code == 200  # the same event loop, still running
    assert log == ["start pool", "stop pool"]
    failing = make_app(observers=[Observer("client", log, fail=True)])
    with pytest.raises(RuntimeError, match="the observer Observer failed to start: OSError"):
        Client(failing).__enter__()
