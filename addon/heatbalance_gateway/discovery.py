"""Home Assistant MQTT discovery payloads.

One HA device per field device (``via_device`` the gateway), a sensor per readable point, a
``number`` or ``valve`` per writable point with the profile's min/max, plus the gateway's own
statistics sensors (§6.0.6) and alarm binary sensors. Unique ids are built only from the gateway
id, device name and point key, so they survive restarts and re-discovery.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, cast

from . import __version__
from .register_map import Point, Profile
from .topics import Topics

ORIGIN = {"name": "heatbalance-gateway", "sw_version": __version__}


def _uid(*parts: str) -> str:
    return "_".join(("heatbalance", *parts)).replace("-", "_")


def gateway_device(topics: Topics) -> dict[str, Any]:
    """HA device block of the gateway itself."""
    return {
        "identifiers": [_uid(topics.gateway)],
        "name": f"Heatbalance gateway {topics.gateway}",
        "manufacturer": "heatbalance",
        "model": "Modbus/Zigbee gateway add-on",
    }


def _device_block(
    topics: Topics, device: str, profile: Profile, title: str | None
) -> dict[str, Any]:
    return {
        "identifiers": [_uid(topics.gateway, device)],
        "name": title or device,
        "manufacturer": profile.manufacturer,
        "model": profile.model or profile.name,
        "via_device": _uid(topics.gateway),
    }


def _availability(topics: Topics, device: str, key: str | None = None) -> dict[str, Any]:
    """Gateway online, device answering and — for a point — its last value valid: an invalid
    value is published as ``null`` and the entity shows unavailable, never a number (issue 11)."""
    entries: list[dict[str, Any]] = [
        {"topic": topics.status},
        {"topic": topics.device_availability(device)},
    ]
    if key is not None:
        entries.append(
            {
                "topic": topics.device_state(device),
                "value_template": (
                    f"{{{{ 'offline' if value_json.{key} is defined and value_json.{key} is none"
                    " else 'online' }}"
                ),
            }
        )
    return {"availability": entries, "availability_mode": "all"}


def _point_config(topics: Topics, device: str, point: Point) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": point.name,
        "unique_id": _uid(topics.gateway, device, point.key),
        "object_id": f"{topics.gateway}_{device}_{point.key}".replace("-", "_"),
        "state_topic": topics.device_state(device),
        "value_template": f"{{{{ value_json.{point.key} }}}}",
        "qos": 1,
    }
    if point.ha == "sensor":
        for key in ("device_class", "state_class"):
            if getattr(point, key):
                config[key] = getattr(point, key)
        if point.unit:
            config["unit_of_measurement"] = point.unit
    elif point.ha == "binary_sensor":
        config["value_template"] = f"{{{{ 'ON' if value_json.{point.key} else 'OFF' }}}}"
    elif point.ha == "number":
        config.update(
            command_topic=topics.point_set(device, point.key),
            min=point.min,
            max=point.max,
            step=point.step or abs(point.scale),
            mode="box",
        )
        if point.unit:
            config["unit_of_measurement"] = point.unit
    elif point.ha == "valve":
        feedback = point.feedback or point.key
        config.update(
            command_topic=topics.point_set(device, point.key),
            value_template=f"{{{{ value_json.{feedback} }}}}",
            reports_position=True,
            # HA's MQTT valve schema takes integers only (2025.4 rejects 100.0): the range is
            # narrowed inward, so an HA command can never fall outside the point's min/max.
            # (A valve point is writable, and the profile schema makes min/max mandatory there.)
            position_open=math.floor(cast(float, point.max)),
            position_closed=math.ceil(cast(float, point.min)),
            device_class="water",
        )
    return config


def device_configs(
    topics: Topics, device: str, profile: Profile, title: str | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(topic, payload) of every entity of one field device."""
    block = _device_block(topics, device, profile, title)
    for point in profile.points:
        config = _point_config(topics, device, point)
        config.update(_availability(topics, device, point.key), device=block, origin=ORIGIN)
        yield topics.discovery(point.ha, f"{device}_{point.key}"), config
    for key, name, unit in (
        ("first_try_rate", "First-try success", "%"),
        ("latency_ms_avg", "Request latency", "ms"),
        ("retries", "Retries", None),
    ):
        config = {
            "name": name,
            "unique_id": _uid(topics.gateway, device, "comm", key),
            "state_topic": topics.stats,
            "value_template": f"{{{{ value_json.devices['{device}'].{key} }}}}",
            "entity_category": "diagnostic",
            "state_class": "measurement" if unit else "total_increasing",
            "device": block,
            "availability_topic": topics.status,
            "origin": ORIGIN,
        }
        if unit:
            config["unit_of_measurement"] = unit
        yield topics.discovery("sensor", f"{device}_comm_{key}"), config
    alarm = {
        "name": "Communication alarm",
        "unique_id": _uid(topics.gateway, device, "comm", "alarm"),
        "state_topic": topics.stats,
        "value_template": f"{{{{ 'ON' if value_json.devices['{device}'].alarm else 'OFF' }}}}",
        "device_class": "problem",
        "entity_category": "diagnostic",
        "device": block,
        "availability_topic": topics.status,
        "origin": ORIGIN,
    }
    yield topics.discovery("binary_sensor", f"{device}_comm_alarm"), alarm


