"""Valve entities for electric and IoT valves: set value and feedback value (§5.3.5-2)."""

from __future__ import annotations

from homeassistant.components.valve import (
    ValveDeviceClass,
    ValveEntity,
    ValveEntityDescription,
    ValveEntityFeature,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import HeatbalanceConfigEntry
from .entity import HeatbalanceEntity

PARALLEL_UPDATES = 0
VALVE = ValveEntityDescription(
    key="balancing_valve", translation_key="balancing_valve", device_class=ValveDeviceClass.WATER
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One valve per building-level inlet whose device can be moved remotely (§4.3.1)."""
    coordinator = entry.runtime_data
    async_add_entities(
        BalancingValve(coordinator, VALVE, inlet.id)
        for inlet in coordinator.top_level
        if inlet.device.actuated and inlet.device.kvs
    )


class BalancingValve(HeatbalanceEntity, ValveEntity):
    """An inlet's balancing valve; moving it by hand is refused while the network is in auto."""

    _attr_reports_position = True
    _attr_supported_features = (
        ValveEntityFeature.SET_POSITION | ValveEntityFeature.OPEN | ValveEntityFeature.CLOSE
    )

    @property
    def current_valve_position(self) -> int:
        """Feedback position in percent."""
        assert self.inlet_id is not None
        return round(self.coordinator.data.plant.inlets[self.inlet_id].opening * 100)

    async def async_set_valve_position(self, position: int) -> None:
        """Move the valve (manual mode only), within the safety limits (§5.3.6-3)."""
        if self.coordinator.auto:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="valve_in_auto")
        assert self.inlet_id is not None
        snapshot = await self.hass.async_add_executor_job(
            self.coordinator.set_opening, self.inlet_id, position / 100.0
        )
        self.coordinator.async_set_updated_data(snapshot)

    async def async_open_valve(self) -> None:
        """Fully open (as far as the safety limits allow)."""
        await self.async_set_valve_position(100)

    async def async_close_valve(self) -> None:
        """Close (down to the safety minimum opening)."""
        await self.async_set_valve_position(0)
