"""The balancing coordinator: one per network, in ``entry.runtime_data``.

Each update is one control cycle (§4.3.4 period of plant time): acquire (simulated plant or
HA entities) → clean/evaluate/compute in the executor (:mod:`.cycle`) → in automatic mode
dispatch the commands, already within the safety limits (§5.3.6-3) → verify feedback on the
next cycle → record alarms and state. Manual mode computes and shows proposals but never
actuates (§5.2.4-2, §5.3.6-6); so does the primary level, whose regulation is manual
(Table 3.0.4). Once balanced the devices are left alone and only watched (§8.2.5).
Counters, alarms and the simulated plant's settings survive restarts in a ``Store``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_translations
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .alarms import NETWORK, Alarm, AlarmBook, find_conditions, gateway_conditions
from .const import CONF_GATEWAY_TOPIC, DOMAIN, EVENT_ALARM, SOURCE_SIMULATOR
from .cycle import CycleMemory, CycleResult, limits_of, run_cycle
from .engine.control.safety import apply_limits
from .engine.evaluation import BalanceStateMachine
from .engine.hydraulics import HydraulicError
from .engine.model import Network
from .engine.simulator import Simulator
from .gateway_source import async_attach
from .plant import Plant
from .records import archive_cycle
from .settings import InletConfig, Settings

_LOGGER = logging.getLogger(__name__)
STORE_VERSION = 1
SAVE_DELAY_S = 30
COMMAND_ANSWER_S = 10.0  # how long an operator command waits for the gateway read-back
PLANT_CLOCK = "plant"  # §8.2.6 timer on the simulated plant's time
WALL_CLOCK = "wall"  # §8.2.6 timer on wall-clock time (real plants)


@dataclass
class HeatbalanceData:
    """Runtime data of a network entry."""

    coordinator: HeatbalanceCoordinator
    structure: tuple[Any, ...]  # what a change of needs a reload (see lifecycle)


type HeatbalanceConfigEntry = ConfigEntry[HeatbalanceData]


def _balance_machine(settings: Settings) -> BalanceStateMachine:
    """Primary networks are balanced by hand (§3.0.5): no 24 h inspection alarm there."""
    return BalanceStateMachine(timeout_s=None if settings.level == "primary" else 24 * 3600.0)


class HeatbalanceCoordinator(DataUpdateCoordinator[CycleResult]):
    """Runs the control cycle of one secondary network."""

    config_entry: HeatbalanceConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: HeatbalanceConfigEntry,
        network: Network,
        simulator: Simulator,
        inlets: dict[str, InletConfig],
        settings: Settings,
    ) -> None:
        """Take the plant built in the executor; nothing is solved until the first refresh."""
        self.network = network
        self.inlets = inlets
        self.settings = settings
        self.plant = Plant(simulator, inlets, settings)
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {network.name}",
            update_interval=self.plant.interval,
        )
        self.store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, f"{DOMAIN}.{entry.entry_id}")
        self.memory = CycleMemory()
        self.alarms = AlarmBook()
        self.sent: dict[str, float] = {}  # openings dispatched last cycle (to verify)
        self.balance = _balance_machine(settings)  # §8.2.5/§8.2.6 state over the cycles
        self.force_dispatch = False
        self._texts: dict[str, str] = {}
        # The engine's state (simulator, control loop) is worked on in the executor: whatever
        # touches it from the loop waits until no cycle runs (one cycle at a time anyway).
        self.engine_lock = asyncio.Lock()
        self._save_unsub: Callable[[], None] | None = None

    @property
    def simulator(self) -> Simulator:
        """The network's simulated plant (the demo's plant, the model of a real one)."""
        return self.plant.simulator

    # --- lifecycle --------------------------------------------------------------------------
    async def _async_setup(self) -> None:
        """Restore what the last run left: counters, alarms, the simulated plant's settings."""
        self._texts = await async_get_translations(
            self.hass, self.hass.config.language, "exceptions", [DOMAIN]
        )
        stored = await self.store.async_load() or {}
        self.memory = CycleMemory.from_dict(stored.get("memory", {}))
        self.alarms.restore(stored.get("alarms", {}))
        balance = stored.get("balance", {})
        try:
            self.balance = BalanceStateMachine.from_dict(balance)
        except (TypeError, ValueError):  # a damaged store restarts regulation, nothing worse
            self.balance = _balance_machine(self.settings)
        if stored.get("balance_clock", PLANT_CLOCK) != self.clock:  # seconds of another clock
            self.balance = _balance_machine(self.settings)
        plant = stored.get("plant", {})
        sim = self.simulator
        moved = _source_changed(plant.get("sources"), self.inlets)
        _forget_positions(self.memory, moved)
        for iid, opening in plant.get("openings", {}).items():
            if iid in sim.network.inlets and iid not in moved:
                sim.set_opening(iid, float(opening))
        if "pump_speed" in plant:
            sim.set_pump_speed(float(plant["pump_speed"]))
        sim.time_s = float(plant.get("time_s", 0.0))
        await self._async_attach_gateway()
        if self.config_entry is not None:  # HA stops without unloading: write what is due
            self.config_entry.async_on_unload(
                self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_save_due)
            )

    async def _async_attach_gateway(self) -> None:
        """Subscribe to the gateway's topics when inlets read the gateway (issue 5, §6.0.3).

        Without MQTT the entry retries its setup rather than regulating blind.
        """
        try:
            entry = self.config_entry
            source = await async_attach(
                self.hass,
                self.plant,
                base=(entry.options.get(CONF_GATEWAY_TOPIC) if entry else None) or "heatbalance",
                key=entry.entry_id if entry else None,
            )
        except (HomeAssistantError, ValueError) as err:  # no MQTT; a device on two inlets
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="gateway_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        if source is not None and self.config_entry is not None:
            self.config_entry.async_on_unload(source.stop)

    def stored(self, memory: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything the Store keeps (``memory``: the cycle memory already serialised)."""
        sim = self.simulator
        return {
            "memory": self.memory.as_dict() if memory is None else memory,
            "alarms": self.alarms.as_dict(),
            "balance": self.balance.as_dict(),
            "balance_clock": self.clock,
            "plant": {
                "time_s": sim.time_s,
                "pump_speed": sim.pump_speed,
                "openings": {iid: float(sim.openings[k]) for k, iid in enumerate(sim.ids)},
                "sources": {iid: cfg.source for iid, cfg in self.inlets.items()},
            },
        }

    async def async_save(self) -> None:
        """Write the Store now (on unload, and :data:`SAVE_DELAY_S` after a change).

        The controller's learning is serialised in the executor (hundreds of ms on a
        23,000-household network) while no cycle works on it.
        """
        self._cancel_save()
        async with self.engine_lock:
            memory = await self.hass.async_add_executor_job(self.memory.as_dict)
            data = self.stored(memory)
        await self.store.async_save(data)

    def schedule_save(self) -> None:
        """Write the Store within :data:`SAVE_DELAY_S` (changes in between go along)."""
        if self._save_unsub is None:
            self._save_unsub = async_call_later(self.hass, SAVE_DELAY_S, self._async_save_due)

    async def _async_save_due(self, _: datetime | Event | None = None) -> None:
        if self._save_unsub is not None:
            await self.async_save()

    def _cancel_save(self) -> None:
        if self._save_unsub is not None:
            self._save_unsub()
            self._save_unsub = None

    def apply(self, settings: Settings, inlets: dict[str, InletConfig]) -> None:
        """Take new operating settings and tunables without a reload."""
        self.settings = settings
        self.plant.settings = settings
        for iid, cfg in inlets.items():
            self.inlets[iid] = cfg
        self.async_update_listeners()

    # --- the cycle --------------------------------------------------------------------------
    async def _async_update_data(self) -> CycleResult:
        """One control cycle; engine work in the executor, never two at once."""
        async with self.engine_lock:
            return await self._async_cycle()

    async def _async_cycle(self) -> CycleResult:
        previous = self.data if self.last_update_success else None
        try:
            acq = await self.plant.async_acquire(self.hass)
            result = await self.hass.async_add_executor_job(
                run_cycle,
                self.network,
                self.settings,
                self.inlets,
                acq,
                self.memory,
                self.simulator.pump_speed,
                self.sent,
            )
        except HydraulicError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="plant_unsolvable",
                translation_placeholders={"error": str(err)},
            ) from err
        unbalanced = self._track_balance(result)
        sent = self.sent
        dispatch = (self.settings.auto and self.balance.regulating) or self.force_dispatch
        self.force_dispatch = False
        self.sent = {}
        if dispatch and self.settings.level != "primary":
            failed = await self.plant.async_dispatch(
                self.hass, result.commands, result.pump_command
            )
            self.sent = {k: v for k, v in result.commands.items() if k not in failed}
            if self.memory.loop is not None:  # moved valves' flows must now change
                self.memory.loop.commanded(self.sent)
        elif self.memory.loop is not None:  # the controller must not assume they moved
            self.memory.loop.held()
        conditions = find_conditions(result, self.settings, self.inlets, sent, previous, unbalanced)
        if self.plant.gateway is not None:
            conditions += gateway_conditions(self.plant.gateway.outbox())
        raised, cleared = self.alarms.update(conditions, self.settings.alarm_cycles, result.time_s)
        for alarm in raised:
            self.fire(alarm, "raised")
        for alarm in cleared:
            self.fire(alarm, "cleared")
        self.schedule_save()
        archive_cycle(self, result)  # the operator's season-long record (records.py)
        return result

    @property
    def clock(self) -> str:
        """The §8.2.6 clock: a real plant's is the wall clock, so the 24 h run on while Home
        Assistant is down; a simulated plant's is its own (accelerated, paused when stopped)."""
        return PLANT_CLOCK if self.plant.simulated else WALL_CLOCK

    def _now_s(self, result: CycleResult) -> float:
        """Now on the §8.2.6 clock, in seconds."""
        return result.time_s if self.clock == PLANT_CLOCK else dt_util.utcnow().timestamp()

    def _track_balance(self, result: CycleResult) -> float:
        """Feed the verdict to the balance state machine (§8.2.5/§8.2.6); return how long
        automatic regulation has run without reaching balance (seconds on :attr:`clock`)."""
        machine = self.balance
        machine.timeout_s = _balance_machine(self.settings).timeout_s
        now = self._now_s(result)
        if not self.settings.auto:  # manual: nothing regulates, nothing times out
            machine.reset(now)
            return 0.0
        machine.update(result.evaluation, now)
        return machine.regulating_for_s()

    # --- alarms -----------------------------------------------------------------------------
    def describe(self, alarm: Alarm) -> str:
        """The alarm's description in HA's language (§5.3.8-2: type, location, description)."""
        template = self._texts.get(f"component.{DOMAIN}.exceptions.{alarm.reason}.message", "")
        try:
            return template.format(**alarm.values, location=self.location_name(alarm.location))
        except (KeyError, IndexError, ValueError):
            return alarm.reason

    def location_name(self, location: str) -> str:
        """An inlet's name, or the network's for network-wide alarms."""
        if location == NETWORK:
            return self.network.name
        inlet = self.network.inlets.get(location)
        return (inlet.name or inlet.id) if inlet else location

    def fire(self, alarm: Alarm, status: str, context: Context | None = None) -> None:
        """Put the alarm on the bus; the event entity and automations take it from there."""
        self.hass.bus.async_fire(
            EVENT_ALARM,
            {
                "config_entry_id": self.config_entry.entry_id,
                "network": self.network.name,
                "status": status,
                "alarm_type": alarm.type,
                "grade": alarm.grade,
                "location": alarm.location,
                "location_name": self.location_name(alarm.location),
                "reason": alarm.reason,
                "description": self.describe(alarm),
                "acknowledged": alarm.acknowledged,
                **alarm.values,
            },
            context=context,
        )

    # --- operator commands ------------------------------------------------------------------
    async def async_confirm_proposal(self) -> dict[str, float]:
        """Send the manual-mode proposal shown now (the operator confirmed it, §5.3.6-6).

        The openings were computed by the engine within the safety limits from where the
        valves stand; nothing has moved since in manual mode. Returns what was sent.
        """
        async with self.engine_lock:
            result = self.data
            if result is None or not result.commands or self.settings.auto:
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="no_proposal"
                )
            failed = await self.plant.async_dispatch(
                self.hass, result.commands, result.pump_command
            )
            self.sent = {k: v for k, v in result.commands.items() if k not in failed}
            if self.memory.loop is not None:
                self.memory.loop.commanded(self.sent)
        result.commands = {}  # confirmed once; the next cycle proposes afresh
        self.async_update_listeners()
        return dict(self.sent)

    async def async_set_opening(self, inlet_id: str, opening: float) -> None:
        """Operator's valve command, clamped to the safety limits (§5.3.6-3), sent at once."""
        device = self.network.inlets[inlet_id].device
        limits = limits_of(self.settings)
        current = self.simulator.openings[self.simulator.ids.index(inlet_id)]
        value, _ = apply_limits(
            float(current), opening, _whole_range(limits), device.min_opening, device.max_opening
        )
        value = min(max(value, limits.min_opening), limits.max_opening)
        async with self.engine_lock:
            failed = await self.plant.async_dispatch(self.hass, {inlet_id: value}, None)
        if failed:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="dispatch_failed",
                translation_placeholders={"inlet": self.location_name(inlet_id)},
            )
        # A gateway valve answers after its read-back; a refusal is the operator's to see now.
        # No answer in time is not an error here: the next cycle reports it as an alarm.
        status = await self.plant.async_confirmation(inlet_id, COMMAND_ANSWER_S)
        if status not in (None, "confirmed"):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_not_confirmed",
                translation_placeholders={
                    "inlet": self.location_name(inlet_id),
                    "status": str(status),
                },
            )
        self.sent[inlet_id] = value
        if self.data is not None and inlet_id in self.data.inlets:
            reading = self.data.inlets[inlet_id].reading
            # the simulated plant moved at once; a real valve reports back on its next reading
            if self.inlets[inlet_id].source == SOURCE_SIMULATOR:
                reading.opening = float(self.simulator.openings[self.simulator.ids.index(inlet_id)])
            self.data.inlets[inlet_id].command = value
        self.async_update_listeners()


def _source_changed(stored: Any, inlets: dict[str, InletConfig]) -> set[str]:
    """Inlets whose source changed since the Store was written (none known: none)."""
    if not isinstance(stored, dict):
        return set()
    return {iid for iid, cfg in inlets.items() if stored.get(iid, cfg.source) != cfg.source}


def _forget_positions(memory: CycleMemory, inlets: set[str]) -> None:
    """Where the valves of ``inlets`` stood on their old source (the demo's simulated plant)
    says nothing of the device now mapped: without position feedback the controller would
    take it as the real valve's position and its first command could exceed the step limit
    from where the valve really is (§5.3.6-3). It assumes the network file's opening, as on
    a fresh start."""
    controller = memory.loop_state.get("controller")
    if not inlets or not isinstance(controller, dict):
        return
    for key in ("last_openings", "moved"):
        if isinstance(controller.get(key), dict):
            controller[key] = {k: v for k, v in controller[key].items() if k not in inlets}


def _whole_range(limits: Any) -> Any:
    """The operator may move a valve in one go; only the opening limits bind him."""
    from .engine.control.safety import SafetyLimits

    return SafetyLimits(limits.min_opening, limits.max_opening, 1.0)
