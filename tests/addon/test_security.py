"""Transport security and topic isolation against a real mosquitto (§8.2.7, §5.1.3).

The broker runs the configuration DOCS.md documents: TLS listener only, password file, ACL with
``pattern`` rules on %u so a gateway can only write below ``heatbalance/gw/<its id>/``.
"""

from __future__ import annotations

import ssl
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from devtools.broker import make_tls

from .conftest import PASSWORDS


def connect(
    port: int, user: str | None, password: str | None, ca: Any = None, **tls: Any
) -> tuple[mqtt.Client, Any]:
    """Connect a v5 client; returns (client, CONNACK reason or the connect exception)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if user:
        client.username_pw_set(user, password)
    if ca is not None:
        client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED, **tls)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        outcome["reason"] = reason
        done.set()

    def on_disconnect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        outcome.setdefault("reason", reason)
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect("127.0.0.1", port, keepalive=10)
    except (OSError, ssl.SSLError) as err:
        return client, err
    client.loop_start()
    done.wait(10)
    return client, outcome.get("reason", "no answer")


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def test_plaintext_client_is_refused_by_tls_listener(secure_broker) -> None:
    client, reason = connect(secure_broker.port, "gw1", PASSWORDS["gw1"])
    accepted = hasattr(reason, "is_failure") and not reason.is_failure
    close(client)
    assert not accepted, reason


def test_broker_with_unknown_ca_is_refused_by_the_client(secure_broker, tmp_path) -> None:
    other = make_tls(tmp_path / "other-ca", ca_name="someone else")
    client, reason = connect(secure_broker.port, "gw1", PASSWORDS["gw1"], ca=other.ca)
    close(client)
    assert isinstance(reason, ssl.SSLCertVerificationError)


def test_wrong_credentials_are_refused(secure_broker) -> None:
    for user, password in (("gw1", "wrong-password"), ("nobody", "whatever-pass"), (None, None)):
        client, reason = connect(secure_broker.port, user, password, ca=secure_broker.tls.ca)
        close(client)
        assert hasattr(reason, "is_failure"), (user, reason)
        assert reason.is_failure, (user, reason)
    client, reason = connect(secure_broker.port, "gw1", PASSWORDS["gw1"], ca=secure_broker.tls.ca)
    close(client)
    assert not reason.is_failure


def test_a_gateway_cannot_publish_into_another_gateways_topics(secure_broker) -> None:
    ca = secure_broker.tls.ca
    seen: list[str] = []
    ha, reason = connect(secure_broker.port, "homeassistant", PASSWORDS["homeassistant"], ca=ca)
    assert not reason.is_failure
    ha.on_message = lambda _c, _u, m: seen.append(m.topic)
    ha.subscribe([("heatbalance/#", 1), ("homeassistant/#", 1)])
    gw2, reason = connect(secure_broker.port, "gw2", PASSWORDS["gw2"], ca=ca)
    assert not reason.is_failure
    time.sleep(0.5)  # subscription in place
    attempts = [
        "heatbalance/gw/gw1/data",
        "heatbalance/gw/gw1/cmd/result",
        "heatbalance/gw/gw1/dev/valve-1/state",
        "homeassistant/sensor/gw1/spoof/config",
        "heatbalance/gw/gw2/data",  # its own: allowed, proves the path works
        "homeassistant/sensor/gw2/own/config",
    ]
    for topic in attempts:
        gw2.publish(topic, b"{}", qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(seen) < 2:
        time.sleep(0.05)
    time.sleep(0.5)  # give a wrongly delivered message the chance to show up
    close(gw2)
    close(ha)
    assert sorted(seen) == ["heatbalance/gw/gw2/data", "homeassistant/sensor/gw2/own/config"]
