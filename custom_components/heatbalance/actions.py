"""Operator actions shared by buttons and services: balance now, acknowledge alarms."""

from __future__ import annotations

from homeassistant.core import Context
from homeassistant.exceptions import ServiceValidationError

from .alarms import Alarm
from .audit import async_audit
from .const import DOMAIN
from .coordinator import SAVE_DELAY_S, HeatbalanceCoordinator


async def async_balance_now(
    coordinator: HeatbalanceCoordinator, context: Context | None, entity_id: str | None = None
) -> None:
    """Run a cycle now and apply its commands once, in manual mode too (an operator's order).

    The primary level has no remote regulation (Table 3.0.4): refused there.
    """
    if coordinator.settings.level == "primary":
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="primary_is_manual")
    coordinator.force_dispatch = True
    await coordinator.async_refresh()
    async_audit(
        coordinator.hass,
        coordinator.config_entry.entry_id,
        "balance_now",
        context,
        entity_id=entity_id,
    )


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
    coordinator.store.async_delay_save(coordinator.stored, SAVE_DELAY_S)
    coordinator.async_update_listeners()
    return changed
