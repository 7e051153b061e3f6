"""The Store's periodic save does not run inside the entry's setup (issue 10, HA start).

The setup's first cycle schedules a save :data:`SAVE_DELAY_S` later. On a loaded machine a
large network's setup outlasts that delay (gen23k at load 20: 40-60 s), and the save — the
learning serialised and written, ≈1-1.5 s CPU at 23,870 inlets — ran beside Home Assistant
adding the entities, lengthening the start. It now waits until the setup is done.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.heatbalance.coordinator import HeatbalanceCoordinator
from custom_components.heatbalance.persistence import SAVE_DELAY_S

from .conftest import add_network, polling_off


async def test_the_save_waits_for_the_end_of_the_setup(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setup held in its platforms past the save's delay writes no Store meanwhile; the
    save follows once the setup is done (and HA stopping still saves at once)."""
    entry = await add_network(hass, options={"algorithm": "ai"})
    await polling_off(hass, entry)  # the test's own clock moves: no cycle of HA's timer
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    saves: list[ConfigEntryState] = []
    save = HeatbalanceCoordinator.async_save

    async def counted(self: HeatbalanceCoordinator) -> None:
        saves.append(self.config_entry.state)
        await save(self)

    monkeypatch.setattr(HeatbalanceCoordinator, "async_save", counted)
    forward = hass.config_entries.async_forward_entry_setups
    reached, release = asyncio.Event(), asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> None:
        reached.set()  # the first cycle ran and scheduled its save
        await release.wait()
        await forward(*args, **kwargs)

    monkeypatch.setattr(hass.config_entries, "async_forward_entry_setups", held)
    setup = hass.async_create_task(hass.config_entries.async_setup(entry.entry_id))
    await asyncio.wait_for(reached.wait(), 60)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY_S + 1))
    for _ in range(20):
        await asyncio.sleep(0)
    assert saves == []  # the timer fired inside the setup: no save
    release.set()
    assert await setup
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert saves == []
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2 * SAVE_DELAY_S + 2))
    await hass.async_block_till_done()
    assert saves == [ConfigEntryState.LOADED]  # the save, after the setup
