"""Operator settings reach the engine whole, also around a running cycle and a confirmed
proposal (issue 10 items 4 and 5; §5.3.6-3, §5.3.6-6)."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant

from .conftest import add_network, cycles


async def test_a_confirmed_proposals_pump_speed_is_told_to_the_controller(
    hass: HomeAssistant,
) -> None:
    """§5.3.6-6 with §5.3.6-3: the manual proposal's pump speed (0.977, from full speed),
    confirmed after the operator narrowed the pump's step to 1 %, goes out at 0.99, and the
    controller records 0.99 as its last speed and speed change — as for a cycle's own
    command. Before, the step's held pump stayed forgotten: no speed, no change recorded."""
    entry = await add_network(hass, options={"algorithm": "ai", "mode": "manual", "level": "advanced"})
    coordinator = entry.runtime_data.coordinator
    await cycles(hass, entry, 1)
    assert coordinator.data.pump_command == pytest.approx(0.977, abs=0.002)
    options = dict(entry.options) | {"max_pump_step": 1}  # the options dialog's change
    hass.config_entries.async_update_entry(entry, options=options)
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
