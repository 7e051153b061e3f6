"""LoRaWAN devices through a network server's MQTT integration (ChirpStack v4 event topics).

A paho client stands in for ChirpStack on a real mosquitto: it publishes uplink events as
ChirpStack v4 does (``application/<id>/device/<devEui>/event/up``, decoded fields in
``object``); the in-process gateway maps them by profile into its outbox, and the integration's
protocol module (the test consumer) receives them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from heatbalance_gateway.config import ConfigError, parse_config
from heatbalance_gateway.gateway import Gateway
from heatbalance_gateway.lorawan import DOWNLINKS, LoraDevice, UplinkMapper, downlink_message

from devtools.gateway_proc import plain_broker, until
from devtools.mqtt_consumer import MqttConsumer

VALVE_EUI = "0004a30b001c2b3d"


def uplink(dev_eui: str, decoded: dict[str, Any]) -> bytes:
    """An uplink event as ChirpStack v4 publishes it (fields the gateway does not use cut)."""
    return json.dumps(
        {
            "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
            "time": "2026-12-04T19:00:00Z",
            "deviceInfo": {"applicationId": "7", "deviceName": "hh1", "devEui": dev_eui},
            "fPort": 2,
            "data": "AQID",
            "object": decoded,
        }
    ).encode()


def test_uplinks_map_by_profile_and_invalid_values_are_null() -> None:
    mapper = UplinkMapper({VALVE_EUI: LoraDevice("hh1-valve", "lorawan_household_valve")})
    reading = mapper.reading(uplink(VALVE_EUI.upper(), {"valve_position": 42, "battery": 87.5}))
    assert reading is not None
    assert reading.device == "hh1-valve"
    assert reading.values == {"position_feedback": 42.0, "battery": 87.5}
    bad = mapper.reading(uplink(VALVE_EUI, {"valve_position": 180, "battery": "low"}))
    assert bad is not None
    assert bad.values == {"position_feedback": None, "battery": None}
    assert mapper.devices[VALVE_EUI].invalid_values == 2
    assert mapper.reading(uplink("ffffffffffffffff", {"battery": 50})) is None
    assert mapper.reading(b"not json") is None


def test_lorawan_config_is_checked() -> None:
    base = {"gateway_id": "gw1", "mqtt": {"main": plain_broker(1883)}}
    lora = {"host": "ns.example", "application_id": "7", "devices": []}
    with pytest.raises(ConfigError, match=r"lorawan\.devices"):
        parse_config({**base, "lorawan": lora})
    device = {"name": "hh1-valve", "dev_eui": VALVE_EUI, "profile": "lorawan_household_valve"}
    with pytest.raises(ConfigError, match=r"lorawan\.host: plaintext"):
        parse_config({**base, "lorawan": {**lora, "devices": [device]}})
    twice = {**lora, "host": "127.0.0.1", "devices": [device, {**device, "name": "x"}]}
    with pytest.raises(ConfigError, match=r"lorawan\.devices\[1\]\.dev_eui"):
        parse_config({**base, "lorawan": twice})


def lorawan_gateway(tmp_path: Any, port: int) -> Any:
    """Gateway gw1 with one household valve on ChirpStack application 7, all on ``port``."""
    device = {"name": "hh1-valve", "dev_eui": VALVE_EUI, "profile": "lorawan_household_valve"}
    lorawan = {"host": "127.0.0.1", "port": port, "application_id": "7", "devices": [device]}
    return parse_config(
        {
            "gateway_id": "gw1",
            "data_dir": str(tmp_path),
            "mqtt": {"main": plain_broker(port)},
            "lorawan": lorawan,
        }
    )


async def test_chirpstack_uplink_reaches_the_consumer(tmp_path: Any, broker: Any) -> None:
    config = lorawan_gateway(tmp_path, broker.port)
    consumer = MqttConsumer("gw1", [broker.port])
    network_server = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    network_server.connect("127.0.0.1", broker.port)
    network_server.loop_start()
    gateway = Gateway(config)
    task = asyncio.create_task(gateway.run())
    topic = f"application/7/device/{VALVE_EUI}/event/up"
    try:
        # until the gateway's subscription is in place, uplinks are (correctly) not seen
        async def delivered() -> None:
            for _ in range(600):
                network_server.publish(topic, uplink(VALVE_EUI, {"valve_position": 42.5}), 1)
                await asyncio.sleep(0.1)
                if consumer.stored:
                    return

        await asyncio.wait_for(delivered(), 90)
        await until(lambda: consumer.stored, "LoRaWAN reading at the consumer")
    finally:
        gateway.stop()
        await task
        network_server.loop_stop()
        network_server.disconnect()
        consumer.close()
    reading = next(iter(consumer.stored.values()))
    assert reading["device"] == "hh1-valve"
    assert reading["values"] == {"position_feedback": 42.5}


def test_downlink_payload_per_profile() -> None:
    valve = DOWNLINKS["lorawan_household_valve"]["position_setpoint"]
    data, held = valve.encode(35.04)
    assert (data, held) == (b"\x01\x01\x5e", pytest.approx(35.0))  # 01h, 350 × 0.1 %
    with pytest.raises(ValueError, match="outside"):
        valve.encode(100.5)
    message = json.loads(downlink_message(VALVE_EUI.upper(), 10, data))
    assert message == {"devEui": VALVE_EUI, "confirmed": True, "fPort": 10, "data": "AQFe"}


async def test_valve_command_goes_down_and_an_uplink_confirms_it(
    tmp_path: Any, broker: Any
) -> None:
    """Command on the gateway's cmd topic → ChirpStack v4 ``command/down`` (base64 per profile)
    → reported queued at once → confirmed by the first uplink holding the value; refused
    outside the range; a device that keeps reporting another position is not_confirmed (real
    mosquitto, real gateway)."""
    config = lorawan_gateway(tmp_path, broker.port)
    consumer = MqttConsumer("gw1", [broker.port])
    downlinks: list[tuple[str, dict[str, Any]]] = []
    results: dict[str, dict[str, Any]] = {}  # final results
    queued: list[str] = []  # interim answers: the network server holds the downlink

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        body = json.loads(message.payload)
        if message.topic.endswith("/command/down"):
            downlinks.append((message.topic, body))
        elif body.get("status") == "queued":
            queued.append(body["request_id"])
        else:
            results[body["request_id"]] = body

    network_server = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    network_server.on_message = on_message
    network_server.connect("127.0.0.1", broker.port)
    network_server.subscribe([("application/7/device/+/command/down", 1)])
    network_server.subscribe([("heatbalance/gw/gw1/cmd/result", 1)])
    network_server.loop_start()
    gateway = Gateway(config)
    task = asyncio.create_task(gateway.run())
    up = f"application/7/device/{VALVE_EUI}/event/up"

    def command(rid: str, value: float) -> None:
        body = {"request_id": rid, "device": "hh1-valve", "point": "position_setpoint"}
        network_server.publish("heatbalance/gw/gw1/cmd", json.dumps({**body, "value": value}), 1)

    try:
        for _ in range(600):  # both of the gateway's links are up once an uplink is forwarded
            network_server.publish(up, uplink(VALVE_EUI, {"valve_position": 42.5}), 1)
            await asyncio.sleep(0.1)
            if consumer.stored:
                break
        command("r-range", 150.0)
        command("r1", 35.0)
        await until(lambda: downlinks and "r-range" in results, "downlink queued")
        assert results["r-range"]["status"] == "refused"
        topic, body = downlinks[0]
        assert topic == f"application/7/device/{VALVE_EUI}/command/down"
        assert (body["fPort"], body["confirmed"], body["data"]) == (10, True, "AQFe")
        assert len(downlinks) == 1  # the refused command sent nothing
        await until(lambda: "r1" in queued, "r1 queued")
        assert "r1" not in results  # queued, not yet confirmed: the device has not answered
        # the uplink that opens the receive window still shows the old position
        network_server.publish(up, uplink(VALVE_EUI, {"valve_position": 42.5}), 1)
        network_server.publish(up, uplink(VALVE_EUI, {"valve_position": 35.0}), 1)
        await until(lambda: "r1" in results, "result of r1")
        assert results["r1"]["status"] == "confirmed"
        assert results["r1"]["readback"] == pytest.approx(35.0)
        command("r2", 20.0)
        await until(lambda: len(downlinks) == 2, "second downlink")
        for _ in range(2):
            network_server.publish(up, uplink(VALVE_EUI, {"valve_position": 35.0}), 1)
        await until(lambda: "r2" in results, "result of r2")
        assert results["r2"]["status"] == "not_confirmed"
        assert queued == ["r1", "r2"]  # the refused command was never queued
    finally:
        gateway.stop()
        await task
        network_server.loop_stop()
        network_server.disconnect()
        consumer.close()
