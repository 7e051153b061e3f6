"""Per-inlet automatic regulation switch (§5.3.6-6): off holds the inlet's device where it is
while the rest of the network stays in automatic mode. An operator action, audited."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .audit import async_audit
from .const import CONF_AUTO
from .coordinator import HeatbalanceConfigEntry
from .entity import HeatbalanceEntity, add_entities
from .lifecycle import async_change_inlet

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
    network = coordinator.network
    add_entities(
        coordinator,
        async_add_entities,
        (),
        lambda iid: (
            [AutoSwitch(coordinator, AUTO, iid)] if network.inlets[iid].device.actuated else []
        ),
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
        assert self.inlet_id is not None
        async_change_inlet(
            self.hass, self.coordinator.config_entry, self.inlet_id, **{CONF_AUTO: on}
        )
        async_audit(
            self.hass,
            self.coordinator.config_entry.entry_id,
            "set_inlet_auto",
            self._context,
            entity_id=self.entity_id,
            inlet=self.inlet_id,
            new=on,
        )
        self.async_write_ha_state()
