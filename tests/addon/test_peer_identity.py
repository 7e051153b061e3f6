"""Hostile peers and broken links against the real gateway process (issue 11 item 3).

Retained command messages are never executed; a broker user name other than the gateway id is
refused at start; TLS failures are logged with their reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from heatbalance_gateway.register_map import load_profile

from devtools.broker import make_tls
from devtools.gateway_proc import ADDON, GatewayProcess, plain_broker, until

from .conftest import PASSWORDS
from .modbus_sim import Behaviour, SimServer, sim_device

VALVE = load_profile("electric_valve")
VALUES = {"position_setpoint": 40.0, "position_feedback": 40.0, "supply_temperature": 70.0}


def _bus(port: int) -> list[dict[str, Any]]:
    device = {"name": "valve-1", "device_id": 1, "profile": "electric_valve", "poll_interval": 0.2}
    return [
        {"name": "line1", "type": "tcp", "host": "127.0.0.1", "port": port, "devices": [device]}
    ]


def _publish(port: int, topic: str, payload: str, retain: bool) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


async def test_retained_command_is_not_executed(broker: Any, tmp_path: Path) -> None:
    behaviour = Behaviour()
    command = {"request_id": "r-old", "device": "valve-1", "point": "position_setpoint"}
    _publish(broker.port, "heatbalance/gw/gw1/cmd", json.dumps({**command, "value": 10}), True)
    _publish(broker.port, "heatbalance/gw/gw1/dev/valve-1/position_setpoint/set", "11", True)
    async with SimServer([sim_device(1, VALVE, VALUES, behaviour)]) as server:
        config = {
            "gateway_id": "gw1",
            "data_dir": str(tmp_path / "data"),
            "mqtt": {"main": plain_broker(broker.port)},
            "buses": _bus(server.port),
        }
        gateway = GatewayProcess(tmp_path / "gw", config)
        gateway.start()
        try:
            # the broker's SUBACK, not the connection: a command published in between is
            # lost (clean session), which made this test flaky under load
            await until(gateway.subscribed, "gateway subscribed")
            fresh = {**command, "request_id": "r-new", "value": 55}
            _publish(broker.port, "heatbalance/gw/gw1/cmd", json.dumps(fresh), False)
            await until(lambda: behaviour.writes, "the fresh command written")
        finally:
            assert gateway.stop() == 0
    log = gateway.log.read_text()
    assert behaviour.writes == [(0, [550])]  # only the fresh one, never the retained two
    assert log.count("ignored retained message") == 2


def test_username_other_than_the_gateway_id_refuses_to_start(tmp_path: Path) -> None:
    config = {"gateway_id": "gw1", "mqtt": {"main": plain_broker(1883, gateway="gw2")}}
    config["mqtt"]["main"]["password"] = "pw-gw2-long"
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    refused = subprocess.run(
        [sys.executable, "-m", "heatbalance_gateway", "--config", str(path)],
        cwd=ADDON,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "mqtt.main.username: must be the gateway id 'gw1'" in refused.stderr


async def test_tls_failure_is_logged_with_its_reason(secure_broker: Any, tmp_path: Path) -> None:
    other = make_tls(tmp_path / "other-ca", ca_name="someone else")
    config = {
        "gateway_id": "gw1",
        "data_dir": str(tmp_path / "data"),
        "mqtt": {
            "main": {
                "host": "127.0.0.1",
                "port": secure_broker.port,
                "username": "gw1",
                "password": PASSWORDS["gw1"],
                "tls": {"ca_file": str(other.ca)},  # not the CA that signed the broker
            }
        },
    }
    gateway = GatewayProcess(tmp_path / "gw", config)
    gateway.start()
    try:
        await until(lambda: b"connection failed" in gateway.log.read_bytes(), "failure logged")
    finally:
        assert gateway.stop() == 0
    log = gateway.log.read_text()
    assert "main broker 127.0.0.1" in log
    assert "SSLCertVerificationError" in log
    assert "certificate verify failed" in log
