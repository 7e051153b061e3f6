"""Meter consistency through the gateway (issue 9 item 4, issue 10 item 1; §3.0.7-1, §4.1.2).

The whole chain with its real parts: the virtual plant (the engine's Simulator served as
Modbus heat meters and valves by a real pymodbus server, ``scripts/virtual_plant.py``) → the
gateway add-on as its own process → a real mosquitto → Home Assistant's MQTT client → the
integration's gateway source → the engine's meter check. Each heat meter's energy register
counts 0.001 MWh; the gateway publishes it in kWh, and the inlet's reading carries it as the
heat-meter counter. The substation's flow meter is a gateway device too (Options →
Acquisition). A building's flow meter reading 20 % high is named by the meter check, as
tests/integration/test_faults.py asserts for HA entities.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from heatbalance_gateway import codec
from homeassistant.core import HomeAssistant, callback
from pymodbus.simulator import DataType, SimData, SimDevice

from custom_components.heatbalance.const import EVENT_ALARM
from custom_components.heatbalance.gateway_source import GatewaySource
from custom_components.heatbalance.requirements import meter_checks
from devtools.gateway_field import GatewayField
from devtools.gateway_proc import GatewayProcess
from devtools.real_mqtt import gateway_config, ha_on_mosquitto
from scripts.virtual_plant import SUBSTATION_METER
from tests.addon.modbus_sim import SimServer

from .conftest import add_network, polling_off

OUTDOOR = "sensor.field_outdoor"


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


@pytest.mark.slow
async def test_biased_flow_meter_on_the_gateway_named_by_the_meter_check(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    """estate12, every building's heat meter and valve on the gateway (1 % noise on flow and
    temperatures), the substation meter a gateway device, B007's flow meter +20 %: the
    energy counters reach the engine in kWh (the register's 0.001 MWh converted), and the
    meter check raises an equipment fault naming B007 within 12 cycles — no other inlet is
    accused of a meter fault."""
    network_name = "estate12"
    entry = await add_network(
        hass, network_name, options={"algorithm": "ai", "outdoor_entity": OUTDOOR}
    )
    coordinator = entry.runtime_data.coordinator
    network = coordinator.network
    hass.states.async_set(OUTDOOR, str(network.design.outdoor_c), {"unit_of_measurement": "°C"})
    field = GatewayField(
        hass, network, tmp_path, list(coordinator.inlets), noise=0.01, substation_meter=True
    )
    try:
        await field.async_start()
        options = dict(entry.options) | {
            "mode": "manual",  # nothing moves while the inlets are mapped (each reloads)
            "substation_flow_gateway_device": SUBSTATION_METER,
        }
        hass.config_entries.async_update_entry(entry, options=options)
        await hass.async_block_till_done()
        await field.async_map(entry)
        coordinator = entry.runtime_data.coordinator
        checks = meter_checks(network, coordinator.settings, coordinator.inlets)
        assert all(c == ["heat_balance", "mass_balance"] for c in checks.values()), checks
        field.virtual.set_flow_bias("B007", 1.2)
        field.start_polling()
        await field.async_fresh(coordinator, 0.0)
        hass.config_entries.async_update_entry(entry, options=options | {"mode": "auto"})
        await hass.async_block_till_done()
        alarms: list[dict[str, Any]] = []
        hass.bus.async_listen(EVENT_ALARM, callback(lambda e: alarms.append(dict(e.data))))
        counters = []
        await polling_off(hass, entry)  # no timer cycle between a cycle and the field's answer
        for _ in range(12):
            await coordinator.async_refresh()
            await hass.async_block_till_done()
            meters = coordinator.memory.loop.controller.meters
            counters.append((meters.inlets["B003"].heat_kwh, field.sim.state().inlets["B003"]))
            if any("meter" in a["description"] for a in alarms):
                break
            await field.async_after_cycle(coordinator, coordinator.plant.cycle_s)
        # the engine's counter is the plant's heat in kWh, to the register's 1 kWh
        for kwh, truth in counters:
            assert kwh == pytest.approx(truth.heat_kwh, abs=1.0)
        assert counters[-1][0] > 100.0  # it counted (B003 takes ≈ 770 kW)
        station = coordinator.plant.gateway.device_flow(SUBSTATION_METER, stale_s=3600.0)
        assert station == pytest.approx(field.sim.state().pump.flow_m3h, rel=0.05)
        meter = [a for a in alarms if "meter" in a["description"]]
        assert meter, alarms
        assert {a["location"] for a in meter} == {"B007"}
        assert {a["alarm_type"] for a in meter} == {"equipment_fault"}
        print(f"named at cycle {len(counters)}")
    finally:
        field.gateway.kill()
        await hass.config_entries.async_unload(entry.entry_id)
        await field.async_stop()


# A site's Modbus heat meter whose energy register counts 0.01 GJ (common on Chinese meters)
GJ_METER = {
    "name": "gj_heat_meter",
    "points": [
        {"key": "flow", "name": "Flow", "address": 0, "function": "input", "type": "float32"}
        | {"unit": "m³/h"},
        {"key": "energy", "name": "Heat", "address": 2, "function": "input", "type": "uint32"}
        | {"unit": "GJ", "scale": 0.01, "device_class": "energy"},
    ],
}


@pytest.mark.slow
async def test_energy_counter_in_gj_reaches_the_inlet_in_kwh(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    """A site profile's energy register in 0.01 GJ (raw 36,000 = 360 GJ), served by a real
    pymodbus server and read by the real gateway process: the inlet's reading carries
    100,000 kWh (1 GJ = 277.8 kWh) as its heat-meter counter, beside the flow."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "gj_heat_meter.yaml").write_text(yaml.safe_dump(GJ_METER), encoding="utf-8")
    registers = codec.encode(12.5, "float32", "big") + codec.encode(36_000, "uint32", "big")
    device = SimDevice(
        1,
        simdata=(
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[0] * 4, datatype=DataType.REGISTERS)],
            [SimData(0, values=registers, datatype=DataType.REGISTERS)],
        ),
    )
    async with ha_on_mosquitto(hass, tmp_path) as broker, SimServer([device]) as server:
        bus = {
            "name": "line1",
            "type": "tcp",
            "host": "127.0.0.1",
            "port": server.port,
            "timeout": 1.0,
            "devices": [
                {"name": "b1-meter", "device_id": 1, "profile": "gj_heat_meter"}
                | {"poll_interval": 0.5}
            ],
        }
        config = gateway_config(tmp_path, broker.port, buses=[bus], profile_dirs=[str(profiles)])
        gateway = GatewayProcess(tmp_path / "gw", config)
        source = GatewaySource(hass, {"B1": ("b1-meter", None)})
        try:
            await source.async_start()
            gateway.start()
            for _ in range(1200):  # guard against a hang only
                await asyncio.sleep(0.05)
                if source.reading("B1", stale_s=600).heat_kwh is not None:
                    break
            reading = source.reading("B1", stale_s=600)
            assert reading.flow_m3h == pytest.approx(12.5)
            assert reading.heat_kwh == pytest.approx(100_000.0, rel=1e-9)
            assert gateway.stop() == 0
        finally:
            gateway.kill()
            source.stop()
