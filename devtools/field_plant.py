"""An imperfect "real" plant behind Home Assistant entities (tests and benchmarks).

A :class:`FieldPlant` is a simulated plant standing where a real one would: its building
inlets' readings are written to sensor entities each cycle — with relative Gaussian noise,
lost (``unavailable``) with a probability per inlet and cycle, one flow meter biased — and its
valves are real entities of Home Assistant's ``valve`` component, moved by
``valve.set_valve_position``; a valve reports its true position as ``current_position`` (a
stuck one where it stuck), or, like cheap valves, no position at all. Stuck and blocked valves
are injected into :attr:`FieldPlant.sim` (``Simulator.inject_fault``). With
``Instruments.meters`` every inlet also has a heat meter (its energy counter in MWh, exact:
an integrating counter's error is a bias) and the substation a flow meter (noisy).

Runs inside Home Assistant's test harness (``hass`` of pytest-homeassistant-custom-component).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import PlantState, Simulator
from devtools.noise_draws import Drawn, draw

SIGNALS = (("flow", "m³/h"), ("supply", "°C"), ("return", "°C"), ("room", "°C"))
_SIGNAL_NAMES = ("flow_m3h", "supply_c", "return_c", "room_c")  # SIGNALS' in a plant state


@dataclass
class Instruments:
    """What is wrong with the field's instruments."""

    noise: float = 0.0  # σ relative to the reading, on flow and temperatures
    missing: float = 0.0  # probability an inlet's sensors are unavailable in a cycle
    bias: tuple[str, float] | None = None  # (inlet, factor) of a lying flow meter
    position: bool = True  # valves report current_position
    meters: bool = False  # heat meter counters per inlet and a substation flow meter
    substation_bias: float = 1.0  # the substation flow meter reads this factor of the truth
    silent: frozenset[str] = frozenset()  # inlets whose devices no longer answer (all unavailable)
    unread: frozenset[str] = frozenset()  # inlets whose meters never report; their valves do


class FieldPlant:
    """The field: a simulator, its readings on sensors, its valves as valve entities."""

    def __init__(
        self,
        hass: Any,
        network: Network,
        inlets: list[str],
        instruments: Instruments | None = None,
        seed: int = 0,
    ) -> None:
        self.hass = hass
        self.sim = Simulator(network, outdoor_c=network.design.outdoor_c)
        self.inlets = inlets
        self.instruments = instruments or Instruments()
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.commanded = {iid: self.opening(iid) for iid in inlets}
        self.moves: list[tuple[str, float, float]] = []  # (inlet, from, to) as commanded
        self.valves: list[Any] = []

    SUBSTATION_FLOW = "sensor.field_substation_flow"

    def entity(self, iid: str, what: str) -> str:
        """The entity id of one of an inlet's signals ("valve" for its actuator)."""
        return (
            f"valve.field_{iid.lower()}"
            if what == "valve"
            else f"sensor.field_{iid.lower()}_{what}"
        )

    def opening(self, iid: str) -> float:
        """The field valve's true position (0…1)."""
        return float(self.sim.openings[self.sim.ids.index(iid)])

    def command(self, iid: str, opening: float) -> None:
        """A command reached the valve entity; the valve follows at the next advance."""
        self.moves.append((iid, self.commanded[iid], opening))
        self.commanded[iid] = opening

    async def async_add_valves(self) -> None:
        """The field's valves as entities of HA's valve component (set it up first)."""
        from homeassistant.components.valve import DOMAIN as VALVE
        from homeassistant.setup import async_setup_component

        assert await async_setup_component(self.hass, VALVE, {})
        self.valves = [_valve(self, iid, self.instruments.position) for iid in self.inlets]
        await self.hass.data[VALVE].async_add_entities(self.valves)

    def publish(self) -> None:
        """Write the field's readings to the sensors: noisy, biased, or lost. The noise and
        the losses are :func:`devtools.noise_draws.draw`'s, as the engine's benchmark draws
        them (every inlet of the plant, households and ΔP included, then the substation), so
        a seed reads alike through HA and in the engine (:meth:`rewind` restarts them)."""
        ins = self.instruments
        state = self.sim.state()
        drawn = draw(state, ins.noise, ins.missing, self.rng)
        for iid in self.inlets:
            read = drawn.inlets[iid]
            lost = iid in drawn.lost or iid in ins.silent or iid in ins.unread
            values = [read[name] for name in _SIGNAL_NAMES]
            if ins.bias is not None and ins.bias[0] == iid and values[0] is not None:
                values[0] *= ins.bias[1]
            for (what, unit), value in zip(SIGNALS, values, strict=True):
                text = "unavailable" if lost or value is None else f"{value:.4f}"
                self.hass.states.async_set(
                    self.entity(iid, what), text, {"unit_of_measurement": unit}
                )
        if ins.meters:
            self._publish_meters(state, drawn.network["pump_flow_m3h"])
        for iid, valve in zip(self.inlets, self.valves, strict=True):
            valve._attr_available = iid not in ins.silent  # a dead actuator: unavailable
            valve.async_write_ha_state()

    def rewind(self) -> None:
        """Restart the noise draws at the seed's first: the next :meth:`publish` reads what
        the engine's first measurement of this seed reads (after the setup's publishes)."""
        self.rng = np.random.default_rng(self.seed)

    def _publish_meters(self, state: Any, flow: float | None) -> None:
        """Heat meter counters (MWh, as many meters count) and the substation's flow (its
        noisy reading, ``flow``)."""
        for iid in self.inlets:
            self.hass.states.async_set(
                self.entity(iid, "heat"),
                f"{state.inlets[iid].heat_kwh / 1000.0:.6f}",
                {"unit_of_measurement": "MWh", "device_class": "energy"},
            )
        flow = (state.pump.flow_m3h if flow is None else flow) * self.instruments.substation_bias
        self.hass.states.async_set(
            self.SUBSTATION_FLOW, f"{flow:.4f}", {"unit_of_measurement": "m³/h"}
        )

    def follow_and_advance(self, dt_s: float) -> None:
        """The field valves go where HA commanded them (a stuck one stays); a cycle runs."""
        for iid in self.inlets:
            self.sim.set_opening(iid, self.commanded[iid])
        self.sim.advance(dt_s)


