"""Sensors: each inlet's measurements, set and feedback values (§5.3.5-2), network indicators.

Heat energy is ``total_increasing`` kWh per inlet and for the network, ready for the energy
dashboard (HA 2025.4 has no district-heating category: add it as gas or as a device).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from .engine.evaluation import BALANCED, BALANCING, DISTURBED, NOT_BALANCED
from .entity import HeatbalanceEntity, add_entities
from .estimates import ATTR_LEFT_OUT, is_estimated, rejected, stated
from .settings import InletConfig

PARALLEL_UPDATES = 0
M3H = UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR
ATTR_ESTIMATED_KWH = "estimated_kwh"  # of the network heat energy's total
ATTR_ESTIMATED_CYCLES = "estimated_cycles"
# the band verdicts (issue 9 item 1): on the estimates (shown), on the readings beside them
ATTR_IN_BAND = "in_band"
ATTR_IN_BAND_READINGS = "in_band_readings"
ATTR_SHARE_READINGS = "share_in_band_readings"
ATTR_NO_ESTIMATE = "inlets_without_estimate"
# inlets whose estimate is outside the band, and of them those outside by no more than noise
# explains for the number judged (issue 10, §8.2.4)
ATTR_OUT_OF_BAND = "inlets_out_of_band"
ATTR_WITHIN_NOISE = "inlets_out_within_noise"
ATTR_LEVEL = "level"
ATTR_CLAUSE = "clause"
ATTR_ESTIMATE_DEVIATION = "estimate_deviation"
ATTR_UNCERTAINTY = "uncertainty"
BALANCE_STATES = ["balanced", "regulating", "disturbed", "manual", "inspection"]
ENGINE_STATES = {
    BALANCING: "regulating",
    BALANCED: "balanced",
    DISTURBED: "disturbed",  # left the band after balance: regulation resumed (§8.2.5)
    NOT_BALANCED: "inspection",  # §8.2.6
}


@dataclass(frozen=True, kw_only=True)
class InletSensorDescription(SensorEntityDescription):
    """A per-inlet sensor and how to read it from the inlet's cycle result."""

    value_fn: Callable[[InletResult], float | None]
    exists_fn: Callable[[InletResult], bool] = lambda _: True
    config_fn: Callable[[InletConfig], bool] = lambda _: True  # mapped devices deliver it
    estimable: str | None = None  # the reading field the engine may fill in (estimates.py)
    verdicts: bool = False  # carries the inlet's band verdicts (estimate and readings)


@dataclass(frozen=True, kw_only=True)
class NetworkSensorDescription(SensorEntityDescription):
    """A network sensor and how to read it from the cycle result."""

    value_fn: Callable[[HeatbalanceCoordinator, CycleResult], float | str | None]
    estimable: str | None = None  # the CycleResult field the model may stand in for
    # a sum over the inlets: stated only while every inlet has a trusted figure
    partial: bool = False
    # the network heat counter: says how much of its total the engine estimated
    counter: bool = False
    verdicts: bool = False  # carries the network's band verdicts (estimate and readings)


# What sensors of one kind share: unit, device class, state class.
type Kind = dict[str, Any]


def _kind(
    unit: str | None,
    device_class: SensorDeviceClass | None = None,
    state_class: SensorStateClass | None = SensorStateClass.MEASUREMENT,
) -> Kind:
    return {
        "native_unit_of_measurement": unit,
        "device_class": device_class,
        "state_class": state_class,
    }


CELSIUS = _kind(UnitOfTemperature.CELSIUS, SensorDeviceClass.TEMPERATURE)
KELVIN = _kind(UnitOfTemperature.KELVIN, SensorDeviceClass.TEMPERATURE)
FLOW = _kind(M3H, SensorDeviceClass.VOLUME_FLOW_RATE)
KILOWATT = _kind(UnitOfPower.KILO_WATT, SensorDeviceClass.POWER)
WATT = _kind(UnitOfPower.WATT, SensorDeviceClass.POWER)
ENERGY = _kind(
    UnitOfEnergy.KILO_WATT_HOUR, SensorDeviceClass.ENERGY, SensorStateClass.TOTAL_INCREASING
)
PRESSURE = _kind(UnitOfPressure.KPA, SensorDeviceClass.PRESSURE)
PERCENT = _kind(PERCENTAGE)
SET_VALUE = {"state_class": None}  # a set value (§5.3.5-2) is not a measurement
DIAGNOSTIC = {"entity_category": EntityCategory.DIAGNOSTIC}


