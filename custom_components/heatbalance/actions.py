"""Operator actions shared by buttons, valves and services: balance now, confirm the manual
proposal, move a valve by hand, acknowledge alarms. Each is audited (§5.3.6-7) by its caller
or here; every move stays inside the safety limits (§5.3.6-3) and waits until no cycle works
on the plant (the coordinator's engine lock)."""

from __future__ import annotations

from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .audit import async_audit
from .const import DOMAIN, SOURCE_SIMULATOR
from .coordinator import HeatbalanceCoordinator
from .cycle import CycleResult, limits_of
from .engine.alarms import Alarm

COMMAND_ANSWER_S = 10.0  # how long an operator command waits for the gateway read-back
NO_CYCLE = "failed"  # balance now's audit: its cycle failed (no result), nothing moved
ANSWERED = "answered"  # … pressed again while its cycle ran: answered by that cycle


async def async_balance_now(
    coordinator: HeatbalanceCoordinator, context: Context | None, entity_id: str | None = None
) -> None:
    """Run a cycle now. Automatic mode sends its commands (also once balanced); manual mode
    (§5.3.6-6) computes and shows the proposal and moves nothing until the operator confirms
    it (:func:`async_confirm_proposal`).

    A press while a "balance now" cycle runs is answered by that cycle (audited held
    :data:`ANSWERED`), not queued as a second one: that cycle ran right after the first had
    moved the valves, and on a real plant read the flows before they answered its moves
    (the controller would learn a move that did nothing). A press while a timer cycle runs
    is the next cycle's (the timer's cycle may hold its moves, §8.2.5).

    The primary level has no remote regulation (Table 3.0.4): refused there.
    """
    _refuse_primary(coordinator)
    _refuse_unloading(coordinator)
    if coordinator.balancing_now:
        async with coordinator.engine_lock:  # until the running cycle is done
            pass
        _audit_balance_now(coordinator, context, entity_id, None, ANSWERED)
        return
    last = coordinator.data
    coordinator.balance_now = True  # the engine moves only in automatic mode (loop.Dispatch)
    await coordinator.async_refresh()
    result = coordinator.data
    if coordinator.unloading and result is last:  # waited on the lock, ran no cycle
        coordinator.balance_now = False
        _refuse_unloading(coordinator)
    # what the cycle did, not the mode read afterwards: the operator may have switched the
    # mode or the algorithm while it ran (the coordinator's _async_held_since); a cycle
    # that failed leaves the last one's result
    done = result if result is not None and result is not last else None
    _audit_balance_now(coordinator, context, entity_id, done, NO_CYCLE)


def _audit_balance_now(
    coordinator: HeatbalanceCoordinator,
    context: Context | None,
    entity_id: str | None,
    done: CycleResult | None,
    why: str,
) -> None:
    """Balance now's audit (§5.3.6-7): what its cycle did, or ``why`` it ran none."""
    async_audit(
        coordinator.hass,
        coordinator.config_entry.entry_id,
        "balance_now",
        context,
        entity_id=entity_id,
        moved=done is not None and (bool(done.sent) or done.pump_sent is not None),
        held=why if done is None else done.held,
        valves=0 if done is None else len(done.sent),
    )


async def async_confirm_proposal(
    coordinator: HeatbalanceCoordinator, context: Context | None, entity_id: str | None = None
) -> tuple[dict[str, float], float | None]:
    """Send the proposal shown in manual mode, as the operator confirmed it: the valves' set
    positions, the pump's speed, or both — a proposal of a pump speed alone (every inlet
    held by hand, §5.3.6-6) is one too. Every opening and speed was computed within the
    safety limits (§5.3.6-3). Returns the openings that went out and the pump's speed
    (None: none proposed, or it did not reach the drive)."""
    _refuse_primary(coordinator)
    async with coordinator.engine_lock:
        _refuse_unloading(coordinator)  # checked after the wait: the unload may have begun
        result = coordinator.data
        if result is None or coordinator.settings.auto or not result.proposes:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_proposal")
        # computed by the engine within the safety limits from where the valves stood; a
        # valve moved by hand since is limited again from where it is now (§5.3.6-3)
        openings, pump = coordinator.within_current_limits(result.commands, result.pump_command)
        coordinator.sent = {}
        sent = await coordinator.async_send(openings, pump, confirmed=True)
        pump_sent = None if coordinator.plant.pump_failed else pump
    _show_sent(result, openings, pump)
    coordinator.async_update_listeners()
    await coordinator.async_told()
    async_audit(
        coordinator.hass,
        coordinator.config_entry.entry_id,
        "confirm_proposal",
        context,
        entity_id=entity_id,
        valves=len(sent),
        pump=None if pump_sent is None else round(pump_sent * 100.0, 1),
    )
    return sent, pump_sent


