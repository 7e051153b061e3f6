"""Network mode select: automatic or manual regulation (§5.2.4-2, §5.3.6-6)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import HeatbalanceConfigEntry
from .entity import HeatbalanceEntity

PARALLEL_UPDATES = 0
MODE = SelectEntityDescription(
    key="mode",
    translation_key="mode",
    options=["auto", "manual"],
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The network's mode select."""
    async_add_entities([ModeSelect(entry.runtime_data, MODE)])


class ModeSelect(HeatbalanceEntity, SelectEntity):
    """Manual mode computes and shows proposals but never moves a device."""

    @property
    def current_option(self) -> str:
        """The network's current mode."""
        return "auto" if self.coordinator.auto else "manual"

    async def async_select_option(self, option: str) -> None:
        """Switch mode; the next cycle acts (or stops acting) accordingly."""
        self.coordinator.auto = option == "auto"
        self.async_write_ha_state()
