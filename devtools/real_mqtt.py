"""Home Assistant's own MQTT client on a real mosquitto, for the gateway chain tests and
benchmarks that run in HA's test harness (here, not in tests/: benchmarks use it too)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant

from devtools.broker import Mosquitto
from devtools.gateway_proc import plain_broker


@contextlib.asynccontextmanager
async def ha_on_mosquitto(
    hass: HomeAssistant, folder: Path, birth: bool = True
) -> AsyncIterator[Mosquitto]:
    """Start mosquitto on a free loopback port and set up HA's MQTT integration on it.

    ``birth=False`` for tests that kill the broker: HA's birth message after a reconnect races
    the next outage and its failure is reported as an error of the test."""
    from homeassistant.components import mqtt
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    broker = Mosquitto(folder / "broker")
    broker.start()
    entry = MockConfigEntry(
        domain="mqtt",
        data={"broker": "127.0.0.1", "port": broker.port},
        options={} if birth else {"birth_message": {}},
    )
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await mqtt.async_wait_for_mqtt_client(hass)
        yield broker
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        broker.stop()


def gateway_config(folder: Path, port: int, **extra: Any) -> dict[str, Any]:
    """A gateway ``gw1`` publishing to the broker on ``port``, its data under ``folder``."""
    return {
        "gateway_id": "gw1",
        "data_dir": str(folder / "gw" / "data"),
        "mqtt": {"main": plain_broker(port)},
        **extra,
    }


def one_valve_gateway(
    folder: Path, port: int, virtual: Any, devices: tuple[str, ...]
) -> dict[str, Any]:
    """Gateway ``gw1`` polling only ``devices`` of the virtual plant, every 0.2 s."""
    buses = [
        bus | {"devices": [d for d in bus["devices"] if d["name"] in devices]}
        for bus in virtual.gateway_buses(poll_interval=0.2)
    ]
    return gateway_config(folder, port, buses=[b for b in buses if b["devices"]])


def one_inlet_plant(inlet: str, meter: str, valve: str) -> Any:
    """The integration's own estate12 model (not the plant) with ``inlet`` on the gateway."""
    from custom_components.heatbalance.const import SOURCE_GATEWAY
    from custom_components.heatbalance.plant import Plant
    from custom_components.heatbalance.settings import InletConfig, Settings
    from scripts import virtual_plant as vp

    config = InletConfig("s4", inlet, SOURCE_GATEWAY, gateway_meter=meter, gateway_valve=valve)
    return Plant(vp.load_simulator("estate12"), {inlet: config}, Settings.from_options({}))


async def async_valve_reported(hass: HomeAssistant, plant: Any, inlet: str) -> None:
    """Wait until ``inlet``'s valve position has come through the gateway (guard: 30 s)."""
    for _ in range(600):  # guard against a hang only
        if (await plant.async_acquire(hass)).inlets[inlet].opening is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the valve never reported")
