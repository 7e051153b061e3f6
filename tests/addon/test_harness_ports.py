"""The test harness's servers end up on a port they hold (issue 10 g).

A port picked free and bound later by another process can be taken in between by a suite
running beside (``Errno 98``; seen in bench_product). The broker and the private PostgreSQL
server then start again on a fresh port; a port someone else holds is never mistaken for
theirs. (The virtual plant and the Modbus test server bind port 0 themselves:
``test_virtual_plant.py``.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from devtools import broker as broker_module
from devtools.broker import Mosquitto
from tests.archive import postgres


@pytest.fixture
def taken() -> Iterator[socket.socket]:
    """A loopback port someone else listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def _mqtt_connects(port: int) -> bool:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        return client.connect("127.0.0.1", port, keepalive=5) == mqtt.MQTT_ERR_SUCCESS and (
            client.loop(timeout=2.0) == mqtt.MQTT_ERR_SUCCESS and client.is_connected()
        )
    finally:
        client.disconnect()


def test_broker_whose_port_was_taken_starts_on_a_fresh_one(
    tmp_path: Path, taken: socket.socket
) -> None:
    instance = Mosquitto(tmp_path / "broker", port=taken.getsockname()[1])
    instance.start()
    try:
        assert instance.port != taken.getsockname()[1]
        assert broker_module._listens(instance.process.pid, instance.port)  # type: ignore[union-attr]
        assert _mqtt_connects(instance.port)
        first = instance.port
        instance.kill()
        instance.start()  # a restart keeps the port its clients know
        assert instance.port == first
        assert _mqtt_connects(instance.port)
    finally:
        instance.stop()


@pytest.mark.skipif(not postgres.available(), reason="PostgreSQL binaries not installed")
def test_postgres_whose_port_was_taken_starts_on_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch, taken: socket.socket
) -> None:
    picks = iter([taken.getsockname()[1]])
    fresh = postgres._free_port
    monkeypatch.setattr(postgres, "_free_port", lambda: next(picks, None) or fresh())
    with postgres.postgres_server() as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert port != taken.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
