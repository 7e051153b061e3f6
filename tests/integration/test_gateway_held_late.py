"""Commands held for an offline gateway: sent late, lost, confirmed across a restart (issue 10
item 6, §4.3.5, §5.3.6-3).

A command for a gateway known offline is held: no move until the gateway confirms it
(``test_gateway_online.py``). Here what became of the rest:
- sent late (the gateway came back) and never answered: it may well have moved the valve, so
  the engine regulates from it, the position shown assumed until the valve reports again
  (before: counted as unmoved whatever the valve did);
- a restart of Home Assistant while the gateway is away: the held command, the plant's
  record of it and the controller's forgotten state are stored, so it still goes when the
  gateway is back and its confirmation is still a move the engine is told (before: all of it
  forgotten, the command never sent);
- the pump drive's held command confirmed late: the controller is told, as for valves.

Home Assistant's test harness with HA's MQTT machinery (``mqtt_mock``, paho mocked); the
real chain through mosquitto and the add-on is ``test_gateway_restart_commands.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.heatbalance.diagnostics import async_get_config_entry_diagnostics
from custom_components.heatbalance.estimates import ATTR_ESTIMATED

from .conftest import add_network, cycles
from .test_gateway_online import (
    Clock,
    _ids,
    _online_and_confirmed,
    _read_once,
    _status,
)
from .test_gateway_source import ROOT, _switch_to_gateway, batch

VALVE = "valve.b001_balancing_valve"
NAMES = {"gateway_meter": "b001-meter", "gateway_valve": "b001-valve"}


@pytest.fixture
def expected_lingering_timers() -> bool:
    """mqtt_mock leaves HA's MQTT timers running (FACTS.md)."""
    return True


async def _valve(hass: HomeAssistant, coordinator: Any) -> tuple[object, dict]:
    """B001's valve position and attributes once every listener batch is told: estate12 has
    more entities than one batch (``LISTENER_BATCH``), so read at once it showed its old
    state whenever its listener fell past the first batch (20h's trace of the held-command
    test in test_gateway_online, the same read)."""
    coordinator.async_update_listeners()
    await coordinator.async_told()
    state = hass.states.get(VALVE)
    assert state is not None
    return state.attributes.get("current_position"), dict(state.attributes)


async def _valve_reported_at_half(hass: HomeAssistant) -> tuple[ConfigEntry, Any, Clock]:
    """estate12 in manual mode on 1-min cycles, B001 on the gateway under a test clock, its
    valve read once at 50 %: where both lost-answer tests start."""
    entry = await add_network(hass, options={"mode": "manual", "cycle_minutes": 1})
    await _switch_to_gateway(hass, entry, "B001", NAMES)
    coordinator = entry.runtime_data.coordinator
    source = coordinator.plant.gateway
    assert source is not None
    clock = Clock()
    source.clock = clock
    await _read_once(hass, entry, "b001-valve", {"position_feedback": 50.0})
    return entry, coordinator, clock


async def _reported_after_the_command(
    hass: HomeAssistant, entry: ConfigEntry, coordinator: Any, now: float
) -> None:
    """B001's valve reports 30 % after its command (it did move): shown measured again,
    nothing assumed any more, and the diagnostics list no assumed position for it."""
    values = {"position_feedback": 30.0}
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(2, now, "b001-valve", values)]))
    await hass.async_block_till_done()
    await cycles(hass, entry, 1)
    position, attributes = await _valve(hass, coordinator)
    assert position == 30
    assert attributes[ATTR_ESTIMATED] is False
    assert "command_unconfirmed" not in attributes
    assert coordinator.plant.unconfirmed == set()
    assumed = (await async_get_config_entry_diagnostics(hass, entry))["assumed_positions"]
    assert "B001" not in assumed