def _inlet(
    key: str,
    kind: Kind,
    precision: int,
    value_fn: Callable[[InletResult], float | None],
    **extra: Any,
) -> InletSensorDescription:
    """An inlet sensor translated under its key."""
    return InletSensorDescription(
        key=key,
        translation_key=key,
        suggested_display_precision=precision,
        value_fn=value_fn,
        **(kind | extra),
    )


def _network(
    key: str,
    kind: Kind,
    precision: int | None,
    value_fn: Callable[[HeatbalanceCoordinator, CycleResult], float | str | None],
    **extra: Any,
) -> NetworkSensorDescription:
    """A network sensor translated under its key."""
    return NetworkSensorDescription(
        key=key,
        translation_key=key,
        suggested_display_precision=precision,
        value_fn=value_fn,
        **(kind | extra),
    )


def _mean(r: InletResult) -> float | None:
    """The mean of the two temperatures, both measured and trusted (else unknown)."""
    s, t = _measured(r, "supply_c"), _measured(r, "return_c")
    return None if s is None or t is None else (s + t) / 2.0


def _measured(r: InletResult, name: str) -> float | None:
    """A reading the engine trusts, as an instrument delivered it."""
    if name in r.flagged or name in r.reading.estimated:  # rejected, or the model's
        return None
    value: float | None = getattr(r.reading, name)
    return value


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100.0


def _shown(name: str, scale: float = 1.0) -> Callable[[InletResult], float | None]:
    """The reading's value, else the engine's estimate of it (flagged by the entity)."""

    def value(r: InletResult) -> float | None:
        got = getattr(r.reading, name)
        got = r.filled.get(name) if got is None else got
        return None if got is None else got * scale

    return value


def _households(key: str) -> Callable[[InletResult], float | None]:
    """A building's households' room temperatures: the simulated plant's, else the
    network model's (flagged, ``cycle._households_modelled``)."""
    return lambda r: getattr(r.households, key) if r.households else None


def _has_households(r: InletResult) -> bool:
    return r.households is not None


INLET_SENSORS: tuple[InletSensorDescription, ...] = (
    _inlet("supply_temperature", CELSIUS, 1, _shown("supply_c"), estimable="supply_c"),
    _inlet("return_temperature", CELSIUS, 1, _shown("return_c"), estimable="return_c"),
    _inlet("mean_temperature", CELSIUS, 1, _mean, entity_registry_enabled_default=False),
    _inlet("room_temperature", CELSIUS, 1, _shown("room_c"), estimable="room_c"),
    _inlet("flow", FLOW, 2, _shown("flow_m3h"), estimable="flow_m3h"),
    _inlet("flow_setpoint", FLOW | SET_VALUE, 2, lambda r: r.setpoint),
    _inlet("deviation", PERCENT, 1, lambda r: r.deviation, estimable="deviation", verdicts=True),
    _inlet("heat_power", KILOWATT, 1, lambda r: r.heat_kw),
    _inlet("heat_energy", ENERGY, 0, lambda r: r.energy_kwh),
    _inlet("valve_position", PERCENT, 0, _shown("opening", 100.0), estimable="opening"),
    _inlet("valve_command", PERCENT | SET_VALUE, 0, lambda r: _pct(r.command)),
    _inlet(
        "differential_pressure",
        PRESSURE,
        1,
        _shown("dp_available_kpa"),
        entity_registry_enabled_default=False,
        estimable="dp_available_kpa",
    ),
    _inlet(
        "battery",
        _kind(PERCENTAGE, SensorDeviceClass.BATTERY) | DIAGNOSTIC,
        0,
        lambda r: r.reading.battery_pct,
        config_fn=lambda cfg: cfg.battery_devices,
    ),
    _inlet(
        "valve_fault_code",
        _kind(None, None, None) | DIAGNOSTIC,
        0,
        lambda r: r.reading.fault_code,
        config_fn=lambda cfg: cfg.fault_codes,
    ),
    _inlet(
        "success_rate",
        PERCENT | DIAGNOSTIC,
        1,
        lambda r: r.success_rate,
        entity_registry_enabled_default=False,
    ),
    _inlet(
        "households_room_min",
        CELSIUS,
        1,
        _households("room_min_c"),
        exists_fn=_has_households,
        estimable="households_room_min_c",
    ),
    _inlet(
        "households_room_max",
        CELSIUS,
        1,
        _households("room_max_c"),
        exists_fn=_has_households,
        estimable="households_room_max_c",
    ),
)


def _state(c: HeatbalanceCoordinator, _r: CycleResult) -> str:
    """The engine's balance state (§8.2.5/§8.2.6) in the operator's words."""
    if not c.settings.auto:
        return "manual"
    return ENGINE_STATES[c.balance.state]


