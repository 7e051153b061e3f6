"""One valve command sent as the gateway goes away for ``BENCH_GAP`` s: answered or lost?

Run by ``benchmarks/bench_gateway_link.py restart`` in HA's test harness (real add-on,
mosquitto, HA's MQTT client, the virtual plant), default re-asks (every 5 s, 6 times). Uses only
the source's API older than issue 10 item 6, so it runs on an older checkout too
(copy it and ``devtools/real_mqtt.py`` there). Prints; does
not assert on the outcome.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.const import SOURCE_GATEWAY
from custom_components.heatbalance.gateway_source import async_attach
from custom_components.heatbalance.plant import Plant
from custom_components.heatbalance.settings import InletConfig, Settings
from devtools.gateway_proc import GatewayProcess, until
from devtools.real_mqtt import gateway_config, ha_on_mosquitto
from scripts import virtual_plant as vp

INLET, DEVICES = "B004", ("b004-meter", "b004-valve")
GAP = float(os.environ.get("BENCH_GAP", "40"))


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running."""
    return True


@pytest.mark.parametrize("away", ["stop", "kill"])
async def test_command_across_a_gateway_restart(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path, away: str
) -> None:
    """Print the outcome of one command sent as the gateway goes away."""
    virtual = vp.VirtualPlant(vp.load_simulator("estate12"), port=0, speed=1e-9)
    async with ha_on_mosquitto(hass, tmp_path, birth=False) as broker, virtual:
        buses = [
            bus | {"devices": [d for d in bus["devices"] if d["name"] in DEVICES]}
            for bus in virtual.gateway_buses(poll_interval=0.2)
        ]
        config = gateway_config(tmp_path, broker.port, buses=[b for b in buses if b["devices"]])
        gateway = GatewayProcess(tmp_path / "gw", config)
        inlet = InletConfig(
            "s4", INLET, SOURCE_GATEWAY, gateway_meter=DEVICES[0], gateway_valve=DEVICES[1]
        )
        plant = Plant(vp.load_simulator("estate12"), {INLET: inlet}, Settings.from_options({}))
        source = await async_attach(hass, plant)
        assert source is not None
        try:
            gateway.start()
            for _ in range(1200):
                if (await plant.async_acquire(hass)).inlets[INLET].opening is not None:
                    break
                await asyncio.sleep(0.05)
            if away == "stop":
                gateway.stop()
            else:
                gateway.kill()
            await plant.async_dispatch(hass, {INLET: 0.2}, None)
            ((request, _sent),) = source.last_command.values()
            await asyncio.sleep(GAP)
            gateway.start()
            start = time.monotonic()
            try:
                await until(lambda: request in source.results, "an answer", 60.0)
                status = source.results[request]["status"]
                outcome = f"{status} {time.monotonic() - start:.1f} s after the restart"
            except AssertionError:
                outcome = "lost (no answer 60 s after the restart)"
            print(f"\ngateway {away}, away {GAP:.0f} s: {outcome}")
        finally:
            source.stop()
            gateway.kill()
