"""A LoRaWAN household valve reaches an inlet end to end, and is moved (issue 11 item 6).

ChirpStack stand-in (a paho client publishing v4 uplink events) → real mosquitto → the real
gateway process (its ``lorawan`` section) → outbox → mosquitto → Home Assistant's own MQTT
client → the integration's ``GatewaySource`` → the inlet's reading (valve position); then
``GatewaySource.async_set_opening`` → the gateway → a ChirpStack ``command/down`` downlink →
an uplink holding the position → ``confirmed`` at the integration.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.gateway_source import GatewaySource
from devtools.gateway_proc import GatewayProcess
from devtools.real_mqtt import gateway_config, ha_on_mosquitto
from tests.addon.test_lorawan import VALVE_EUI, uplink


@pytest.mark.slow
async def test_lorawan_valve_position_reaches_the_inlet(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Any
) -> None:
    async with ha_on_mosquitto(hass, tmp_path) as broker:
        lorawan = {
            "host": "127.0.0.1",
            "port": broker.port,
            "application_id": "7",
            "devices": [
                {"name": "hh1-valve", "dev_eui": VALVE_EUI, "profile": "lorawan_household_valve"}
            ],
        }
        gateway = GatewayProcess(
            tmp_path / "gw", gateway_config(tmp_path, broker.port, lorawan=lorawan)
        )
        network_server = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        source = GatewaySource(hass, {"H1": (None, "hh1-valve")}, owners={"H1": "gw1"})
        try:
            await source.async_start()
            gateway.start()
            network_server.connect("127.0.0.1", broker.port)
            network_server.loop_start()
            topic = f"application/7/device/{VALVE_EUI}/event/up"
            for _ in range(900):  # guard against a hang only
                payload = uplink(VALVE_EUI, {"valve_position": 42.5, "battery": 91})
                network_server.publish(topic, payload, qos=1)
                await asyncio.sleep(0.1)
                if source.reading("H1", stale_s=600).opening is not None:
                    break
            reading = source.reading("H1", stale_s=600)
            assert reading.opening == pytest.approx(0.425)
            assert source.live["hh1-valve"].values["battery"] == 91.0

            # the integration moves the valve: a ChirpStack downlink, confirmed by an uplink
            downlinks: list[dict[str, Any]] = []
            network_server.on_message = lambda _c, _u, m: downlinks.append(json.loads(m.payload))
            network_server.subscribe(f"application/7/device/{VALVE_EUI}/command/down", qos=1)
            await asyncio.sleep(0.5)  # the subscription is in place (a guard, not a timing test)
            request_id = await source.async_set_opening("H1", 0.35)
            assert request_id is not None
            for _ in range(600):  # guard against a hang only
                await asyncio.sleep(0.05)
                if downlinks:
                    break
            assert downlinks == [
                {"devEui": VALVE_EUI, "confirmed": True, "fPort": 10, "data": "AQFe"}
            ]
            for _ in range(600):  # guard against a hang only
                await asyncio.sleep(0.05)
                if request_id in source.results:
                    break
            # class A: the device takes the downlink at its next uplink, maybe 15 min away.
            # Queued is no missing answer, and the old feedback is no read-back of the command.
            assert source.results[request_id]["status"] == "queued"
            assert source.command_status("H1", answer_s=0.0) == "pending"
            assert source.reading("H1", stale_s=600, answer_s=0.0).opening is None
            for position in (42.5, 35.0):  # the first uplink opens the receive window
                network_server.publish(topic, uplink(VALVE_EUI, {"valve_position": position}), 1)
            for _ in range(600):  # the result comes at once, the reading with the next batch
                await asyncio.sleep(0.05)
                opening = source.reading("H1", stale_s=600).opening
                if request_id in source.results and opening == pytest.approx(0.35):
                    break
            assert source.results[request_id]["status"] == "confirmed"
            assert source.reading("H1", stale_s=600).opening == pytest.approx(0.35)
            assert gateway.stop() == 0
        finally:
            gateway.kill()
            network_server.loop_stop()
            source.stop()
