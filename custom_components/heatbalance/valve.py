"""Valve entities for electric and IoT valves: set value and feedback value (§5.3.5-2).

The position is the feedback; the set value is the ``valve_command`` sensor. An operator may
move a valve by hand only where it is not under automatic regulation (network in manual
mode, or the inlet's auto switch off), and never beyond the safety limits (§5.3.6-3).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.valve import (
    ValveDeviceClass,
    ValveEntity,
    ValveEntityDescription,
    ValveEntityFeature,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .actions import async_set_opening
from .const import DOMAIN
from .coordinator import HeatbalanceConfigEntry
from .entity import HeatbalanceEntity, add_per_actuated_inlet
from .estimates import ATTR_ESTIMATED, is_estimated

# Moves are not queued by HA: each waits on the coordinator's engine lock only to send, so a
# call over n gateway valves no longer waits n read-backs (10 s each) one after the other.
PARALLEL_UPDATES = 0
VALVE = ValveEntityDescription(
    key="balancing_valve", translation_key="balancing_valve", device_class=ValveDeviceClass.WATER
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One valve per managed inlet whose device can be moved remotely (§4.3.1)."""
    coordinator = entry.runtime_data.coordinator
    await add_per_actuated_inlet(
        coordinator,
        async_add_entities,
        lambda iid: BalancingValve(coordinator, VALVE, iid),
        needs_kvs=True,
    )


class BalancingValve(HeatbalanceEntity, ValveEntity):
    """An inlet's balancing valve."""

    _attr_reports_position = True
    _attr_supported_features = (
        ValveEntityFeature.SET_POSITION | ValveEntityFeature.OPEN | ValveEntityFeature.CLOSE
    )

    @property
    def current_valve_position(self) -> int | None:
        """Feedback position in percent."""
        r = self.inlet
        opening = None if "opening" in r.flagged else r.reading.opening  # rejected: unknown
        if opening is None:  # no feedback: the assumed position, flagged estimated
            opening = r.filled.get("opening")
        return None if opening is None else round(opening * 100)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The set value next to the feedback (§5.3.5-2); whether the position is assumed;
        ``command_held`` while the set value waits for its offline gateway (not moved);
        ``command_unconfirmed`` while a held command sent late and never answered is
        assumed carried out (the position shown is then the assumed one, flagged)."""
        r = self.inlet
        command = r.command
        attributes = {
            "set_position": None if command is None else round(command * 100),
            ATTR_ESTIMATED: is_estimated("opening", r.reading, r.filled),
        }
        if self.inlet_id in self.coordinator.plant.held:
            attributes["command_held"] = True
        if self.inlet_id in self.coordinator.plant.unconfirmed:
            attributes["command_unconfirmed"] = True  # sent late, never answered: assumed
        return attributes

    async def async_set_valve_position(self, position: int) -> None:
        """Move the valve where the controller does not; clamp to the safety limits."""
        assert self.inlet_id is not None
        coordinator = self.coordinator
        if coordinator.settings.auto and coordinator.inlets[self.inlet_id].auto:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="valve_in_auto")
        old = self.current_valve_position
        await async_set_opening(coordinator, self.inlet_id, position / 100.0)
        self._audit("move_valve", old=old, new=position)
        # the operator sees his valve move now; the network's other entities are told in
        # batches that may still be running when this action returns
        self._write_now()

    async def async_open_valve(self) -> None:
        """Fully open (as far as the safety limits allow)."""
        await self.async_set_valve_position(100)

    async def async_close_valve(self) -> None:
        """Close (down to the safety minimum opening)."""
        await self.async_set_valve_position(0)
