"""heatbalance: balance regulation of district-heating secondary networks in Home Assistant.

This package is also the home of the HA-free engine (``.engine``), which the CLI, the
benchmarks and the gateway import without Home Assistant. So this module imports nothing at
module level: everything HA-specific loads inside the entry functions (and is cheap there,
since Home Assistant has it in memory already).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import HeatbalanceConfigEntry

PLATFORMS = ["select", "sensor", "valve"]


async def async_setup_entry(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> bool:
    """Load the network, start its coordinator and platforms."""
    from .network_setup import async_setup_network

    await async_setup_network(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> bool:
    """Unload the platforms; the coordinator goes with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
