"""The operator moves several gateway valves in one call (§5.3.6-6, §5.3.6-3): HA runs the
moves side by side (``valve.PARALLEL_UPDATES = 0``), each waiting on the coordinator's engine
lock only to send; no valve's move waits for another valve's read-back.

Real Home Assistant with its MQTT integration (``mqtt_mock``: the paho client is mocked, HA's
publish and subscription machinery is real), as ``test_gateway_source.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.heatbalance.const import DOMAIN, EVENT_AUDIT

from .conftest import add_network, cycles
from .test_gateway_source import METER, ROOT, _switch_to_gateway, batch

INLETS = ("B001", "B002")


@pytest.fixture
def expected_lingering_timers() -> bool:
    """mqtt_mock leaves HA's MQTT timers running (FACTS.md)."""
    return True


async def test_a_call_moving_two_gateway_valves_sends_both_before_either_answers(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    """Manual mode, B001 and B002 on the gateway: one ``valve.set_valve_position`` call for
    both. The gateway answers only once both commands are out (a field bus working through
    its queue). Both leave before either move is done, and both are confirmed. With
    ``PARALLEL_UPDATES = 1`` HA ran the moves one after the other: B002's command left only
    after B001's had waited out its read-back (``actions.COMMAND_ANSWER_S``, 10 s) — a call
    over n valves of a slow bus took up to n × 10 s."""
    entry = await add_network(hass, options={"mode": "manual"})
    for n, iid in enumerate(INLETS, 1):
        await _switch_to_gateway(
            hass, entry, iid, {"gateway_meter": f"m-{n}", "gateway_valve": f"v-{n}"}
        )
    coordinator = entry.runtime_data.coordinator
    source = coordinator.plant.gateway
    assert source is not None
    now = dt_util.utcnow().timestamp()
    source.clock = lambda: now
    valve = {"position_feedback": 50.0}
    readings = [(1, now, "m-1", METER), (2, now, "v-1", valve)]
    readings += [(3, now, "m-2", METER), (4, now, "v-2", valve)]
    async_fire_mqtt_message(hass, f"{ROOT}/data", batch(readings))
    await hass.async_block_till_done()
    await cycles(hass, entry, 1)

    moved: list[str] = []  # inlets whose move is done (its audit, §5.3.6-7)

    @callback
    def audited(event: Event) -> None:
        if event.data["action"] == "move_valve":
            moved.append(event.data["details"]["inlet"])

    hass.bus.async_listen(EVENT_AUDIT, audited)
    commands: dict[str, str] = {}  # device → request id (a re-ask repeats its id)
    done_at_send: list[int] = []  # moves already done when each valve's command first left

    async def gateway(topic: str, payload: Any, *_a: Any, **_k: Any) -> None:
        if topic != f"{ROOT}/cmd":
            return
        command = json.loads(payload)
        if command["device"] not in commands:
            commands[command["device"]] = command["request_id"]
            done_at_send.append(len(moved))
        if len(commands) == len(INLETS):  # both out: the bus answers them
            for request_id in commands.values():
                result = {"request_id": request_id, "status": "confirmed"}
                async_fire_mqtt_message(hass, f"{ROOT}/cmd/result", json.dumps(result))

    mqtt_mock.async_publish.side_effect = gateway
    registry = er.async_get(hass)
    valves = [
        registry.async_get_entity_id("valve", DOMAIN, f"{entry.entry_id}_{iid}_balancing_valve")
        for iid in INLETS
    ]
    assert None not in valves
    await hass.services.async_call(
        "valve", "set_valve_position", {"entity_id": valves, "position": 40}, blocking=True
    )
    assert done_at_send == [0, 0]  # both left before either move was done
    assert sorted(moved) == list(INLETS)
    for iid in INLETS:
        assert source.command_status(iid, 60) == "confirmed"
        assert coordinator.data.inlets[iid].command == pytest.approx(0.4)
