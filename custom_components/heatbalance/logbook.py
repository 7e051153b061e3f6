"""Logbook texts for the audit log (§5.3.6-7) and alarms (§5.3.8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback

from .audit import describe
from .const import DOMAIN, EVENT_ALARM, EVENT_AUDIT


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe audit and alarm events; the logbook adds who (context user) and when."""

    def title(entry_id: str | None) -> str:
        entry = hass.config_entries.async_get_entry(entry_id) if entry_id else None
        return entry.title if entry else DOMAIN

    @callback
    def audit(event: Event) -> dict[str, Any]:
        data = event.data
        described = {
            "name": "heatbalance",
            "message": describe(dict(data), title(data.get("config_entry_id"))),
        }
        if data.get("entity_id"):
            described["entity_id"] = data["entity_id"]
        return described

    @callback
    def alarm(event: Event) -> dict[str, Any]:
        data = event.data
        return {
            "name": f"{title(data.get('config_entry_id'))} {data.get('grade', '')}".strip(),
            "message": f"{data.get('status')}: {data.get('description')}",
        }

    async_describe_event(DOMAIN, EVENT_AUDIT, audit)
    async_describe_event(DOMAIN, EVENT_ALARM, alarm)
