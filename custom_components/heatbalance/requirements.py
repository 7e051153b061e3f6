"""Data an inlet must deliver for the chosen level and control target (Tables 4.3.2, 4.3.3).

A configuration check, not an algorithm: the engine's tables (``engine/control/levels.py``)
say which signals are acquired remotely at the intermediate and advanced levels; this module
says what each source delivers (entities mapped, gateway devices named) and compares.
Signals: ``supply``, ``return``, ``flow``, ``room``, ``device`` (running state / position
feedback); network-wide ``outdoor``, ``typical_room`` (some users' room temperature) and
``pump_speed`` (the substation pump's drive, which the AI controller regulates at the
advanced level: on a real plant without a mapped drive it plans the pump as it stands).
``heat`` (a heat meter's energy counter or power; on the gateway its meter's ``energy``
point, kWh) and the network's ``substation_flow`` (an entity or a gateway device) are in no
table: they feed the meter consistency check (engine/meters.py, §3.0.7-1), which
:func:`meter_checks` states by the engine's rule. Nor is ``substation_heat`` (the substation
heat meter, an entity or a gateway device): optional, but once mapped on a real plant it is
the network heat and what the load forecast learns (§3.0.7-2), so a mapped meter that
delivers nothing is named like a missing signal (:func:`station_heat_missing`).
"""

from __future__ import annotations

from collections.abc import Mapping

from .const import (
    CONF_ACTUATOR_ENTITY,
    CONF_DP_ENTITY,
    CONF_FLOW_ENTITY,
    CONF_HEAT_ENERGY_ENTITY,
    CONF_HEAT_POWER_ENTITY,
    CONF_RETURN_ENTITY,
    CONF_RETURN_PRESSURE_ENTITY,
    CONF_SUPPLY_ENTITY,
    CONF_SUPPLY_PRESSURE_ENTITY,
    SOURCE_ENTITIES,
    SOURCE_GATEWAY,
)
from .engine.control.levels import pump_regulated, required_signals
from .engine.meters import checks_fed
from .engine.model import Network
from .settings import ENGINE_TARGETS, InletConfig, Settings

PRESSURE_PAIR = (CONF_SUPPLY_PRESSURE_ENTITY, CONF_RETURN_PRESSURE_ENTITY)
HEAT_METER = (CONF_HEAT_ENERGY_ENTITY, CONF_HEAT_POWER_ENTITY)  # energy counter, or power

ENTITY_SIGNALS = {
    "supply": CONF_SUPPLY_ENTITY,
    "return": CONF_RETURN_ENTITY,
    "flow": CONF_FLOW_ENTITY,
    "device": CONF_ACTUATOR_ENTITY,
}
# every signal a source can deliver; ``pressure`` (the available ΔP, §4.3.13) is no table
# entry but says whether ΔP is measured or the network model's estimate; ``heat`` a heat
# meter's energy counter or power (the simulated plant in HA reads none: its meters agree)
ALL_SIGNALS = frozenset({*ENTITY_SIGNALS, "room", "pressure", "heat"})


def required(settings: Settings, household: bool) -> tuple[str, ...]:
    """Signals an inlet must deliver at the configured level and target (the engine's
    Tables 4.3.2 and 4.3.3)."""
    return required_signals(settings.level, ENGINE_TARGETS[settings.target], household)


GATEWAY_METER_SIGNALS = frozenset({"supply", "return", "flow", "heat"})  # a heat meter's
GATEWAY_VALVE_SIGNALS = frozenset({"supply", "return", "device"})  # an electric valve's
# the gateway point (the add-on profile's key, gateway_source.reading) behind each signal
GATEWAY_POINTS = {
    "supply": "supply_temperature",
    "return": "return_temperature",
    "flow": "flow",
    "heat": "energy",
    "device": "position_feedback",
}
Points = Mapping[str, frozenset[str]]
"""Gateway device name → the point keys its gateway says it has (its ``…/info``)."""


def available(cfg: InletConfig, points: Points | None = None) -> set[str]:
    """Signals an inlet's source delivers: the simulated plant all but a heat meter; HA
    entities what is mapped; the gateway its heat meter's temperatures, flow and energy
    counter, its valve's position (and temperatures, read from the valve when there is
    no meter), the room temperature when room sensors are named and ΔP when both pressure
    transmitters are. ``points``: what the gateway says its devices have — a device listed
    there delivers only the signals of its points (a heat meter without an ``energy``
    point no heat); a device not listed is taken at its kind's signals."""
    if cfg.source not in (SOURCE_ENTITIES, SOURCE_GATEWAY):
        return set(ALL_SIGNALS - {"heat"})
    got: set[str] = {"room"} if cfg.rooms else set()
    if cfg.source == SOURCE_GATEWAY:
        for device, signals in (
            (cfg.gateway_meter, GATEWAY_METER_SIGNALS),
            (cfg.gateway_valve, GATEWAY_VALVE_SIGNALS),
        ):
            if not device:
                continue
            has = (points or {}).get(device)
            got |= {s for s in signals if has is None or GATEWAY_POINTS[s] in has}
        return got | ({"pressure"} if len(cfg.gateway_sensors) == 2 else set())
    got |= {signal for signal, key in ENTITY_SIGNALS.items() if cfg.entities.get(key)}
    got |= {"heat"} if any(cfg.entities.get(k) for k in HEAT_METER) else set()
    pair = all(cfg.entities.get(k) for k in PRESSURE_PAIR)
    return got | ({"pressure"} if pair or cfg.entities.get(CONF_DP_ENTITY) else set())


