"""Base entity: one device per network and one per building-level inlet."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .compat import via_device
from .const import DOMAIN
from .coordinator import HeatbalanceCoordinator


class HeatbalanceEntity(CoordinatorEntity[HeatbalanceCoordinator]):
    """An entity of a network (``inlet_id`` None) or of one of its inlets."""

    _attr_has_entity_name = True

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
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, entry_id)},
                name=network.name,
                manufacturer="heatbalance",
                model="Secondary network (simulated plant)",
            )
        else:
            inlet = network.inlets[inlet_id]
            self._attr_unique_id = f"{entry_id}_{inlet_id}_{description.key}"
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, f"{entry_id}_{inlet_id}")},
                name=inlet.name or inlet_id,
                manufacturer="heatbalance",
                model=f"Thermal inlet ({inlet.type}, {inlet.device.type})",
                **via_device(coordinator.hass, entry_id, (DOMAIN, entry_id)),  # type: ignore[typeddict-item]
            )
