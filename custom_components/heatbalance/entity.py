"""Base entities: one device per network, one per managed inlet hanging under it.

The device tree follows the network: a building's device hangs under the network's, a managed
household's under its building's (when the building is managed too, else under the network).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_platform
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import (
    AddConfigEntryEntitiesCallback,
    async_get_platforms,
)
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .audit import async_audit, async_require_admin
from .compat import via_device
from .const import DOMAIN
from .coordinator import HeatbalanceCoordinator
from .cycle import InletResult
from .entity_budget import Candidate, budget, left_disabled
from .gc_tuning import freeze_large, paused
from .lifecycle import async_change_inlet, async_change_options
from .repairs import async_entities_left_disabled

_LOGGER = logging.getLogger(__name__)

# Entities added (and removed) between two yields to the event loop. HA adds each (registry
# entry, device link, first state write: ≈0.3 ms of loop time) without yielding, so a
# 770-building network (12,000 entities) would hold the loop for seconds in one callback;
# 100 hold it ≈30 ms. A slice also ends after SLICE_S of the loop's time, whichever comes
# first: with asyncio's debug mode on (``hass --debug``, HA's test setup) each entity costs
# ≈1.5 ms (a stack is extracted per task HA creates), and slices of 100 took 114–212 ms,
# over asyncio's 100 ms slow-callback warning (district120's start, bench_product --ha-checks).
ADD_BATCH = 100
SLICE_S = 0.025
# How long a platform waits for the entry's others before the plan is decided without them
# (one raised during its setup); HA warns of a slow platform setup at 10 s.
PLAN_TIMEOUT_S = 60.0


class _Slices:
    """Counts work done in one turn of the event loop; :meth:`yield_if_due` yields to the
    loop once :data:`ADD_BATCH` items or :data:`SLICE_S` seconds were spent in this one."""

    def __init__(self) -> None:
        self.count = 0
        self._since = time.monotonic()

    async def yield_if_due(self) -> None:
        if self.count >= ADD_BATCH or time.monotonic() - self._since >= SLICE_S:
            await asyncio.sleep(0)  # let the loop run what waited meanwhile
            self.restart()

    def restart(self) -> None:
        """A new slice from now (after an await that let the loop run, e.g. the plan's)."""
        self.count = 0
        self._since = time.monotonic()


DEVICE_MODELS = {
    "none": "Unregulated inlet",
    "static_valve": "Static balancing valve",
    "flow_valve": "Self-operated flow valve",
    "dp_valve": "Self-operated differential-pressure valve",
    "electric_valve": "Electric control valve",
    "iot_valve": "IoT smart valve",
    "manual_ejector": "Manual regulating ejector",
    "electric_ejector": "Electric regulating ejector",
    "distributed_pump": "Distributed pump",
}


def parent_device(coordinator: HeatbalanceCoordinator, inlet_id: str) -> tuple[str, str]:
    """The device an inlet's device hangs under: its managed building, else the network."""
    entry_id = coordinator.config_entry.entry_id
    parent = coordinator.network.inlets[inlet_id].parent
    if parent is not None and parent in coordinator.inlets:
        return (DOMAIN, f"{entry_id}_{parent}")
    return (DOMAIN, entry_id)


class HeatbalanceEntity(CoordinatorEntity[HeatbalanceCoordinator]):
    """An entity of a network (``inlet_id`` None) or of one of its inlets."""

    _attr_has_entity_name = True
    _shown: tuple[Any, ...] | None = None  # what the last cycle's write showed

    def __init__(
        self,
        coordinator: HeatbalanceCoordinator,
        description: EntityDescription,
        inlet_id: str | None = None,
    ) -> None:
        """Attach to the network's device or to the inlet's (via the network)."""
        super().__init__(coordinator)
        self.entity_description = description
        self.inlet_id = inlet_id
        entry_id = coordinator.config_entry.entry_id
        network = coordinator.network
        if inlet_id is None:
            self._attr_unique_id = f"{entry_id}_{description.key}"
            self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry_id)})
            return
        inlet = network.inlets[inlet_id]
        self._attr_unique_id = f"{entry_id}_{inlet_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{entry_id}_{inlet_id}")},
            name=inlet.name or inlet_id,
            manufacturer="heatbalance",
            model=DEVICE_MODELS.get(inlet.device.type, inlet.device.type),
            model_id=inlet.type,
            serial_number=inlet_id,
            **via_device(coordinator.hass, entry_id, parent_device(coordinator, inlet_id)),  # type: ignore[typeddict-item]
        )

    @property
    def inlet(self) -> InletResult:
        """This inlet's part of the last cycle."""
        assert self.inlet_id is not None
        return self.coordinator.data.inlets[self.inlet_id]

    @property
    def available(self) -> bool:
        """Unavailable when the cycle failed or this inlet is no longer managed."""
        if not super().available:
            return False
        return self.inlet_id is None or self.inlet_id in self.coordinator.data.inlets

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what HA shows would change.

        Every cycle updates every entity (thousands on a households network); most of
        them — settings, verdicts, held valves — show what they showed, and HA's write of
        an unchanged state still builds its attributes, a new state object and an id.
        """
        shown = self._shown_now()
        if shown == self._shown:
            return
        self.async_write_ha_state()
        self._shown = shown

    def _write_now(self) -> None:
        """Write at once (an operator's change); the next cycle compares afresh."""
        self._shown = None
        self.async_write_ha_state()

    def _shown_now(self) -> tuple[Any, ...]:
        """What HA would show now (only what can change between cycles)."""
        if not self.available:
            return (False,)
        return self._shown_values()

    def _shown_values(self) -> tuple[Any, ...]:
        """State, attributes, unit, icon, features: what HA builds for a write."""
        return (
            self.state,
            self.capability_attributes,
            self.state_attributes,
            self.extra_state_attributes,
            self.unit_of_measurement,
            self.icon,
            self.supported_features,
        )

    def _audit(self, action: str, **details: Any) -> None:
        """Write the user's action to the logbook with its entity and inlet (§5.3.6-7)."""
        where = {} if self.inlet_id is None else {"inlet": self.inlet_id}
        async_audit(
            self.hass,
            self.coordinator.config_entry.entry_id,
            action,
            self._context,
            entity_id=self.entity_id,
            **where,
            **details,
        )

    async def _require_admin(self) -> None:
        """A parameter change is an administrator's (§5.1.3); a refusal is audited."""
        await async_require_admin(
            self.hass,
            self._context,
            entry_id=self.coordinator.config_entry.entry_id,
            action=f"set_{self.entity_description.key}",
        )

    async def _change_option(self, key: str, old: Any, new: Any) -> None:
        """Store a network option (applied at once), audit it and show it (also on the
        network's other entities before returning)."""
        async_change_options(self.hass, self.coordinator.config_entry, **{key: new})
        self._audit(f"set_{key}", old=old, new=new)
        self._write_now()
        await self.coordinator.async_told()

    async def _change_inlet(self, action: str, key: str, new: Any, **old: Any) -> None:
        """Store a setting of this inlet in its subentry, audit it and show it (also on the
        network's other entities before returning)."""
        assert self.inlet_id is not None
        async_change_inlet(self.hass, self.coordinator.config_entry, self.inlet_id, **{key: new})
        self._audit(action, **old, new=new)
        self._write_now()
        await self.coordinator.async_told()


async def add_per_actuated_inlet(
    coordinator: HeatbalanceCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    make: Callable[[str], Entity],
    needs_kvs: bool = False,
) -> None:
    """One entity per managed inlet whose device can be moved remotely (§4.3.1)."""

    def per_inlet(iid: str) -> list[Entity]:
        device = coordinator.network.inlets[iid].device
        return [make(iid)] if device.actuated and (device.kvs or not needs_kvs) else []

    await add_entities(coordinator, async_add_entities, (), per_inlet)


async def add_network_entities(
    coordinator: HeatbalanceCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    network: list[Entity],
) -> None:
    """A platform with the network's entities only (it joins the entry's plan too)."""
    await add_entities(coordinator, async_add_entities, network, lambda _iid: ())


async def add_entities(
    coordinator: HeatbalanceCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    network: Iterable[Entity],
    per_inlet: Callable[[str], Iterable[Entity]],
) -> None:
    """Network entities under the entry; each inlet's under its subentry (stale devices go
    with the subentry when an operator removes it). Builds and adds them yielding to the
    loop every :data:`ADD_BATCH` entities or :data:`SLICE_S` seconds (HA adds them eagerly,
    in this callback). A large network's
    entities are added with the cyclic collector paused (gc_tuning): the collections their
    registry entries and states triggered walked the unfrozen heap inside HA's adding, the
    start's longest callback (184–238 ms at 23k); they are frozen before it goes on."""
    network = list(network)
    slices = _Slices()
    order = sorted(coordinator.inlets.items(), key=lambda kv: _depth(coordinator, kv[0]))
    inlets = []  # built in slices too: at 23k one platform's built at once held the loop
    for iid, cfg in order:  # 191-418 ms (benchmarks/bench_start.py)
        await slices.yield_if_due()
        if entities := list(per_inlet(iid)):
            inlets.append((iid, cfg, entities))
            slices.count += len(entities)
    await EntityPlan.of(coordinator).join(network, [e for _, _, ents in inlets for e in ents])
    slices.restart()  # the clock ran on while the plan waited: not a slice's work (20h)
    async_add_entities(network)
    with paused(len(coordinator.network.inlets)):
        # buildings before households: a household's device names its building's as via
        for _iid, cfg, entities in inlets:
            await slices.yield_if_due()
            async_add_entities(entities, config_subentry_id=cfg.subentry_id)
            slices.count += len(entities)
        freeze_large(len(coordinator.network.inlets))


class EntityPlan:
    """Every platform's entities of one entry, gathered before any inlet's is added, so that
    the choice of which to leave disabled (``entity_budget``) sees them all.

    Platforms are set up concurrently (``async_forward_entry_setups``); each adds its
    network entities at once, then waits here until all ``platforms`` forwarded have joined.
    The plan lives in the entry's runtime data while the platforms are forwarded
    (``__init__``): one per setup, sized by the platforms really forwarded, gone when that
    ends, so no later setup (nor a test's entry with the same id) joins a plan left over.
    """

    def __init__(self, coordinator: HeatbalanceCoordinator, platforms: int) -> None:
        self.coordinator = coordinator
        self.waiting = platforms
        self.network: list[Entity] = []
        self.inlets: list[Entity] = []
        self.ready = asyncio.Event()

    @staticmethod
    def of(coordinator: HeatbalanceCoordinator) -> EntityPlan:
        """The entry's plan being gathered; a platform set up outside the entry's forwarding
        decides alone."""
        plan = coordinator.config_entry.runtime_data.entity_plan
        return plan if plan is not None else EntityPlan(coordinator, 1)

    async def join(self, network: list[Entity], inlets: list[Entity]) -> None:
        """Add one platform's entities to the plan; return once every platform joined and
        the inlets' entities over the limit are marked disabled by default."""
        self.network += network
        self.inlets += inlets
        self.waiting -= 1
        if self.waiting == 0:
            self._close()
        try:
            async with asyncio.timeout(PLAN_TIMEOUT_S):
                await self.ready.wait()
        except TimeoutError:  # a platform failed before joining: go on with those that did
            _LOGGER.warning("%d entity platforms did not start; deciding without", self.waiting)
            self._close()

    def _close(self) -> None:
        """Decide once, for every platform that joined."""
        if not self.ready.is_set():
            self._decide()
            self.ready.set()

    def _decide(self) -> None:
        """Leave the least useful new entities disabled when the entry would exceed its
        budget of enabled entities (``entity_budget.budget``: HA 2026's limit, kept on HA
        2025 too); say so in a repair issue.

        HA counts every enabled registry entry of the entry and refuses only new enabled
        entities once the count reaches the limit: so the registered ones are fixed, and
        the network's new ones are candidates too, giving way last (``entity_budget``) —
        an install already at the limit (registered under HA 2025, or entities an operator
        enabled) still gets a new network entity, registered disabled, not lost."""
        coordinator = self.coordinator
        entry = coordinator.config_entry
        limit = budget(getattr(entity_platform, "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", None))
        registry = er.async_get(coordinator.hass)
        by = {
            e.unique_id: e.disabled_by
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }
        fixed = sum(disabled_by is None for disabled_by in by.values())
        new: list[Entity] = []
        candidates: list[Candidate] = []
        earlier = 0  # left disabled at an earlier start, and still
        for network, entities in ((True, self.network), (False, self.inlets)):
            for e in entities:
                if e.unique_id in by:
                    earlier += (
                        by[e.unique_id] is er.RegistryEntryDisabler.INTEGRATION
                        and e.entity_registry_enabled_default
                    )
                elif e.entity_registry_enabled_default:
                    new.append(e)
                    candidates.append(_candidate(coordinator, e, network))
        off = left_disabled(limit, fixed, candidates)
        for i in off:
            new[i]._attr_entity_registry_enabled_default = False
        async_entities_left_disabled(coordinator.hass, entry, len(off) + earlier, limit)


def _candidate(coordinator: HeatbalanceCoordinator, entity: Entity, network: bool) -> Candidate:
    """What ``entity_budget`` orders a new entity by."""
    household = not network and _depth(coordinator, entity.inlet_id) == 1  # type: ignore[attr-defined]
    return Candidate(entity.entity_description.key, household, network)


def _depth(coordinator: HeatbalanceCoordinator, inlet_id: str) -> int:
    """0 for a building or unit, 1 for a household (its parent is a building)."""
    inlet = coordinator.network.inlets.get(inlet_id)
    return 0 if inlet is None or inlet.parent is None else 1


async def remove_entities(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove the entry's entities :data:`ADD_BATCH` at a time, yielding between slices.

    Home Assistant's unload removes a platform's entities in one callback
    (``EntityPlatform.async_reset``: 227 ms of loop time for gen23k's 10,000 entities,
    52–69 ms for district120 and households1200); removed here first, the unload finds none.
    The same ``async_remove`` per entity, errors logged as HA's reset logs them.
    """
    slices = _Slices()
    for platform in async_get_platforms(hass, DOMAIN):
        if platform.config_entry is None or platform.config_entry.entry_id != entry.entry_id:
            continue
        for entity in list(platform.entities.values()):
            await slices.yield_if_due()
            try:
                await entity.async_remove()
            except Exception:
                _LOGGER.exception("Error while removing entity %s", entity.entity_id)
            slices.count += 1
