"""A valve command whose answer is lost is asked again until the gateway answers (§4.3.5).

Real chain: the virtual plant's Modbus valve and meter, the gateway add-on as its own process,
a real mosquitto, Home Assistant's MQTT client and the integration's gateway source. The
add-on subscribes with a clean session, so a command published while it is reconnecting (a
missed keepalive under load, a restart) never reaches it; a result it publishes with no uplink
never leaves it. Before, such a command stayed without any answer: the valve did not move for
a cycle, and `devtools/gateway_field` waited out its guard (the flaky `test_gateway_start`).
Now the source asks again with the same request id; the gateway runs an id at most once and
answers a repeat from its outbox.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.gateway_source import RESEND_S, RESENDS, async_attach
from devtools.gateway_proc import GatewayProcess, until
from devtools.real_mqtt import (
    async_valve_reported,
    ha_on_mosquitto,
    one_inlet_plant,
    one_valve_gateway,
)
from scripts import virtual_plant as vp

INLET = "B004"
DEVICES = ("b004-meter", "b004-valve")


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


@pytest.mark.slow
async def test_command_sent_while_the_gateway_was_away_is_answered(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    virtual = vp.VirtualPlant(vp.load_simulator("estate12"), port=0, speed=1e-9)  # bound: no race
    async with ha_on_mosquitto(hass, tmp_path) as broker, virtual:
        config = one_valve_gateway(tmp_path, broker.port, virtual, DEVICES)
        gateway = GatewayProcess(tmp_path / "gw", config)
        plant = one_inlet_plant(INLET, *DEVICES)
        source = await async_attach(hass, plant)
        assert source is not None
        try:
            gateway.start()
            await async_valve_reported(hass, plant, INLET)
            gateway.kill()  # the add-on drops off the broker …
            # sent to nobody; or held, no move until confirmed, when the broker's will (sent
            # as soon as the killed process's socket closed) came first
            unsent = await plant.async_dispatch(hass, {INLET: 0.2}, None)
            assert unsent == ({INLET} if source.held_by(INLET) else set())
            ((request, _sent),) = source.last_command.values()
            await asyncio.sleep(0.5)  # … the command is at the broker, nobody to take it
            gateway.start()  # … and reconnects with a clean session
            guard = RESEND_S * RESENDS + 10.0
            await until(lambda: request in source.results, "an answer to the command", guard)
            assert source.results[request]["status"] == "confirmed"
            assert float(virtual.sim.openings[virtual.sim.ids.index(INLET)]) == pytest.approx(0.2)
        finally:
            source.stop()
            gateway.kill()