def station_heat_missing(
    settings: Settings,
    points: Points | None = None,
    entity_reads: bool | None = None,
    silent: bool = False,
) -> bool:
    """Whether the mapped substation heat meter delivers nothing: a gateway device its
    gateway describes without a ``power`` point, or an entity that does not read as a
    thermal power (``entity_reads`` False: an energy counter in kWh, a temperature; None:
    not known yet, e.g. before the entity's first state); or, however well mapped, it has
    gone silent (``silent``: ``Plant.station_heat_silent``)."""
    if silent and settings.substation_heat_meter:
        return True
    if device := settings.substation_heat_device:
        has = (points or {}).get(device)
        return has is not None and "power" not in has
    return bool(settings.substation_heat_entity) and entity_reads is False


def missing_signals(
    network: Network,
    settings: Settings,
    inlets: Mapping[str, InletConfig],
    points: Points | None = None,
    station_reads: bool | None = None,
    station_silent: bool = False,
) -> dict[str, list[str]]:
    """Per inlet (and ``network``), the required signals its configuration does not deliver
    (``points``: what the gateway's devices have, see :func:`available`; ``station_reads``
    whether the substation heat meter's entity reads as power, ``station_silent`` whether
    the meter went silent: :func:`station_heat_missing`)."""
    missing: dict[str, list[str]] = {}
    if settings.level == "primary":
        return missing
    for iid, cfg in inlets.items():
        household = network.inlets[iid].type == "household"
        gaps = [s for s in required(settings, household) if s not in available(cfg, points)]
        if gaps:
            missing[iid] = gaps
    real = any(cfg.source in (SOURCE_ENTITIES, SOURCE_GATEWAY) for cfg in inlets.values())
    net: list[str] = []
    if real and not settings.outdoor_entity:
        net.append("outdoor")  # the simulated weather is no measurement of a real plant
    if inlets and not any("room" in available(cfg, points) for cfg in inlets.values()):
        net.append("typical_room")
    if real and pump_planned(settings) and not settings.pump_commanded:
        net.append("pump_speed")  # no command reaches the pump the plan would set
    if real and station_heat_missing(settings, points, station_reads, station_silent):
        net.append("substation_heat")  # mapped, yet no network heat comes from it
    if net:
        missing["network"] = net
    return missing


def pump_planned(settings: Settings) -> bool:
    """Whether the controller sets the pump's speed: the AI controller at the advanced
    level (engine/control/levels.pump_regulated); PI regulates valves only."""
    return settings.algorithm == "ai" and pump_regulated(settings.level)


def meter_checks(
    network: Network,
    settings: Settings,
    inlets: Mapping[str, InletConfig],
    points: Points | None = None,
) -> dict[str, list[str]]:
    """Which meter consistency checks the configuration feeds, by inlet: the engine's rule
    (``engine/meters.checks_fed``) on what each source delivers (``points``: what the
    gateway's devices have, see :func:`available`). A simulated plant has its own
    substation meter and reads every valve no subentry maps; on a real plant those are
    the mapped substation meter (an entity or a gateway device) and nothing."""
    real = any(cfg.source in (SOURCE_ENTITIES, SOURCE_GATEWAY) for cfg in inlets.values())
    delivered: dict[str, set[str]] = {
        iid: {"flow"} for iid, inlet in network.inlets.items() if not real and inlet.device.actuated
    }
    delivered |= {iid: available(cfg, points) for iid, cfg in inlets.items()}
    checks = checks_fed(network, delivered, not real or settings.substation_metered)
    return {iid: checks[iid] for iid in inlets}


def not_electric(
    network: Network, settings: Settings, inlets: Mapping[str, InletConfig]
) -> list[str]:
    """Building inlets without an electric device, which §4.3.1 requires above primary."""
    if settings.level == "primary":
        return []
    return sorted(
        iid
        for iid in inlets
        if network.inlets[iid].type != "household" and not network.inlets[iid].device.actuated
    )
