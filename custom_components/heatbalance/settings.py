"""Typed views of a config entry's options and of its inlet subentries.

The config entry is the single source of truth for everything an operator sets: the options
(level, target, algorithm, mode, cycle, thresholds) and each inlet subentry (source mapping,
weight, offset, auto switch). These dataclasses read them with defaults, so a key added in a
later version never breaks an older entry. No Home Assistant imports: pure data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .const import (
    CONF_ACCELERATION,
    CONF_ALARM_CYCLES,
    CONF_ALGORITHM,
    CONF_AUTO,
    CONF_BATTERY_ENTITY,
    CONF_CYCLE_MINUTES,
    CONF_DONE,
    CONF_DROPOUT,
    CONF_FAULT_ENTITY,
    CONF_FEEDBACK_TOLERANCE,
    CONF_GATEWAY_ID,
    CONF_GATEWAY_METER,
    CONF_GATEWAY_ROOMS,
    CONF_GATEWAY_TOPIC,
    CONF_GATEWAY_VALVE,
    CONF_INLET_ID,
    CONF_LEVEL,
    CONF_LINK,
    CONF_LOW_BATTERY,
    CONF_MAX_OPENING,
    CONF_MAX_PUMP_SPEED,
    CONF_MAX_PUMP_STEP,
    CONF_MAX_STEP,
    CONF_MAX_SUPPLY,
    CONF_MIN_DP,
    CONF_MIN_FLOW,
    CONF_MIN_OPENING,
    CONF_MIN_PUMP_SPEED,
    CONF_MIN_RETURN,
    CONF_MODE,
    CONF_OUTDOOR_ENTITY,
    CONF_PUMP_FEEDBACK_ENTITY,
    CONF_PUMP_GATEWAY_DEVICE,
    CONF_PUMP_GATEWAY_ID,
    CONF_PUMP_SPEED_ENTITY,
    CONF_ROOM_ENTITY,
    CONF_SETPOINT_OFFSET,
    CONF_SIM_NOISE,
    CONF_SIM_SEED,
    CONF_SOURCE,
    CONF_SUBSTATION_FLOW_DEVICE,
    CONF_SUBSTATION_FLOW_ENTITY,
    CONF_SUBSTATION_HEAT_DEVICE,
    CONF_SUBSTATION_HEAT_ENTITY,
    CONF_TARGET,
    CONF_WEIGHT,
    DEFAULT_GATEWAY_TOPIC,
    GATEWAY_SENSOR_KEYS,
    LINK_WIRED,
    SIGNAL_ENTITY_KEYS,
    SOURCE_GATEWAY,
    SOURCE_SIMULATOR,
)
from .engine.alarms import AlarmSettings
from .engine.control.base import usable
from .engine.control.safety import SafetyLimits, finite_number
from .engine.evaluation import BANDS

_ENGINE_LIMITS = SafetyLimits()
# the options' target names → the engine's (control/base.py, evaluation.py)
ENGINE_TARGETS = {
    "flow": "flow",
    "return_temperature": "return",
    "mean_temperature": "mean",
    "room_temperature": "room",
}
_ENGINE_ALARMS = AlarmSettings()


def _pct(share: float) -> int:
    """An engine share (0…1) as the whole percent the options dialog shows."""
    return round(share * 100)


# Defaults: intermediate level, the minimum for new systems (§3.0.8), flow target, and a demo
# plant that runs 30 simulated minutes (one §4.3.4 period) per 10 s.
DEFAULT_OPTIONS: dict[str, Any] = {
    CONF_LEVEL: "intermediate",
    CONF_TARGET: "flow",
    CONF_ALGORITHM: "traditional",
    CONF_MODE: "auto",
    CONF_CYCLE_MINUTES: 30,
    CONF_ACCELERATION: 180,
    CONF_OUTDOOR_ENTITY: None,
    CONF_SUBSTATION_FLOW_ENTITY: None,
    CONF_SUBSTATION_FLOW_DEVICE: None,  # or the substation's flow meter on the gateway
    CONF_SUBSTATION_HEAT_ENTITY: None,  # the substation heat meter's power (kW, W, MW)
    CONF_SUBSTATION_HEAT_DEVICE: None,  # or that meter on the gateway (its power point)
    CONF_DROPOUT: 0,
    # the simulated plant's instruments (a demo or a developer's run): relative noise on every
    # signal and the seed of its draws, as the engine's benchmarks draw them (instruments.py)
    CONF_SIM_NOISE: 0,
    CONF_SIM_SEED: 0,
    # valve and pump limits default to the engine's own (one set of safety limits, §5.3.6-3)
    CONF_MIN_OPENING: _pct(_ENGINE_LIMITS.min_opening),
    CONF_MAX_OPENING: _pct(_ENGINE_LIMITS.max_opening),
    CONF_MAX_STEP: _pct(_ENGINE_LIMITS.max_step),
    CONF_MIN_FLOW: 50,  # the engine's guard is off by default; an operator's plant has it on
    # alarm thresholds (§5.3.8-1) default to the engine's alarm rules' own
    CONF_MAX_SUPPLY: _ENGINE_ALARMS.max_supply_c,
    CONF_MIN_RETURN: _ENGINE_ALARMS.min_return_c,
    CONF_MIN_DP: _ENGINE_ALARMS.min_dp_kpa,
    CONF_FEEDBACK_TOLERANCE: round(_ENGINE_ALARMS.feedback_tolerance_pct),
    CONF_ALARM_CYCLES: 4,
    CONF_LOW_BATTERY: round(_ENGINE_ALARMS.low_battery_pct),
    CONF_GATEWAY_TOPIC: DEFAULT_GATEWAY_TOPIC,  # the entry's MQTT topic base (issue 10 item 6)
    # the pump of a real plant (none mapped: planned at the network file's speed); the
    # network file's VFD range applies as well
    CONF_PUMP_SPEED_ENTITY: None,
    CONF_PUMP_FEEDBACK_ENTITY: None,
    CONF_PUMP_GATEWAY_DEVICE: None,
    CONF_PUMP_GATEWAY_ID: None,  # the gateway owning the drive (None: the first to report it)
    CONF_MIN_PUMP_SPEED: _pct(_ENGINE_LIMITS.min_pump_speed),
    CONF_MAX_PUMP_SPEED: _pct(_ENGINE_LIMITS.max_pump_speed),
    CONF_MAX_PUMP_STEP: _pct(_ENGINE_LIMITS.max_pump_step),
}
# (min, max, step) of each numeric option: the options dialog and the threshold number
# entities share them, so a range is written once
OPTION_RANGES: dict[str, tuple[float, float, float]] = {
    # up to 60 min is accepted; above §4.3.4's 30 min a repair issue asks to shorten it
    CONF_CYCLE_MINUTES: (1, 60, 1),
    CONF_ACCELERATION: (1, 720, 1),
    CONF_DROPOUT: (0, 50, 1),
    CONF_SIM_NOISE: (0, 10, 0.1),
    CONF_SIM_SEED: (0, 999999, 1),
    CONF_MIN_OPENING: (0, 100, 1),
    CONF_MAX_OPENING: (0, 100, 1),
    CONF_MAX_STEP: (1, 100, 1),
    CONF_MIN_FLOW: (0, 100, 1),
    CONF_MAX_SUPPLY: (30, 150, 0.5),
    CONF_MIN_RETURN: (0, 60, 0.5),
    CONF_MIN_DP: (0, 500, 0.5),
    CONF_FEEDBACK_TOLERANCE: (1, 50, 1),
    CONF_ALARM_CYCLES: (1, 48, 1),
    CONF_LOW_BATTERY: (0, 100, 1),
    CONF_MIN_PUMP_SPEED: (0, 100, 1),
    CONF_MAX_PUMP_SPEED: (1, 100, 1),
    CONF_MAX_PUMP_STEP: (1, 100, 1),
}
# Where the pump's drive is (a change reloads the entry: the gateway source attaches at setup).
PUMP_SOURCES: tuple[str, ...] = (
    CONF_PUMP_SPEED_ENTITY,
    CONF_PUMP_FEEDBACK_ENTITY,
    CONF_PUMP_GATEWAY_DEVICE,
    CONF_PUMP_GATEWAY_ID,
)
# Options that name an entity or device: cleared when the form leaves them empty.
OPTIONAL_OPTIONS: tuple[str, ...] = (
    CONF_OUTDOOR_ENTITY,
    *PUMP_SOURCES,
    CONF_SUBSTATION_FLOW_DEVICE,
    CONF_SUBSTATION_HEAT_DEVICE,
)

# Options whose change reloads the entry (the plant and its sources are built at setup);
# every other option the coordinator applies in place.
RELOAD_OPTIONS: tuple[str, ...] = (
    CONF_CYCLE_MINUTES,
    CONF_ACCELERATION,
    CONF_OUTDOOR_ENTITY,
    CONF_GATEWAY_TOPIC,  # the gateway source subscribes to its topic base at setup
    *PUMP_SOURCES,  # the pump's source changes: the plant is rebuilt
    CONF_SUBSTATION_FLOW_DEVICE,  # a meter on the gateway attaches its source at setup
    CONF_SUBSTATION_HEAT_DEVICE,
)
# The options the engine's SafetyLimits are made of (§5.3.6-3): option → (Settings field in
# %, SafetyLimits field as a share). One table: cycle.limits_of builds the limits from it and
# a damaged store's check knows by it which options are limits (_damaged_numbers).
LIMIT_OPTIONS: dict[str, tuple[str, str]] = {
    CONF_MIN_OPENING: ("min_opening_pct", "min_opening"),
    CONF_MAX_OPENING: ("max_opening_pct", "max_opening"),
    CONF_MAX_STEP: ("max_step_pct", "max_step"),
    CONF_MIN_FLOW: ("min_flow_pct", "min_flow_ratio"),
    CONF_MIN_PUMP_SPEED: ("min_pump_speed_pct", "min_pump_speed"),
    CONF_MAX_PUMP_SPEED: ("max_pump_speed_pct", "max_pump_speed"),
    CONF_MAX_PUMP_STEP: ("max_pump_step_pct", "max_pump_step"),
}
# Limit pairs whose low end must not exceed the high end, with the error shown: the engine's
# SafetyLimits refuses them (§5.3.6-3).
ORDERED_LIMITS: tuple[tuple[str, str, str], ...] = (
    (CONF_MIN_OPENING, CONF_MAX_OPENING, "opening_limits"),
    (CONF_MIN_PUMP_SPEED, CONF_MAX_PUMP_SPEED, "pump_limits"),
)


def option_errors(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(option, error) of every setting the engine would refuse in ``options`` (defaults
    filled): a limit pair out of order, or a target without a band at the level (§4.1.1:
    room temperature at the advanced level only). The options dialog, the threshold numbers,
    the selects and the set_safety_thresholds action ask this one rule before they store."""
    o = DEFAULT_OPTIONS | dict(options)
    wrong = [(low, error) for low, high, error in ORDERED_LIMITS if o[low] > o[high]]
    if (o[CONF_LEVEL], ENGINE_TARGETS[o[CONF_TARGET]]) not in BANDS:
        wrong.append((CONF_TARGET, "room_target_needs_advanced"))
    return wrong


