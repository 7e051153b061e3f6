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
    from devtools.broker import Mosquitto

    instance = Mosquitto(tmp_path / "broker")
    instance.start()
    yield instance
    instance.stop()


# Documented in addon/DOCS.md ("Broker setup"): each gateway logs in with its gateway id as
# user name and may only write below its own topics; Home Assistant's user sees everything.
GATEWAY_ACL = """\
user homeassistant
topic readwrite heatbalance/#
topic readwrite homeassistant/#

pattern readwrite heatbalance/gw/%u/#
pattern write homeassistant/+/%u/#
pattern read homeassistant/status
"""
PASSWORDS = {"gw1": "gw1-Xq7-secret", "gw2": "gw2-Lp4-secret", "homeassistant": "ha-Zr8-secret"}


@pytest.fixture
def secure_broker(tmp_path):
    """mosquitto with TLS only, password file and the per-gateway ACL."""
    from devtools.broker import Mosquitto, make_tls

    tls = make_tls(tmp_path / "tls")
    instance = Mosquitto(tmp_path / "secure-broker", tls=tls, users=PASSWORDS, acl=GATEWAY_ACL)
    instance.start()
    yield instance
    instance.stop()
