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

from custom_components.heatbalance.const import SOURCE_GATEWAY
from custom_components.heatbalance.gateway_source import RESEND_S, RESENDS, async_attach
from custom_components.heatbalance.plant import Plant
from custom_components.heatbalance.settings import InletConfig, Settings
from devtools.gateway_proc import GatewayProcess, until
from scripts import virtual_plant as vp

from .real_mqtt import gateway_config, ha_on_mosquitto

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
        buses = [
            bus | {"devices": [d for d in bus["devices"] if d["name"] in DEVICES]}
            for bus in virtual.gateway_buses(poll_interval=0.2)
        ]
        config = gateway_config(tmp_path, broker.port, buses=[b for b in buses if b["devices"]])
        gateway = GatewayProcess(tmp_path / "gw", config)
        plant = Plant(
            vp.load_simulator("estate12"),  # the integration's own model, not the plant
            {
                INLET: InletConfig(
                    "s4", INLET, SOURCE_GATEWAY, gateway_meter=DEVICES[0], gateway_valve=DEVICES[1]
                )
            },
            Settings.from_options({}),
        )
        source = await async_attach(hass, plant)
        assert source is not None
        try:
            gateway.start()

            async def valve_read() -> bool:
                acq = await plant.async_acquire(hass)
                return acq.inlets[INLET].opening is not None

            for _ in range(600):  # guard against a hang only
                if await valve_read():
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the valve never reported")
            gateway.kill()  # the add-on drops off the broker …
            assert await plant.async_dispatch(hass, {INLET: 0.2}, None) == set()
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