@dataclass(frozen=True)
class Settings:
    """The options of one network entry, with defaults filled in."""

    level: str
    target: str
    algorithm: str
    mode: str
    cycle_minutes: float
    acceleration: float
    outdoor_entity: str | None
    dropout_pct: float
    min_opening_pct: float
    max_opening_pct: float
    max_step_pct: float
    min_flow_pct: float
    max_supply_c: float
    min_return_c: float
    min_dp_kpa: float
    feedback_tolerance_pct: float
    alarm_cycles: int
    low_battery_pct: float
    pump_speed_entity: str | None = None
    pump_feedback_entity: str | None = None
    pump_gateway_device: str | None = None
    pump_gateway_id: str | None = None  # the gateway owning the drive (None: first to report)
    min_pump_speed_pct: float = DEFAULT_OPTIONS[CONF_MIN_PUMP_SPEED]
    max_pump_speed_pct: float = DEFAULT_OPTIONS[CONF_MAX_PUMP_SPEED]
    max_pump_step_pct: float = DEFAULT_OPTIONS[CONF_MAX_PUMP_STEP]
    substation_flow_entity: str | None = None  # the substation's flow meter (meters.py)
    substation_flow_device: str | None = None  # … or that meter on the gateway
    substation_heat_entity: str | None = None  # the substation heat meter's power
    substation_heat_device: str | None = None  # … or that meter on the gateway
    sim_noise_pct: float = 0.0  # the simulated plant's instrument noise (% of each value)
    sim_seed: int = 0  # … and the seed of its draws
    # options stored damaged and read at their defaults ("key=stored value"): the
    # ``damaged_options`` repair names them; no setting of its own (not compared)
    damaged: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        """Read options, defaulting every missing key and every damaged one
        (:func:`restarted_options`)."""
        o = DEFAULT_OPTIONS | {k: v for k, v in options.items() if k in DEFAULT_OPTIONS}
        fixed = restarted_options(o)
        damaged = tuple(f"{k}={o[k]!r}" for k in fixed)
        o |= fixed
        return cls(
            damaged=damaged,
            level=o[CONF_LEVEL],
            target=o[CONF_TARGET],
            algorithm=o[CONF_ALGORITHM],
            mode=o[CONF_MODE],
            cycle_minutes=float(o[CONF_CYCLE_MINUTES]),
            acceleration=float(o[CONF_ACCELERATION]),
            outdoor_entity=o[CONF_OUTDOOR_ENTITY] or None,
            dropout_pct=float(o[CONF_DROPOUT]),
            sim_noise_pct=float(o[CONF_SIM_NOISE]),
            sim_seed=int(o[CONF_SIM_SEED]),
            min_opening_pct=float(o[CONF_MIN_OPENING]),
            max_opening_pct=float(o[CONF_MAX_OPENING]),
            max_step_pct=float(o[CONF_MAX_STEP]),
            min_flow_pct=float(o[CONF_MIN_FLOW]),
            max_supply_c=float(o[CONF_MAX_SUPPLY]),
            min_return_c=float(o[CONF_MIN_RETURN]),
            min_dp_kpa=float(o[CONF_MIN_DP]),
            feedback_tolerance_pct=float(o[CONF_FEEDBACK_TOLERANCE]),
            alarm_cycles=int(o[CONF_ALARM_CYCLES]),
            low_battery_pct=float(o[CONF_LOW_BATTERY]),
            pump_speed_entity=o[CONF_PUMP_SPEED_ENTITY] or None,
            pump_feedback_entity=o[CONF_PUMP_FEEDBACK_ENTITY] or None,
            pump_gateway_device=o[CONF_PUMP_GATEWAY_DEVICE] or None,
            pump_gateway_id=_name(o[CONF_PUMP_GATEWAY_ID]),
            min_pump_speed_pct=float(o[CONF_MIN_PUMP_SPEED]),
            max_pump_speed_pct=float(o[CONF_MAX_PUMP_SPEED]),
            max_pump_step_pct=float(o[CONF_MAX_PUMP_STEP]),
            substation_flow_entity=o[CONF_SUBSTATION_FLOW_ENTITY] or None,
            substation_flow_device=o[CONF_SUBSTATION_FLOW_DEVICE] or None,
            substation_heat_entity=o[CONF_SUBSTATION_HEAT_ENTITY] or None,
            substation_heat_device=o[CONF_SUBSTATION_HEAT_DEVICE] or None,
        )

    @property
    def substation_heat_meter(self) -> str | None:
        """The substation heat meter as mapped: its entity, or ``gateway:<device>``."""
        if self.substation_heat_device:
            return f"gateway:{self.substation_heat_device}"
        return self.substation_heat_entity

    @property
    def substation_metered(self) -> bool:
        """Whether a real plant's substation flow meter is mapped (entity or gateway device)."""
        return bool(self.substation_flow_entity or self.substation_flow_device)

    @property
    def pump_commanded(self) -> bool:
        """Whether a command can reach a real pump (a VFD entity or gateway device)."""
        return bool(self.pump_speed_entity or self.pump_gateway_device)

    @property
    def auto(self) -> bool:
        """Whether commands are dispatched: auto mode above the primary level (Table 3.0.4)."""
        return self.mode == "auto" and self.level != "primary"