async def test_a_command_sent_late_whose_answer_is_lost_is_assumed_until_the_valve_reports(
    hass: HomeAssistant, mqtt_mock
) -> None:
    entry, coordinator, clock = await _valve_reported_at_half(hass)
    controller = coordinator.memory.loop.controller
    assert controller.last_openings["B001"] == pytest.approx(0.5)
    clock.now = dt_util.utcnow().timestamp() + 1.0  # the command comes after the report
    await _status(hass, "offline")
    async with coordinator.engine_lock:
        assert await coordinator.async_send({"B001": 0.3}, None) == {}  # held
    await _status(hass, "online")
    (request,) = _ids(mqtt_mock)  # sent late …
    clock.now += 150.0  # … its answer never comes; the valve's old report goes stale
    await cycles(hass, entry, 1)  # this cycle's reading reports it no_result
    assert coordinator.plant.held == {"B001": (request, 0.3)}
    await cycles(hass, entry, 1)  # … and the next takes it as carried out, assumed
    assert coordinator.plant.held == {}
    assert controller.last_openings["B001"] == pytest.approx(0.3)  # regulated from it
    position, attributes = await _valve(hass, coordinator)
    assert position == 30
    assert attributes[ATTR_ESTIMATED] is True  # shown assumed, not measured
    assert attributes["command_unconfirmed"] is True
    await _reported_after_the_command(hass, entry, coordinator, clock.now)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_command_held_over_a_restart_goes_when_the_gateway_is_back(
    hass: HomeAssistant, mqtt_mock
) -> None:
    entry = await add_network(hass, options={"mode": "manual"})  # no cycle moves it itself
    await _switch_to_gateway(hass, entry, "B001", NAMES)
    coordinator = entry.runtime_data.coordinator
    source = coordinator.plant.gateway
    assert source is not None
    await _read_once(hass, entry, "b001-valve", {"position_feedback": 50.0})
    await _status(hass, "offline")
    async with coordinator.engine_lock:
        assert await coordinator.async_send({"B001": 0.3}, None) == {}  # held
    request = source.holding["B001"]
    assert await hass.config_entries.async_reload(entry.entry_id)  # HA restarts meanwhile
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    source = coordinator.plant.gateway
    assert source is not None
    assert coordinator.plant.held == {"B001": (request, 0.3)}  # still held, not moved
    assert source.held_by("B001") == "gw1"
    assert _ids(mqtt_mock) == []
    controller = coordinator.memory.loop.controller
    assert controller.last_openings["B001"] == pytest.approx(0.5)
    await _online_and_confirmed(hass, mqtt_mock, coordinator, 30.0)  # goes: same request id
    assert _ids(mqtt_mock) == [request]
    assert coordinator.plant.held == {}
    assert controller.last_openings["B001"] == pytest.approx(0.3)  # a move after all
    assert controller.moved["B001"] == pytest.approx(0.3)
    await cycles(hass, entry, 1)
    assert coordinator.last_update_success
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_damaged_stored_command_is_not_sent_when_the_gateway_is_back(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """The stored held command goes to a real valve unchecked by the range test a new
    command passes: one damaged in the Store (150 %) is dropped, not sent, and the plant's
    record of it is forgotten (a command that never went); the plant's own stored record
    takes no opening outside 0…1 either."""
    entry = await add_network(hass, options={"mode": "manual"})
    await _switch_to_gateway(hass, entry, "B001", NAMES)
    source = entry.runtime_data.coordinator.plant.gateway
    assert source is not None
    await _read_once(hass, entry, "b001-valve", {"position_feedback": 50.0})
    await _status(hass, "offline")
    async with entry.runtime_data.coordinator.engine_lock:
        assert await entry.runtime_data.coordinator.async_send({"B001": 0.3}, None) == {}
    request, gateway, topic, payload = source._unanswered["B001"]
    damaged = payload.replace('"value": 30.0', '"value": 150.0')
    assert damaged != payload
    source._unanswered["B001"] = (request, gateway, topic, damaged)  # saved at the unload
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert coordinator.plant.gateway is not None
    assert coordinator.plant.gateway.held_by("B001") is None
    await _status(hass, "online")
    await cycles(hass, entry, 1)
    assert _ids(mqtt_mock) == []  # nothing went to the valve
    assert coordinator.plant.held == {}
    assert coordinator.memory.loop.controller.last_openings["B001"] == pytest.approx(0.5)
    # the plant's own record of a held command: an opening outside 0…1 is no record
    coordinator.plant.restore_held({"valves": {"B001": ["hb-1", 1.5]}})
    assert coordinator.plant.held == {}
    coordinator.plant.restore_held({"valves": {"B001": ["hb-1", 0.3]}})
    assert coordinator.plant.held == {"B001": ("hb-1", 0.3)}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def _manual_with_the_pump_on_the_gateway(hass: HomeAssistant) -> tuple[ConfigEntry, Any]:
    """estate12 in manual mode, B001 and the pump's drive (read at 80 %) on the gateway."""
    entry = await add_network(hass, options={"mode": "manual"})
    await _switch_to_gateway(hass, entry, "B001", NAMES)
    options = {"pump_gateway_device": "pump-vfd", "pump_gateway_id": "gw1"}
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await hass.async_block_till_done()
    await _read_once(hass, entry, "pump-vfd", {"speed_feedback": 80.0})
    return entry, entry.runtime_data.coordinator


async def test_a_held_pump_command_confirmed_late_is_told_to_the_controller(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """As the step that planned it left the controller (its last speed the command), the
    dispatch forgets it as unsent while the gateway holds it; confirmed, it is back."""
    entry, coordinator = await _manual_with_the_pump_on_the_gateway(hass)
    controller = coordinator.memory.loop.controller
    before = controller.last_speed
    controller.last_speed = 0.7  # what the step's pump command leaves (_pump_speed)
    await _status(hass, "offline")
    async with coordinator.engine_lock:
        await coordinator.async_send({}, 0.7)
    assert coordinator.plant.pump_failed  # held: the controller keeps the drive's speed
    assert controller.last_speed == before
    await _online_and_confirmed(hass, mqtt_mock, coordinator, 70.0)
    assert coordinator.plant.pump_held is None
    assert controller.last_speed == pytest.approx(0.7)  # carried out: told as for valves
    await cycles(hass, entry, 1)
    assert coordinator.last_update_success
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_confirmed_pump_speed_held_for_an_offline_gateway_is_told_once_carried_out(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """A manual proposal's pump speed confirmed while the drive's gateway is offline
    (§5.3.6-6): held, the controller keeps no move (the drive runs as it did); carried out,
    it records the speed then. Before: the late carry-out restored the step's planned pump
    move, and a manual step plans none (19h)."""
    entry, coordinator = await _manual_with_the_pump_on_the_gateway(hass)
    controller = coordinator.memory.loop.controller
    before = controller.last_speed
    await _status(hass, "offline")
    async with coordinator.engine_lock:
        await coordinator.async_send({}, 0.75, confirmed=True)
    assert coordinator.plant.pump_failed
    assert controller.last_speed == before
    await _online_and_confirmed(hass, mqtt_mock, coordinator, 75.0)
    assert controller.last_speed == pytest.approx(0.75)
    assert controller.pump_from == pytest.approx(0.8)  # the drive's speed it went from
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_confirmed_pump_speed_held_over_a_restart_is_told_once_carried_out(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """As above with Home Assistant restarted while the gateway is away: the operator's
    confirmation is stored with the held command, so once the gateway carries it out the
    controller records it (0.75 from the drive's 0.8), as without the restart. Before, the
    record was not stored: the speed went but the controller kept its old one."""
    entry, coordinator = await _manual_with_the_pump_on_the_gateway(hass)
    before = coordinator.memory.loop.controller.last_speed
    await _status(hass, "offline")
    async with coordinator.engine_lock:
        await coordinator.async_send({}, 0.75, confirmed=True)
    assert await hass.config_entries.async_reload(entry.entry_id)  # HA restarts meanwhile
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    controller = coordinator.memory.loop.controller
    assert controller.last_speed == before  # held: no move yet
    await _online_and_confirmed(hass, mqtt_mock, coordinator, 75.0)
    assert controller.last_speed == pytest.approx(0.75)
    assert controller.pump_from == pytest.approx(0.8)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_substation_heat_meter_on_the_gateway_is_named_until_it_reports(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """§4.3.2 data check, the gateway's substation heat meter (its ``power`` point): once no
    power has been read from it for max(5 min, two cycles) (its last report is stale two
    cycles after it was sent, §6.0.6) it is named in ``missing_signals``; its next report
    clears the repair (the entity case: ``test_repairs.py``)."""
    from homeassistant.helpers import issue_registry as ir

    from custom_components.heatbalance.const import DOMAIN

    entry = await add_network(hass, options={"mode": "manual", "cycle_minutes": 1})
    await _switch_to_gateway(hass, entry, "B001", NAMES)
    options = {"substation_heat_gateway_device": "station-heat", "outdoor_entity": "sensor.out"}
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    source = coordinator.plant.gateway
    assert source is not None
    clock = Clock()
    source.clock = clock

    def named() -> bool:
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_missing_signals")
        lines = issue.translation_placeholders["signals"] if issue else ""
        return "substation heat meter delivers no thermal power" in lines

    async def report(seq: int) -> None:
        meter = [(seq, clock.now, "station-heat", {"power": 850.0})]
        async_fire_mqtt_message(hass, f"{ROOT}/data", batch(meter))
        await hass.async_block_till_done()

    await report(1)
    await cycles(hass, entry, 1)
    assert coordinator.data.substation_heat_kw == 850.0
    for _ in range(6):  # a minute a cycle, and the gateway's clock with it
        clock.now += 60.0
        await cycles(hass, entry, 1)
    assert coordinator.data.substation_heat_kw is None  # stale after two cycles (§6.0.6) …
    assert not named()  # … and read last 4 min ago
    clock.now += 60.0
    await cycles(hass, entry, 1)
    assert named()  # nothing read for 5 min
    await report(2)
    await cycles(hass, entry, 1)
    assert coordinator.data.substation_heat_kw == 850.0
    assert not named()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_command_sent_at_once_whose_answer_is_lost_is_assumed_until_the_valve_reports(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """A command sent at once (gateway online, never held) whose answer is lost: the valve's
    last report, fresh but older than the command, says nothing of it, so the position is
    assumed at the command, shown estimated with ``command_unconfirmed`` until the valve
    reports after it (before: the report from before the command was shown as measured and
    the engine regulated from it, §5.3.6-3, issue 10 item 3)."""
    entry, coordinator, clock = await _valve_reported_at_half(hass)
    await _status(hass, "online")
    clock.now = dt_util.utcnow().timestamp() + 1.0  # the command comes after the report
    async with coordinator.engine_lock:
        assert await coordinator.async_send({"B001": 0.3}, None) == {"B001": 0.3}  # at once
    assert coordinator.plant.held == {}
    assert len(_ids(mqtt_mock)) == 1
    clock.now += 40.0  # past the answer window (half a cycle); the report is still fresh
    await cycles(hass, entry, 1)
    controller = coordinator.memory.loop.controller
    assert controller.last_openings["B001"] == pytest.approx(0.3)  # regulated from it
    position, attributes = await _valve(hass, coordinator)
    assert position == 30  # not the 50 % reported before the command
    assert attributes[ATTR_ESTIMATED] is True
    assert attributes["command_unconfirmed"] is True
    assumed = (await async_get_config_entry_diagnostics(hass, entry))["assumed_positions"]
    assert assumed["B001"] == {"position": pytest.approx(0.3), "why": "command_unconfirmed"}
    await _reported_after_the_command(hass, entry, coordinator, clock.now)
    assert await hass.config_entries.async_unload(entry.entry_id)
