"""Diagnostics download (redacted)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from .conftest import add_network
from .test_balancing import FIELD, _map_b003


async def test_diagnostics_are_redacted(hass: HomeAssistant, hass_client) -> None:
    entry = await add_network(hass, options={"outdoor_entity": "sensor.my_flat_outdoor"})
    await _map_b003(hass, entry, FIELD)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"] == {"network": "estate12"}
    assert diagnostics["entry"]["options"]["outdoor_entity"] == "**REDACTED**"
    mapped = next(s for s in diagnostics["entry"]["subentries"] if s["inlet_id"] == "B003")
    assert mapped["flow_entity"] == "**REDACTED**"
    assert mapped["source"] == "entities"
    assert diagnostics["network"]["name"] == "estate12"
    assert diagnostics["network"]["inlets"] == diagnostics["network"]["managed_inlets"] == 12
    assert diagnostics["coordinator"]["last_update_success"] is True
    assert diagnostics["coordinator"]["simulated"] is False
    learned = diagnostics["coordinator"]["learned"]  # §3.0.7-3, what the model corrected
    assert learned["pipe_resistance_factor"] > 0
    assert isinstance(learned["pipe_groups"], dict)
    assert set(diagnostics["state"]["inlets"]) >= {"B001", "B003"}
    assert diagnostics["gateway_link"] is None  # no gateway inlet
    assert "sensor.my_flat_outdoor" not in str(diagnostics)