@dataclass(frozen=True)
class InletConfig:
    """One inlet subentry: which inlet, where its signals come from, operator tunables."""

    subentry_id: str
    inlet_id: str
    source: str = SOURCE_SIMULATOR
    link: str = LINK_WIRED
    entities: dict[str, str] = field(default_factory=dict)  # one entity per signal key
    rooms: tuple[str, ...] = ()  # typical users' room sensors (entities or gateway devices)
    gateway_meter: str | None = None  # gateway device names (source "gateway" only)
    gateway_valve: str | None = None
    gateway_id: str | None = None  # the gateway owning them (None: the first that reports)
    # pressure transmitters by key (CONF_GATEWAY_SUPPLY_PRESSURE / _RETURN_PRESSURE)
    gateway_sensors: dict[str, str] = field(default_factory=dict)
    weight: float | None = None  # None: the network file's weight
    setpoint_offset: float = 0.0
    auto: bool = True
    # the opening a commissioning record ticked done says was set (§7.2.6): where the engine
    # assumes a valve without position feedback before its first command (issue 9 item 2)
    commissioned_opening: float | None = None

    @classmethod
    def from_subentry(cls, subentry_id: str, data: Mapping[str, Any]) -> InletConfig:
        """Read a subentry's data (a room entity saved as one id before lists is one room)."""
        weight = data.get(CONF_WEIGHT)
        source = data.get(CONF_SOURCE, SOURCE_SIMULATOR)
        gateway = source == SOURCE_GATEWAY
        meter, valve = gateway_devices(data) if gateway else (None, None)
        rooms = names_of(data.get(CONF_GATEWAY_ROOMS if gateway else CONF_ROOM_ENTITY))
        sensors = {k: n for k in GATEWAY_SENSOR_KEYS if gateway and (n := _name(data.get(k)))}
        return cls(
            subentry_id=subentry_id,
            inlet_id=data[CONF_INLET_ID],
            source=source,
            link=data.get(CONF_LINK, LINK_WIRED),
            entities={
                k: data[k]
                for k in SIGNAL_ENTITY_KEYS
                if k != CONF_ROOM_ENTITY and isinstance(data.get(k), str) and data[k]
            },
            rooms=rooms,
            gateway_meter=meter,
            gateway_valve=valve,
            gateway_id=_name(data.get(CONF_GATEWAY_ID)) if gateway else None,
            gateway_sensors=sensors,
            weight=None if weight is None else float(weight),
            setpoint_offset=float(data.get(CONF_SETPOINT_OFFSET, 0.0)),
            auto=bool(data.get(CONF_AUTO, True)),
        )

    @property
    def battery_devices(self) -> bool:
        """Whether a device of the inlet may report a battery (§4.3.11-6): a mapped battery
        entity, or gateway room sensors and valves (LoRaWAN/Zigbee devices report one)."""
        if self.source == SOURCE_GATEWAY:
            return bool(self.rooms or self.gateway_valve)
        return CONF_BATTERY_ENTITY in self.entities

    @property
    def fault_codes(self) -> bool:
        """Whether the inlet's valve reports its own fault code (§4.3.8): a gateway valve
        (the electric_valve profile reads its fault word) or a mapped fault-code entity."""
        if self.source == SOURCE_GATEWAY:
            return self.gateway_valve is not None
        return CONF_FAULT_ENTITY in self.entities

    def structure(self) -> InletConfig:
        """What needs a reload when it changes: all but the operator's tunables (weight,
        offset, auto), which the coordinator applies in place."""
        return replace(self, weight=None, setpoint_offset=0.0, auto=True, commissioned_opening=None)


