"""Publishing alarms: the engine decides what is an alarm, this module tells Home Assistant.

Each raised, cleared or acknowledged alarm becomes a ``heatbalance_alarm`` event (the event
entity, automations and blueprints take it from there) with its description in HA's language
(§5.3.8-2: type, location, description); the descriptions are the integration's
``exceptions`` translations, filled with the alarm's values.
"""

from __future__ import annotations

from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, EVENT_ALARM
from .engine.alarms import NETWORK, Alarm
from .engine.model import Network


class AlarmEvents:
    """One network's alarm publisher."""

    def __init__(self, hass: HomeAssistant, entry_id: str, network: Network) -> None:
        """Bind the network; texts load with :meth:`async_load_texts`."""
        self.hass = hass
        self.entry_id = entry_id
        self.network = network
        self._texts: dict[str, str] = {}

    async def async_load_texts(self) -> None:
        """The descriptions in HA's language."""
        self._texts = await async_get_translations(
            self.hass, self.hass.config.language, "exceptions", [DOMAIN]
        )

    def describe(self, alarm: Alarm) -> str:
        """The alarm's description in HA's language (its reason when there is no text)."""
        template = self._texts.get(f"component.{DOMAIN}.exceptions.{alarm.reason}.message", "")
        try:
            return template.format(**alarm.values, location=self.location_name(alarm.location))
        except (KeyError, IndexError, ValueError):
            return alarm.reason

    def location_name(self, location: str) -> str:
        """An inlet's name, or the network's for network-wide alarms."""
        if location == NETWORK:
            return self.network.name
        inlet = self.network.inlets.get(location)
        return (inlet.name or inlet.id) if inlet else location

    def fire(self, alarm: Alarm, status: str, context: Context | None = None) -> None:
        """Put the alarm on the bus; the event entity and automations take it from there."""
        self.hass.bus.async_fire(
            EVENT_ALARM,
            {
                **alarm.values,  # first: a value never overwrites the event's own fields
                "config_entry_id": self.entry_id,
                "network": self.network.name,
                "status": status,
                "alarm_type": alarm.type,
                "grade": alarm.grade,
                "location": alarm.location,
                "location_name": self.location_name(alarm.location),
                "reason": alarm.reason,
                "description": self.describe(alarm),
                "acknowledged": alarm.acknowledged,
            },
            context=context,
        )
