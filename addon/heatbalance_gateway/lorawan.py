"""LoRaWAN battery devices through a network server's MQTT integration (ChirpStack v4).

The standard names LoRa for battery devices (room sensors, household valves; §4.3.11). The
gateway does not run a LoRaWAN stack: a network server does (ChirpStack on the same box or the
operator's), decodes each uplink with the device profile's codec and publishes it on its MQTT
integration as ``application/<application_id>/device/<dev_eui>/event/up`` with the decoded
fields in ``object``. This module subscribes there, maps a configured ``dev_eui`` to a device
name and a LoRaWAN profile (which ``object`` field becomes which point, with its physical
range), validates every value as Modbus values are validated (not finite or out of range:
``null``, counted) and hands the readings to the same outbox as the Modbus data. Uplinks of
unknown devices are ignored (logged once).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .bus_worker import Reading

_LOGGER = logging.getLogger(__name__)

# point key → (``object`` field of the ChirpStack codec, physical min, max)
PROFILES: dict[str, dict[str, tuple[str, float, float]]] = {
    "lorawan_room_sensor": {
        "temperature": ("temperature", -40.0, 85.0),
        "humidity": ("humidity", 0.0, 100.0),
        "battery": ("battery", 0.0, 100.0),
    },
    "lorawan_household_valve": {
        "position_feedback": ("valve_position", 0.0, 100.0),
        "supply_temperature": ("supply_temperature", -40.0, 200.0),
        "return_temperature": ("return_temperature", -40.0, 200.0),
        "battery": ("battery", 0.0, 100.0),
    },
}


def uplink_topic(application_id: str) -> str:
    """ChirpStack v4's uplink event topic of an application (every device)."""
    return f"application/{application_id}/device/+/event/up"


@dataclass(slots=True)
class LoraDevice:
    """One configured LoRaWAN device: its gateway name and profile."""

    name: str
    profile: str
    invalid_values: int = 0
    uplinks: int = 0


@dataclass(slots=True)
class UplinkMapper:
    """ChirpStack uplink JSON → a gateway reading (pure; tested without a broker)."""

    devices: dict[str, LoraDevice]  # dev_eui (lower-case hex) → device
    unknown: set[str] = field(default_factory=set)

    def reading(self, payload: bytes) -> Reading | None:
        """The reading of one uplink, or None (unknown device, no decoded object)."""
        try:
            event = json.loads(payload)
            dev_eui = str(event["deviceInfo"]["devEui"]).lower()
            decoded = event.get("object") or {}
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("ignored an unreadable LoRaWAN uplink")
            return None
        device = self.devices.get(dev_eui)
        if device is None:
            if dev_eui not in self.unknown:
                self.unknown.add(dev_eui)
                _LOGGER.warning("ignored uplinks of unconfigured LoRaWAN device %s", dev_eui)
            return None
        device.uplinks += 1
        values: dict[str, float | None] = {}
        for key, (source, low, high) in PROFILES[device.profile].items():
            if source not in decoded:
                continue
            value = _number(decoded[source])
            if value is None or not low <= value <= high:
                device.invalid_values += 1
                _LOGGER.warning("%s.%s invalid: %r", device.name, key, decoded[source])
                value = None
            values[key] = value
        return Reading(device.name, time.time(), values) if values else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class LoraWanLink:
    """Subscribes to the network server's MQTT integration (paho thread → callback)."""

    def __init__(self, options: dict[str, Any], on_reading: Callable[[Reading], None]) -> None:
        self.options = options
        self.mapper = UplinkMapper(
            {d["dev_eui"].lower(): LoraDevice(d["name"], d["profile"]) for d in options["devices"]}
        )
        self._on_reading = on_reading
        self._lock = threading.Lock()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if options.get("username"):
            client.username_pw_set(options["username"], options.get("password"))
        if "tls" in options:
            client.tls_set(ca_certs=options["tls"]["ca_file"])
        client.on_connect = self._connected
        client.on_message = self._message
        client.reconnect_delay_set(1, 30)
        self.client = client

    def _connected(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if reason.is_failure:
            _LOGGER.warning("LoRaWAN network server broker refused: %s", reason)
            return
        client.subscribe(uplink_topic(self.options["application_id"]), qos=1)

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain:
            return  # an old uplink, not a new measurement
        reading = self.mapper.reading(bytes(message.payload))
        if reading is not None:
            self._on_reading(reading)

    def start(self) -> None:
        """Connect in the background (paho keeps reconnecting)."""
        self.client.connect_async(self.options["host"], self.options["port"], 60)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
