"""Acquisition and dispatch: the simulated plant and Home Assistant entities as sources.

Every entry runs the engine's ``Simulator`` on its network: it *is* the plant for inlets whose
source is the simulator (the demo), and the network model for the others — where a real inlet
reports no pressures (no transmitters mapped), its available pressure is the model's, flagged
estimated (``InletReading.estimated``): shown as such, and the engine neither diagnoses a fault
nor learns a valve, a circuit or the pipes from it (issue 10 item 3). Inlets mapped to HA entities
are read from the state machine (converted to °C, m³/h and kPa; several room sensors give
their mean, §8.2.4-4) and moved with ``valve.set_valve_position`` or ``number.set_value``.
A signal that is missing, unavailable, not numeric or older than two cycles counts as a
failed first-attempt transmission (§6.0.6); it is handed on as None, never guessed.

The substation pump of a real plant is commanded through its drive (a number entity, or a
``vfd`` device on the gateway) when the options map one; its speed is read back from the
drive's feedback (a sensor in % or Hz, or the gateway device), and the network model runs at
that speed. Without feedback the model assumes the last command (flagged estimated).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from homeassistant.components.valve import ATTR_CURRENT_POSITION
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import (
    BaseUnitConverter,
    EnergyConverter,
    PowerConverter,
    PressureConverter,
    TemperatureConverter,
    VolumeFlowRateConverter,
)

from .const import (
    CONF_ACTUATOR_ENTITY,
    CONF_BATTERY_ENTITY,
    CONF_DP_ENTITY,
    CONF_FAULT_ENTITY,
    CONF_FLOW_ENTITY,
    CONF_HEAT_ENERGY_ENTITY,
    CONF_HEAT_POWER_ENTITY,
    CONF_RETURN_ENTITY,
    CONF_RETURN_PRESSURE_ENTITY,
    CONF_SUPPLY_ENTITY,
    CONF_SUPPLY_PRESSURE_ENTITY,
    RATED_HZ,
    SOURCE_ENTITIES,
    SOURCE_GATEWAY,
)
from .engine.control.base import usable
from .engine.energy import EnergyCounters
from .engine.instruments import Drawn, draw
from .engine.simulator import PlantState, Simulator, outdoor_profile
from .gateway_source import NO_RESULT
from .gc_tuning import run_paused
from .reading import Acquisition, Reading

if TYPE_CHECKING:
    from collections.abc import Callable

    from .gateway_source import GatewaySource
    from .settings import InletConfig, Settings

_LOGGER = logging.getLogger(__name__)


def _read_station(plant: PlantState, drawn: Drawn | None) -> PlantState:
    """The substation as its simulated instruments read it (supply, return, pump flow and
    head noisy where ``drawn``); the plant itself where they read exact."""
    if drawn is None:
        return plant
    net = drawn.network
    pump = replace(
        plant.pump,
        flow_m3h=_or(net["pump_flow_m3h"], plant.pump.flow_m3h),
        head_m=_or(net["pump_head_m"], plant.pump.head_m),
    )
    supply, ret = _or(net["supply_c"], plant.supply_c), _or(net["return_c"], plant.return_c)
    return replace(plant, supply_c=supply, return_c=ret, pump=pump)


def _or(value: float | None, exact: float) -> float:
    return exact if value is None else value


SERVICE_TIMEOUT_S = 10.0
# A mapped substation heat meter silent this long (plant time; at least two cycles, the
# §6.0.6 stale window) is named in the data check's repair (§4.3.2): longer than an entity's
# or a gateway's routine restart, as the gateway_offline repair's floor
STATION_SILENT_MIN_S = 300.0
CARRIED_OUT = ("confirmed", NO_RESULT)  # held commands the engine is told of (carried_out)
SIM_SIGNALS = ("supply_c", "return_c", "flow_m3h", "room_c", "opening")


class Plant:
    """The network's plant as the coordinator sees it: read, then command."""

    def __init__(
        self, simulator: Simulator, inlets: dict[str, InletConfig], settings: Settings
    ) -> None:
        """Bind the simulator and the inlet source mapping."""
        self.simulator = simulator
        self.inlets = inlets
        self.settings = settings
        self._seed = settings.sim_seed
        self._rng = np.random.default_rng(self._seed)  # the simulated instruments' draws
        self._weather = outdoor_profile(days=150, seed=0)
        self.gateway: GatewaySource | None = None  # gateway_source.async_attach sets it
        self._assumed = False  # uncommanded valves and pump put at their assumed state
        self.left: set[str] = set()  # real valves whose subentry was removed (persistence)
        # real inlets whose valve in the model still stands where their old source left it
        # (re-mapped since the Store: persistence's ``changed``), until read or commanded
        self.unplaced: set[str] = set()
        self.pump_failed = False  # the last dispatch's pump speed did not reach the drive
        # HA valves that refused the last dispatch's command (inlet → the opening refused):
        # their next reading says so (``command_status``), as the gateway's answer does
        self.refused: dict[str, float] = {}
        # gateway commands held for an offline gateway (inlet → (request id, opening)): no
        # move until the gateway confirms them (:meth:`carried_out`, issue 10 item 6)
        self.held: dict[str, tuple[str, float]] = {}
        # … and the pump drive's (request id, speed): as a valve's, not sent, so no speed
        # change the controller assumes until confirmed (:meth:`carried_out`)
        self.pump_held: tuple[str, float] | None = None
        self.pump_late = False  # the last :meth:`carried_out` found the pump's carried out
        # gateway valves whose held command was sent late and never answered: assumed moved
        # (the engine is told, the position flagged assumed) until the valve reports again
        self.unconfirmed: set[str] = set()
        # heat meters mapped by their power only: their counters (the engine's rule, kWh),
        # and the plant time of each meter's last reading
        self._heat_counters = EnergyCounters()
        self._heat_read_s: dict[str, float] = {}
        # the substation heat meter mapped, and the plant time it last delivered a power
        # (or since it is watched): :attr:`station_heat_silent`
        self._station_read: tuple[str, float] | None = None
        self.station_heat_silent = False
        self._actuated_of: Simulator | None = None  # whose valves _actuated_ids lists
        self._actuated_ids: list[str] = []

    @property
    def simulated(self) -> bool:
        """Whether every managed inlet is simulated (then time may run accelerated)."""
        return not self.settings.outdoor_entity and all(
            cfg.source not in (SOURCE_ENTITIES, SOURCE_GATEWAY) for cfg in self.inlets.values()
        )

    @property
    def pump_gateway_device(self) -> str | None:
        """The pump drive's gateway device, when a real plant's pump is on the gateway."""
        return None if self.simulated else self.settings.pump_gateway_device

    @property
    def pump_gateway_id(self) -> str | None:
        """The gateway configured to own the pump's drive (None: the first to report it)."""
        return self.settings.pump_gateway_id

    @property
    def substation_gateway_device(self) -> str | None:
        """The substation flow meter's gateway device, on a real plant."""
        return None if self.simulated else self.settings.substation_flow_device

    @property
    def substation_heat_gateway_device(self) -> str | None:
        """The substation heat meter's gateway device, on a real plant."""
        return None if self.simulated else self.settings.substation_heat_device

    @property
    def cycle_s(self) -> float:
        """Plant time per cycle: the acquisition period (§4.3.4)."""
        return self.settings.cycle_minutes * 60.0

    @property
    def interval(self) -> timedelta:
        """Wall-clock time between cycles."""
        speed = self.settings.acceleration if self.simulated else 1.0
        return timedelta(seconds=max(self.cycle_s / max(speed, 1.0), 1.0))

    async def async_acquire(self, hass: HomeAssistant) -> Acquisition:
        """Advance the plant one cycle and read every managed inlet.

        The simulator's step and the readings of its own inlets (thousands on a households
        network) are built in the executor; HA entities and the gateway are read here.
        """
        outdoor = self._outdoor(hass)
        real = {
            iid: cfg
            for iid, cfg in self.inlets.items()
            if cfg.source in (SOURCE_ENTITIES, SOURCE_GATEWAY)
        }
        positions = self._real_positions(hass, real)
        positions |= self._assumed_positions(hass, real, positions)
        self.unplaced.difference_update(positions)
        acq = await hass.async_add_executor_job(  # 10⁵ objects at 23k: paused (gc_tuning)
            run_paused,
            len(self.simulator.network.inlets),
            self._step_and_read,
            outdoor,
            list(self.inlets),
            real,
            self.simulated,
            positions,
        )
        for iid, cfg in real.items():
            if cfg.source == SOURCE_ENTITIES:
                acq.inlets[iid] = self._read_entities(hass, cfg, acq.plant)
            else:
                acq.inlets[iid] = self._read_gateway(iid, acq.plant)
            self._follow(iid, acq.inlets[iid])
        if real:  # the model's pump flow is no measurement of a real plant
            acq.real_substation = True
            acq.substation_flow_m3h = self._substation_flow(hass)
            acq.substation_heat_kw = self._substation_heat(hass)
            self._watch_station_heat(acq.time_s, acq.substation_heat_kw)
        acq.inlets = {iid: acq.inlets[iid] for iid in self.inlets if iid in acq.inlets}
        if not self.simulated:
            self._read_pump(hass, acq)
        if self.gateway is not None:
            acq.gateways = self.gateway.outbox()
        return acq

    def _real_positions(
        self, hass: HomeAssistant, real: dict[str, InletConfig]
    ) -> dict[str, float]:
        """Where the real valves read now, for the model to take before its step (in the
        executor, :meth:`_step_and_read`): the ΔP it estimates for an inlet without
        transmitters is then the one at the real positions, not at last cycle's — on the
        first real cycle after the simulated era, the simulated valves' (a healthy gateway
        start planned on +55…+70 kPa residuals, issue 10 c)."""
        positions: dict[str, float] = {}
        for iid, cfg in real.items():
            opening: float | None = None
            if cfg.source == SOURCE_ENTITIES and (
                actuator := cfg.entities.get(CONF_ACTUATOR_ENTITY)
            ):
                opening = _position(hass.states.get(actuator))
            elif cfg.source == SOURCE_GATEWAY and self.gateway is not None:
                opening = self.gateway.position(iid, stale_s=2 * self.cycle_s)
            if opening is not None and 0.0 <= opening <= 1.0:
                positions[iid] = opening
        return positions

    def _assumed_positions(
        self, hass: HomeAssistant, real: dict[str, InletConfig], read: dict[str, float]
    ) -> dict[str, float]:
        """Re-mapped valves that will never report a position (a valve entity without
        ``current_position``, no actuator mapped, a gateway valve without feedback or none):
        the opening a commissioning record ticked done says was set, else the one the network
        file states, where the engine assumes them too until a command is acknowledged
        (``Controller._position``, issue 9 item 2). Withheld until read or commanded
        (:attr:`unplaced`), such a valve in manual mode was never placed, and its inlet
        never had an estimated ΔP."""
        assumed: dict[str, float] = {}
        for iid in self.unplaced.intersection(real).difference(read):
            inlet = self.simulator.network.inlets.get(iid)
            opening = real[iid].commissioned_opening  # a record's, else the file's
            if opening is None:
                opening = None if inlet is None else usable(inlet.device.opening)
            if opening is not None and 0.0 <= opening <= 1.0 and self._no_feedback(hass, real[iid]):
                assumed[iid] = opening
        return assumed

    def _no_feedback(self, hass: HomeAssistant, cfg: InletConfig) -> bool:
        """Whether the inlet's valve is known never to report its position (a valve not yet
        heard of may still: it stays withheld until read)."""
        if cfg.source == SOURCE_ENTITIES:
            actuator = cfg.entities.get(CONF_ACTUATOR_ENTITY)
            return not actuator or _reports_no_position(hass.states.get(actuator))
        if self.gateway is None:
            return False
        valve = self.gateway.inlets.get(cfg.inlet_id, (None, None))[1]
        if not valve:
            return True
        points = self.gateway.device_points(valve)
        return points is not None and "position_feedback" not in points

    def _step_and_read(
        self,
        outdoor: float | None,
        managed: list[str],
        real: dict[str, InletConfig],
        simulated: bool,
        positions: dict[str, float] | None = None,
    ) -> Acquisition:
        """Advance the simulator, its real valves first put where they read
        (``positions``), and read what it delivers (executor): its own managed inlets and
        the valves no subentry maps."""
        self._set_openings(positions or {})
        if not simulated and not self._assumed:
            self._assume_uncommanded(set(managed))
        plant = self._step(outdoor)
        drawn = self._draw(plant)
        # a real plant's substation figures are the model's (flagged estimated): no instrument
        station = _read_station(plant, None if real else drawn)
        acq = Acquisition(plant.time_s, self.cycle_s, plant.outdoor_c, station)
        if self.settings.outdoor_entity and outdoor is None:
            acq.outdoor_c = None
        acq.outdoor_forecast_c = self._outdoor_forecast(plant.time_s, acq.outdoor_c)
        own = [iid for iid in managed if iid not in real]
        acq.inlets.update(self._read_simulator(own, plant, drawn))
        self._read_unmanaged(acq, set(managed), simulated, drawn)
        return acq

    def restart_draws(self) -> None:
        """The simulated instruments' draws start again at the seed's first (a benchmark's
        fresh start reads what the engine's first measurement of that seed reads)."""
        self._seed = self.settings.sim_seed
        self._rng = np.random.default_rng(self._seed)

    def _draw(self, plant: PlantState) -> Drawn | None:
        """This cycle's simulated instruments: noise and lost inlets as the engine's
        benchmarks and the field plant draw them (``engine/instruments.py``: every inlet of
        the plant in its order, then the substation), from the entry's seed; None when the
        plant reads exact and loses nothing (no draw: the 23k network's 143,000 values)."""
        noise = self.settings.sim_noise_pct / 100.0
        missing = self.settings.dropout_pct / 100.0
        if noise <= 0.0 and missing <= 0.0:
            return None
        if self._seed != self.settings.sim_seed:  # the option changed: the draws restart
            self._seed = self.settings.sim_seed
            self._rng = np.random.default_rng(self._seed)
        return draw(plant, noise, missing, self._rng)

    def _assume_uncommanded(self, managed: set[str]) -> None:
        """On a real plant no command reaches the pump or the valves without a subentry: the
        model puts them where the network file says (their assumed state, flagged).

        Once per setup: the model restored from the Store may carry moves made while the
        whole plant was simulated — the real households and pump never made them, and a
        plan on those positions misses the band (the field plant in
        tests/integration/test_sources_regulate.py shows it).
        """
        sim = self.simulator
        for iid, inlet in sim.network.inlets.items():
            # a real valve whose subentry was removed stays where its last command put it
            if iid not in managed and iid not in self.left and inlet.device.actuated:
                sim.set_opening(iid, inlet.device.opening)
        sim.set_pump_speed(sim.network.substation.pump.speed)  # until its drive says more
        self._assumed = True

    def _read_pump(self, hass: HomeAssistant, acq: Acquisition) -> None:
        """A real pump: its drive's feedback (measured), else the speed its command entity
        holds (assumed); the model runs at it from now on. Commands reach it only when a
        drive is mapped (``Settings.pump_commanded``)."""
        s = self.settings
        speed: float | None = None
        if s.pump_feedback_entity:
            speed = _speed(hass.states.get(s.pump_feedback_entity))
        elif s.pump_gateway_device and self.gateway is not None:
            speed = self.gateway.pump_speed(s.pump_gateway_device, stale_s=2 * self.cycle_s)
        measured = speed is not None
        if speed is None and s.pump_speed_entity:
            speed = _position(hass.states.get(s.pump_speed_entity))
        pump = self.simulator.network.substation.pump
        if speed is not None and 0.0 <= speed <= max(pump.max_speed, 1.0):
            self.simulator.set_pump_speed(speed)
        else:
            measured = False  # nothing plausible read: the model keeps its assumption
        acq.pump_controlled = s.pump_commanded
        acq.pump_estimated = not measured

    def _follow(self, iid: str, reading: Reading) -> None:
        """The network model takes a real valve's measured position for its next step; the
        model's pressure at the inlet is then an estimate on the real valves (flagged). An
        inlet whose estimate is withheld (:attr:`unplaced`) is flagged too, without a value:
        to the engine it stays an inlet whose ΔP is the model's, not one without any ΔP
        source, whose pressure it would infer from its flow for that one cycle."""
        if reading.opening is not None and 0.0 <= reading.opening <= 1.0:
            self.simulator.set_opening(iid, reading.opening)
        model_dp = reading.dp_available_kpa is not None or iid in self.unplaced
        if model_dp and "dp_available_kpa" not in reading.measured:
            reading.estimated = (*reading.estimated, "dp_available_kpa")

    def _read_unmanaged(
        self, acq: Acquisition, managed: set[str], simulated: bool, drawn: Drawn | None = None
    ) -> None:
        """The valves no subentry maps: the simulated plant's own, or their assumed position."""
        acq.unmanaged_moved = acq.pump_controlled = simulated
        ids = [i for i in self._actuated() if i not in managed]
        if simulated:
            acq.unmanaged.update(self._read_simulator(ids, acq.plant, drawn))
            return
        for iid in ids:
            opening = acq.plant.inlets[iid].opening
            acq.unmanaged[iid] = Reading(opening=opening, estimated=("opening",))

    def _step(self, outdoor: float | None) -> PlantState:
        """Set the weather and advance the simulator (executor)."""
        sim = self.simulator
        if outdoor is None and not self.settings.outdoor_entity:
            hour = int((sim.time_s + self.cycle_s) // 3600) % len(self._weather)
            outdoor = float(self._weather[hour])
        if outdoor is not None:
            sim.set_outdoor(outdoor)
        return sim.step(self.cycle_s)

    def _outdoor_forecast(self, time_s: float, outdoor_c: float | None) -> list[float] | None:
        """The simulated plant's own weather ahead; with a real outdoor sensor, persistence
        (today's temperature held for 24 h) until a weather forecast is mapped."""
        if not self.settings.outdoor_entity:
            first = int(time_s // 3600) + 1
            return [float(self._weather[(first + k) % len(self._weather)]) for k in range(24)]
        return None if outdoor_c is None else [outdoor_c] * 24

    def _outdoor(self, hass: HomeAssistant) -> float | None:
        """Outdoor temperature from its entity, when one is configured."""
        if not self.settings.outdoor_entity:
            return None
        return self._temperature(hass.states.get(self.settings.outdoor_entity))

    def _actuated(self) -> list[str]:
        """The simulator's inlets with a remotely moved valve, in its order (the same for
        as long as its network: 23,870 look-ups a cycle at 23k, now one pass per plant)."""
        sim = self.simulator
        if self._actuated_of is not sim:
            inlets = sim.network.inlets
            self._actuated_ids = [i for i in sim.ids if inlets[i].device.actuated]
            self._actuated_of = sim
        return self._actuated_ids

    def _read_simulator(
        self, ids: list[str], plant: PlantState, drawn: Drawn | None = None
    ) -> dict[str, Reading]:
        """The simulated instruments' readings: exact without ``drawn`` (:meth:`_draw`),
        else noisy, and an inlet whose readings were lost this cycle delivers none of its
        signals (as a real inlet's gateway or meter bus goes silent: the success rate,
        §6.0.6) — as the engine's benchmarks lose them (before: signal by signal, seed 0)."""
        n = len(SIM_SIGNALS)
        states = plant.inlets
        out: dict[str, Reading] = {}
        for iid in ids:
            state = states[iid]
            if drawn is None:
                out[iid] = Reading(
                    flow_m3h=float(state.flow_m3h),
                    supply_c=float(state.supply_c),
                    return_c=float(state.return_c),
                    room_c=float(state.room_c),
                    opening=float(state.opening),
                    dp_available_kpa=state.dp_available_kpa,
                    valve_dp_kpa=state.valve_dp_kpa,
                    attempted=n,
                    received=n,
                )
            elif iid in drawn.lost:
                out[iid] = Reading(attempted=n, received=0)
            else:
                read = drawn.inlets[iid]
                out[iid] = Reading(
                    flow_m3h=read["flow_m3h"],
                    supply_c=read["supply_c"],
                    return_c=read["return_c"],
                    room_c=read["room_c"],
                    opening=float(state.opening),
                    dp_available_kpa=read["dp_available_kpa"],
                    valve_dp_kpa=read["valve_dp_kpa"],
                    attempted=n,
                    received=n,
                )
        return out

    def _read_gateway(self, iid: str, plant: PlantState) -> Reading:
        """A gateway inlet's MQTT readings; ΔP from its transmitters, else the model's."""
        if self.gateway is None:
            return Reading()
        # the gateway answers a command within seconds (commands go before polling); half a
        # cycle without an answer is reported, before the next command replaces it
        reading = self.gateway.reading(iid, stale_s=2 * self.cycle_s, answer_s=self.cycle_s / 2)
        if reading.command_status == NO_RESULT and not self.gateway.reported_since_command(iid):
            # sent at once, its answer lost: the last report predates it and says nothing
            # of it, so the position is assumed at the command, as for one sent late
            self.unconfirmed.add(iid)
        if iid in self.unconfirmed:  # a late command never answered: assumed until it reports
            if not self.gateway.reported_since_command(iid):
                reading.opening = None  # read before the command: not where it stands now
            elif reading.opening is not None:  # its position read back since
                self.unconfirmed.discard(iid)
        if "dp_available_kpa" not in reading.measured:  # no transmitters: the model's estimate
            reading.dp_available_kpa = self._model_dp(iid, plant)
        return reading

    def _model_dp(self, iid: str, plant: PlantState) -> float | None:
        """The network model's available ΔP at a real inlet without transmitters (flagged
        estimated by :meth:`_follow`); None while the model's valve there still stands where
        the inlet's old source left it (:attr:`unplaced`): that is no estimate of the real
        plant. Right after a re-map from the simulated plant it was the simulated valves'
        ΔP, +60…+70 kPa above the real one; the estimator held it over the first real
        reading and the controller learnt it as the pipes' residual, so a healthy gateway
        start undershot its inlets by 5–9 % for three cycles (issue 10 g)."""
        model = plant.inlets.get(iid)
        return None if model is None or iid in self.unplaced else model.dp_available_kpa

    def _read_entities(self, hass: HomeAssistant, cfg: InletConfig, plant: PlantState) -> Reading:
        """Mapped HA entities; the available ΔP measured where transmitters are mapped, else
        the network model's (flagged estimated by :meth:`_follow`)."""
        reading = Reading()
        stale_before = dt_util.utcnow() - timedelta(seconds=2 * self.cycle_s)

        def read(entity_id: str | None, convert: Callable[[State | None], float | None]) -> Any:
            if not entity_id:
                return _UNMAPPED
            state = hass.states.get(entity_id)
            if convert is _position and _reports_no_position(state):
                return None  # a cheap valve: no feedback to receive, none lost (§6.0.6)
            reading.attempted += 1
            value = convert(state)
            if state is not None and state.last_reported < stale_before:
                value = None
            reading.received += value is not None
            return value

        get = cfg.entities.get
        values = {
            "supply_c": read(get(CONF_SUPPLY_ENTITY), self._temperature),
            "return_c": read(get(CONF_RETURN_ENTITY), self._temperature),
            "flow_m3h": read(get(CONF_FLOW_ENTITY), self._flow),
            "battery_pct": read(get(CONF_BATTERY_ENTITY), _number),
            "opening": read(get(CONF_ACTUATOR_ENTITY), _position),
            "fault_code": read(get(CONF_FAULT_ENTITY), _number),
        }
        for attr, value in values.items():
            setattr(reading, attr, None if value is _UNMAPPED else value)
        energy = read(get(CONF_HEAT_ENERGY_ENTITY), _energy_kwh)
        if energy is _UNMAPPED:
            power = read(get(CONF_HEAT_POWER_ENTITY), _power_kw)
            energy = None if power is _UNMAPPED else self._count(cfg.inlet_id, power, plant)
        reading.heat_kwh = energy
        rooms = [read(room, self._temperature) for room in cfg.rooms]
        reading.room_c = _mean([r for r in rooms if r is not None])  # §8.2.4-4: the average
        dp = read(get(CONF_DP_ENTITY), _pressure_kpa)
        if dp is _UNMAPPED:
            supply = read(get(CONF_SUPPLY_PRESSURE_ENTITY), _pressure_kpa)
            ret = read(get(CONF_RETURN_PRESSURE_ENTITY), _pressure_kpa)
            dp = _UNMAPPED if supply is _UNMAPPED or ret is _UNMAPPED else _difference(supply, ret)
        if dp is _UNMAPPED:  # no transmitter: the model's estimate on the real valves
            reading.dp_available_kpa = self._model_dp(cfg.inlet_id, plant)
        else:
            reading.dp_available_kpa = dp
            reading.measured = (*reading.measured, "dp_available_kpa")
        if cfg.inlet_id in self.refused:  # §5.3.8-4: the alarm rule of a refused command
            reading.command_status = "refused"
        return reading

    def _count(self, iid: str, power_kw: float | None, plant: PlantState) -> float | None:
        """A heat meter read by its power: its counter, the power times the time since the
        last reading. Over one cycle the counter then gives that power: the meter check
        (engine/meters.py) compares it with the flow meter at the same instant."""
        if power_kw is None or power_kw < 0.0:
            return None  # lost: the next reading counts from the last one received
        since = self._heat_read_s.get(iid, plant.time_s)
        self._heat_read_s[iid] = plant.time_s
        dt_s = max(plant.time_s - since, 0.0)
        return self._heat_counters.add({iid: power_kw}, dt_s, (iid,))[iid]

    def _substation_flow(self, hass: HomeAssistant) -> float | None:
        """The substation flow meter's reading (m³/h); None when none is mapped or lost."""
        if device := self.settings.substation_flow_device:
            gateway = self.gateway
            return None if gateway is None else gateway.device_flow(device, 2 * self.cycle_s)
        return self._flow(self._substation_state(hass, self.settings.substation_flow_entity))

    def _substation_heat(self, hass: HomeAssistant) -> float | None:
        """The substation heat meter's thermal power (kW); None when none is mapped, or
        lost, stale or negative (a meter's power is never below zero). On the gateway: its
        ``power`` point (an M-Bus heat meter's instantaneous thermal power, kW)."""
        if device := self.settings.substation_heat_device:
            gateway = self.gateway
            power = None if gateway is None else gateway.device_power_kw(device, 2 * self.cycle_s)
        else:
            power = _power_kw(self._substation_state(hass, self.settings.substation_heat_entity))
        return power if power is not None and power >= 0.0 else None

    def _watch_station_heat(self, time_s: float, power_kw: float | None) -> None:
        """Whether the mapped substation heat meter went silent: no power read for
        max(:data:`STATION_SILENT_MIN_S`, two cycles) of plant time — since its last reading,
        or since it was mapped or Home Assistant started (one that never delivers). The heat
        power then shows the inlets' estimate, flagged; the data check names the meter
        (§4.3.2 ``missing_signals``) until it delivers again."""
        meter = self.settings.substation_heat_meter
        if meter is None:
            self._station_read, self.station_heat_silent = None, False
            return
        if power_kw is not None or self._station_read is None or self._station_read[0] != meter:
            self._station_read = (meter, time_s)
        silent_s = max(STATION_SILENT_MIN_S, 2 * self.cycle_s)
        self.station_heat_silent = time_s - self._station_read[1] >= silent_s

    def _substation_state(self, hass: HomeAssistant, entity_id: str | None) -> State | None:
        """A substation meter entity's state; None when none is mapped, it is gone, or it
        has not reported for two cycles (stale, §6.0.6)."""
        state = hass.states.get(entity_id) if entity_id else None
        stale_before = dt_util.utcnow() - timedelta(seconds=2 * self.cycle_s)
        return None if state is None or state.last_reported < stale_before else state

    @staticmethod
    def _temperature(state: State | None) -> float | None:
        """A temperature state in °C (converted from its unit)."""
        return _converted(state, TemperatureConverter, "°C")

    @staticmethod
    def _flow(state: State | None) -> float | None:
        """A volume-flow state in m³/h (converted from its unit)."""
        return _converted(state, VolumeFlowRateConverter, "m³/h")

    async def async_dispatch(
        self, hass: HomeAssistant, commands: dict[str, float], pump_speed: float | None
    ) -> set[str]:
        """Send openings (already within the safety limits); returns the inlets whose
        command did not go out: failed, or held because their gateway is offline (a move only
        once confirmed, :meth:`carried_out`).

        The simulator's valves (thousands on a households network) are set in the executor.
        """
        failed: set[str] = set()
        self.refused = {}
        real = await hass.async_add_executor_job(
            run_paused, len(self.simulator.network.inlets), self._move_simulated, commands
        )
        model: dict[str, float] = {}  # real valves' openings the model assumes
        for iid, opening in real.items():
            cfg = self.inlets[iid]
            if cfg.source == SOURCE_GATEWAY:
                self.held.pop(iid, None)  # a newer command replaces a held one
                request_id = None
                if self.gateway is not None:
                    request_id = await self.gateway.async_set_opening(iid, opening)
                if request_id is None:
                    failed.add(iid)
                elif self.gateway is not None and self.gateway.held_by(iid) is not None:
                    self.held[iid] = (request_id, opening)
                    failed.add(iid)
            elif (
                cfg.source == SOURCE_ENTITIES
                and (actuator := cfg.entities.get(CONF_ACTUATOR_ENTITY))
                and not await self._move(hass, actuator, opening)
            ):
                failed.add(iid)
                self.refused[iid] = opening
            if iid not in failed:
                # the model assumes a real valve where it went until its feedback says
                model[iid] = opening
                self.unplaced.discard(iid)
                self.unconfirmed.discard(iid)  # a newer command went: it counts now
        if model:
            await hass.async_add_executor_job(self._set_openings, model)
        self.pump_failed = False
        if pump_speed is not None:
            if self.simulated or await self._async_send_pump(hass, pump_speed):
                self.simulator.set_pump_speed(pump_speed)  # a real drive: assumed until read
            else:
                self.pump_failed = True  # the controller must not assume the pump changed
        return failed

    async def _async_send_pump(self, hass: HomeAssistant, speed: float) -> bool:
        """Command a real pump's drive (the engine kept ``speed`` within the operator's and
        the drive's limits); False when no drive is mapped or it did not take the command."""
        s = self.settings
        if not 0.0 <= speed <= 1.0:  # never out of range, whatever asked for it
            _LOGGER.warning("Refused pump speed %r: outside 0…1", speed)
            return False
        if s.pump_speed_entity:
            return await self._move(hass, s.pump_speed_entity, speed)
        if s.pump_gateway_device and self.gateway is not None:
            return self._pump_went(
                await self.gateway.async_set_pump_speed(s.pump_gateway_device, speed), speed
            )
        return False

    def _pump_went(self, request_id: str | None, speed: float) -> bool:
        """Whether the gateway sent the pump's command (``request_id``; None: it could not).
        One held for its offline gateway did not go: the drive runs as it did, the
        controller keeps its speed (``pump_failed``) and the model its pump, until the
        gateway confirms it (:meth:`carried_out`). Before, a held pump command counted as
        sent: the controller and the model took a speed the drive never had."""
        self.pump_held = None  # a newer command replaces a held one
        if request_id is None or self.gateway is None:
            return False
        drive = self.settings.pump_gateway_device or ""
        if self.gateway.held_by(self.gateway.pump_key(drive)) is None:
            return True
        self.pump_held = (request_id, speed)
        return False

    def _move_simulated(self, commands: dict[str, float]) -> dict[str, float]:
        """Move the simulator's own valves (executor: thousands on a households network);
        returns the commands for real devices, which the loop sends."""
        simulated = self.simulated  # O(inlets): once, not per command
        real: dict[str, float] = {}
        for iid, opening in commands.items():
            cfg = self.inlets.get(iid)
            if cfg is None:  # no subentry: a valve of the simulated plant, or none to move
                if simulated and iid in self.simulator.network.inlets:
                    self.simulator.set_opening(iid, opening)
            elif cfg.source in (SOURCE_GATEWAY, SOURCE_ENTITIES):
                real[iid] = opening
            else:
                self.simulator.set_opening(iid, opening)
        return real

    def carried_out(self) -> dict[str, float]:
        """Held gateway commands carried out since (inlet → opening): moves after all, which
        the engine is told before its next step; the model's valves follow. Carried out are
        those the gateway confirmed, and those it was sent late whose answer never came
        (``no_result``): they may well have moved the valve, so the engine regulates from
        them, the position flagged assumed until the valve reports (:attr:`unconfirmed`;
        before, they counted as unmoved whatever the valve did). Forgotten are held commands
        that never went (their window passed, a newer one replaced them) and those answered
        otherwise. :attr:`pump_late` says whether the pump's held command was carried out."""
        source, done = self.gateway, {}
        for iid, (request_id, opening) in list(self.held.items()):
            answer = source.answer(iid, request_id) if source is not None else None
            if answer in CARRIED_OUT:
                done[iid] = opening
            if answer == NO_RESULT:
                self.unconfirmed.add(iid)
            if answer not in ("pending", "queued"):  # still to come (gateway_source): kept
                del self.held[iid]
        if done:
            self._set_openings(done)
            self.unplaced.difference_update(done)
        self.pump_late = self._pump_carried_out()
        return done

    def _pump_carried_out(self) -> bool:
        """Whether a held pump command was carried out since (confirmed, or sent late and
        never answered, as a valve's): the model's pump runs at its speed, as the drive does
        now, and the controller is told (the drive's speed read next cycle says the rest).
        Answered otherwise, or never sent: forgotten."""
        held, source = self.pump_held, self.gateway
        if held is None:
            return False
        drive = self.settings.pump_gateway_device or ""
        answer = source.answer(source.pump_key(drive), held[0]) if source is not None else None
        if answer in CARRIED_OUT:
            self.simulator.set_pump_speed(held[1])
        if answer not in ("pending", "queued"):
            self.pump_held = None
        return answer in CARRIED_OUT

    def held_dict(self) -> dict[str, Any]:
        """The commands held for an offline gateway, for the Store: a restart while it is
        away must not forget them — the gateway source sends them when it is back, and a
        confirmation is still a move the engine is told (issue 10 item 6)."""
        return {
            "valves": {iid: list(held) for iid, held in self.held.items()},
            "pump": None if self.pump_held is None else list(self.pump_held),
            "unconfirmed": sorted(self.unconfirmed),
        }

    def restore_held(self, data: Any) -> None:
        """Read back :meth:`held_dict` (a damaged part, an opening outside 0…1, a speed not
        above 0, or an inlet no longer on the gateway, is dropped: held commands then count
        as never sent, as before they were stored)."""
        if not isinstance(data, dict):
            return
        gateway = {iid for iid, cfg in self.inlets.items() if cfg.source == SOURCE_GATEWAY}
        try:
            for iid, (request_id, opening) in dict(data.get("valves") or {}).items():
                share = usable(opening)  # the model's valve follows it once carried out
                if iid in gateway and share is not None and 0.0 <= share <= 1.0:
                    self.held[iid] = (str(request_id), share)
            pump = data.get("pump")
            if pump is not None and self.settings.pump_gateway_device:
                speed = usable(pump[1])
                if speed is not None and speed > 0.0:
                    self.pump_held = (str(pump[0]), speed)
            self.unconfirmed = {str(i) for i in data.get("unconfirmed") or ()} & gateway
        except (TypeError, ValueError, IndexError) as err:
            _LOGGER.warning("Ignoring damaged held commands in the store: %r", err)

    def _set_openings(self, openings: dict[str, float]) -> None:
        """Move the simulator's valves (executor)."""
        for iid, opening in openings.items():
            self.simulator.set_opening(iid, opening)

    async def async_confirmation(self, inlet_id: str, timeout_s: float) -> str | None:
        """Wait for the gateway's answer to the inlet's last command: its status, or None
        (not a gateway inlet, nothing sent, or no answer within ``timeout_s``)."""
        last = self.gateway.last_command.get(inlet_id) if self.gateway else None
        if self.gateway is None or last is None:
            return None
        result = await self.gateway.async_result(last[0], timeout_s)
        return None if result is None else str(result.get("status") or "invalid")

    async def _move(self, hass: HomeAssistant, entity_id: str, opening: float) -> bool:
        """Move a valve or number entity; False when it did not take the command."""
        domain = entity_id.split(".", 1)[0]
        state = hass.states.get(entity_id)
        if state is None or state.state == STATE_UNAVAILABLE:
            _LOGGER.warning("Cannot move %s: it is not available", entity_id)
            return False
        if domain == "valve":
            service = "set_valve_position"
            data: dict[str, float] = {"position": round(opening * 100)}
        else:
            lo, hi = _range(state)
            service, data = "set_value", {"value": round(lo + opening * (hi - lo), 3)}
        try:
            async with asyncio.timeout(SERVICE_TIMEOUT_S):
                await hass.services.async_call(
                    domain, service, {"entity_id": entity_id, **data}, blocking=True
                )
        except (HomeAssistantError, TimeoutError, ValueError) as err:
            _LOGGER.warning("Could not move %s to %.0f %%: %s", entity_id, opening * 100, err)
            return False
        except Exception as err:  # another integration's bug must not end the cycle
            # a device integration that lets a bare error through (a lost Modbus link) must
            # not stop the cycle: the other valves' commands would go unsent and unrecorded
            _LOGGER.warning(
                "Could not move %s to %.0f %%: %s: %s",
                entity_id,
                opening * 100,
                type(err).__name__,
                err,
            )
            return False
        return True


_UNMAPPED: Any = object()  # a signal no entity is mapped to (not: mapped and lost)


def _converted(state: State | None, converter: type[BaseUnitConverter], unit: str) -> float | None:
    """A numeric state in ``unit``, converted from its own (assumed ``unit`` when none)."""
    value = _number(state)
    if value is None or state is None:
        return None
    own = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or unit
    try:
        return float(converter.convert(value, own, unit))
    except HomeAssistantError:
        return None


def _energy_kwh(state: State | None) -> float | None:
    """A heat meter's energy counter in kWh (MWh, GJ, Gcal, … converted)."""
    return _converted(state, EnergyConverter, "kWh")


def _power_kw(state: State | None) -> float | None:
    """A heat meter's thermal power in kW (W, MW converted)."""
    return _converted(state, PowerConverter, "kW")


def _pressure_kpa(state: State | None) -> float | None:
    """A pressure state in kPa (bar, psi, … converted). HA knows no MPa, the unit Chinese
    transmitters read in (§4.3.13: 0–1.6 MPa); a sensor without a device class may carry it."""
    if state is not None and state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) == "MPa":
        value = _number(state)
        return None if value is None else value * 1000.0
    return _converted(state, PressureConverter, "kPa")


def _difference(supply: float | None, ret: float | None) -> float | None:
    """Available ΔP from the two pipes' pressures (None when one is lost)."""
    return None if supply is None or ret is None else supply - ret


def _mean(values: list[float]) -> float | None:
    """The mean, None of nothing."""
    return sum(values) / len(values) if values else None


def _number(state: State | None) -> float | None:
    """A finite numeric state, or None (unavailable, unknown: no number)."""
    return None if state is None else usable(state.state)


def _range(state: State | None) -> tuple[float, float]:
    """A number entity's min and max (0…100 when it does not say)."""
    if state is None:
        return 0.0, 100.0
    return float(state.attributes.get("min", 0.0)), float(state.attributes.get("max", 100.0))


def _speed(state: State | None) -> float | None:
    """A drive's speed feedback as a share of rated speed: % (or no unit: %), Hz of a 50 Hz
    drive, or a number entity's value over its min…max."""
    value = _number(state)
    if value is None or state is None:
        return None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit == "Hz":
        return value / RATED_HZ
    if state.domain in ("number", "input_number") and unit != "%":
        return _position(state)
    return value / 100.0


def _reports_no_position(state: State | None) -> bool:
    """A valve entity that is there but has no position attribute (no feedback at all)."""
    return (
        state is not None
        and state.domain == "valve"
        and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
        and ATTR_CURRENT_POSITION not in state.attributes
    )


def _position(state: State | None) -> float | None:
    """Valve position feedback 0…1 from a valve (current_position) or a number entity."""
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    if state.domain == "valve":
        pos = usable(state.attributes.get(ATTR_CURRENT_POSITION))  # junk: no position
        return None if pos is None else pos / 100.0
    value = _number(state)
    lo, hi = _range(state)
    if value is None or hi <= lo:
        return None
    return (value - lo) / (hi - lo)
