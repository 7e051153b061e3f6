"""An M-Bus heat meter reaches an inlet end to end (issue 11 item 6, §6.0.4), its energy
counter in kWh (issue 9 item 4: the meter check's heat balance).

Virtual M-Bus line (a real TCP server speaking EN 13757 frames, as an M-Bus-over-TCP
converter; one meter by primary, one by secondary address) → the real gateway process (an
``mbus_tcp`` bus, pyMeterBus decoding) → outbox → real mosquitto → Home Assistant's own MQTT
client → the integration's ``GatewaySource`` → the inlets' readings.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.gateway_source import GatewaySource
from devtools.gateway_proc import GatewayProcess
from devtools.mbus_meter import MBusLine, VirtualMeter
from devtools.real_mqtt import gateway_config, ha_on_mosquitto


@pytest.mark.slow
async def test_mbus_heat_meters_reach_the_inlets(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Any
) -> None:
    meters = [
        VirtualMeter(address=3, ident=30303030, flow_lh=2_400, supply_c=71.5, return_c=44.25),
        VirtualMeter(
            address=0, ident=40404040, flow_lh=900, supply_c=68.0, return_c=50.5, energy_kwh=98_765
        ),
    ]
    ident = meters[1].secondary
    async with ha_on_mosquitto(hass, tmp_path) as broker, MBusLine(meters) as line:
        bus = {
            "name": "mbus1",
            "type": "mbus_tcp",
            "host": "127.0.0.1",
            "port": line.port,
            "timeout": 1.0,
            "devices": [
                {"name": "b1-meter", "address": 3, "poll_interval": 0.5},
                {
                    "name": "b2-meter",
                    "secondary_address": ident[3::-1].hex() + ident[4:].hex(),
                    "poll_interval": 0.5,
                },
            ],
        }
        gateway = GatewayProcess(
            tmp_path / "gw", gateway_config(tmp_path, broker.port, buses=[bus])
        )
        source = GatewaySource(
            hass, {"B1": ("b1-meter", None), "B2": ("b2-meter", None)}, owners={"B1": "gw1"}
        )
        try:
            await source.async_start()
            gateway.start()
            for _ in range(1200):  # guard against a hang only
                await asyncio.sleep(0.05)
                readings = [source.reading(i, stale_s=600) for i in ("B1", "B2")]
                if all(r.flow_m3h is not None for r in readings):
                    break
            b1, b2 = (source.reading(i, stale_s=600) for i in ("B1", "B2"))
            assert (b1.flow_m3h, b1.supply_c, b1.return_c) == pytest.approx((2.4, 71.5, 44.25))
            assert (b2.flow_m3h, b2.supply_c, b2.return_c) == pytest.approx((0.9, 68.0, 50.5))
            live = source.live["b1-meter"].values
            assert (live["power"], live["volume"]) == pytest.approx((45.6, 7890.0))
            # the meter's energy record (8-digit BCD in kWh by its VIF) reaches the inlet's
            # reading as its heat-meter counter in kWh (§4.1.2, engine/meters.py)
            assert (b1.heat_kwh, b2.heat_kwh) == pytest.approx((123_456.0, 98_765.0))
            # both addressing modes were used on the wire: SND_NKE at 3, a selection at FDh
            assert any(f[:3] == b"\x10\x40\x03" for f in line.frames)
            assert any(f[0] == 0x68 and f[5] == 0xFD and f[6] == 0x52 for f in line.frames)
            assert gateway.stop() == 0
        finally:
            gateway.kill()
            source.stop()
