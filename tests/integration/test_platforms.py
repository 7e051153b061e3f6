"""Every platform's entities (registry entries and states) against syrupy snapshots.

Plant figures come from the engine, which other engineers keep improving; a snapshot holds
the entity model (ids, names, devices, classes, units, categories, options) and replaces
measured numbers with ``<number>`` so it does not break when a solver digit moves. The
figures themselves are checked by behaviour in test_init.py and test_balancing.py.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import attr
import pytest
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion

from .conftest import add_network

NUMERIC_ATTRIBUTES = {"current_position", "set_position"}


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _masked(state: State) -> State:
    """The state with engine-computed numbers masked (entity config values stay)."""
    config = state.domain in ("number", "select", "switch", "button", "event")
    value = state.state
    if not config and _is_number(value):
        value = "<number>"
    attributes = {
        k: "<number>" if k in NUMERIC_ATTRIBUTES and _is_number(v) else v
        for k, v in state.attributes.items()
    }
    return State(state.entity_id, value, attributes)


@pytest.mark.usefixtures("enable_all_entities")
@pytest.mark.parametrize(
    "platform",
    ["binary_sensor", "button", "event", "number", "select", "sensor", "switch", "valve"],
)
async def test_platform(hass: HomeAssistant, snapshot: SnapshotAssertion, platform: str) -> None:
    """All entities of one platform for the 12-building estate (a building of households
    for the household aggregates)."""
    with patch("custom_components.heatbalance.PLATFORMS", [platform]):
        entry = await add_network(hass, "estate12")
    registry = er.async_get(hass)
    entries = er.async_entries_for_config_entry(registry, entry.entry_id)
    assert entries
    for entity_entry in sorted(entries, key=lambda e: e.entity_id):
        if not entity_entry.entity_id.split(".")[1].startswith(("estate12", "b001", "b012")):
            continue  # the other ten buildings look like B001
        assert entity_entry.disabled_by is None
        stable = attr.evolve(
            entity_entry, unique_id=entity_entry.unique_id.replace(entry.entry_id, "<entry>")
        )
        assert stable == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = hass.states.get(entity_entry.entity_id)
        assert state is not None
        assert _masked(state) == snapshot(name=f"{entity_entry.entity_id}-state")


async def test_household_aggregates(hass: HomeAssistant) -> None:
    """A building with households gets their coldest/warmest room, not 30 devices."""
    with patch("custom_components.heatbalance.PLATFORMS", ["sensor"]):
        await add_network(hass, "households1200")
    low = float(hass.states.get("sensor.b001_coldest_household").state)
    high = float(hass.states.get("sensor.b001_warmest_household").state)
    assert 5 < low <= high < 35
    assert hass.states.get("sensor.b001h01_room_temperature") is None
