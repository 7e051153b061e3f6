"""Setup, devices, entities and a simulated multi-hour run inside Home Assistant."""

from __future__ import annotations

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.heatbalance.const import CONF_PATH, DOMAIN


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def _state(hass: HomeAssistant, entity_id: str) -> float:
    return float(hass.states.get(entity_id).state)


async def test_setup_and_unload(hass: HomeAssistant, demo_entry: MockConfigEntry) -> None:
    await _setup(hass, demo_entry)
    assert demo_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(demo_entry.entry_id)
    assert demo_entry.state is ConfigEntryState.NOT_LOADED


async def test_broken_network_file_fails_setup(hass: HomeAssistant, tmp_path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\n")
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PATH: str(bad)}, unique_id="file:x")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "field substation: missing" in entry.reason


async def test_devices_per_network_and_inlet(
    hass: HomeAssistant, demo_entry: MockConfigEntry
) -> None:
    await _setup(hass, demo_entry)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), demo_entry.entry_id)
    assert len(devices) == 13
    network = next(d for d in devices if (DOMAIN, demo_entry.entry_id) in d.identifiers)
    inlets = [d for d in devices if d is not network]
    assert all(d.via_device_id == network.id for d in inlets)
    assert {d.name for d in inlets} == {f"B{k:03d}" for k in range(1, 13)}


async def test_households_stay_aggregated(hass: HomeAssistant) -> None:
    """1,200 households: devices only for the 40 buildings, so HA does not drown."""
    entry = MockConfigEntry(domain=DOMAIN, data={"network": "households1200"}, unique_id="h")
    await _setup(hass, entry)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 41


async def test_entities_snapshot(
    hass: HomeAssistant, demo_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Every entity, its kind, unit and whether it is enabled by default."""
    await _setup(hass, demo_entry)
    entries = er.async_entries_for_config_entry(er.async_get(hass), demo_entry.entry_id)
    summary = sorted(
        (
            e.entity_id,
            e.unique_id.removeprefix(demo_entry.entry_id),
            e.original_device_class,
            e.unit_of_measurement,
            e.entity_category,
            e.disabled_by is not None,
        )
        for e in entries
    )
    assert summary == snapshot


async def test_demo_balances_itself_within_hours(
    hass: HomeAssistant, demo_entry: MockConfigEntry
) -> None:
    """A multi-hour run of the simulated plant reaches the advanced flow band (§8.2.4)."""
    await _setup(hass, demo_entry)
    coordinator = demo_entry.runtime_data
    share = _state(hass, "sensor.estate12_inlets_in_band")
    assert share < 50  # all valves open: near buildings overflow, far ones starve
    for _ in range(10):  # 10 cycles × 30 simulated minutes
        await coordinator.async_refresh()
        await hass.async_block_till_done()
    assert _state(hass, "sensor.estate12_inlets_in_band") == 100
    ratio = _state(hass, "sensor.b012_flow_ratio")
    assert 100.0 <= ratio <= 105.0
    assert _state(hass, "sensor.b012_heat_energy") > 0
    assert _state(hass, "sensor.estate12_pump_speed") < 100


async def test_manual_mode_proposes_but_never_moves(
    hass: HomeAssistant, demo_entry: MockConfigEntry
) -> None:
    """§5.3.6-6: manual mode computes and shows proposals; valves stay where they are."""
    await _setup(hass, demo_entry)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.estate12_regulation_mode", "option": "manual"},
        blocking=True,
    )
    coordinator = demo_entry.runtime_data
    before = coordinator.simulator.openings.copy()
    for _ in range(3):
        await coordinator.async_refresh()
        await hass.async_block_till_done()
    assert hass.states.get("select.estate12_regulation_mode").state == "manual"
    assert (coordinator.simulator.openings == before).all()
    proposed = _state(hass, "sensor.b001_proposed_valve_position")
    assert proposed != pytest.approx(_state(hass, "sensor.b001_valve_position"), abs=0.5)


async def test_valve_entity_sets_position_only_in_manual(
    hass: HomeAssistant, demo_entry: MockConfigEntry
) -> None:
    await _setup(hass, demo_entry)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "valve",
            "set_valve_position",
            {"entity_id": "valve.b003_balancing_valve", "position": 40},
            blocking=True,
        )
    demo_entry.runtime_data.auto = False
    await hass.services.async_call(
        "valve",
        "set_valve_position",
        {"entity_id": "valve.b003_balancing_valve", "position": 40},
        blocking=True,
    )
    assert hass.states.get("valve.b003_balancing_valve").attributes["current_position"] == 40
    # below the safety minimum opening (§5.3.6-3) the valve stops at the minimum
    await hass.services.async_call(
        "valve", "close_valve", {"entity_id": "valve.b003_balancing_valve"}, blocking=True
    )
    minimum = round(demo_entry.runtime_data.limits.min_opening * 100)
    assert hass.states.get("valve.b003_balancing_valve").attributes["current_position"] == minimum
    await hass.services.async_call(
        "valve", "open_valve", {"entity_id": "valve.b003_balancing_valve"}, blocking=True
    )
    assert hass.states.get("valve.b003_balancing_valve").attributes["current_position"] == 100
