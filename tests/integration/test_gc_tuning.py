"""A large network's objects are kept out of full garbage collections while it runs."""

from __future__ import annotations

import gc
import threading
from typing import Any

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


def test_engine_job_of_a_large_network_runs_with_the_collector_paused() -> None:
    """run_paused: off during a large network's job, back on after (also after an error);
    a small network's job and a collector someone else switched off are left alone."""
    assert gc.isenabled()
    seen: list[bool] = []

    def job() -> int:
        seen.append(gc.isenabled())
        return 7

    assert gc_tuning.run_paused(gc_tuning.LARGE_NETWORK, job) == 7
    assert gc_tuning.run_paused(gc_tuning.LARGE_NETWORK - 1, job) == 7
    assert seen == [False, True]
    assert gc.isenabled()

    def failing() -> None:
        raise ValueError("engine error")

    with pytest.raises(ValueError):
        gc_tuning.run_paused(gc_tuning.LARGE_NETWORK, failing)
    assert gc.isenabled()
    gc.disable()
    try:
        gc_tuning.run_paused(gc_tuning.LARGE_NETWORK, job)
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()


def test_overlapping_jobs_switch_the_collector_on_after_the_last() -> None:
    """Two entries' jobs in the executor at once: the first to end leaves it off."""
    started, release = threading.Event(), threading.Event()
    states: list[bool] = []

    def long_job() -> None:
        started.set()
        release.wait(10)

    worker = threading.Thread(target=gc_tuning.run_paused, args=(gc_tuning.LARGE_NETWORK, long_job))
    worker.start()
    try:
        assert started.wait(10)
        gc_tuning.run_paused(gc_tuning.LARGE_NETWORK, lambda: states.append(gc.isenabled()))
        states.append(gc.isenabled())  # the short job ended, the long one still runs
    finally:
        release.set()
        worker.join(10)
    assert states == [False, False]
    assert gc.isenabled()


async def test_cycles_of_a_large_network_run_with_the_collector_paused(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coordinator's engine cycle goes through run_paused (estate12 counted large)."""
    from custom_components.heatbalance import coordinator as coordinator_module

    monkeypatch.setattr(gc_tuning, "LARGE_NETWORK", 10)
    real = coordinator_module.run_cycle
    during: list[bool] = []

    def watched(*args: Any) -> Any:
        during.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(coordinator_module, "run_cycle", watched)
    gc.unfreeze()
    entry = await add_network(hass, "estate12")
    await cycles(hass, entry, 2)
    assert entry.runtime_data.coordinator.last_update_success
    assert during
    assert not any(during)
    assert gc.isenabled()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_restored_learning_of_a_large_network_is_frozen_until_the_first_cycle(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a restart the Store's learning, parsed in the restore's job, reaches the first
    cycle frozen (run_frozen): left young, the next collection walked all of it (0.27-0.38 s
    CPU at 23k, issue 10 HA start). estate12 counted large; its learning is a real Store's."""
    from custom_components.heatbalance import coordinator as coordinator_module

    monkeypatch.setattr(gc_tuning, "LARGE_NETWORK", 10)
    real = coordinator_module.run_cycle
    restored: list[bool] = []  # per first cycle from a Store: the learning still collectable

    def watched(*args: Any) -> Any:
        memory = args[4]
        if memory.loop is None and memory.loop_state:
            state = memory.loop_state
            restored.append(any(o is state for o in gc.get_objects()))
        return real(*args)

    monkeypatch.setattr(coordinator_module, "run_cycle", watched)
    gc.unfreeze()
    entry = await add_network(hass, "estate12")
    await cycles(hass, entry, 2)  # something learnt, stored at the unload
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.last_update_success
    assert restored == [False]
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert gc.get_freeze_count() == 0


def test_freeze_after_adding_only_for_a_large_network() -> None:
    """freeze_large: the entities just added by a large network leave the collector's passes
    before it is switched on again; a small network's stay collectable."""
    gc.unfreeze()
    try:
        gc_tuning.freeze_large(gc_tuning.LARGE_NETWORK - 1)
        assert gc.get_freeze_count() == 0
        gc_tuning.freeze_large(gc_tuning.LARGE_NETWORK)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_large_cycle_settles_the_heap() -> None:
    """run_cycle_paused: after a large network's cycle what it left is frozen (no later
    collection walks it), and every REFREEZE_CYCLES-th cycle everything frozen is collected
    again — garbage frozen with it, or a frozen object fallen into a garbage cycle, is kept
    no longer; a small network's cycle leaves the heap alone."""
    import weakref

    class Node:
        other: Any = None

    kept: list[Node] = []

    def cycle() -> weakref.ref[Node]:
        a, b = Node(), Node()
        a.other, b.other = b, a  # garbage in a reference cycle once the job returns
        kept.append(Node())  # a survivor
        return weakref.ref(a)

    gc.unfreeze()
    gc.collect()
    try:
        gc_tuning.run_cycle_paused(gc_tuning.LARGE_NETWORK - 1, cycle)
        assert gc.get_freeze_count() == 0  # small: nothing frozen
        gc_tuning._settled[0] = 0
        garbage = gc_tuning.run_cycle_paused(gc_tuning.LARGE_NETWORK, cycle)
        assert gc.get_freeze_count() > 0
        assert gc.isenabled()
        probe = weakref.ref(kept[-1])
        kept[-1].other = kept[-1]  # a frozen object that falls into a garbage cycle
        kept.pop()
        for _ in range(gc_tuning.REFREEZE_CYCLES - 2):
            gc_tuning.run_cycle_paused(gc_tuning.LARGE_NETWORK, lambda: None)
            gc.collect()
            assert probe() is not None  # kept while frozen …
            assert garbage() is not None
        gc_tuning.run_cycle_paused(gc_tuning.LARGE_NETWORK, lambda: None)
        assert probe() is None  # … until everything is collected again
        assert garbage() is None
    finally:
        gc.unfreeze()