async def async_map_to_field(hass: Any, entry: Any, field: FieldPlant) -> None:
    """Every inlet subentry of ``entry`` to the field's entities (one reload for all)."""
    field.publish()
    for sub in list(entry.subentries.values()):
        data = dict(sub.data) | entity_mapping(field, sub.data["inlet_id"])
        if field.instruments.meters:
            data["heat_energy_entity"] = field.entity(sub.data["inlet_id"], "heat")
        hass.config_entries.async_update_subentry(entry, sub, data=data)
    await hass.async_block_till_done()


async def async_field_in_auto(
    hass: Any, entry: Any, network: Network, instruments: Instruments
) -> FieldPlant:
    """A new field for every inlet of ``entry`` (in manual mode: nothing moves while the
    subentries change, each may reload the entry), then the entry switched to automatic."""
    field = FieldPlant(hass, network, list(entry.runtime_data.coordinator.inlets), instruments)
    await field.async_add_valves()
    await async_map_to_field(hass, entry, field)
    if field.moves:
        raise AssertionError(f"valves moved while mapping in manual mode: {field.moves}")
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | {"mode": "auto"})
    await hass.async_block_till_done()
    return field


async def async_all_open_and_fresh(hass: Any, entry: Any, field: FieldPlant) -> None:
    """The field's valves all open (the benchmarks' unbalanced start) and a fresh control
    loop: nothing learnt on the demo plant before the mapping."""
    from custom_components.heatbalance.cycle import CycleMemory

    coordinator = entry.runtime_data.coordinator
    for iid in field.inlets:
        field.commanded[iid] = field.sim.network.inlets[iid].device.max_opening
    field.follow_and_advance(coordinator.plant.cycle_s)
    coordinator.memory = CycleMemory()
    coordinator.sent = {}
    await hass.async_block_till_done()