def gateway_configs(topics: Topics, buses: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Statistics and alarm entities of the gateway (§6.0.6, §5.3.8-5)."""
    block = gateway_device(topics)
    common = {
        "state_topic": topics.stats,
        "device": block,
        "availability_topic": topics.status,
        "entity_category": "diagnostic",
        "origin": ORIGIN,
    }
    sensors = [
        ("backlog_rows", "Outbox backlog", "{{ value_json.outbox.rows }}", None),
        ("backlog_age", "Outbox oldest age", "{{ value_json.outbox.oldest_age_s }}", "s"),
        ("dropped", "Outbox dropped readings", "{{ value_json.outbox.dropped }}", None),
        ("link", "Active uplink", "{{ value_json.link }}", None),
    ]
    for bus in buses:
        sensors.append(
            (
                f"{bus}_first_try_rate",
                f"{bus} first-try success",
                f"{{{{ value_json.buses['{bus}'].first_try_rate }}}}",
                "%",
            )
        )
    for key, name, template, unit in sensors:
        config = {
            "name": name,
            "unique_id": _uid(topics.gateway, key),
            "value_template": template,
            **common,
        }
        if unit:
            config["unit_of_measurement"] = unit
        yield topics.discovery("sensor", key), config
    alarms = [
        (
            "dropped_alarm",
            "Outbox dropped data",
            "{{ 'ON' if value_json.outbox.alarm else 'OFF' }}",
        )
    ]
    for bus in buses:
        alarms.append(
            (
                f"{bus}_comm_alarm",
                f"{bus} communication alarm",
                f"{{{{ 'ON' if value_json.buses['{bus}'].alarm else 'OFF' }}}}",
            )
        )
    for key, name, template in alarms:
        config = {
            "name": name,
            "unique_id": _uid(topics.gateway, key),
            "value_template": template,
            "device_class": "problem",
            **common,
        }
        yield topics.discovery("binary_sensor", key), config
    yield connectivity_config(topics)


def connectivity_config(topics: Topics) -> tuple[str, dict[str, Any]]:
    """The gateway's own "Connected" sensor: its retained status, ``online`` only once the
    broker confirmed its subscriptions (a command sent then reaches it), ``offline`` on a
    clean stop and as its last will. No availability topic: offline shows "Disconnected",
    where every other entity of the gateway shows unavailable (issue 10)."""
    config = {
        "name": "Connected",
        "unique_id": _uid(topics.gateway, "connected"),
        "state_topic": topics.status,
        "payload_on": "online",
        "payload_off": "offline",
        "device_class": "connectivity",
        "entity_category": "diagnostic",
        "device": gateway_device(topics),
        "origin": ORIGIN,
    }
    return topics.discovery("binary_sensor", "connected"), config


def room_sensor_configs(topics: Topics, device: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Entities of a Zigbee room sensor bridged by the gateway (§4.3.11)."""
    block = {
        "identifiers": [_uid(topics.gateway, device)],
        "name": f"Room sensor {device}",
        "manufacturer": "Zigbee",
        "model": "Room temperature sensor",
        "via_device": _uid(topics.gateway),
    }
    common = {
        "state_topic": topics.device_state(device),
        "device": block,
        "origin": ORIGIN,
        "availability_topic": topics.status,
        "qos": 1,
    }
    entities = [
        (
            "sensor",
            "temperature",
            "Room temperature",
            {
                "device_class": "temperature",
                "unit_of_measurement": "°C",
                "state_class": "measurement",
            },
        ),
        ("sensor", "battery", "Battery", {"device_class": "battery", "unit_of_measurement": "%"}),
        ("binary_sensor", "battery_low", "Battery low", {"device_class": "battery"}),
        ("binary_sensor", "out_of_range", "Outside 10–35 °C", {"device_class": "problem"}),
    ]
    for component, key, name, extra in entities:
        template = (
            f"{{{{ 'ON' if value_json.{key} else 'OFF' }}}}"
            if component == "binary_sensor"
            else f"{{{{ value_json.{key} }}}}"
        )
        config = {
            "name": name,
            "unique_id": _uid(topics.gateway, device, key),
            "value_template": template,
            **common,
            **extra,
        }
        yield topics.discovery(component, f"{device}_{key}"), config
