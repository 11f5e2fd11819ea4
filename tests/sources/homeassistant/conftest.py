"""Fixtures: a fake Home Assistant on a real local socket, and sockets that misbehave."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest
from fake_ha import FakeHomeAssistant, free_port
from stateful_fake_ha import StatefulFakeHomeAssistant, good_house

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def fake_ha() -> Iterator[FakeHomeAssistant]:
    server = FakeHomeAssistant()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server() -> Iterator[StatefulFakeHomeAssistant]:
    """A fake Home Assistant whose states describe a well-configured house."""
    fake = StatefulFakeHomeAssistant()
    good_house(fake)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def silent_ha() -> Iterator[FakeHomeAssistant]:
    server = FakeHomeAssistant(silent=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A URL whose socket accepts connections (kernel backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def refused_url() -> str:
    """A URL where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}"
