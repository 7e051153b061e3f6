"""Entities are built and added in slices at setup and removed in slices at unload: the
event loop runs between them.

Home Assistant's own unload removes a platform's entities in one callback
(``EntityPlatform.async_reset``): 227 ms of loop time for a 23k network's 10,000 entities,
52–69 ms for district120 (issue 10, "nothing blocking in the event loop").
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance import entity
from custom_components.heatbalance.entity import ADD_BATCH
from custom_components.heatbalance.sensor import INLET_SENSORS, InletSensor

from .conftest import add_network


async def test_unload_removes_entities_with_the_loop_running_between_slices(
    hass: HomeAssistant,
) -> None:
    entry = await add_network(hass, "district120")
    ours = set(hass.states.async_entity_ids())
    assert len(ours) > 5 * ADD_BATCH  # several slices' worth

    def removed() -> int:  # an entity removed at unload is left "unavailable", restored
        return sum(
            1
            for s in hass.states.async_all()
            if s.entity_id in ours and s.attributes.get("restored")
        )

    counts: list[int] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            counts.append(removed())
            await asyncio.sleep(0)

    task = hass.async_create_background_task(heartbeat(), "heartbeat")
    await asyncio.sleep(0)
    assert await hass.config_entries.async_unload(entry.entry_id)
    stop.set()
    await task
    counts.append(removed())
    assert counts[-1] > 5 * ADD_BATCH  # the entities were removed …
    steps = [b - a for a, b in itertools.pairwise(counts)]
    assert max(steps) <= ADD_BATCH  # … at most a slice between two turns of the loop


async def test_an_operators_change_tells_many_entities_in_batches(hass: HomeAssistant) -> None:
    """Outside a refresh (an option changed), thousands of entities are told in batches:
    the last listener is called after the loop ran, not inside the caller's callback (at
    23k a change of algorithm told 10,000 entities in one 147 ms callback)."""
    entry = await add_network(hass, "district120")
    coordinator = entry.runtime_data.coordinator
    told: list[bool] = []
    coordinator.async_add_listener(lambda: told.append(True))  # the last one
    coordinator.async_update_listeners()
    assert not told  # the first batch ran, the rest waits for the loop
    await hass.async_block_till_done()
    assert told
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_setup_builds_entities_with_the_loop_running_between_slices(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform's inlet entities are built in slices too, not all in one callback (at 23k
    the sensors' construction held the loop 139–283 ms: benchmarks/bench_start.py)."""
    monkeypatch.setattr(entity, "ADD_BATCH", 10)  # slices of a small network
    built = [0]
    init = InletSensor.__init__

    def counted(self: InletSensor, *args: Any, **kwargs: Any) -> None:
        built[0] += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(InletSensor, "__init__", counted)
    counts: list[int] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            counts.append(built[0])
            await asyncio.sleep(0)

    task = hass.async_create_background_task(heartbeat(), "heartbeat")
    await asyncio.sleep(0)
    entry = await add_network(hass, "estate12")
    stop.set()
    await task
    counts.append(built[0])
    assert counts[-1] > 5 * 10  # the sensors were built …
    steps = [b - a for a, b in itertools.pairwise(counts)]
    assert max(steps) < 10 + len(INLET_SENSORS)  # … at most a slice between two turns
    assert await hass.config_entries.async_unload(entry.entry_id)
