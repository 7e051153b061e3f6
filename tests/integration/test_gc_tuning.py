"""A large network's objects are kept out of full garbage collections while it runs."""

from __future__ import annotations

import gc

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance import gc_tuning

from .conftest import add_network, cycles


async def test_large_network_frozen_while_loaded(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gc_tuning, "LARGE_NETWORK", 10)  # estate12 counts as large here
    gc.unfreeze()
    entry = await add_network(hass, "estate12")
    network = entry.runtime_data.coordinator.network
    assert gc.get_freeze_count() > 0
    assert not any(o is network for o in gc.get_objects())  # out of the collector's passes
    await cycles(hass, entry, 2)  # cycles run as before
    assert entry.runtime_data.coordinator.last_update_success
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert gc.get_freeze_count() == 0  # collectable again once the entry is gone
    assert any(o is network for o in gc.get_objects())


async def test_small_network_left_alone(hass: HomeAssistant) -> None:
    gc.unfreeze()
    entry = await add_network(hass, "estate12")
    assert gc.get_freeze_count() == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