def _show_sent(result: CycleResult, openings: dict[str, float], pump: float | None) -> None:
    """A confirmed proposal is confirmed once (the next cycle proposes again); until then
    the set values show what went out, valves and pump alike (§5.3.5-2): the openings and
    the speed as sent, limited again from where the devices stood (docs/integration.md)."""
    result.confirmed = True
    result.commands = {}
    result.pump_command = pump
    for iid, opening in openings.items():
        if iid in result.inlets:
            result.inlets[iid].command = opening


async def async_set_opening(
    coordinator: HeatbalanceCoordinator, inlet_id: str, opening: float
) -> None:
    """The operator's valve command, clamped to the safety limits (§5.3.6-3), sent at once.

    The operator may move a valve in one go (no step limit); the opening limits bind him. A
    gateway valve answers after its read-back: a refusal is his to see now; no answer in
    time is no error here (the next cycle reports it as an alarm).
    """
    sim, device = coordinator.simulator, coordinator.network.inlets[inlet_id].device
    lo, hi = limits_of(coordinator.settings).opening_range(device.min_opening, device.max_opening)
    value = min(max(opening, lo), hi)  # the range every command keeps (engine's SafetyLimits)
    name = coordinator.events.location_name(inlet_id)
    async with coordinator.engine_lock:
        _refuse_unloading(coordinator)  # checked after the wait: the unload may have begun
        sent = await coordinator.async_send({inlet_id: value}, None)
    source = coordinator.plant.gateway
    if source is not None and (gateway := source.held_by(inlet_id)) is not None:
        raise HomeAssistantError(  # said plainly, not 10 s of waiting for no answer
            translation_domain=DOMAIN,
            translation_key="command_held",
            translation_placeholders={"inlet": name, "gateway": gateway},
        )
    if not sent:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="dispatch_failed",
            translation_placeholders={"inlet": name},
        )
    status = await coordinator.plant.async_confirmation(inlet_id, COMMAND_ANSWER_S)
    if status not in (None, "confirmed", "queued"):  # a class A valve takes it later
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_not_confirmed",
            translation_placeholders={"inlet": name, "status": str(status)},
        )
    inlet = coordinator.data.inlets.get(inlet_id) if coordinator.data else None
    if inlet is not None:
        # the simulated plant moved at once; a real valve reports back on its next reading
        if coordinator.inlets[inlet_id].source == SOURCE_SIMULATOR:
            inlet.reading.opening = float(sim.openings[sim.ids.index(inlet_id)])
        inlet.command = value
    coordinator.async_update_listeners()
    await coordinator.async_told()


def _refuse_primary(coordinator: HeatbalanceCoordinator) -> None:
    """The primary level has no remote regulation (Table 3.0.4)."""
    if coordinator.settings.level == "primary":
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="primary_is_manual")


def _refuse_unloading(coordinator: HeatbalanceCoordinator) -> None:
    """A command that reaches the plant after the entry began to unload is refused: the
    entities are going, the unload's save would not hold what it changed, and a valve moved
    then would be moved by nobody's cycle."""
    if coordinator.unloading:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="unloading_command")


def async_acknowledge(
    coordinator: HeatbalanceCoordinator,
    context: Context | None,
    *,
    location: str | None = None,
    kind: str | None = None,
    entity_id: str | None = None,
) -> list[Alarm]:
    """Acknowledge active alarms (all, or of one inlet / type); each is put on the bus.

    Refused once the entry began to unload, as every other operator command: the button
    stays pressable until the entities are removed, and an acknowledgement made then was
    audited and fired although the unload's save might not hold it."""
    _refuse_unloading(coordinator)
    changed = coordinator.alarms.acknowledge(location, kind)
    for alarm in changed:
        coordinator.events.fire(alarm, "acknowledged", context)
    async_audit(
        coordinator.hass,
        coordinator.config_entry.entry_id,
        "acknowledge_alarms",
        context,
        entity_id=entity_id,
        location=location,
        alarm_type=kind,
        count=len(changed),
    )
    coordinator.schedule_save()
    coordinator.async_update_listeners()
    return changed