def _network_energy(c: HeatbalanceCoordinator, _r: CycleResult) -> float:
    """The heat power display's figure over time (``CycleMemory.network_energy``): each
    building counted once, estimated cycles included and said (``estimated_kwh``)."""
    return c.memory.network_energy.total_kwh


NETWORK_SENSORS: tuple[NetworkSensorDescription, ...] = (
    _network(
        "balance_state",
        _kind(None, SensorDeviceClass.ENUM, None),
        None,
        _state,
        options=BALANCE_STATES,
    ),
    _network("share_in_band", PERCENT, 0, lambda _c, r: r.share_in_band, verdicts=True),
    _network("return_spread", KELVIN, 2, lambda _c, r: r.spread),
    _network("flow_deviation_spread", PERCENT, 1, lambda _c, r: _pct(r.flow_deviation_spread)),
    _network("supply_temperature", CELSIUS, 1, lambda _c, r: r.supply_c, estimable="supply_c"),
    _network("return_temperature", CELSIUS, 1, lambda _c, r: r.return_c, estimable="return_c"),
    _network("outdoor_temperature", CELSIUS, 1, lambda _c, r: r.outdoor_c, estimable="outdoor_c"),
    _network("network_flow", FLOW, 1, lambda _c, r: r.pump_flow_m3h, estimable="pump_flow_m3h"),
    _network("heat_power", KILOWATT, 0, lambda _c, r: r.heat_kw, partial=True),
    _network("heat_energy", ENERGY, 0, _network_energy, counter=True),
    _network("forecast_load", KILOWATT, 0, lambda _c, r: r.forecast_kw),
    _network("pump_power", WATT, 0, lambda _c, r: r.pump_power_w, estimable="pump_power_w"),
    _network(
        "pump_speed",
        PERCENT | DIAGNOSTIC,
        0,
        lambda _c, r: _pct(r.pump_speed),
        estimable="pump_speed",
    ),
    # the set value of the pump's speed (§5.3.5-2), as ``valve_command`` is the valves': sent
    # (automatic), or the manual proposal the operator sees before confirming it (§5.3.6-6)
    # and, once confirmed, the speed that went out until the next cycle — as the valves' set
    # positions (actions._show_sent); unknown when the cycle computed none
    _network("pump_speed_command", PERCENT | SET_VALUE, 1, lambda _c, r: _pct(r.pump_command)),
    _network("success_rate", PERCENT | DIAGNOSTIC, 1, lambda _c, r: r.success_rate),
    _network("active_alarms", _kind(None), None, lambda c, _r: len(c.alarms.active)),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Network sensors, then one set per managed inlet under its subentry."""
    coordinator = entry.runtime_data.coordinator
    data = coordinator.data
    await add_entities(
        coordinator,
        async_add_entities,
        (NetworkSensor(coordinator, d) for d in NETWORK_SENSORS),
        lambda iid: (
            InletSensor(coordinator, d, iid)
            for d in INLET_SENSORS
            if d.exists_fn(data.inlets[iid]) and d.config_fn(coordinator.inlets[iid])
        ),
    )


def _partial(data: CycleResult) -> tuple[float | None, dict[str, Any] | None]:
    """The network heat power (``CycleResult.network_heat``): the substation heat meter's
    reading, or the inlets' sum while every inlet has a trusted heat figure; else unknown,
    the estimate (the missing inlets' heat from the engine's values) in ``estimate`` with
    the inlets it still leaves out (a state_class sensor states only trusted values,
    estimates.py)."""
    heat = data.network_heat()
    if not heat.estimated:
        return heat.kw, None
    value, attrs = stated(heat.kw, True)
    attrs[ATTR_LEFT_OUT] = heat.left_out
    return value, attrs


def _counted(c: HeatbalanceCoordinator, data: CycleResult | None) -> dict[str, Any]:
    """The network heat energy's estimated part: kWh and cycles whose network heat was the
    engine's estimate (a meter lost or rejected) — inside the total, said; and the inlets
    the last cycle's figure left out (neither a trusted figure nor an estimate: that
    cycle's count under-reports by theirs)."""
    energy = c.memory.network_energy
    attrs: dict[str, Any] = {
        ATTR_ESTIMATED_KWH: round(energy.estimated_kwh, 3),
        ATTR_ESTIMATED_CYCLES: energy.estimated_cycles,
    }
    left_out = data.network_heat().left_out if data is not None else 0
    if left_out:
        attrs[ATTR_LEFT_OUT] = left_out
    return attrs


def network_verdicts(data: CycleResult | None) -> dict[str, Any]:
    """The share in band's attributes (issue 9 item 1): the network's verdict on the
    estimates (the state's basis), and the verdict and share on this cycle's readings beside
    it; the judged inlets without an estimate (no verdict: left out of the share), the level
    and the clause judged by (§8.2.2–§8.2.4). Beside the verdict, how many inlets' estimates
    lie outside the band and how many of them by no more than noise explains for the number
    judged (``evaluation.within_noise``, issue 10): a "no" that rests on those alone is the
    noise of many estimates, not an inlet known to be out."""
    shown = data.estimate_evaluation if data is not None else None
    raw = data.evaluation if data is not None else None
    if shown is None or raw is None or data is None:
        return {}
    return {
        ATTR_IN_BAND: shown.in_band,
        ATTR_IN_BAND_READINGS: raw.in_band,
        ATTR_SHARE_READINGS: _rounded(data.share_in_band_readings),
        ATTR_NO_ESTIMATE: len(shown.missing),
        ATTR_OUT_OF_BAND: len(shown.out_of_band),
        ATTR_WITHIN_NOISE: len(shown.out_within_noise),
        ATTR_LEVEL: shown.level,
        ATTR_CLAUSE: shown.band.clause,
    }


def inlet_verdicts(r: InletResult) -> dict[str, Any]:
    """The deviation's band attributes (issue 9 item 1): the verdict on the estimate (what
    the panel colours; None: no estimate stands in) with the estimate's deviation and its
    ±2 σ, and the verdict on this cycle's reading beside it."""
    return {
        ATTR_IN_BAND: r.in_band,
        ATTR_IN_BAND_READINGS: r.in_band_readings,
        ATTR_ESTIMATE_DEVIATION: _rounded(r.estimate_deviation),
        ATTR_UNCERTAINTY: _rounded(r.uncertainty),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class NetworkSensor(HeatbalanceEntity, SensorEntity):
    """A network-wide figure."""

    entity_description: NetworkSensorDescription
    # figures that change every cycle: in the state machine, not in the recorder's database
    _unrecorded_attributes = frozenset({ATTR_SHARE_READINGS})

    def _stated(self) -> tuple[float | str | None, dict[str, Any] | None]:
        """The figure, unless the network model stands in for it (a real plant's
        substation temperatures, …: ``CycleResult.modelled``) — then unknown, the model's
        value in ``estimate`` (estimates.py: never into the statistics as measured)."""
        d, data = self.entity_description, self.coordinator.data
        if d.partial and data is not None:
            return _partial(data)
        value = d.value_fn(self.coordinator, data)
        if d.counter:
            return value, _counted(self.coordinator, data)
        if d.verdicts:
            return value, network_verdicts(data)
        if d.estimable is None or data is None or isinstance(value, str):
            return value, None
        return stated(value, d.estimable in data.modelled)

    @property
    def native_value(self) -> float | str | None:
        """Read from the last cycle."""
        return self._stated()[0]

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """``estimated`` (and the model's ``estimate``) on figures a real plant may lack."""
        return self._stated()[1]

    def _shown_values(self) -> tuple[Any, ...]:
        """Only the value and its attributes change between cycles (unit and class are the
        description's); HA's own state property is several times dearer to ask."""
        return self._stated()


class InletSensor(HeatbalanceEntity, SensorEntity):
    """A figure of one inlet."""

    entity_description: InletSensorDescription
    # figures that change every cycle: in the state machine, not in the recorder's database
    _unrecorded_attributes = frozenset({ATTR_ESTIMATE_DEVIATION, ATTR_UNCERTAINTY})

    def _stated(self) -> tuple[float | None, dict[str, Any] | None]:
        """A trusted measurement as the state; the engine's value, or a reading it rejected,
        only in the attributes (estimates.py: never into the statistics as measured)."""
        d, r = self.entity_description, self.inlet
        value = d.value_fn(r)
        name = d.estimable
        if name is None:
            return value, None
        why = rejected(name, r.reading, r.flagged)
        estimate = r.filled.get(name) if why else None
        value, attrs = stated(value, is_estimated(name, r.reading, r.filled), why, estimate)
        if d.verdicts:
            attrs |= inlet_verdicts(r)
        return value, attrs

    @property
    def native_value(self) -> float | None:
        """Read from the last cycle."""
        return self._stated()[0]

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """``estimated`` (with the engine's ``estimate``), or the ``rejected`` reading."""
        return self._stated()[1]

    def _shown_values(self) -> tuple[Any, ...]:
        """The value and its attributes, worked out once (unit and class are the
        description's): 23,777 inlets × a dozen sensors a cycle."""
        return self._stated()
