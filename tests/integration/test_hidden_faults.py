"""Faults of the HA entities themselves, found by running the product path on networks and
faults it had not seen (10x, ninth session; ``bench_product_faults --combined``).

A simulated "field" plant stands behind HA entities (``devtools.field_plant``); its valves
are real entities of HA's valve component. Here one of them refuses every command.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.heatbalance.engine.loader import load_network
from devtools.field_plant import FieldPlant, Instruments, async_field_in_auto
from devtools.field_plant import async_field_cycles as _run

from .conftest import RaisedAlarms, add_network

OUTDOOR = "sensor.field_outdoor"
VICTIM = "B007"


async def _field_entry(hass: HomeAssistant) -> tuple[Any, FieldPlant]:
    """estate12, AI controller, every building on the field's entities (1 % noise)."""
    network = load_network("estate12")
    hass.states.async_set(OUTDOOR, str(network.design.outdoor_c), {"unit_of_measurement": "°C"})
    options = {"algorithm": "ai", "outdoor_entity": OUTDOOR, "mode": "manual"}
    entry = await add_network(hass, options=options)
    return entry, await async_field_in_auto(hass, entry, network, Instruments(noise=0.01))


def _refusing(field: FieldPlant, error: Exception) -> None:
    """The victim's valve entity raises ``error`` on every position command."""
    valve = field.valves[field.inlets.index(VICTIM)]

    async def refuse(position: int) -> None:
        raise error

    valve.async_set_valve_position = refuse


@pytest.mark.parametrize(
    "error",
    [
        HomeAssistantError("valve in local mode"),  # as HA asks integrations to refuse
        ConnectionError("no response from the valve's controller"),  # a bare error let through
    ],
    ids=["ha_error", "bare_error"],
)
async def test_a_valve_refusing_commands_is_named_and_the_others_regulate(
    hass: HomeAssistant, error: Exception
) -> None:
    """A valve entity that refuses every command (§5.3.8-4): every cycle completes, the
    other valves are moved, and a command/feedback alarm names that valve within
    ``alarm_cycles`` + 2 cycles; no other valve is named.

    Before: a bare error (not ``HomeAssistantError``) ended the coordinator's cycle in the
    middle of the dispatch — the valves after it got nothing, what had been sent was not
    recorded, and the other buildings were pushed out of band (false deviation alarms on
    gen15-tree4); a refused command was only logged, so the valve was named only by its
    deviation after 12 cycles, or never where its flow happened to lie in band. And the
    command/feedback alarm (the gateway's too) carried its answer as ``status``, which
    overwrote the event's own ``status``: "raised" never reached the bus, the event entity
    or automations."""
    entry, field = await _field_entry(hass)
    coordinator = entry.runtime_data.coordinator
    _refusing(field, error)
    raised = RaisedAlarms(hass)
    n = coordinator.settings.alarm_cycles + 2
    moved: set[str] = set()
    for k in range(1, n + 1):
        raised.cycle = k
        before = len(field.moves)
        await _run(hass, entry, field, 1)
        assert coordinator.last_update_success, f"cycle {k} failed"
        moved |= {iid for iid, _, _ in field.moves[before:]}
    assert moved - {VICTIM}, "no other valve was moved"
    unconfirmed = [a for _, a in raised if a["reason"] == "command_unconfirmed"]
    assert unconfirmed, raised
    assert {a["location"] for a in unconfirmed} == {VICTIM}
    assert unconfirmed[0]["answer"] == "refused"
    assert "was not confirmed (refused)" in unconfirmed[0]["description"]
    assert field.opening(VICTIM) == pytest.approx(1.0)  # it never moved
