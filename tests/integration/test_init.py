"""Setup, unload, reload, devices, stored state, YAML refusal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import json as json_helper
from homeassistant.setup import async_setup_component
from homeassistant.util.json import json_loads
from pytest_homeassistant_custom_component.common import MockConfigEntry, flush_store

from custom_components.heatbalance.const import CONF_PATH, DOMAIN
from custom_components.heatbalance.persistence import MEMORY_JSON, packed_memory, stored_memory

from .conftest import add_network, cycles, polling_off
from .test_config_flow import NETWORKS


async def test_setup_unload_reload(hass: HomeAssistant, demo: ConfigEntry) -> None:
    assert demo.state is ConfigEntryState.LOADED
    assert hass.states.get("select.estate12_regulation_mode").state == "auto"
    assert await hass.config_entries.async_reload(demo.entry_id)
    await hass.async_block_till_done()
    assert demo.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(demo.entry_id)
    assert demo.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get("select.estate12_regulation_mode").state == "unavailable"


async def test_broken_network_file_fails_setup(hass: HomeAssistant, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\n")
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PATH: str(bad)}, unique_id="file:x")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "substation" in entry.reason


async def test_devices_per_network_and_inlet(hass: HomeAssistant, demo: ConfigEntry) -> None:
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), demo.entry_id)
    assert len(devices) == 13
    network = next(d for d in devices if (DOMAIN, demo.entry_id) in d.identifiers)
    inlets = [d for d in devices if d is not network]
    assert network.name == "estate12"
    assert all(d.via_device_id == network.id for d in inlets)
    assert {d.name for d in inlets} == {f"B{k:03d}" for k in range(1, 13)}
    assert {d.model for d in inlets} == {"Electric control valve"}


async def test_households_stay_aggregated(hass: HomeAssistant) -> None:
    """1,200 households: devices only for the 40 buildings, so HA does not drown."""
    entry = await add_network(hass, "households1200")
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 41


async def test_state_survives_a_restart(hass: HomeAssistant, hass_storage: dict) -> None:
    """Energy counters, plant settings and alarms come back from the Store."""
    entry = await add_network(hass)
    await cycles(hass, entry, 3)
    # the counter itself: HA's state string keeps 15 significant digits, which may round up
    energy = entry.runtime_data.coordinator.memory.energy_kwh["B001"]
    assert float(hass.states.get("sensor.b001_heat_energy").state) == pytest.approx(energy)
    assert energy > 0
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await flush_store(entry.runtime_data.coordinator.store)
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    assert stored_memory(stored)["energy_kwh"]["B001"] >= energy
    # after the reload the counter continued, it did not start again at zero
    assert float(hass.states.get("sensor.b001_heat_energy").state) > energy
    time_s = stored["plant"]["time_s"]
    assert time_s >= 4 * 1800


async def test_removing_the_entry_forgets_its_store(
    hass: HomeAssistant, hass_storage: dict
) -> None:
    entry = await add_network(hass, options={"cycle_minutes": 45})
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_cycle_too_long")
    await hass.config_entries.async_unload(entry.entry_id)
    assert f"{DOMAIN}.{entry.entry_id}" in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert f"{DOMAIN}.{entry.entry_id}" not in hass_storage
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_cycle_too_long") is None


async def test_yaml_configuration_is_refused(hass: HomeAssistant) -> None:
    """Networks are configured in the UI only; services exist without any entry."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"network": "estate12"}})
    assert hass.services.has_service(DOMAIN, "balance_now")
    assert not hass.config_entries.async_entries(DOMAIN)


def test_engine_import_does_not_load_home_assistant_modules() -> None:
    """The CLI and the gateway import the engine through this package: keep it HA-free."""
    import subprocess
    import sys

    code = (
        "import sys; import custom_components.heatbalance.engine.loader; "
        "print(any(m.startswith('homeassistant') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=NETWORKS.parents[3],
    )
    assert out.stdout.strip() == "False"


def test_memory_round_trip_keeps_the_learning() -> None:
    """What the Store keeps of a cycle's memory reads back the same (JSON in between):
    every part the engine's loop stores, none dropped on the way back (the plausibility
    runs of §5.3.8-2 were written to the Store and ignored when read)."""
    from custom_components.heatbalance.cycle import LOAD_SOURCE, NETWORK_ENERGY, CycleMemory
    from custom_components.heatbalance.engine.diagnosis import _BINS, _InletState
    from custom_components.heatbalance.engine.loader import load_network
    from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
    from custom_components.heatbalance.engine.networks import builtin_path

    path = builtin_path("estate12")
    assert path is not None
    memory = CycleMemory(loop=ControlLoop(load_network(path), LoopConfig(), cycle_s=1800.0))
    memory.loop.diagnoser.inlets["B001"] = _InletState(kv_sum=[2.0] * _BINS, kv_count=[1] * _BINS)
    stored = json.loads(json.dumps(memory.as_dict()))
    again = CycleMemory.from_dict(stored)
    assert again.loop is None
    # every part the loop keeps comes back; the memory's own (network heat energy, the load
    # source) come back beside it
    assert set(again.loop_state) == set(stored) - {NETWORK_ENERGY, LOAD_SOURCE}
    assert again.as_dict() == stored
    assert again.loop_state["controller"] == stored["controller"]
    assert again.loop_state["diagnoser"] == stored["diagnoser"]
    loop = ControlLoop(load_network(path), LoopConfig(), cycle_s=1800.0, state=again.loop_state)
    assert loop.diagnoser.as_dict() == stored["diagnoser"]


