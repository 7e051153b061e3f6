"""The network's alarm event entity: one event per raised alarm (§5.3.8), typed and graded.

The coordinator puts every alarm on the bus (``heatbalance_alarm``); this entity follows the
raised ones of its network so they show in the dashboard and history, and automations can
trigger on the entity as well as on the bus event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import EVENT_ALARM
from .coordinator import HeatbalanceConfigEntry
from .engine.alarms import ALARM_TYPES
from .entity import HeatbalanceEntity, add_network_entities

PARALLEL_UPDATES = 0
ALARM = EventEntityDescription(
    key="alarm_event", translation_key="alarm_event", event_types=list(ALARM_TYPES)
)
ATTRIBUTES = ("grade", "location", "location_name", "reason", "description")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One alarm event entity per network."""
    coordinator = entry.runtime_data.coordinator
    await add_network_entities(coordinator, async_add_entities, [AlarmEvent(coordinator, ALARM)])


class AlarmEvent(HeatbalanceEntity, EventEntity):
    """Fires with the alarm's type; attributes carry grade, location and description."""

    async def async_added_to_hass(self) -> None:
        """Follow this network's alarm events on the bus."""
        await super().async_added_to_hass()
        entry_id = self.coordinator.config_entry.entry_id

        @callback
        def mine(event_data: Mapping[str, Any]) -> bool:
            return bool(
                event_data.get("config_entry_id") == entry_id
                and event_data.get("status") == "raised"
            )

        self.async_on_remove(
            self.hass.bus.async_listen(EVENT_ALARM, self._raised, event_filter=mine)
        )

    @callback
    def _raised(self, event: Event[Mapping[str, Any]]) -> None:
        """Show one raised alarm."""
        data = event.data
        self._trigger_event(data["alarm_type"], {k: data.get(k) for k in ATTRIBUTES})
        self.async_write_ha_state()
