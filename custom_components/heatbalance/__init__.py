"""heatbalance: balance regulation of district-heating secondary networks in Home Assistant.

This package is also the home of the HA-free engine (``.engine``), which the CLI, the
benchmarks and the gateway import without Home Assistant. So this module imports nothing at
module level: everything HA-specific loads inside the functions (and is cheap there, since
Home Assistant has it in memory already).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.device_registry import DeviceEntry

    from .coordinator import HeatbalanceConfigEntry

DOMAIN = "heatbalance"
PLATFORMS = [
    "binary_sensor",
    "button",
    "event",
    "number",
    "select",
    "sensor",
    "switch",
    "valve",
]


def _config_entry_only(config: dict[str, Any]) -> dict[str, Any]:
    """Networks are set up in the UI only; YAML under ``heatbalance:`` is reported."""
    from homeassistant.helpers import config_validation as cv

    return cv.config_entry_only_config_schema(DOMAIN)(config)  # type: ignore[no-any-return]


CONFIG_SCHEMA = _config_entry_only


async def async_setup(hass: HomeAssistant, config: dict[str, Any]) -> bool:
    """Register the services, the template view and the network view once, whether or not a
    network is configured."""
    from .onboarding_files import register_template_view
    from .panel import async_setup_view
    from .services import async_setup_services

    async_setup_services(hass)
    register_template_view(hass)  # building-list templates the config flow links to
    await async_setup_view(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> bool:
    """Load the network, start its coordinator, then the platforms."""
    from .archive_actions import async_track_reports
    from .entity import EntityPlan
    from .gc_tuning import async_freeze
    from .lifecycle import async_setup_network, async_update_listener
    from .panel import track_network
    from .records import async_setup_records

    await async_setup_records(hass, entry)  # before the first cycle, which it records
    async_track_reports(hass, entry)
    await async_setup_network(hass, entry)
    track_network(hass, entry)
    entry.async_on_unload(entry.add_update_listener(async_update_listener))
    data = entry.runtime_data
    data.entity_plan = EntityPlan(data.coordinator, len(PLATFORMS))  # what is forwarded
    try:
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    finally:
        data.entity_plan = None
    await async_update_listener(hass, entry)  # changed while setting up: reload once more
    async_freeze(hass, entry, len(entry.runtime_data.coordinator.network.inlets))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> bool:
    """Stop the coordinator's cycles, unload the platforms and write the Store.

    The coordinator is shut down first (HA does it only after this returns): its timer could
    otherwise start a cycle while the platforms unload, which would queue behind the save,
    send valve commands after the entities are gone and keep learning no Store holds.
    """
    from .entity import remove_entities

    await entry.runtime_data.coordinator.async_shutdown()
    await remove_entities(hass, entry)  # in slices: HA's unload removes them in one callback
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.coordinator.async_save()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> None:
    """Forget the network's stored state and its repair issues."""
    from .lifecycle import async_remove_network

    await async_remove_network(hass, entry)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: HeatbalanceConfigEntry, device: DeviceEntry
) -> bool:
    """Deleting an inlet's device removes its subentry; the network device stays."""
    from .lifecycle import async_remove_inlet_device

    return async_remove_inlet_device(hass, entry, device)
