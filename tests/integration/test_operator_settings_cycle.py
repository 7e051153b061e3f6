"""Operator settings reach the engine whole, also around a running cycle and a confirmed
proposal (issue 10 items 4 and 5; §5.3.6-3, §5.3.6-6)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er

from custom_components.heatbalance.const import EVENT_AUDIT

from .conftest import add_network, cycles
from .test_balancing import _changed_during_a_running_cycle, _confirm, _operator_sets


async def test_a_confirmed_proposals_pump_speed_is_told_to_the_controller(
    hass: HomeAssistant,
) -> None:
    """§5.3.6-6 with §5.3.6-3: the manual proposal's pump speed (0.977, from full speed),
    confirmed after the operator narrowed the pump's step to 1 %, goes out at 0.99, and the
    controller records 0.99 as its last speed and speed change — as for a cycle's own
    command. Before, the step's held pump stayed forgotten: no speed, no change recorded."""
    entry = await add_network(
        hass, options={"algorithm": "ai", "mode": "manual", "level": "advanced"}
    )
    coordinator = entry.runtime_data.coordinator
    await cycles(hass, entry, 1)
    assert coordinator.data.pump_command == pytest.approx(0.977, abs=0.002)
    narrowed = dict(entry.options) | {"max_pump_step": 1}  # the options dialog's change
    hass.config_entries.async_update_entry(entry, options=narrowed)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "heatbalance", "confirm_proposal", {"config_entry_id": entry.entry_id}, blocking=True
    )
    controller = coordinator.memory.loop.controller
    assert coordinator.simulator.pump_speed == pytest.approx(0.99)
    assert controller.last_speed == pytest.approx(0.99)
    assert (controller.pump_ratio, controller.pump_jump) == (
        pytest.approx(0.99),
        pytest.approx(0.01),
    )


async def test_an_alarm_threshold_loosened_during_a_running_cycle_raises_nothing(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, alarms: list[Event]
) -> None:
    """§5.3.8-1: a cycle judged B012 (75 % of its set flow) under a 90 % minimum flow
    while the operator lowered it to 50 %: its alarm update is held (``cycle.rejudged``),
    so no ``flow_low`` reaches his phone only to clear a cycle later; the next cycle judges
    by 50 %. Before: raised. Back at 90 %, the buildings then below it (B008, B009 at 85 %
    once the first cycle's moves are made; 19b: PI no longer closes B012 with the others,
    it reaches 100 %) are raised."""
    entry = await add_network(hass, options={"mode": "manual", "min_flow": 90})
    await _changed_during_a_running_cycle(hass, entry, monkeypatch, _MIN_FLOW, 50)
    assert not [e for e in alarms if e.data["reason"] == "flow_low"]
    await cycles(hass, entry, 1)
    assert not [e for e in alarms if e.data["reason"] == "flow_low"]
    await _operator_sets(hass, _MIN_FLOW, 90)  # the same cycle, as the threshold stands
    await cycles(hass, entry, 1)
    assert "B008" in [e.data["location"] for e in alarms if e.data["reason"] == "flow_low"]


async def test_a_second_balance_now_while_the_first_runs_is_answered_by_it(
    hass: HomeAssistant, demo: ConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§5.3.6-7: "Balance now" pressed again while its cycle runs runs no second cycle
    right after it (on a real plant that one read the flows before they answered the first
    cycle's moves); the audit says the press was answered. Before: two cycles."""
    audits: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_AUDIT, callback(lambda e: audits.append(e.data)))
    coordinator = demo.runtime_data.coordinator
    start = coordinator.data.time_s
    second: list[asyncio.Task[Any]] = []

    async def press_again() -> None:  # until it waits for the running cycle (either way)
        second.append(hass.async_create_task(_press(hass)))
        for _ in range(1000):
            if coordinator.engine_lock._waiters:
                return
            await asyncio.sleep(0)

    await _changed_during_a_running_cycle(
        hass, demo, monkeypatch, "", "", _press(hass), change=press_again
    )
    await second[0]
    assert coordinator.data.time_s == start + 1800  # one cycle: 30 min of plant time
    pressed = [a["details"] for a in audits if a["action"] == "balance_now"]
    assert {"moved": False, "held": "answered", "valves": 0} in pressed
    # the first press's cycle moved (9 of 12: PI holds the three short far buildings open
    # while the others close, 19b)
    assert {"moved": True, "valves": 9} in pressed


def _press(hass: HomeAssistant) -> Coroutine[Any, Any, Any]:
    return hass.services.async_call(
        "button", "press", {"entity_id": "button.estate12_balance_now"}, blocking=True
    )


_MIN_FLOW = "number.estate12_minimum_flow_share_of_set_flow"


async def test_a_proposal_of_a_pump_speed_alone_is_confirmed(hass: HomeAssistant) -> None:
    """§5.3.6-6 with §5.3.6-3 and §5.3.6-7: every valve held by hand, the manual proposal is
    the pump's speed alone; confirmed, it goes out (within the limits), is recorded by the
    controller and audited, and is confirmed once only. Before, it was refused as
    ``no_proposal``: an operator shown a pump speed could not confirm it."""
    audits: list[dict[str, Any]] = []
    hass.bus.async_listen(EVENT_AUDIT, callback(lambda e: audits.append(e.data)))
    entry = await add_network(
        hass, options={"algorithm": "ai", "mode": "manual", "level": "advanced"}
    )
    coordinator = entry.runtime_data.coordinator
    switches = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.entity_id.endswith("_automatic_regulation")
    ]
    assert len(switches) == len(coordinator.network.inlets)
    await hass.services.async_call("switch", "turn_off", {"entity_id": switches}, blocking=True)
    await cycles(hass, entry, 1)
    assert not coordinator.data.commands  # every valve by hand: no opening proposed
    speed = coordinator.data.pump_command
    assert speed is not None
    assert speed < coordinator.simulator.pump_speed
    openings = coordinator.simulator.openings.copy()
    response = await _confirm(hass, entry)
    assert response == {"openings": {}, "pump": round(speed * 100, 1)}
    assert coordinator.simulator.pump_speed == pytest.approx(speed)
    assert coordinator.memory.loop.controller.last_speed == pytest.approx(speed)
    assert (coordinator.simulator.openings == openings).all()  # no valve moved
    confirmed = [a["details"] for a in audits if a["action"] == "confirm_proposal"]
    assert confirmed == [{"valves": 0, "pump": round(speed * 100, 1)}]
    with pytest.raises(ServiceValidationError) as err:  # confirmed once only
        await _confirm(hass, entry)
    assert err.value.translation_key == "no_proposal"


