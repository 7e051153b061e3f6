"""The integration follows each gateway's availability (issue 10 item 6).

The add-on publishes ``<base>/gw/<gw>/status`` retained: ``online`` once the broker confirmed
its subscriptions, ``offline`` on a clean stop and as its last will. A command published while
the gateway is offline or not yet subscribed reaches nobody (clean session, commands never
retained). The source holds commands for a gateway it knows offline, sends every unanswered
one again (same request id) when the gateway says ``online``, and raises the repair
``gateway_offline`` when a gateway stays offline max(``OFFLINE_REPAIR_S``, one cycle)
(§5.3.8-5). A held command is no move until the gateway confirms it.

Here with HA's MQTT machinery and ``mqtt_mock`` (paho mocked); the real chain across a gateway
restart is in ``test_gateway_restart_commands.py``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.heatbalance.actions import async_set_opening
from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.diagnostics import gateway_link
from custom_components.heatbalance.gateway_source import (
    OFFLINE_REPAIR_S,
    RESEND_S,
    RESENDS,
    GatewaySource,
)

from .conftest import add_network, cycles
from .test_gateway_source import ROOT, _published, _switch_to_gateway, batch


@pytest.fixture
def expected_lingering_timers() -> bool:
    """mqtt_mock leaves HA's MQTT timers running (FACTS.md)."""
    return True


class Clock:
    """The source's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = dt_util.utcnow().timestamp()

    def __call__(self) -> float:
        return self.now


async def _ready(hass: HomeAssistant, clock: Clock, hold_s: float = 600.0) -> GatewaySource:
    """A source whose valve B001 reported (commands may go) on gateway gw1."""
    source = GatewaySource(hass, {"B001": ("b001-meter", "b001-valve")}, clock=clock, hold_s=hold_s)
    await source.async_start()
    valve = {"position_feedback": 50.0}
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(1, clock.now, "b001-valve", valve)]))
    await hass.async_block_till_done()
    source.reading("B001", stale_s=1e9)  # the cycle's acquisition read the valve
    return source


async def _status(hass: HomeAssistant, state: str) -> None:
    """A status change while subscribed (the broker delivers it with the retain flag clear)."""
    async_fire_mqtt_message(hass, f"{ROOT}/status", state)
    await hass.async_block_till_done()


async def _later(hass: HomeAssistant, seconds: float) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done()


def _ids(mqtt_mock: Any) -> list[str]:
    return [json.loads(p)["request_id"] for p in _published(mqtt_mock, f"{ROOT}/cmd")]


async def test_a_command_for_an_offline_gateway_is_held_and_sent_when_it_is_online(
    hass: HomeAssistant, mqtt_mock
) -> None:
    clock = Clock()
    source = await _ready(hass, clock)
    await _status(hass, "offline")
    request = await source.async_set_opening("B001", 0.3)
    assert request is not None
    assert _ids(mqtt_mock) == []  # held: nobody would take it
    assert source.command_status("B001", answer_s=60.0) == "held"  # never sent: no move
    for _ in range(RESENDS + 1):  # no re-ask goes to an offline gateway either
        await _later(hass, RESEND_S * (_ + 1) + 0.1)
    assert _ids(mqtt_mock) == []
    await _status(hass, "online")  # subscribed: now it reaches the gateway
    assert _ids(mqtt_mock) == [request]
    assert source.command_status("B001", answer_s=60.0) == "pending"  # sent now
    link = gateway_link(source)
    assert (link["held_commands"], link["held_sent"], link["held_now"]) == (1, 1, {})
    # … and it is asked again until answered, as any command
    await _later(hass, 10 * RESEND_S + RESEND_S + 0.1)
    assert _ids(mqtt_mock) == [request, request]
    result = {"request_id": request, "status": "confirmed", "readback": 30.0}
    async_fire_mqtt_message(hass, f"{ROOT}/cmd/result", json.dumps(result))
    await hass.async_block_till_done()
    assert gateway_link(source)["held_confirmed"] == 1
    await _status(hass, "offline")
    await _status(hass, "online")  # answered: not sent again
    assert _ids(mqtt_mock) == [request, request]
    source.stop()


async def test_a_held_command_never_sent_is_counted_unsent_and_never_goes_late(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """Held past its cycle's answer window, or replaced by a newer command while held: it
    never goes, says so (``held``, ``held_unsent``), and a later ``online`` sends only the
    valve's last command if that one is still within its window."""
    clock = Clock()
    source = await _ready(hass, clock, hold_s=60.0)
    await _status(hass, "offline")
    first = await source.async_set_opening("B001", 0.3)
    second = await source.async_set_opening("B001", 0.4)  # replaces the held first
    assert source.held_by("B001") == "gw1"
    assert gateway_link(source)["held_unsent"] == 1
    assert source.answer("B001", first) is None  # will never go
    assert source.answer("B001", second) == "pending"  # … this one may
    clock.now += 61.0  # the cycle's window passes while the gateway is away
    assert source.command_status("B001", answer_s=60.0) == "held"
    assert source.held_by("B001") is None  # it will not go any more
    assert source.answer("B001", second) is None
    await _status(hass, "online")
    assert _ids(mqtt_mock) == []  # neither moved a valve the engine took as unmoved
    link = gateway_link(source)
    assert (link["held_commands"], link["held_sent"], link["held_unsent"]) == (2, 0, 2)
    source.stop()


