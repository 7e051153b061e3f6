"""Sensors: per inlet (temperatures, flow, heat, energy, valve) and per network (§5.3.5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfPressure,
    UnitOfTemperature,
    UnitOfVolumeFlowRate,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import BalanceSnapshot, HeatbalanceConfigEntry
from .entity import HeatbalanceEntity

PARALLEL_UPDATES = 0
M3H = UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR


@dataclass(frozen=True, kw_only=True)
class InletSensorDescription(SensorEntityDescription):
    """A per-inlet sensor and how to read it from a snapshot."""

    value_fn: Callable[[BalanceSnapshot, str], float | None]


@dataclass(frozen=True, kw_only=True)
class NetworkSensorDescription(SensorEntityDescription):
    """A network sensor and how to read it from a snapshot."""

    value_fn: Callable[[BalanceSnapshot], float | None]


def _temp(key: str, attr: str, enabled: bool = True) -> InletSensorDescription:
    return InletSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        entity_registry_enabled_default=enabled,
        value_fn=lambda s, i: getattr(s.plant.inlets[i], attr),
    )


INLET_SENSORS: tuple[InletSensorDescription, ...] = (
    _temp("supply_temperature", "supply_c"),
    _temp("return_temperature", "return_c"),
    _temp("room_temperature", "room_c"),
    InletSensorDescription(
        key="mean_temperature",
        translation_key="mean_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda s, i: (s.plant.inlets[i].supply_c + s.plant.inlets[i].return_c) / 2,
    ),
    InletSensorDescription(
        key="flow",
        translation_key="flow",
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=M3H,
        suggested_display_precision=2,
        value_fn=lambda s, i: s.plant.inlets[i].flow_m3h,
    ),
    InletSensorDescription(
        key="flow_ratio",
        translation_key="flow_ratio",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        value_fn=lambda s, i: s.flow_ratio[i] * 100.0,
    ),
    InletSensorDescription(
        key="heat_power",
        translation_key="heat_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=1,
        value_fn=lambda s, i: s.plant.inlets[i].heat_w / 1000.0,
    ),
    InletSensorDescription(
        key="heat_energy",
        translation_key="heat_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=0,
        value_fn=lambda s, i: s.energy_kwh[i],
    ),
    InletSensorDescription(
        key="valve_position",
        translation_key="valve_position",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s, i: s.plant.inlets[i].opening * 100.0,
    ),
    InletSensorDescription(
        key="proposed_position",
        translation_key="proposed_position",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s, i: s.proposed[i] * 100.0 if i in s.proposed else None,
    ),
    InletSensorDescription(
        key="differential_pressure",
        translation_key="differential_pressure",
        device_class=SensorDeviceClass.PRESSURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPressure.KPA,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda s, i: s.plant.inlets[i].dp_available_kpa,
    ),
)

NETWORK_SENSORS: tuple[NetworkSensorDescription, ...] = (
    NetworkSensorDescription(
        key="share_in_band",
        translation_key="share_in_band",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda s: s.share_in_band * 100.0,
    ),
    NetworkSensorDescription(
        key="return_spread",
        translation_key="return_spread",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.KELVIN,
        suggested_display_precision=2,
        value_fn=lambda s: s.return_spread_k,
    ),
    NetworkSensorDescription(
        key="supply_temperature",
        translation_key="supply_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=lambda s: s.plant.supply_c,
    ),
    NetworkSensorDescription(
        key="return_temperature",
        translation_key="return_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=lambda s: s.plant.return_c,
    ),
    NetworkSensorDescription(
        key="outdoor_temperature",
        translation_key="outdoor_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=lambda s: s.plant.outdoor_c,
    ),
    NetworkSensorDescription(
        key="pump_power",
        translation_key="pump_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda s: s.plant.pump.power_w,
    ),
    NetworkSensorDescription(
        key="pump_speed",
        translation_key="pump_speed",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda s: s.plant.pump.speed * 100.0,
    ),
    NetworkSensorDescription(
        key="network_flow",
        translation_key="network_flow",
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=M3H,
        suggested_display_precision=1,
        value_fn=lambda s: s.plant.pump.flow_m3h,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Network sensors plus one set per building-level inlet (households stay aggregated)."""
    coordinator = entry.runtime_data
    entities: list[SensorEntity] = [
        NetworkSensor(coordinator, description) for description in NETWORK_SENSORS
    ]
    entities += [
        InletSensor(coordinator, description, inlet.id)
        for inlet in coordinator.top_level
        for description in INLET_SENSORS
    ]
    async_add_entities(entities)


class NetworkSensor(HeatbalanceEntity, SensorEntity):
    """A network-wide figure."""

    entity_description: NetworkSensorDescription

    @property
    def native_value(self) -> float | None:
        """Read from the last snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)


class InletSensor(HeatbalanceEntity, SensorEntity):
    """A figure of one inlet."""

    entity_description: InletSensorDescription

    @property
    def native_value(self) -> float | None:
        """Read from the last snapshot."""
        assert self.inlet_id is not None
        return self.entity_description.value_fn(self.coordinator.data, self.inlet_id)
