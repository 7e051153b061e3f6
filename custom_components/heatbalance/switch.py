"""Per-inlet automatic regulation switch (§5.3.6-6): off holds the inlet's device where it is
while the rest of the network stays in automatic mode. An operator action, audited."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_AUTO
from .coordinator import HeatbalanceConfigEntry
from .entity import HeatbalanceEntity, add_per_actuated_inlet

PARALLEL_UPDATES = 0
AUTO = SwitchEntityDescription(
    key=CONF_AUTO, translation_key="auto_regulation", entity_category=EntityCategory.CONFIG
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One switch per inlet whose device can be moved remotely."""
    coordinator = entry.runtime_data.coordinator
    await add_per_actuated_inlet(
        coordinator, async_add_entities, lambda iid: AutoSwitch(coordinator, AUTO, iid)
    )


class AutoSwitch(HeatbalanceEntity, SwitchEntity):
    """Include the inlet in automatic regulation."""

    @property
    def is_on(self) -> bool:
        """Whether the inlet is regulated automatically."""
        assert self.inlet_id is not None
        return self.coordinator.inlets[self.inlet_id].auto

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Hand the inlet back to the controller."""
        await self._set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Hold the inlet's device; an operator may then move it by hand."""
        await self._set(False)

    async def _set(self, on: bool) -> None:
        await self._change_inlet("set_inlet_auto", CONF_AUTO, on)
