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

Commands (a household valve's setpoint) go down the same integration: a JSON downlink on
``application/<id>/device/<dev_eui>/command/down`` (``devEui``, ``confirmed``, ``fPort``,
``data`` base64), its bytes encoded by the profile's ``Downlink`` (refused outside its range,
as a Modbus write is). A class A device receives it after its next uplink, so a command is
confirmed only by a later uplink whose feedback holds the value (§4.3.5 read-back); a device
that reports another position ``confirm_uplinks`` times, rejects the confirmed downlink
(ChirpStack's ``event/ack`` with ``acknowledged: false``) or stays silent for
``command_timeout`` is ``not_confirmed``/``failed``. A newer command to the device supersedes
an older one still waiting.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .bus_worker import Command, Reading, finish_command

QUEUED = "queued"  # interim command status: the network server holds the downlink
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


@dataclass(frozen=True, slots=True)
class Downlink:
    """How a profile's writable point goes down: ``fPort``, an opcode byte, then the value as
    a big-endian uint16 in units of ``resolution``; ``feedback`` is the uplink point that
    confirms it."""

    fport: int
    opcode: int
    low: float
    high: float
    resolution: float
    feedback: str
    tolerance: float

    def encode(self, value: float) -> tuple[bytes, float]:
        """Payload bytes and the value the device will hold; ValueError outside low…high."""
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ValueError(f"{value!r} outside the allowed range {self.low}..{self.high}")
        raw = round(value / self.resolution)
        return struct.pack(">BH", self.opcode, raw), raw * self.resolution


# profile → writable point → its downlink. The household valve's payload: 01h, setpoint in 0.1 %.
DOWNLINKS: dict[str, dict[str, Downlink]] = {
    "lorawan_household_valve": {
        "position_setpoint": Downlink(10, 0x01, 0.0, 100.0, 0.1, "position_feedback", 1.0),
    },
}


def downlink_message(dev_eui: str, fport: int, data: bytes, confirmed: bool = True) -> bytes:
    """ChirpStack v4's ``command/down`` JSON (base64 ``data``; a queued, confirmed downlink)."""
    return json.dumps(
        {
            "devEui": dev_eui.lower(),
            "confirmed": confirmed,
            "fPort": fport,
            "data": base64.b64encode(data).decode("ascii"),
        }
    ).encode()


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


@dataclass(slots=True)
class _Pending:
    """A downlink waiting for the uplink that confirms it."""

    command: Command
    downlink: Downlink
    value: float
    loop: asyncio.AbstractEventLoop
    mismatches: int = 0
    timer: asyncio.TimerHandle | None = None


class LoraWanLink:
    """The network server's MQTT integration: uplinks in (paho thread → callback), downlinks
    out with their confirmation."""

    def __init__(self, options: dict[str, Any], on_reading: Callable[[Reading], None]) -> None:
        self.options = options
        self.mapper = UplinkMapper(
            {d["dev_eui"].lower(): LoraDevice(d["name"], d["profile"]) for d in options["devices"]}
        )
        self.eui = {d["name"]: d["dev_eui"].lower() for d in options["devices"]}
        self._pending: dict[str, _Pending] = {}  # dev_eui → command waiting for confirmation
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
        app = self.options["application_id"]
        client.subscribe([(uplink_topic(app), 1), (f"application/{app}/device/+/event/ack", 1)])

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain:
            return  # an old uplink, not a new measurement
        if message.topic.endswith("/event/ack"):
            self._downlink_ack(bytes(message.payload))
            return
        reading = self.mapper.reading(bytes(message.payload))
        if reading is not None:
            self._on_reading(reading)
            self._confirm(reading)

    # ---- downlinks (commands) ----------------------------------------------------------------
    def owns(self, device: str) -> bool:
        """True for a configured LoRaWAN device name."""
        return device in self.eui

    def submit(self, command: Command) -> asyncio.Future[dict[str, Any]]:
        """Queue a downlink for ``command``; the future gets the result dict (event loop)."""
        loop = asyncio.get_running_loop()
        command.future = loop.create_future()
        eui = self.eui[command.device]
        profile = self.mapper.devices[eui].profile
        downlink = DOWNLINKS.get(profile, {}).get(command.point)
        if downlink is None:
            finish_command(command, {"status": "refused", "error": "point not writable"})
            return command.future
        try:
            data, value = downlink.encode(float(command.value))
        except (TypeError, ValueError) as err:
            finish_command(command, {"status": "refused", "error": str(err)})
            return command.future
        topic = f"application/{self.options['application_id']}/device/{eui}/command/down"
        # paho would keep an offline publish in RAM only: refuse rather than pretend
        queued = self.client.is_connected() and (
            self.client.publish(topic, downlink_message(eui, downlink.fport, data), qos=1).rc
            == mqtt.MQTT_ERR_SUCCESS
        )
        if not queued:
            error = "network server broker not connected, downlink not queued"
            finish_command(command, {"status": "failed", "value": value, "error": error})
            return command.future
        pending = _Pending(command, downlink, value, loop)
        pending.timer = loop.call_later(
            self.options["command_timeout"],
            self._settle,
            eui,
            pending,
            {"status": "failed", "error": "no uplink confirmed the downlink in time"},
        )
        with self._lock:
            older, self._pending[eui] = self._pending.get(eui), pending
        if older is not None:
            self._settle(eui, older, {"status": "not_confirmed", "error": "superseded"})
        _LOGGER.info("downlink to %s (%s): %s = %s", command.device, eui, command.point, value)
        return command.future

    def _confirm(self, reading: Reading) -> None:
        """An uplink (paho thread): does its feedback confirm the device's pending command?"""
        eui = self.eui.get(reading.device, "")
        with self._lock:
            pending = self._pending.get(eui)
        if pending is None:
            return
        held = reading.values.get(pending.downlink.feedback)
        if held is not None and abs(held - pending.value) <= pending.downlink.tolerance:
            result = {"status": "confirmed", "readback": held}
        else:
            pending.mismatches += 1
            if pending.mismatches < self.options["confirm_uplinks"]:
                return
            result = {"status": "not_confirmed", "readback": held, "error": "position differs"}
        pending.loop.call_soon_threadsafe(self._settle, eui, pending, result)

    def _downlink_ack(self, payload: bytes) -> None:
        """ChirpStack's ``event/ack``: a confirmed downlink the device did not acknowledge."""
        try:
            event = json.loads(payload)
            eui = str(event["deviceInfo"]["devEui"]).lower()
            acknowledged = bool(event.get("acknowledged"))
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            pending = self._pending.get(eui)
        if pending is not None and not acknowledged:
            result = {"status": "failed", "error": "downlink not acknowledged by the device"}
            pending.loop.call_soon_threadsafe(self._settle, eui, pending, result)

    def _settle(self, eui: str, pending: _Pending, result: dict[str, Any]) -> None:
        """Finish a pending command once (event loop)."""
        with self._lock:
            if self._pending.get(eui) is pending:
                del self._pending[eui]
        if pending.timer is not None:
            pending.timer.cancel()
        finish_command(pending.command, {"value": pending.value, **result})

    def start(self) -> None:
        """Connect in the background (paho keeps reconnecting)."""
        self.client.connect_async(self.options["host"], self.options["port"], 60)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
