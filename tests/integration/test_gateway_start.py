"""A gateway that polls before Home Assistant starts: the first cycles move no valve blindly.

Real chain (issue 10 item 5, §5.3.6-3, §5.3.6-6): the virtual plant's Modbus meters and valves,
the gateway add-on as its own process, a real mosquitto, HA's MQTT integration. The gateway
runs already when the inlets are mapped to it (as on site: it is installed first), and the
plant's valves stand where the operator left them — not where the network file says. The
mapping's reload, the first cycles and a later reload (the operator moved valves by hand
meanwhile) must then:

* in manual mode move nothing at all (the proposal waits for the operator);
* in automatic mode move every valve at most the step limit from where it really stood.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from devtools.gateway_field import GatewayField

from .conftest import add_network, polling_off

MAX_STEP = 20  # % per command (§5.3.6-3), the operator's limit in these tests
STOOD = 0.30  # where the operator left the valves (the network file says fully open)
BY_HAND = 0.80  # where some of them are turned by hand while Home Assistant restarts


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


class Moves:
    """Every setpoint the plant's valves received, beside where the valve stood then."""

    def __init__(self, field: GatewayField) -> None:
        self.field = field
        self.seen: list[tuple[str, float, float]] = []  # (inlet, stood, commanded)

    def read(self) -> None:
        """What the plant (its own process) received so far; before it stops."""
        self.seen = self.field.virtual.moves

    def beyond(self, limit: float) -> list[tuple[str, float, float]]:
        """Moves larger than ``limit`` (0…1), beyond the command's 0.1 % resolution."""
        return [m for m in self.seen if abs(m[2] - m[1]) > limit + 1e-3]


async def _run(hass: HomeAssistant, tmp_path: Path, mode: str, owner: str) -> Moves:
    """Gateway polling first, then the mapping's reload and cycles, then valves turned by
    hand and a reload with cycles; the moves the plant received."""
    options = {"algorithm": "ai", "mode": mode, "max_step": MAX_STEP}
    entry = await add_network(hass, "estate12", options=options)
    coordinator = entry.runtime_data.coordinator
    field = GatewayField(hass, coordinator.network, tmp_path, list(coordinator.inlets))
    moves = Moves(field)
    await field.async_start()
    try:
        valves = sorted({d.inlet for d in field.virtual.devices if d.kind == "valve"})
        for iid in valves:
            field.virtual.turn(iid, STOOD)
        field.start_polling()
        await asyncio.sleep(1.0)  # the gateway has read the plant and forwards it
        await field.async_map(entry, owner)  # the reload's first cycle runs here
        await _cycles(hass, entry, field, 3)
        for iid in valves[::2]:  # turned by hand while Home Assistant is away
            field.virtual.turn(iid, BY_HAND)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        await _cycles(hass, entry, field, 2)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        moves.read()
    finally:
        await field.async_stop()
    return moves


async def _cycles(hass: HomeAssistant, entry: Any, field: GatewayField, n: int) -> None:
    """``n`` control cycles on fresh readings of every device, the plant one cycle on after
    each (the gateway answered the commands first). No timer cycle in between."""
    await polling_off(hass, entry)
    coordinator = entry.runtime_data.coordinator
    for _ in range(n):
        await field.async_fresh(coordinator, 0.0)
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        await field.async_after_cycle(coordinator, coordinator.plant.cycle_s)


@pytest.mark.slow
@pytest.mark.parametrize("owner", ["", "gw1"], ids=["first-reporter", "configured-gateway"])
async def test_automatic_start_moves_within_the_step_from_where_valves_stand(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path, owner: str
) -> None:
    moves = await _run(hass, tmp_path, "auto", owner)
    assert moves.seen, "the controller never moved a valve: nothing was checked"
    assert moves.beyond(MAX_STEP / 100.0) == [], str(moves.seen)


@pytest.mark.slow
async def test_manual_start_moves_nothing(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    moves = await _run(hass, tmp_path, "manual", "gw1")
    assert moves.seen == []