async def _read_once(hass: HomeAssistant, entry: Any, device: str, values: dict) -> None:
    """The gateway reports ``device`` once and a cycle reads it: commands may go."""
    now = dt_util.utcnow().timestamp()
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(1, now, device, values)]))
    await hass.async_block_till_done()
    await cycles(hass, entry, 1)


async def _online_and_confirmed(
    hass: HomeAssistant, mqtt_mock: Any, coordinator: Any, readback: float
) -> None:
    """The gateway comes back, the one held command goes and is confirmed at ``readback``
    (%), and the coordinator takes it as carried out (what the next cycle does first)."""
    await _status(hass, "online")
    (request,) = _ids(mqtt_mock)
    result = {"request_id": request, "status": "confirmed", "readback": readback}
    async_fire_mqtt_message(hass, f"{ROOT}/cmd/result", json.dumps(result))
    await hass.async_block_till_done()
    async with coordinator.engine_lock:
        await coordinator._async_carried_out()


async def _held_shown(hass: HomeAssistant, coordinator: Any) -> Any:
    """The valve entity's ``command_held`` attribute, once its listeners are told.

    estate12 has more entities than one batch of listeners (``LISTENER_BATCH``): outside a
    refresh the rest are told after the loop ran, so wait for all (``async_told``, as an
    operator's action does); read at once, B001's valve showed its old state whenever its
    listener fell past the first batch (1 run in 4 in CI while entities were built in slices).
    """
    coordinator.async_update_listeners()
    await coordinator.async_told()
    state = hass.states.get("valve.b001_balancing_valve")
    assert state is not None
    return state.attributes.get("command_held")


