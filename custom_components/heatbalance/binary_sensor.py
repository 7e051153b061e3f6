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

from .const import CONF_BATTERY_ENTITY
from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator
from .engine.alarms import EMERGENCY, Alarm
from .entity import HeatbalanceEntity, add_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class AlarmSensorDescription(BinarySensorEntityDescription):
    """On while an active alarm of its place matches ``match``; lists those alarms."""

    match: Callable[[Alarm], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class StateSensorDescription(BinarySensorEntityDescription):
    """A plain state of the network or an inlet."""

    is_on_fn: Callable[[HeatbalanceCoordinator, str | None], bool]


NETWORK_ALARMS = (
    AlarmSensorDescription(
        key="alarm", translation_key="alarm", device_class=BinarySensorDeviceClass.PROBLEM
    ),
    AlarmSensorDescription(
        key="emergency",
        translation_key="emergency",
        device_class=BinarySensorDeviceClass.PROBLEM,
        match=lambda a: a.grade == EMERGENCY,
    ),
    AlarmSensorDescription(
        key="unacknowledged",
        translation_key="unacknowledged",
        device_class=BinarySensorDeviceClass.PROBLEM,
        match=lambda a: not a.acknowledged,
    ),
    AlarmSensorDescription(
        key="inspection",
        translation_key="inspection",
        device_class=BinarySensorDeviceClass.PROBLEM,
        match=lambda a: a.type == "not_balanced",  # §8.2.6
    ),
)
BALANCED = StateSensorDescription(
    key="balanced", translation_key="balanced", is_on_fn=lambda c, _w: c.data.balanced
)
INLET_ALARM = AlarmSensorDescription(
    key="alarm", translation_key="inlet_alarm", device_class=BinarySensorDeviceClass.PROBLEM
)
COMMUNICATION = StateSensorDescription(
    key="communication",
    translation_key="communication",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    is_on_fn=lambda c, w: bool(w and c.data.inlets[w].reading.received),
)
LOW_BATTERY = AlarmSensorDescription(
    key="room_sensor_battery",
    translation_key="room_sensor_battery",
    device_class=BinarySensorDeviceClass.BATTERY,
    entity_category=EntityCategory.DIAGNOSTIC,
    match=lambda a: a.type == "low_battery",  # §4.3.11-6
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Network alarms; per inlet an alarm, its link, and low battery where a battery is mapped."""
    coordinator = entry.runtime_data.coordinator

    def per_inlet(iid: str) -> list[BinarySensorEntity]:
        sensors: list[BinarySensorEntity] = [
            AlarmSensor(coordinator, INLET_ALARM, iid),
            StateSensor(coordinator, COMMUNICATION, iid),
        ]
        if coordinator.inlets[iid].entities.get(CONF_BATTERY_ENTITY):
            sensors.append(AlarmSensor(coordinator, LOW_BATTERY, iid))
        return sensors

    network: list[BinarySensorEntity] = [AlarmSensor(coordinator, d) for d in NETWORK_ALARMS]
    network.append(StateSensor(coordinator, BALANCED))
    await add_entities(coordinator, async_add_entities, network, per_inlet)


class AlarmSensor(HeatbalanceEntity, BinarySensorEntity):
    """An alarm state; attributes list its alarms (type, grade, location, description)."""

    entity_description: AlarmSensorDescription

    def _matching(self) -> list[Alarm]:
        book = self.coordinator.alarms
        alarms = book.active.values() if self.inlet_id is None else book.at(self.inlet_id)
        return [a for a in alarms if self.entity_description.match(a)]

    @property
    def is_on(self) -> bool:
        """Whether a matching alarm is active."""
        return bool(self._matching())

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The alarms behind the state (§5.3.8-2: type, location, description)."""
        events = self.coordinator.events
        return {
            "alarms": [
                {
                    "type": a.type,
                    "grade": a.grade,
                    "location": events.location_name(a.location),
                    "description": events.describe(a),
                    "acknowledged": a.acknowledged,
                }
                for a in self._matching()
            ]
        }


class StateSensor(HeatbalanceEntity, BinarySensorEntity):
    """Balanced (network) or data received (inlet)."""

    entity_description: StateSensorDescription

    @property
    def is_on(self) -> bool:
        """Whether the state holds."""
        return self.entity_description.is_on_fn(self.coordinator, self.inlet_id)
