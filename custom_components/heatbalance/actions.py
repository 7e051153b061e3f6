"""Operator actions shared by buttons and services: balance now, confirm the manual
proposal, acknowledge alarms."""

from __future__ import annotations

from homeassistant.core import Context
from homeassistant.exceptions import ServiceValidationError

from .audit import async_audit
from .const import DOMAIN
from .coordinator import HeatbalanceCoordinator
from .engine.alarms import Alarm


async def async_balance_now(
    coordinator: HeatbalanceCoordinator, context: Context | None, entity_id: str | None = None
) -> None:
    """Run a cycle now. Automatic mode sends its commands (also once balanced); manual mode
    (§5.3.6-6) computes and shows the proposal and moves nothing until the operator confirms
    it (:func:`async_confirm_proposal`).

    The primary level has no remote regulation (Table 3.0.4): refused there.
    """
    _refuse_primary(coordinator)
    coordinator.force_dispatch = coordinator.settings.auto
    await coordinator.async_refresh()
    async_audit(
        coordinator.hass,
        coordinator.config_entry.entry_id,
        "balance_now",
        context,
        entity_id=entity_id,
        moved=coordinator.settings.auto,
    )


async def async_confirm_proposal(
    coordinator: HeatbalanceCoordinator, context: Context | None, entity_id: str | None = None
) -> dict[str, float]:
    """Send the proposal shown in manual mode (the valves' set positions), as the operator
    confirmed it; every opening was computed within the safety limits (§5.3.6-3)."""
    _refuse_primary(coordinator)
    sent = await coordinator.async_confirm_proposal()
    async_audit(
        coordinator.hass,
        coordinator.config_entry.entry_id,
        "confirm_proposal",
        context,
        entity_id=entity_id,
        valves=len(sent),
    )
    return sent


def _refuse_primary(coordinator: HeatbalanceCoordinator) -> None:
    """The primary level has no remote regulation (Table 3.0.4)."""
    if coordinator.settings.level == "primary":
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="primary_is_manual")


def async_acknowledge(
    coordinator: HeatbalanceCoordinator,
    context: Context | None,
    *,
    location: str | None = None,
    kind: str | None = None,
    entity_id: str | None = None,
) -> list[Alarm]:
    """Acknowledge active alarms (all, or of one inlet / type); each is put on the bus."""
    changed = coordinator.alarms.acknowledge(location, kind)
    for alarm in changed:
        coordinator.fire(alarm, "acknowledged", context)
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