async def test_a_held_command_is_no_move_until_the_gateway_confirms_it(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """The engine is told of a held command only once the gateway confirmed it: until then
    the valve is where it was (no flow change expected, no command to compare with its
    feedback, nothing in the counters of what was sent); confirmed, it is the last cycle's
    move, told to the loop before the next step."""
    entry = await add_network(hass, options={"mode": "manual"})  # no cycle moves it itself
    await _switch_to_gateway(
        hass, entry, "B001", {"gateway_meter": "b001-meter", "gateway_valve": "b001-valve"}
    )
    coordinator = entry.runtime_data.coordinator
    source = coordinator.plant.gateway
    assert source is not None
    await _read_once(hass, entry, "b001-valve", {"position_feedback": 50.0})
    controller = coordinator.memory.loop.controller
    before = controller.last_openings.get("B001")
    await _status(hass, "offline")
    async with coordinator.engine_lock:
        assert await coordinator.async_send({"B001": 0.3}, None) == {}  # held: not sent
    assert controller.last_openings.get("B001") == before
    assert "B001" not in controller.moved
    assert coordinator.sent == {}
    assert coordinator.plant.held == {"B001": (source.holding["B001"], 0.3)}
    assert await _held_shown(hass, coordinator) is True  # the valve entity says so
    await _online_and_confirmed(hass, mqtt_mock, coordinator, 30.0)
    assert coordinator.sent == {"B001": 0.3}  # diagnosis compares it with the feedback
    assert controller.last_openings["B001"] == 0.3
    assert controller.moved["B001"] == 0.3
    assert coordinator.plant.held == {}
    assert await _held_shown(hass, coordinator) is None
    link = gateway_link(source)
    assert (link["held_commands"], link["held_sent"], link["held_confirmed"]) == (1, 1, 1)
    await cycles(hass, entry, 1)  # and the next cycle runs on it
    assert coordinator.last_update_success
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_held_pump_command_is_no_speed_change_until_the_gateway_confirms_it(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """The pump drive's command is held as a valve's: for an offline gateway it did not go,
    so the dispatch reports the pump failed (the controller keeps its speed,
    ``Controller.pump_unsent``), the model's pump runs as the drive does, and it is counted
    held; confirmed once the gateway is back, the model's pump runs at the new speed. Before,
    a held pump command counted as sent: the model and the controller took a speed the drive
    never had while its gateway was away."""
    entry = await add_network(hass, options={"mode": "manual"})  # no cycle moves it itself
    await _switch_to_gateway(
        hass, entry, "B001", {"gateway_meter": "b001-meter", "gateway_valve": "b001-valve"}
    )
    options = {"pump_gateway_device": "pump-vfd", "pump_gateway_id": "gw1"}
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    plant, source = coordinator.plant, coordinator.plant.gateway
    assert source is not None
    await _read_once(hass, entry, "pump-vfd", {"speed_feedback": 80.0})
    assert plant.simulator.pump_speed == pytest.approx(0.80)
    await _status(hass, "offline")
    async with coordinator.engine_lock:
        await coordinator.async_send({}, 0.7)
    assert plant.pump_failed  # told to the loop as not sent (commanded(pump_sent=False))
    assert plant.pump_held == (source.holding["pump:pump-vfd"], 0.7)
    assert plant.simulator.pump_speed == pytest.approx(0.80)  # the drive runs as it did
    await _online_and_confirmed(hass, mqtt_mock, coordinator, 70.0)
    assert plant.pump_held is None
    assert plant.simulator.pump_speed == pytest.approx(0.70)
    link = gateway_link(source)
    assert (link["held_commands"], link["held_sent"], link["held_confirmed"]) == (1, 1, 1)
    await cycles(hass, entry, 1)
    assert coordinator.last_update_success
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_unanswered_command_goes_again_when_the_gateway_comes_back(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """Sent while the gateway was online but not answered (it dropped off before taking it,
    and stayed away longer than the re-asks): sent again on its ``online``; only the valve's
    last command, and not one its cycle already counted lost."""
    clock = Clock()
    source = await _ready(hass, clock, hold_s=120.0)
    await _status(hass, "online")
    first = await source.async_set_opening("B001", 0.3)
    second = await source.async_set_opening("B001", 0.4)  # supersedes the first
    await _status(hass, "offline")
    await _status(hass, "online")
    assert _ids(mqtt_mock) == [first, second, second]
    assert source.command_status("B001", answer_s=120.0) == "pending"
    clock.now += 121.0  # the cycle's answer window passed: no_result, never sent again
    assert source.command_status("B001", answer_s=120.0) == "no_result"
    await _status(hass, "offline")
    await _status(hass, "online")
    assert _ids(mqtt_mock) == [first, second, second]
    source.stop()


async def test_an_unknown_status_is_counted_and_changes_nothing(
    hass: HomeAssistant, mqtt_mock
) -> None:
    clock = Clock()
    source = await _ready(hass, clock)
    await _status(hass, "maybe")
    assert source.invalid == 1
    assert source.status == {}
    assert await source.async_set_opening("B001", 0.3) is not None
    assert len(_ids(mqtt_mock)) == 1  # a gateway not known offline gets it at once
    source.stop()


def _issue(hass: HomeAssistant, entry_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{entry_id}_gateway_offline")


@pytest.mark.parametrize(("cycle_minutes", "repair_s"), [(1, OFFLINE_REPAIR_S), (30, 1800.0)])
async def test_a_gateway_offline_for_a_cycle_or_five_minutes_raises_the_repair(
    hass: HomeAssistant, mqtt_mock, cycle_minutes: int, repair_s: float
) -> None:
    """The threshold is max(5 min, one cycle): a routine restart raises nothing, a gateway
    away for a whole acquisition period (§4.3.4) is named before its readings go stale."""
    entry = await add_network(hass, options={"cycle_minutes": cycle_minutes})
    await _switch_to_gateway(
        hass, entry, "B001", {"gateway_meter": "b001-meter", "gateway_valve": "b001-valve"}
    )
    source = entry.runtime_data.coordinator.plant.gateway
    assert source is not None
    now = dt_util.utcnow().timestamp()
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch([(1, now, "b001-meter", {"flow": 1.0})]))
    await _status(hass, "online")
    await _status(hass, "offline")  # an add-on restart …
    await _later(hass, repair_s - 30.0)
    await _status(hass, "online")  # … is back within the threshold: no repair
    await _later(hass, repair_s + 1.0)
    assert _issue(hass, entry.entry_id) is None
    await _status(hass, "offline")  # down for good
    async_fire_mqtt_message(hass, "heatbalance/gw/gw9/status", "offline")  # not this network's
    await _later(hass, 2 * repair_s + 2.0)
    issue = _issue(hass, entry.entry_id)
    assert issue is not None
    assert issue.severity == ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["gateways"] == "gw1"
    assert issue.translation_placeholders["minutes"] == f"{repair_s / 60:g}"
    assert gateway_link(source)["status"] == {"gw1": "offline", "gw9": "offline"}
    assert gateway_link(source)["offline_repair_s"] == repair_s
    await _status(hass, "online")
    assert _issue(hass, entry.entry_id) is None  # cleared at once
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_configured_gateway_that_never_comes_online_raises_the_repair(
    hass: HomeAssistant, mqtt_mock
) -> None:
    entry = await add_network(hass)
    names = {"gateway_meter": "b001-meter", "gateway_valve": "b001-valve", "gateway_id": "gw7"}
    await _switch_to_gateway(hass, entry, "B001", names)
    source = entry.runtime_data.coordinator.plant.gateway
    assert source is not None
    assert source.repair_s == 1800.0  # the default cycle, 30 min
    await _later(hass, source.repair_s - 10.0)
    assert _issue(hass, entry.entry_id) is None
    await _later(hass, source.repair_s + 1.0)
    issue = _issue(hass, entry.entry_id)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["gateways"] == "gw7"
    async_fire_mqtt_message(hass, "heatbalance/gw/gw7/status", "online")
    await hass.async_block_till_done()
    assert _issue(hass, entry.entry_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_operator_is_told_plainly_that_his_command_is_held(
    hass: HomeAssistant, mqtt_mock
) -> None:
    """An operator's valve command to an offline gateway fails at once with what happens to
    it (held, carried out when the gateway is back within half a cycle), not after 10 s of
    waiting for an answer that cannot come; it goes out when the gateway is online."""
    entry = await add_network(hass)
    await _switch_to_gateway(
        hass, entry, "B001", {"gateway_meter": "b001-meter", "gateway_valve": "b001-valve"}
    )
    coordinator = entry.runtime_data.coordinator
    source = coordinator.plant.gateway
    assert source is not None
    await _read_once(hass, entry, "b001-valve", {"position_feedback": 50.0})
    await _status(hass, "offline")
    sent = _ids(mqtt_mock)  # the cycle's own commands, if it moved the valve
    with pytest.raises(HomeAssistantError, match="offline") as err:
        await async_set_opening(coordinator, "B001", 0.4)
    assert err.value.translation_key == "command_held"
    assert _ids(mqtt_mock) == sent
    held = source.last_command["B001"][0]
    await _status(hass, "online")  # the operator's command goes; the cycle's it replaced not
    assert _ids(mqtt_mock) == [*sent, held]
    assert await hass.config_entries.async_unload(entry.entry_id)
