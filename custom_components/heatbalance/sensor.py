"""Sensors: each inlet's measurements, set and feedback values (§5.3.5-2), network indicators.

Heat energy is ``total_increasing`` kWh per inlet and for the network, ready for the energy
dashboard (HA 2025.4 has no district-heating category: add it as gas or as a device).
"""

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

from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator
from .cycle import CycleResult, InletResult
from .entity import HeatbalanceEntity, add_entities

PARALLEL_UPDATES = 0
M3H = UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR
BALANCE_STATES = ["balanced", "regulating", "manual", "inspection"]
TEMPERATURE_TARGETS = ("return_temperature", "mean_temperature", "room_temperature")


@dataclass(frozen=True, kw_only=True)
class InletSensorDescription(SensorEntityDescription):
    """A per-inlet sensor and how to read it from the inlet's cycle result."""

    value_fn: Callable[[InletResult], float | None]
    exists_fn: Callable[[InletResult], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class NetworkSensorDescription(SensorEntityDescription):
    """A network sensor and how to read it from the cycle result."""

    value_fn: Callable[[HeatbalanceCoordinator, CycleResult], float | str | None]


def _temperature(key: str, fn: Callable[[InletResult], float | None], **kw: object):
    return InletSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=fn,
        **kw,  # type: ignore[arg-type]
    )


def _mean(r: InletResult) -> float | None:
    s, t = r.reading.supply_c, r.reading.return_c
    return None if s is None or t is None else (s + t) / 2.0


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100.0


def _households(key: str) -> Callable[[InletResult], float | None]:
    return lambda r: r.households[key] if r.households else None


INLET_SENSORS: tuple[InletSensorDescription, ...] = (
    _temperature("supply_temperature", lambda r: r.reading.supply_c),
    _temperature("return_temperature", lambda r: r.reading.return_c),
    _temperature("mean_temperature", _mean, entity_registry_enabled_default=False),
    _temperature("room_temperature", lambda r: r.reading.room_c),
    InletSensorDescription(
        key="flow",
        translation_key="flow",
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=M3H,
        suggested_display_precision=2,
        value_fn=lambda r: r.reading.flow_m3h,
    ),
    InletSensorDescription(
        key="flow_setpoint",
        translation_key="flow_setpoint",
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        native_unit_of_measurement=M3H,
        suggested_display_precision=2,
        value_fn=lambda r: r.setpoint,
    ),
    InletSensorDescription(
        key="deviation",
        translation_key="deviation",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        value_fn=lambda r: r.deviation,
    ),
    InletSensorDescription(
        key="heat_power",
        translation_key="heat_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=1,
        value_fn=lambda r: r.heat_kw,
    ),
    InletSensorDescription(
        key="heat_energy",
        translation_key="heat_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=0,
        value_fn=lambda r: r.energy_kwh,
    ),
    InletSensorDescription(
        key="valve_position",
        translation_key="valve_position",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda r: _pct(r.reading.opening),
    ),
    InletSensorDescription(
        key="valve_command",
        translation_key="valve_command",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda r: _pct(r.command),
    ),
    InletSensorDescription(
        key="differential_pressure",
        translation_key="differential_pressure",
        device_class=SensorDeviceClass.PRESSURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPressure.KPA,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda r: r.reading.dp_available_kpa,
    ),
    InletSensorDescription(
        key="success_rate",
        translation_key="success_rate",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda r: r.success_rate,
    ),
    _temperature(
        "households_room_min",
        _households("room_min_c"),
        exists_fn=lambda r: r.households is not None,
    ),
    _temperature(
        "households_room_max",
        _households("room_max_c"),
        exists_fn=lambda r: r.households is not None,
    ),
)


def _state(c: HeatbalanceCoordinator, r: CycleResult) -> str:
    if c.unbalanced_since_s is not None and r.time_s - c.unbalanced_since_s > 24 * 3600:
        return "inspection"  # §8.2.6
    if r.balanced:
        return "balanced"
    return "regulating" if c.settings.auto else "manual"


def _network_temperature(key: str, fn: Callable[[CycleResult], float | None]):
    return NetworkSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=lambda _c, r: fn(r),
    )


NETWORK_SENSORS: tuple[NetworkSensorDescription, ...] = (
    NetworkSensorDescription(
        key="balance_state",
        translation_key="balance_state",
        device_class=SensorDeviceClass.ENUM,
        options=BALANCE_STATES,
        value_fn=_state,
    ),
    NetworkSensorDescription(
        key="share_in_band",
        translation_key="share_in_band",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda _c, r: r.share_in_band,
    ),
    NetworkSensorDescription(
        key="return_spread",
        translation_key="return_spread",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.KELVIN,
        suggested_display_precision=2,
        value_fn=lambda _c, r: r.spread,
    ),
    NetworkSensorDescription(
        key="imbalance_ratio",
        translation_key="imbalance_ratio",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        value_fn=lambda _c, r: _pct(r.imbalance_ratio),
    ),
    _network_temperature("supply_temperature", lambda r: r.supply_c),
    _network_temperature("return_temperature", lambda r: r.return_c),
    _network_temperature("outdoor_temperature", lambda r: r.outdoor_c),
    NetworkSensorDescription(
        key="network_flow",
        translation_key="network_flow",
        device_class=SensorDeviceClass.VOLUME_FLOW_RATE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=M3H,
        suggested_display_precision=1,
        value_fn=lambda _c, r: r.pump_flow_m3h,
    ),
    NetworkSensorDescription(
        key="heat_power",
        translation_key="heat_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=0,
        value_fn=lambda _c, r: r.heat_kw,
    ),
    NetworkSensorDescription(
        key="heat_energy",
        translation_key="heat_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=0,
        value_fn=lambda c, _r: sum(c.memory.energy_kwh.get(i, 0.0) for i in c.inlets),
    ),
    NetworkSensorDescription(
        key="forecast_load",
        translation_key="forecast_load",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=0,
        value_fn=lambda _c, r: r.forecast_kw,
    ),
    NetworkSensorDescription(
        key="pump_power",
        translation_key="pump_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda _c, r: r.pump_power_w,
    ),
    NetworkSensorDescription(
        key="pump_speed",
        translation_key="pump_speed",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda _c, r: _pct(r.pump_speed),
    ),
    NetworkSensorDescription(
        key="success_rate",
        translation_key="success_rate",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda _c, r: r.success_rate,
    ),
    NetworkSensorDescription(
        key="active_alarms",
        translation_key="active_alarms",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda c, _r: len(c.alarms.active),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Network sensors, then one set per managed inlet under its subentry."""
    coordinator = entry.runtime_data.coordinator
    data = coordinator.data
    add_entities(
        coordinator,
        async_add_entities,
        (NetworkSensor(coordinator, d) for d in NETWORK_SENSORS),
        lambda iid: (
            InletSensor(coordinator, d, iid) for d in INLET_SENSORS if d.exists_fn(data.inlets[iid])
        ),
    )


class NetworkSensor(HeatbalanceEntity, SensorEntity):
    """A network-wide figure."""

    entity_description: NetworkSensorDescription

    @property
    def native_value(self) -> float | str | None:
        """Read from the last cycle."""
        return self.entity_description.value_fn(self.coordinator, self.coordinator.data)


class InletSensor(HeatbalanceEntity, SensorEntity):
    """A figure of one inlet."""

    entity_description: InletSensorDescription

    @property
    def native_value(self) -> float | None:
        """Read from the last cycle."""
        return self.entity_description.value_fn(self.inlet)
