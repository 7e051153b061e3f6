"""Fixtures for the gateway add-on tests.

The Home Assistant test plugin blocks ``socket.socket`` for every test; these tests talk to a
real pymodbus server and a real mosquitto on 127.0.0.1, so sockets are enabled here (the
plugin's host allow-list still limits connections to 127.0.0.1).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """Allow sockets (127.0.0.1 only) for every add-on test."""


@pytest.fixture
def broker(tmp_path):
    """A plaintext anonymous mosquitto on a free 127.0.0.1 port (stopped after the test)."""
    from .broker import Mosquitto

    instance = Mosquitto(tmp_path / "broker")
    instance.start()
    yield instance
    instance.stop()