_SET_SPEED = "sensor.estate12_pump_set_speed"


async def test_the_proposed_pump_speed_is_shown_until_confirmed(hass: HomeAssistant) -> None:
    """§5.3.6-6 with §5.3.5-2: in manual mode the operator sees the pump speed he is asked
    to confirm, as he sees the valves' set positions — before, it was only in
    ``confirm_proposal``'s response, after confirming. Nothing moved while it is shown;
    confirmed, it shows the speed that went out (as the valves' set positions show their
    openings, below) until the next cycle proposes again."""
    entry = await add_network(
        hass, options={"algorithm": "ai", "mode": "manual", "level": "advanced"}
    )
    coordinator = entry.runtime_data.coordinator
    await cycles(hass, entry, 1)
    speed = coordinator.data.pump_command
    assert speed is not None
    assert coordinator.simulator.pump_speed > speed  # proposed, not sent
    state = hass.states.get(_SET_SPEED)
    assert state is not None
    assert float(state.state) == pytest.approx(speed * 100.0)
    assert state.attributes["unit_of_measurement"] == "%"
    response = await _confirm(hass, entry)
    assert response["pump"] == round(speed * 100.0, 1)
    assert float(hass.states.get(_SET_SPEED).state) == pytest.approx(speed * 100.0)
    assert coordinator.simulator.pump_speed == pytest.approx(speed)  # what it shows went out
    await cycles(hass, entry, 1)
    again = coordinator.data.pump_command
    assert again is not None
    assert float(hass.states.get(_SET_SPEED).state) == pytest.approx(again * 100.0)


async def test_after_a_confirmation_valves_and_pump_show_what_was_sent(
    hass: HomeAssistant,
) -> None:
    """One rule for every set value (§5.3.5-2, §5.3.6-6; docs/integration.md): once the
    operator confirms, the valves' set positions and the pump's set speed both show what
    went out — limited again from where the devices stood (§5.3.6-3) — until the next cycle
    proposes. The operator narrows the steps after the proposal: the set values move to what
    was sent (not the proposal), the simulated plant stands there, and the proposal is gone
    (confirmed once). Before, the valves kept the proposal while the pump went unknown."""
    entry = await add_network(
        hass, options={"algorithm": "ai", "mode": "manual", "level": "advanced"}
    )
    coordinator = entry.runtime_data.coordinator
    sim = coordinator.simulator
    await cycles(hass, entry, 1)
    proposed = dict(coordinator.data.commands)
    assert proposed
    assert coordinator.data.pump_command is not None
    narrowed = dict(entry.options) | {"max_pump_step": 1, "max_step": 1}
    hass.config_entries.async_update_entry(entry, options=narrowed)
    await hass.async_block_till_done()
    response = await _confirm(hass, entry)
    sent = response["openings"]
    assert sent
    moved = False
    for iid, pct in sent.items():  # the response's openings are in %
        valve = hass.states.get(f"valve.{iid.lower()}_balancing_valve")
        state = hass.states.get(f"sensor.{iid.lower()}_valve_set_position")
        assert valve is not None
        assert state is not None
        assert valve.attributes["set_position"] == round(pct)
        assert float(state.state) == pytest.approx(pct, abs=0.1)
        assert float(sim.openings[sim.ids.index(iid)]) * 100 == pytest.approx(pct, abs=0.1)
        moved |= abs(pct - proposed[iid] * 100) > 0.5
    assert moved  # the narrowed step limited what went out: the set values show that
    pump = float(hass.states.get(_SET_SPEED).state)
    assert pump == pytest.approx(response["pump"], abs=0.05)
    assert pump == pytest.approx(sim.pump_speed * 100.0, abs=0.05)
    with pytest.raises(ServiceValidationError) as err:  # confirmed once only
        await _confirm(hass, entry)
    assert err.value.translation_key == "no_proposal"


async def test_no_pump_speed_proposed_shows_none(hass: HomeAssistant) -> None:
    """The traditional algorithm (PI) regulates valves only (``requirements.pump_planned``):
    its manual proposal holds openings and no pump speed, and the pump's set speed says so
    (unknown), not a stale or made-up figure."""
    entry = await add_network(hass, options={"algorithm": "traditional", "mode": "manual"})
    coordinator = entry.runtime_data.coordinator
    await cycles(hass, entry, 1)
    assert coordinator.data.commands  # a proposal of openings …
    assert coordinator.data.pump_command is None  # … without a pump speed
    assert hass.states.get(_SET_SPEED).state == "unknown"