def commissioned_openings(records: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Per inlet, the valve opening a commissioning record's fitter set on site: the rows
    ticked done (§7.2.6), a later record over an earlier one (records in the order they
    were made); a row without a valid opening (a ΔP valve's setpoint, a pump) gives none.
    ``records`` are the commissioning subentries' data."""
    out: dict[str, float] = {}
    for data in records:
        record, done = data.get("record"), data.get(CONF_DONE)
        if not isinstance(record, Mapping) or not isinstance(done, list | tuple):
            continue
        ticked = {d for d in done if isinstance(d, str)}
        for row in record.get("inlets") or ():
            iid = row.get("inlet_id") if isinstance(row, Mapping) else None
            opening = usable(row.get("opening")) if iid in ticked else None
            if iid is not None and opening is not None and 0.0 <= opening <= 1.0:
                out[iid] = opening
    return out


def default_gateway_devices(inlet_id: str) -> tuple[str, str]:
    """Gateway device names (meter, valve) of an inlet as the virtual plant names them."""
    base = re.sub(r"[^a-z0-9_-]+", "-", inlet_id.lower()).strip("-_")[:40] or "x"
    return f"{base}-meter", f"{base}-valve"


def gateway_devices(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """A gateway inlet's (meter, valve) device names.

    Subentries made before the names were configurable carry none: they get the defaults, the
    names the virtual plant uses. An empty name means the inlet has no such device.
    """
    meter, valve = default_gateway_devices(str(data[CONF_INLET_ID]))
    return _name(data.get(CONF_GATEWAY_METER, meter)), _name(data.get(CONF_GATEWAY_VALVE, valve))


def names_of(value: Any) -> tuple[str, ...]:
    """Entity ids or device names from a list, one string, or a comma-separated string."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return tuple(dict.fromkeys(n for v in items if (n := str(v or "").strip())))


def all_gateway_devices(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Every gateway device a gateway inlet's subentry names (meter, valve, transmitters,
    room sensors): a device belongs to one inlet only."""
    meter, valve = gateway_devices(data)
    sensors = (_name(data.get(k)) for k in GATEWAY_SENSOR_KEYS)
    named = (meter, valve, *sensors, *names_of(data.get(CONF_GATEWAY_ROOMS)))
    return tuple(n for n in named if n)


def restarted_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The numeric options a stored entry holds damaged — text, a bool, NaN, a safety
    limit outside its range (:data:`OPTION_RANGES`) or a limit pair out of order — each at
    its default. The dialog, the numbers and the action store only checked values, so
    these come from an edited or broken store: ``float`` raised on text and the engine on
    a limit it refuses (the entry did not load), and True was taken as 1 % (a minimum
    opening of 1 %, below the engine's 5 %). Not logged here (it was, at every read of the
    options, each reload): the ``damaged_options`` repair names them, logged once, and its
    fix stores these defaults."""
    o = DEFAULT_OPTIONS | dict(options)
    fixed: dict[str, Any] = {}
    for key, (lo, hi, _step) in OPTION_RANGES.items():
        number = finite_number(o[key])
        if not (number and (key not in LIMIT_OPTIONS or lo <= o[key] <= hi)):
            fixed[key] = DEFAULT_OPTIONS[key]
    for low, high, _error in ORDERED_LIMITS:
        if (fixed.get(low, o[low])) > (fixed.get(high, o[high])):
            fixed[low], fixed[high] = DEFAULT_OPTIONS[low], DEFAULT_OPTIONS[high]
    return fixed


def _name(value: Any) -> str | None:
    """A device name, or None for an empty one."""
    return str(value or "").strip() or None