async def test_learning_survives_a_restart(hass: HomeAssistant, hass_storage: dict) -> None:
    """The controller's learned hydraulics (§5.3.6) and the diagnoser's history (§3.0.7-5)
    come back after a reload; a damaged stored state gives a fresh controller, not a crash."""
    entry = await add_network(hass, options={"algorithm": "ai"})
    await cycles(hass, entry, 4)
    loop = entry.runtime_data.coordinator.memory.loop
    assert loop is not None
    samples = {i: b["samples"] for i, b in loop.controller.model.to_dict()["identifiers"].items()}
    assert max(samples.values()) >= 3
    loop.diagnoser.inlets["B001"].kv_count[2] += 50  # a Kv curve point learned long ago
    assert await hass.config_entries.async_reload(entry.entry_id)  # its first cycle runs
    await hass.async_block_till_done()
    memory = entry.runtime_data.coordinator.memory
    assert memory.loop is not None
    assert memory.loop_state == {}
    again = memory.loop.controller.model.to_dict()["identifiers"]
    assert all(again[i]["samples"] >= n for i, n in samples.items())  # continued, not restarted
    assert memory.loop.diagnoser.inlets["B001"].kv_count[2] >= 50

    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    memory = stored_memory(stored)
    assert memory["controller"]["model"]
    memory["controller"] = {"model": {"branches": "garbage"}, "pi": 7}
    memory["diagnoser"] = {"rules": "x"}
    stored[MEMORY_JSON] = packed_memory(memory)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await cycles(hass, entry, 1)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.last_update_success
    assert coordinator.memory.loop is not None