async def async_field_cycles(
    hass: Any, entry: Any, field: FieldPlant, n: int, moves: list[int] | None = None
) -> list[float]:
    """``n`` cycles: the field publishes, HA regulates, the field follows; the share of the
    field's inlets truly in the intermediate flow band (§8.2.3) after each (``moves``: the
    valve commands of each cycle are appended)."""
    from custom_components.heatbalance.engine.evaluation import evaluate

    coordinator = entry.runtime_data.coordinator
    shares = []
    for _ in range(n):
        before = len(field.moves)
        field.publish()
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()
        field.follow_and_advance(coordinator.plant.cycle_s)
        ev = evaluate(field.sim.network, field.sim.state(), level="intermediate", target="flow")
        shares.append(ev.share_in_band or 0.0)
        if moves is not None:
            moves.append(len(field.moves) - before)
    return shares


def entity_mapping(field: Any, iid: str) -> dict[str, str]:
    """An inlet subentry's source fields for a field plant's entities (``field.entity``)."""
    return {
        "source": "entities",
        "flow_entity": field.entity(iid, "flow"),
        "supply_temperature_entity": field.entity(iid, "supply"),
        "return_temperature_entity": field.entity(iid, "return"),
        "room_temperature_entity": field.entity(iid, "room"),
        "actuator_entity": field.entity(iid, "valve"),
    }


def number_field_entity(iid: str, what: str) -> str:
    """A field inlet's entity when its valve is an ``input_number`` (0…100 %), its
    readings sensors: the exact field of bench_product and the regulation tests."""
    return f"{'input_number' if what == 'valve' else 'sensor'}.field_{iid.lower()}_{what}"


def write_exact(
    hass: Any,
    state: PlantState,
    inlets: list[str],
    entity: Callable[[str, str], str] = number_field_entity,
    signals: tuple[tuple[str, str], ...] = SIGNALS,
) -> None:
    """Each inlet's exact readings (no noise, none lost) to its sensor entities."""
    for iid in inlets:
        s = state.inlets[iid]
        values = {"flow": s.flow_m3h, "supply": s.supply_c, "return": s.return_c}
        values["room"] = s.room_c
        for what, unit in signals:
            hass.states.async_set(
                entity(iid, what), f"{values[what]:.4f}", {"unit_of_measurement": unit}
            )


def write_drawn(
    hass: Any,
    drawn: Drawn,
    inlets: list[str],
    entity: Callable[[str, str], str] = number_field_entity,
) -> None:
    """Each inlet's readings as ``engine/instruments.py`` drew them (``drawn``: noisy, an
    inlet's four sensors ``unavailable`` when lost), at full precision: the sensors carry
    exactly the floats an engine loop reading the same draws is handed (bench_product's CLI
    column), not a rounding of them."""
    for iid in inlets:
        read = drawn.inlets[iid]
        lost = iid in drawn.lost
        for (what, unit), name in zip(SIGNALS, _SIGNAL_NAMES, strict=True):
            value = read[name]
            text = "unavailable" if lost or value is None else repr(value)
            hass.states.async_set(entity(iid, what), text, {"unit_of_measurement": unit})


def follow_numbers(
    hass: Any, sim: Simulator, inlets: list[str], entity: Callable[[str, str], str]
) -> None:
    """The field's valves go where HA set their ``input_number`` (percent)."""
    for iid in inlets:
        sim.set_opening(iid, float(hass.states.get(entity(iid, "valve")).state) / 100.0)


def _valve(field: FieldPlant, iid: str, reports: bool) -> Any:
    """A valve entity of the field (built here: HA is imported only inside the harness)."""
    from homeassistant.components.valve import ValveEntity, ValveEntityFeature

    class FieldValve(ValveEntity):
        _attr_should_poll = False
        _attr_supported_features = (
            ValveEntityFeature.SET_POSITION | ValveEntityFeature.OPEN | ValveEntityFeature.CLOSE
        )

        def __init__(self) -> None:
            self.entity_id = field.entity(iid, "valve")
            self._attr_unique_id = f"field_{iid}"
            self._attr_reports_position = reports

        @property
        def current_valve_position(self) -> int | None:
            return round(field.opening(iid) * 100)

        @property
        def is_closed(self) -> bool:
            return field.opening(iid) <= 0.0

        async def async_set_valve_position(self, position: int) -> None:
            field.command(iid, position / 100.0)
            self.async_write_ha_state()

    return FieldValve()
