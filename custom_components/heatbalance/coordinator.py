"""The balancing coordinator: one per network, in ``entry.runtime_data``. It schedules and
publishes; the domain work is elsewhere.

Each update is one control cycle (§4.3.4 period of plant time): acquire (:mod:`.plant`, the
sources) → the engine's control loop in the executor (:mod:`.cycle`: clean → evaluate →
control → diagnose → forecast → alarm rules → what to send) → send what the loop says,
already within the safety limits (§5.3.6-3; nothing while balanced, §8.2.5, or in manual
mode, §5.2.4-2, §5.3.6-6, also the primary level's, Table 3.0.4: ``engine.loop.Dispatch``)
→ grade and publish the alarms (:mod:`.alarm_events`), archive, save
(:mod:`.persistence`). Operator commands are in :mod:`.actions`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CoreState, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .alarm_events import AlarmEvents
from .audit import async_audit
from .compat import STORE_OFF_LOOP
from .const import CONF_GATEWAY_TOPIC, DEFAULT_GATEWAY_TOPIC, DOMAIN
from .cycle import (
    REPLANNED,
    UNLOADING,
    CycleMemory,
    CycleResult,
    limits_of,
    rejudged,
    replanned,
    run_cycle,
)
from .engine.alarms import AlarmBook
from .engine.control.base import usable
from .engine.control.safety import limit_pump_speed
from .engine.design_loads import KIND as DESIGN_LOAD
from .engine.evaluation import BalanceStateMachine
from .engine.hydraulics import HydraulicError
from .engine.loop import MANUAL
from .engine.model import Network
from .engine.simulator import Simulator
from .gateway_source import async_attach
from .gc_tuning import run_cycle_paused, run_frozen, run_paused
from .memory_file import SLOTS, LearningFiles
from .memory_release import release
from .persistence import (
    MEMORY_FILE,
    PLANT_CLOCK,
    SAVE_DELAY_S,
    STORE_VERSION,
    WALL_CLOCK,
    left_real,
    restore_state,
    source_keys,
    stored_state,
)
from .plant import Plant
from .records import archive_cycle
from .repairs import async_design_load_issue, async_gateway_issues, async_learning_lost_issue
from .settings import InletConfig, Settings

if TYPE_CHECKING:
    from .entity import EntityPlan

_LOGGER = logging.getLogger(__name__)
# Entities told of a cycle between two yields to the event loop: about 200 × 15 µs of HA's
# state write each, so other callbacks wait a few ms, not the whole network's writes.
LISTENER_BATCH = 200


@dataclass
class HeatbalanceData:
    """Runtime data of a network entry."""

    coordinator: HeatbalanceCoordinator
    structure: tuple[Any, ...]  # what a change of needs a reload (see lifecycle)
    entity_plan: EntityPlan | None = None  # while the platforms are set up (entity.py)


type HeatbalanceConfigEntry = ConfigEntry[HeatbalanceData]


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
        self.store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.{entry.entry_id}", **STORE_OFF_LOOP
        )
        # a large network's learning, in a file of its own beside the Store (memory_file),
        # and the slot the Store on disk names (the next save writes the other one)
        self.learning = LearningFiles.of(hass, entry.entry_id)
        self._learning_slot: str | None = None
        self.memory = CycleMemory()
        self.alarms = AlarmBook()
        self.sent: dict[str, float] = {}  # openings dispatched last cycle (to verify)
        self.balance = BalanceStateMachine()  # §8.2.5/§8.2.6 state, run by the engine loop
        self.balance_now = False  # the operator's "balance now" for the next cycle
        self.balancing_now = False  # … taken by the cycle running now (actions.py)
        # a confirmed proposal's pump command held for an offline gateway: (request id,
        # speed, the speed it was sent from), recorded once carried out (_record_sent)
        self._pump_confirmed: tuple[str, float, float] | None = None
        self.events = AlarmEvents(hass, entry.entry_id, network)  # publishes the alarms
        # The engine's state (simulator, control loop) is worked on in the executor: whatever
        # touches it from the loop waits until no cycle runs (one cycle at a time anyway).
        self.engine_lock = asyncio.Lock()
        self._save_unsub: Callable[[], None] | None = None
        # a refresh's result is being published: HA's call to tell the listeners is told
        # after it, in batches (:meth:`_async_refresh`)
        self._publishing = False
        self._listeners_due = False
        self._telling: asyncio.Task[None] | None = None  # an operator change told in batches
        self._gateway_revision: int | None = None  # the gateway source's, at its last check
        self._design_flagged: frozenset[str] | None = None  # inlets in the design_loads repair
        self._station_silent = False  # the substation heat meter named silent in the repair

    @property
    def simulator(self) -> Simulator:
        """The network's simulated plant (the demo's plant, the model of a real one)."""
        return self.plant.simulator

    # --- lifecycle --------------------------------------------------------------------------
    async def _async_setup(self) -> None:
        """Restore what the last run left: counters, alarms, the simulated plant's settings."""
        await self.events.async_load_texts()
        stored = await self.store.async_load() or {}
        # the controller's learning and the plant's valves: seconds on a 23,000-household
        # network, so in the executor (no cycle runs before the setup is done); the parsed
        # learning frozen at the job's end, not walked by the collector until the first
        # cycle reads and drops it (gc_tuning.run_frozen)
        self.memory, self.balance, lost = await self.hass.async_add_executor_job(
            run_frozen,
            len(self.network.inlets),
            restore_state,
            stored,
            self.alarms,
            self.clock,
            self.simulator,
            self.inlets,
            self.learning,
        )
        self._learning_slot = self.learning.slot_of(stored.get(MEMORY_FILE))
        if self.config_entry is not None:
            async_learning_lost_issue(self.hass, self.config_entry, lost)
        self.plant.left = left_real(self.memory.sources, self.inlets)
        self.plant.unplaced = set(self.memory.changed)
        held = stored.get("plant", {}).get("held")
        self.plant.restore_held(held)
        self._pump_confirmed = _confirmed_pump(held, self.plant.pump_held)
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
                base=(entry.options.get(CONF_GATEWAY_TOPIC) if entry else None)
                or DEFAULT_GATEWAY_TOPIC,
                key=entry.entry_id if entry else None,
            )
        except (HomeAssistantError, ValueError) as err:  # no MQTT; a device on two inlets
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="gateway_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        if source is not None and self.config_entry is not None:
            self.config_entry.async_on_unload(source.async_stop)
            # a gateway offline too long is named now, not at the next cycle (issue 10)
            entry = self.config_entry
            source.on_change = lambda: entry.async_create_task(
                self.hass, self._async_gateway_issues(), "heatbalance gateway repairs"
            )
        await self._async_gateway_issues(force=True)

    async def _async_gateway_issues(self, force: bool = False) -> None:
        """Re-check the gateway's repairs when what its gateways said or sent changed."""
        source = self.plant.gateway
        revision = None if source is None else source.revision
        if self.config_entry is None or (revision == self._gateway_revision and not force):
            return
        self._gateway_revision = revision
        entry = self.config_entry
        await async_gateway_issues(
            self.hass,
            entry.entry_id,
            entry.title,
            self.network,
            self.settings,
            self.inlets,
            source,
            self.plant.station_heat_silent,
        )

    async def _async_station_heat_issue(self) -> None:
        """Name the substation heat meter in the data check's repair when it went silent,
        and clear it when it delivers again (§4.3.2; ``Plant.station_heat_silent``)."""
        silent = self.plant.station_heat_silent
        if silent == self._station_silent or self.config_entry is None:
            return
        self._station_silent = silent
        await self._async_gateway_issues(force=True)

    def stored(self, memory: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything the Store keeps (``memory``: the cycle memory already serialised)."""
        trees = [self.memory.as_dict() if memory is None else memory]
        del memory
        sources = source_keys(self.inlets, self.memory.sources)
        slot = next(s for s in SLOTS if s != self._learning_slot)  # not the Store's on disk
        write = partial(self.learning.write, slot)
        state = stored_state(
            trees[0], self.alarms, self.balance, self.clock, self.simulator, sources, write
        )
        release(trees)  # the serialised learning let go a slice at a time (memory_release)
        state["plant"]["held"] = held = self.plant.held_dict()  # what an offline gateway holds
        confirmed, pump = self._pump_confirmed, self.plant.pump_held
        if confirmed is not None and pump is not None and confirmed[0] == pump[0]:
            held["pump_confirmed"] = list(confirmed)  # … the operator's, a restart keeps
        return state

    async def async_save(self) -> None:
        """Write the Store now (on unload, and :data:`SAVE_DELAY_S` after a change).

        The controller's learning and the plant's valves are serialised in the executor
        (hundreds of ms on a 23,000-household network) while no cycle works on it; a large
        network's learning is written to its file there too (memory_file), and the Store,
        holding only its pointer, is written before the next save can pick a slot.
        """
        async with self.engine_lock:
            # after the wait: a cycle that held the lock may have scheduled a save meanwhile
            # (on unload that timer would outlive the entry)
            self._cancel_save()
            data = await self.hass.async_add_executor_job(  # 0.9 → 0.4 s CPU at 23k
                run_paused, len(self.network.inlets), self.stored
            )
            await self._async_write(data)

    async def _async_write(self, data: dict[str, Any]) -> None:
        """Write the Store; once it is on disk, the slot it names is the one the next save
        leaves alone, and learning files it no longer names are removed. While HA stops,
        its final write takes the Store later: the slot stays as it was."""
        landed = self.hass.state is not CoreState.stopping
        await self.store.async_save(data)
        if not landed:
            return
        slot = self.learning.slot_of(data.get(MEMORY_FILE))
        if slot is None and self._learning_slot is not None:  # the learning is in the Store
            await self.hass.async_add_executor_job(self.learning.remove)
        self._learning_slot = slot

    def schedule_save(self) -> None:
        """Write the Store within :data:`SAVE_DELAY_S` (changes in between go along)."""
        if self.hass.is_stopping:  # too late for a timer: HA's final write takes it
            self.store.async_delay_save(self.stored, SAVE_DELAY_S)
            return
        if self._save_unsub is None:
            self._save_unsub = async_call_later(self.hass, SAVE_DELAY_S, self._async_save_due)

    async def _async_save_due(self, when: datetime | Event | None = None) -> None:
        """The save's timer fired (``when``: a time) or Home Assistant stops (an event).

        While the entry is still setting up, the timer's save waits another
        :data:`SAVE_DELAY_S`: the first cycle schedules it, and on a loaded machine a large
        network's setup outlasts the delay (gen23k at load 20: 40-60 s), so the save's
        serialisation and write (≈1-1.5 s CPU at 23,870 inlets) fell inside the start, beside
        HA adding 10,000 entities (issue 10, HA start). What changes meanwhile goes along."""
        if self._save_unsub is None:
            return
        if isinstance(when, datetime) and self._setting_up:
            self._save_unsub = async_call_later(self.hass, SAVE_DELAY_S, self._async_save_due)
            return
        await self.async_save()

    @property
    def _setting_up(self) -> bool:
        entry = self.config_entry
        return entry is not None and entry.state is ConfigEntryState.SETUP_IN_PROGRESS

    def _cancel_save(self) -> None:
        if self._save_unsub is not None:
            self._save_unsub()
            self._save_unsub = None

    def apply(self, settings: Settings, inlets: dict[str, InletConfig]) -> None:
        """Take new operating settings and tunables without a reload.

        The entities are told only of a change: the setup's own check of the entry finds
        none, and telling 10,000 entities of a 23,000-household network holds the loop
        ≈0.4 s."""
        changed = settings != self.settings or any(
            self.inlets.get(iid) != cfg for iid, cfg in inlets.items()
        )
        self.settings = settings
        self.plant.settings = settings
        for iid, cfg in inlets.items():
            self.inlets[iid] = cfg
        if changed:
            self.async_update_listeners()

    # --- publishing -------------------------------------------------------------------------
    async def _async_refresh(self, *args: Any, **kwargs: Any) -> None:
        """HA's refresh, with its listeners (every entity of the network) told in batches.

        A households network has thousands of entities and HA writes each changed one on
        the event loop; told at once they would hold the loop for the whole network. The
        refresh still returns only when every entity has been told, as HA's does.
        """
        try:
            await super()._async_refresh(*args, **kwargs)
        finally:
            self._publishing = False
        if self._listeners_due:
            await self._async_update_listeners_in_batches()

    @callback
    def async_update_listeners(self) -> None:
        """Tell every entity; a refresh's result after the refresh, in batches; otherwise
        (an operator's change, also one made while a cycle runs) at once when they are few,
        else in batches from now on (at 23k a change of algorithm told 10,000 entities in
        one 147 ms callback)."""
        if self._publishing:
            self._listeners_due = True
            return
        if len(self._listeners) <= LISTENER_BATCH:
            super().async_update_listeners()
            return
        self._telling = self.hass.async_create_task(  # the first batch now, the rest after yields
            self._async_update_listeners_in_batches(),
            f"{DOMAIN} {self.name} entities told",
            eager_start=True,
        )

    async def async_told(self) -> None:
        """Return once every entity shows the last operator change. An action waits for it
        (as a refresh waits for its batches): a blocking call then returns with its change
        shown, also on an entity of a later batch (set_weight's number was read stale)."""
        if self._telling is not None and not self._telling.done():
            await asyncio.wait([self._telling])  # never raises (an unload may cancel it)

    async def _async_update_listeners_in_batches(self) -> None:
        self._listeners_due = False
        listeners = list(self._listeners.items())
        for start in range(0, len(listeners), LISTENER_BATCH):
            if start:
                await asyncio.sleep(0)  # let the loop run what waited meanwhile
            for remove, (update_callback, _) in listeners[start : start + LISTENER_BATCH]:
                if remove not in self._listeners:  # removed while the loop ran
                    continue
                try:
                    update_callback()
                except Exception:
                    self.logger.exception("Unexpected error updating listener of %s", self.name)

    # --- the cycle --------------------------------------------------------------------------
    @property
    def unloading(self) -> bool:
        """The entry began to unload: no cycle runs and no operator command moves a valve."""
        return self._shutdown_requested

    async def _async_update_data(self) -> CycleResult:
        """One control cycle; engine work in the executor, never two at once.

        A refresh that queued on the lock before the entry began to unload finds the
        shutdown requested once it holds the lock, and does nothing: HA checks the flag
        only at the start of a refresh, and a cycle run then would move valves after the
        entities are gone and learn what the unload's save never stores.
        """
        try:
            async with self.engine_lock:
                if self._shutdown_requested:
                    if self.data is None:
                        raise UpdateFailed(translation_domain=DOMAIN, translation_key="unloading")
                    return self.data  # unchanged: the entities are not told again
                return await self._async_cycle()
        finally:
            # HA's refresh tells the listeners right after this returns, with no await
            # between (HA 2025.4 and 2026.10): only that call waits for the batches. An
            # operator's change made while the cycle ran was told at once — deferred to the
            # cycle's end, a blocking action returned with its change not yet shown
            # (test_set_weight at load ≈20: the timer's cycle ran during it).
            self._publishing = True

    async def _async_cycle(self) -> CycleResult:
        # the operator's "balance now" is this cycle's if asked before it started; one asked
        # while a timer cycle runs is the next cycle's (its refresh waits on the lock), one
        # asked while a "balance now" cycle runs is answered by it (actions.py)
        balance_now, self.balance_now = self.balance_now, False
        self.balancing_now = balance_now
        try:
            return await self._async_cycle_run(balance_now)
        finally:
            self.balancing_now = False

    async def _async_cycle_run(self, balance_now: bool) -> CycleResult:
        try:
            await self._async_carried_out()
            acq = await self.plant.async_acquire(self.hass)
            await self._async_gateway_issues()
            await self._async_station_heat_issue()
            # what the engine decides on; the operator may change it while the engine runs
            # (the inlets' tunables are replaced in place: the engine reads one version)
            started, inlets = self.settings, dict(self.inlets)
            result = await self.hass.async_add_executor_job(
                run_cycle_paused,  # a large network's cycle: 10⁵-10⁶ objects (gc_tuning)
                len(self.network.inlets),
                run_cycle,
                self.network,
                started,
                inlets,
                acq,
                self.memory,
                self.simulator.pump_speed,
                self.sent | self.plant.refused,  # a refused command: judged, not assumed
                self.balance,
                self._now_s(acq.time_s),
                balance_now,
            )
        except HydraulicError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="plant_unsolvable",
                translation_placeholders={"error": str(err)},
            ) from err
        self.sent = {}
        await self._async_held_since(result, started, inlets)
        limits, loop = limits_of(self.settings), self.memory.loop
        if result.held is None and loop is not None and limits != limits_of(started):
            result.commands, result.pump_command = loop.step_within_limits(
                result.commands, result.pump_command, limits
            )
        if result.held is None:  # the engine's answer (engine.loop.Dispatch, §8.2.5)
            result.sent = await self.async_send(result.commands, result.pump_command)
            if result.pump_command is not None and not self.plant.pump_failed:
                result.pump_sent = result.pump_command
        if not rejudged(started, self.settings, inlets, self.inlets):
            self._alarm_update(result)
        self._design_load_issue(result)
        self._audit_load_source(result)
        self.schedule_save()
        archive_cycle(self, result)  # the operator's season-long record (records.py)
        return result

    def _alarm_update(self, result: CycleResult) -> None:
        """Raise and clear alarms by the cycle's conditions (§5.3.8-1). Not called for a
        cycle judged by thresholds the operator changed while it ran (:func:`.cycle.
        rejudged`): the book stays as it was, and the next cycle, the first by the new
        thresholds, decides — no alarm raised by a threshold just loosened."""
        raised, cleared = self.alarms.update(
            result.conditions, self.settings.alarm_cycles, result.time_s
        )
        for alarm in raised:
            self.events.fire(alarm, "raised")
        for alarm in cleared:
            self.events.fire(alarm, "cleared")

    async def _async_held_since(
        self, result: CycleResult, started: Settings, inlets: dict[str, InletConfig]
    ) -> None:
        """Manual means manual also for a cycle already running when the operator chose it
        (§5.3.6-6, §5.2.4-2): the engine decided on the settings read at the cycle's start, and
        a mode or inlet switch applied while it ran in the executor (the timer's cycle on a
        loaded machine, seconds at 23k) must not be followed by that cycle's moves. Switched
        to manual since: nothing is sent, the commands are kept as the proposal shown, and
        the controller is told nothing moved (``ControlLoop.held``); an inlet switched to
        manual since is left out (the controller forgets a command not sent).

        Another algorithm, level or target chosen since, or an inlet's weight or offset
        changed (:func:`.cycle.replanned`): the old plan's moves are not sent either (held
        :data:`.cycle.REPLANNED`); the next cycle, the first of the new choice, decides.
        The entry began to unload since (inlets added or removed reload it): held
        :data:`.cycle.UNLOADING`, as a cycle queued then never runs
        (:meth:`_async_update_data`); the reloaded entry's first cycle plans anew."""
        if result.held is not None:
            return
        if self._shutdown_requested:
            result.held = UNLOADING
        elif not self.settings.auto:
            result.held = MANUAL
        elif replanned(started, self.settings, inlets, self.inlets):
            result.held = REPLANNED
        else:
            manual = {iid for iid, cfg in self.inlets.items() if not cfg.auto}
            if manual & result.commands.keys():
                result.commands = {k: v for k, v in result.commands.items() if k not in manual}
            return
        if self.memory.loop is not None:
            await self.hass.async_add_executor_job(self.memory.loop.held)

    def within_current_limits(
        self, openings: dict[str, float], pump: float | None
    ) -> tuple[dict[str, float], float | None]:
        """A manual proposal confirmed now, computed earlier: limited again under the limits
        set now from where each valve is known to stand now (a valve moved by hand since),
        the pump's speed too (§5.3.6-3). A cycle's own commands, when the limits changed
        while it ran, are limited from where the valves stood before it
        (``ControlLoop.step_within_limits``)."""
        limits = limits_of(self.settings)
        loop = self.memory.loop
        if loop is not None:
            openings, _ = loop.within_limits(openings, limits)
        if pump is not None:
            drive = self.network.substation.pump
            pump, _ = limit_pump_speed(
                self.simulator.pump_speed, pump, limits, drive.min_speed, drive.max_speed
            )
        return openings, pump

    def _audit_load_source(self, result: CycleResult) -> None:
        """The load model was reset because the meter it learns from changed (§3.0.7-2):
        on the audit log (§5.3.6-7) beside the options change that caused it."""
        if result.load_source_changed is None or self.config_entry is None:
            return
        old, new = result.load_source_changed
        entry_id = self.config_entry.entry_id
        async_audit(self.hass, entry_id, "forecaster_reset", None, old_source=old, new_source=new)

    def _design_load_issue(self, result: CycleResult) -> None:
        """Raise or clear the ``design_loads`` repair when the inlets the engine names as
        off their design load change (a set comparison per cycle; the registry only then).
        The first cycle after a start always sets it: the issue is not kept over a restart,
        the check's sums are."""
        flagged = frozenset(f.inlet_id for f in result.findings if f.kind == DESIGN_LOAD)
        if flagged == self._design_flagged or self.config_entry is None:
            return
        self._design_flagged = flagged
        loop = self.memory.loop
        ratios = loop.design_loads.flagged if loop is not None else {}
        entry = self.config_entry
        async_design_load_issue(
            self.hass,
            entry.entry_id,
            entry.title,
            self.network,
            {iid: ratios[iid] for iid in flagged if iid in ratios},
        )

    async def async_send(
        self, openings: dict[str, float], pump: float | None, confirmed: bool = False
    ) -> dict[str, float]:
        """Send openings (already within the safety limits) and a pump speed; what reached
        its device is verified on the next cycle, and cleaning expects those flows to change.
        ``confirmed``: a manual proposal the operator confirmed (its step held the pump's
        speed as unsent). Returns what was sent. The caller holds :attr:`engine_lock`."""
        before = self.simulator.pump_speed  # where the drive runs (the model follows it)
        failed = await self.plant.async_dispatch(self.hass, openings, pump)
        return await self.hass.async_add_executor_job(
            run_paused,
            len(self.network.inlets),
            self._record_sent,
            openings,
            failed,
            (pump, before) if confirmed and pump is not None else None,
        )

    async def _async_carried_out(self) -> None:
        """Commands held for an offline gateway count as no move until it confirms them;
        those confirmed since the last cycle are that cycle's moves after all: told to the
        loop before this step (diagnosis compares them, cleaning expects their flows)."""
        plant = self.plant
        if not plant.held and plant.pump_held is None:
            return
        confirmed, held = self._pump_confirmed, plant.pump_held
        done = plant.carried_out()
        if not done and not plant.pump_late:
            return
        self.sent |= done
        loop = self.memory.loop
        if loop is not None:
            await self.hass.async_add_executor_job(loop.carried_out_late, done, plant.pump_late)
            if plant.pump_late and confirmed and held and confirmed[0] == held[0]:
                loop.controller.pump_confirmed(*confirmed[1:])  # manual: no planned move

    def _record_sent(
        self,
        openings: dict[str, float],
        failed: set[str],
        confirmed_pump: tuple[float, float] | None = None,
    ) -> dict[str, float]:
        """What reached its device, told to the control loop (executor: thousands of
        commands on a households network), the pump's drive included.

        ``confirmed_pump``: a confirmed manual proposal's speed (as sent, limited under the
        limits set now) and the speed it was sent from, recorded as its step's pump move
        (``Controller.pump_confirmed``, §5.3.6-3, §5.3.6-6) — held for an offline gateway,
        once the gateway carries it out (:meth:`_async_carried_out`). Before, the
        controller kept no move: the next step carried no estimate by the speed change and
        compared the drive's feedback with an old command."""
        sent = {k: v for k, v in openings.items() if k not in failed}
        self.sent |= sent
        loop = self.memory.loop
        held = self.plant.pump_held
        if confirmed_pump is not None and held is not None:  # recorded once carried out
            self._pump_confirmed = (held[0], *confirmed_pump)
        if loop is not None:
            pump_out = not self.plant.pump_failed
            loop.commanded(sent, pump_sent=pump_out)
            if confirmed_pump is not None and pump_out:
                loop.controller.pump_confirmed(*confirmed_pump)
        return sent

    @property
    def clock(self) -> str:
        """The §8.2.6 clock: a real plant's is the wall clock, so the 24 h run on while Home
        Assistant is down; a simulated plant's is its own (accelerated, paused when stopped)."""
        return PLANT_CLOCK if self.plant.simulated else WALL_CLOCK

    def _now_s(self, plant_time_s: float) -> float:
        """Now on the §8.2.6 clock, in seconds."""
        return plant_time_s if self.clock == PLANT_CLOCK else dt_util.utcnow().timestamp()


def _confirmed_pump(
    held: Any, pump_held: tuple[str, float] | None
) -> tuple[str, float, float] | None:
    """The stored record of a confirmed proposal's pump speed held for an offline gateway
    (``HeatbalanceCoordinator._pump_confirmed``): kept over a restart as the held command
    is, so the operator's confirmation, carried out once the gateway is back, is still told
    to the controller as that step's pump move (§5.3.6-6). Only for the held command it was
    (same request id); damaged (a speed outside 0…1, not numbers) it is dropped with a log
    line, and the carried-out speed is then read back from the drive as any held command."""
    record = held.get("pump_confirmed") if isinstance(held, dict) else None
    if record is None or pump_held is None:
        return None
    try:
        request_id, speed, current = record
    except (TypeError, ValueError):
        request_id = speed = current = None
    speed, current = usable(speed), usable(current)
    if (
        request_id == pump_held[0]
        and speed is not None
        and current is not None
        and 0.0 < speed <= 1.0
        and 0.0 <= current <= 1.0
    ):
        return (pump_held[0], speed, current)
    _LOGGER.warning("Ignoring a damaged confirmed pump speed in the store: %r", record)
    return None
