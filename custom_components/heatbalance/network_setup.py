"""Setting up one network entry: load the network, first refresh, the network device."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import device_registry as dr

from .const import CONF_NETWORK, CONF_PATH, DOMAIN
from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator
from .engine.loader import NetworkError, load_network


async def async_setup_network(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> None:
    """Load the entry's network and start its coordinator in ``entry.runtime_data``."""
    source = entry.data.get(CONF_PATH) or entry.data[CONF_NETWORK]
    try:
        network = await hass.async_add_executor_job(load_network, source)
    except (NetworkError, OSError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="network_invalid",
            translation_placeholders={"error": str(err)},
        ) from err
    coordinator = HeatbalanceCoordinator(hass, entry, network)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    # The network device first: inlet devices hang under it (§5.3.5-1 topology).
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=network.name,
        manufacturer="heatbalance",
        model="Secondary network (simulated plant)",
    )