async def test_renamed_sensor_keeps_its_entity_id(hass: HomeAssistant, demo: ConfigEntry) -> None:
    """The flow-deviation spread was keyed ``imbalance_ratio`` (a name the engine uses for
    actual/design flow): an installation from then keeps its entity id and history."""
    from homeassistant.helpers import entity_registry as er

    registry = er.async_get(hass)
    new_uid = f"{demo.entry_id}_flow_deviation_spread"
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, new_uid)
    assert entity_id == "sensor.estate12_flow_deviation_spread"
    assert await hass.config_entries.async_unload(demo.entry_id)
    # as an installation before the rename has it
    registry.async_update_entity(
        entity_id,
        new_entity_id="sensor.estate12_flow_imbalance",
        new_unique_id=f"{demo.entry_id}_imbalance_ratio",
    )
    assert await hass.config_entries.async_setup(demo.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get_entity_id("sensor", DOMAIN, new_uid) == (
        "sensor.estate12_flow_imbalance"
    )
    assert not registry.async_get_entity_id("sensor", DOMAIN, f"{demo.entry_id}_imbalance_ratio")
    assert float(hass.states.get("sensor.estate12_flow_imbalance").state) >= 0.0


async def test_a_refresh_queued_at_unload_moves_no_valve(
    hass: HomeAssistant, hass_storage: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh that waits on the engine lock (behind an operator command) while the entry
    unloads runs no cycle: no valve command after the unload began, and the Store holds the
    learning of the last cycle that ran (a cycle after the save would be lost on restart)."""
    entry = await add_network(hass, options={"algorithm": "ai"})
    await polling_off(hass, entry)
    coordinator = entry.runtime_data.coordinator  # after its first cycle: the next one moves valves
    learnt = json_loads(json_helper.json_bytes(coordinator.memory.as_dict()))  # as stored
    sent_during_unload: list[dict[str, float]] = []
    dispatch, save = coordinator.plant.async_dispatch, coordinator.async_save
    save_waits = asyncio.Event()

    async def recording_dispatch(*args: Any) -> set[str]:
        sent_during_unload.append(dict(args[1]))
        return await dispatch(*args)

    async def signalling_save() -> None:
        save_waits.set()
        await save()

    await coordinator.engine_lock.acquire()  # an operator command holds the engine
    refresh = hass.async_create_task(coordinator.async_refresh())
    await asyncio.sleep(0)  # the refresh passed HA's shutdown check and waits on the lock
    monkeypatch.setattr(coordinator.plant, "async_dispatch", recording_dispatch)
    monkeypatch.setattr(coordinator, "async_save", signalling_save)
    unload = hass.async_create_task(hass.config_entries.async_unload(entry.entry_id))
    await asyncio.wait_for(save_waits.wait(), 30)  # the save queued behind the refresh
    coordinator.engine_lock.release()
    assert await unload
    await refresh
    await hass.async_block_till_done()
    await flush_store(coordinator.store)
    assert sent_during_unload == []
    assert stored_memory(hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]) == learnt
    assert entry.state is ConfigEntryState.NOT_LOADED


COMMANDS_AT_UNLOAD = {
    "balance_now": ("button", "press", {"entity_id": "button.estate12_balance_now"}),
    "confirm_proposal": ("heatbalance", "confirm_proposal", {}),
    "valve": (
        "valve",
        "set_valve_position",
        {"entity_id": "valve.b001_balancing_valve", "position": 90},
    ),
}


@pytest.mark.parametrize("command", list(COMMANDS_AT_UNLOAD))
async def test_a_command_waiting_at_unload_is_refused_and_moves_no_valve(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """An operator's command (button, action, valve) that waits on the engine lock while the
    entry unloads neither moves a valve nor runs a cycle: it fails with a translated error
    that says so, instead of acting after the entities are gone."""
    entry = await add_network(hass, options={"algorithm": "ai", "mode": "manual"})
    hass.config_entries.async_update_entry(entry, pref_disable_polling=True)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    await hass.services.async_call(  # a proposal to confirm
        "button", "press", {"entity_id": "button.estate12_balance_now"}, blocking=True
    )
    assert coordinator.data.commands
    dispatched: list[dict[str, float]] = []
    cycles_run: list[bool] = []
    dispatch, cycle = coordinator.plant.async_dispatch, coordinator._async_cycle
    save, save_waits = coordinator.async_save, asyncio.Event()

    async def recording_dispatch(*args: Any) -> set[str]:
        dispatched.append(dict(args[1]))
        return await dispatch(*args)

    async def recording_cycle() -> Any:
        cycles_run.append(True)
        return await cycle()

    async def signalling_save() -> None:
        save_waits.set()
        await save()

    monkeypatch.setattr(coordinator.plant, "async_dispatch", recording_dispatch)
    monkeypatch.setattr(coordinator, "_async_cycle", recording_cycle)
    monkeypatch.setattr(coordinator, "async_save", signalling_save)
    domain, service, data = COMMANDS_AT_UNLOAD[command]
    if domain == DOMAIN:
        data = data | {"config_entry_id": entry.entry_id}
    await coordinator.engine_lock.acquire()  # a cycle holds the engine
    call = hass.async_create_task(hass.services.async_call(domain, service, data, blocking=True))
    for _ in range(20):  # the call passes HA's and our checks and waits on the lock
        await asyncio.sleep(0)
    unload = hass.async_create_task(hass.config_entries.async_unload(entry.entry_id))
    await asyncio.wait_for(save_waits.wait(), 30)  # the unload's save queued behind the call
    coordinator.engine_lock.release()
    assert await unload
    with pytest.raises(HomeAssistantError) as refused:
        await call
    assert refused.value.translation_key == "unloading_command"
    await hass.async_block_till_done()
    assert dispatched == []
    assert cycles_run == []
    assert entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.parametrize(
    "command",
    [
        ("button", "press", {"entity_id": "button.estate12_acknowledge_alarms"}),
        (DOMAIN, "acknowledge_alarm", {}),
    ],
    ids=["button", "action"],
)
async def test_an_acknowledgement_during_the_unload_is_refused(
    hass: HomeAssistant,
    hass_storage: dict,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, str, dict[str, Any]],
) -> None:
    """ "Acknowledge alarms" follows the other operator commands' rule: pressed after the
    entry began to unload (its coordinator shut down, the entities not yet removed) it is
    refused with an error, and no alarm is acknowledged, in the book or in the Store. Before,
    the button acknowledged, audited and fired the alarms while the entry was unloading."""
    entry = await add_network(hass, options={"max_supply_temperature": 50})
    await cycles(hass, entry, 1)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.alarms.active
    assert not any(a.acknowledged for a in coordinator.alarms.active.values())
    domain, service, data = command
    if domain == DOMAIN:
        data = data | {"config_entry_id": entry.entry_id}
    shutdown, outcome = coordinator.async_shutdown, []

    async def acknowledged_while_unloading() -> None:
        await shutdown()
        if outcome:
            return  # HA shuts the coordinator down again after the unload
        try:
            await hass.services.async_call(domain, service, data, blocking=True)
        except HomeAssistantError as err:
            outcome.append(err)
        else:
            outcome.append(None)

    monkeypatch.setattr(coordinator, "async_shutdown", acknowledged_while_unloading)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await flush_store(coordinator.store)
    assert isinstance(outcome[0], HomeAssistantError)
    # one error whichever way the operator asked (the action said "entry not loaded" before)
    assert outcome[0].translation_key == "unloading_command"
    assert not any(a.acknowledged for a in coordinator.alarms.active.values())
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]["alarms"]
    assert stored["active"]
    assert not any(a["acknowledged"] for a in stored["active"])
    assert entry.state is ConfigEntryState.NOT_LOADED
