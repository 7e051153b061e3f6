"""Alarm binary sensors (§5.3.8): per network and per inlet, plus balance and connectivity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .alarms import EMERGENCY, NETWORK, Alarm
from .const import CONF_BATTERY_ENTITY
from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator
from .entity import HeatbalanceEntity, add_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class AlarmSensorDescription(BinarySensorEntityDescription):
    """On when ``is_on_fn`` finds it so; ``where`` is None for the whole network."""

    is_on_fn: Callable[[HeatbalanceCoordinator, str | None], bool]


def _alarms(c: HeatbalanceCoordinator, where: str | None) -> list[Alarm]:
    return list(c.alarms.active.values()) if where is None else c.alarms.at(where)


NETWORK_SENSORS = (
    AlarmSensorDescription(
        key="alarm",
        translation_key="alarm",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda c, w: bool(_alarms(c, w)),
    ),
    AlarmSensorDescription(
        key="emergency",
        translation_key="emergency",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda c, w: any(a.grade == EMERGENCY for a in _alarms(c, w)),
    ),
    AlarmSensorDescription(
        key="unacknowledged",
        translation_key="unacknowledged",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda c, w: any(not a.acknowledged for a in _alarms(c, w)),
    ),
    AlarmSensorDescription(
        key="inspection",
        translation_key="inspection",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda c, _w: any(a.type == "not_balanced" for a in c.alarms.at(NETWORK)),
    ),
    AlarmSensorDescription(
        key="balanced",
        translation_key="balanced",
        is_on_fn=lambda c, _w: c.data.balanced,
    ),
)
INLET_SENSORS = (
    AlarmSensorDescription(
        key="alarm",
        translation_key="inlet_alarm",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda c, w: bool(_alarms(c, w)),
    ),
    AlarmSensorDescription(
        key="communication",
        translation_key="communication",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda c, w: bool(w and c.data.inlets[w].reading.received),
    ),
)
LOW_BATTERY = AlarmSensorDescription(
    key="room_sensor_battery",
    translation_key="room_sensor_battery",
    device_class=BinarySensorDeviceClass.BATTERY,
    entity_category=EntityCategory.DIAGNOSTIC,
    is_on_fn=lambda c, w: any(a.type == "low_battery" for a in c.alarms.at(w or "")),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Network alarms; per inlet an alarm, its link, and low battery where a battery is mapped."""
    coordinator = entry.runtime_data.coordinator

    def per_inlet(iid: str) -> list[AlarmSensor]:
        sensors = [AlarmSensor(coordinator, d, iid) for d in INLET_SENSORS]
        if coordinator.inlets[iid].entities.get(CONF_BATTERY_ENTITY):
            sensors.append(AlarmSensor(coordinator, LOW_BATTERY, iid))
        return sensors

    add_entities(
        coordinator,
        async_add_entities,
        (AlarmSensor(coordinator, d) for d in NETWORK_SENSORS),
        per_inlet,
    )


class AlarmSensor(HeatbalanceEntity, BinarySensorEntity):
    """An alarm state; attributes list the active alarms (type, grade, description)."""

    entity_description: AlarmSensorDescription

    @property
    def is_on(self) -> bool:
        """Whether the condition holds."""
        return self.entity_description.is_on_fn(self.coordinator, self.inlet_id)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The alarms behind an alarm sensor (type, grade, location, description)."""
        if self.entity_description.device_class is not BinarySensorDeviceClass.PROBLEM:
            return None
        return {
            "alarms": [
                {
                    "type": a.type,
                    "grade": a.grade,
                    "location": self.coordinator.location_name(a.location),
                    "description": self.coordinator.describe(a),
                    "acknowledged": a.acknowledged,
                }
                for a in _alarms(self.coordinator, self.inlet_id)
            ]
        }
