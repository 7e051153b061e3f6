"""The gateway process over TLS with per-gateway credentials, against a real pymodbus server.

Home Assistant's side is a paho client logged in as the ``homeassistant`` user of the documented
ACL. Checks discovery (stable unique ids, one HA device per field device, valve with min/max),
live state, availability, commands with request ids (a repeat executes once), HA ``set`` topics,
refusal outside min/max, and re-discovery on ``homeassistant/status: online``.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from heatbalance_gateway.register_map import load_profile

from devtools.gateway_proc import GatewayProcess, until

from .conftest import PASSWORDS
from .modbus_sim import Behaviour, SimServer, sim_device

VALVE = load_profile("electric_valve")
METER = load_profile("heat_meter")


class HaClient:
    """Records every message under heatbalance/# and homeassistant/#."""

    def __init__(self, port: int, ca: Any) -> None:
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set("homeassistant", PASSWORDS["homeassistant"])
        self.client.tls_set(ca_certs=str(ca))
        self.client.on_connect = lambda c, *_: c.subscribe(
            [("heatbalance/#", 1), ("homeassistant/#", 1)]
        )
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages[message.topic].append(bytes(message.payload))

    def get(self, topic: str) -> list[bytes]:
        with self.lock:
            return list(self.messages.get(topic, []))

    def json(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.get(topic)]

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.slow
async def test_gateway_over_tls_discovery_state_and_commands(secure_broker, tmp_path) -> None:
    valve_b, meter_b = Behaviour(), Behaviour()
    values = {
        "position_setpoint": 40.0,
        "position_feedback": 39.5,
        "supply_temperature": 70.25,
        "return_temperature": 45.5,
    }
    meter_values = {
        "flow": 2.5,
        "power": 61.0,
        "energy": 1_234_567.0,  # kWh: the register counts 0.001 MWh
        "supply_temperature": 70.1,
        "return_temperature": 45.2,
    }
    devices = [sim_device(1, VALVE, values, valve_b), sim_device(2, METER, meter_values, meter_b)]
    tls = secure_broker.tls
    config = {
        "gateway_id": "gw1",
        "data_dir": str(tmp_path / "gw" / "data"),
        "stats_interval": 1.0,
        "mqtt": {
            "main": {
                "host": "127.0.0.1",
                "port": secure_broker.port,
                "username": "gw1",
                "password": PASSWORDS["gw1"],
                "tls": {"ca_file": str(tls.ca)},
            }
        },
    }
    ha = HaClient(secure_broker.port, tls.ca)
    async with SimServer(devices) as server:
        config["buses"] = [
            {
                "name": "line1",
                "type": "tcp",
                "host": "127.0.0.1",
                "port": server.port,
                "timeout": 0.5,
                "devices": [
                    {
                        "name": "valve-1",
                        "device_id": 1,
                        "profile": "electric_valve",
                        "poll_interval": 0.5,
                        "title": "Building 3 valve",
                    },
                    {
                        "name": "meter-1",
                        "device_id": 2,
                        "profile": "heat_meter",
                        "poll_interval": 0.5,
                    },
                ],
            }
        ]
        gateway = GatewayProcess(tmp_path / "gw", config)
        gateway.start()
        try:
            root = "heatbalance/gw/gw1"
            valve_cfg = "homeassistant/valve/gw1/valve-1_position_setpoint/config"
            await until(lambda: ha.get(valve_cfg), "valve discovery")
            await until(lambda: ha.get(f"{root}/dev/meter-1/state"), "meter state")
            await until(
                lambda: ha.get(f"{root}/status") and ha.get(f"{root}/status")[-1] == b"online",
                "gateway online",
            )
            assert ha.get(f"{root}/dev/valve-1/availability")[-1] == b"online"

            valve = ha.json(valve_cfg)[-1]
            assert valve["unique_id"] == "heatbalance_gw1_valve_1_position_setpoint"
            assert valve["command_topic"] == f"{root}/dev/valve-1/position_setpoint/set"
            assert (valve["position_closed"], valve["position_open"]) == (0, 100)
            assert isinstance(valve["position_open"], int)  # HA 2025.4's schema: int only
            assert valve["device"]["identifiers"] == ["heatbalance_gw1_valve_1"]
            assert valve["device"]["name"] == "Building 3 valve"
            energy = ha.json("homeassistant/sensor/gw1/meter-1_energy/config")[-1]
            assert energy["device_class"] == "energy"
            assert energy["state_class"] == "total_increasing"
            assert energy["unit_of_measurement"] == "kWh"  # every energy counter in kWh
            assert energy["device"]["identifiers"] == ["heatbalance_gw1_meter_1"]
            state = ha.json(f"{root}/dev/meter-1/state")[-1]
            assert state["energy"] == pytest.approx(1_234_567.0)
            assert state["flow"] == pytest.approx(2.5)

            # Command with a request id, then the same id again: executes once.
            command = {
                "request_id": "r-100",
                "device": "valve-1",
                "point": "position_setpoint",
                "value": 55.5,
            }
            ha.publish(f"{root}/cmd", json.dumps(command))
            await until(lambda: ha.get(f"{root}/cmd/result"), "command result")
            first = ha.json(f"{root}/cmd/result")[0]
            assert first["status"] == "confirmed"
            assert first["readback"] == pytest.approx(55.5)
            ha.publish(f"{root}/cmd", json.dumps(command))
            await until(lambda: len(ha.get(f"{root}/cmd/result")) >= 2, "duplicate reply")
            again = ha.json(f"{root}/cmd/result")[1]
            assert again["duplicate"] is True
            assert again["status"] == "confirmed"
            assert valve_b.writes == [(0, [555])]

            # Outside min/max: refused, nothing written.
            ha.publish(f"{root}/cmd", json.dumps({**command, "request_id": "r-101", "value": 250}))
            ha.publish(f"{root}/cmd", b"not json at all".decode())
            await until(lambda: len(ha.get(f"{root}/cmd/result")) >= 4, "refusals")
            statuses = [r["status"] for r in ha.json(f"{root}/cmd/result")[2:]]
            assert sorted(statuses) == ["invalid", "refused"]
            assert valve_b.writes == [(0, [555])]

            # HA entity command topic: CLOSE means the point's minimum.
            ha.publish(f"{root}/dev/valve-1/position_setpoint/set", "CLOSE")
            await until(lambda: len(valve_b.writes) == 2, "set topic write")
            assert valve_b.writes[-1] == (0, [0])
            # outside min/max on a set topic: refused, and the refusal is reported (issue 11)
            results = len(ha.get(f"{root}/cmd/result"))
            ha.publish(f"{root}/dev/valve-1/position_setpoint/set", "250")
            await until(lambda: len(ha.get(f"{root}/cmd/result")) > results, "set refusal")
            refusal = ha.json(f"{root}/cmd/result")[-1]
            assert (refusal["status"], refusal["device"]) == ("refused", "valve-1")
            assert len(valve_b.writes) == 2

            # HA restarts: discovery is published again.
            count = len(ha.get(valve_cfg))
            ha.publish("homeassistant/status", "online")
            await until(lambda: len(ha.get(valve_cfg)) > count, "re-discovery")

            # Statistics are published and discovered.
            await until(lambda: ha.get(f"{root}/stats"), "stats")
            stats = ha.json(f"{root}/stats")[-1]
            assert stats["buses"]["line1"]["first_try_rate"] == 100.0
            assert stats["devices"]["valve-1"]["available"] is True
            assert ha.get("homeassistant/binary_sensor/gw1/line1_comm_alarm/config")
            assert gateway.stop() == 0
            # Clean stop leaves the retained gateway status offline.
            await until(lambda: ha.get(f"{root}/status")[-1] == b"offline", "offline on stop")
        finally:
            gateway.kill()
            ha.close()
