"""Add-on ↔ integration compatibility and what a gateway really delivers (issue 10, 10g).

Real parts: a pymodbus server holding the registers of heat meters, the gateway add-on as its
own process, a real mosquitto and Home Assistant's MQTT client. The add-on sends its link
protocol with every batch and a retained birth message (``…/info``: protocol, version, each
device's point keys):

* the add-on of this release (protocol 2, energy in kWh): its counters reach the inlet, and a
  heat meter whose profile has no ``energy`` point is named in the repair
  ``gateway_signals``, its heat balance left out of the data check (§4.3.2/§4.3.3, the meter
  check §3.0.7-1) and its energy counted in no transmission (§6.0.6);
* the add-on from before the kWh change (run from the repository's history: it publishes
  energy in MWh and says no protocol): no energy counter is taken (it would be 1000× small),
  the repair ``gateway_protocol`` names the gateway; flow still arrives.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from heatbalance_gateway import codec
from heatbalance_gateway.topics import PROTOCOL as ADDON_PROTOCOL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pymodbus.simulator import DataType, SimData, SimDevice

from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.networks import builtin_path
from custom_components.heatbalance.gateway_protocol import PROTOCOL
from custom_components.heatbalance.gateway_source import GatewaySource
from custom_components.heatbalance.repairs import async_gateway_issues
from custom_components.heatbalance.requirements import meter_checks
from custom_components.heatbalance.settings import InletConfig, Settings
from devtools.gateway_proc import GatewayProcess
from devtools.real_mqtt import gateway_config, ha_on_mosquitto
from tests.addon.modbus_sim import SimServer

from .conftest import add_network, polling_off

ROOT = Path(__file__).resolve().parents[2]
OLD_ADDON = "2984dda^"  # the add-on just before energy counters in kWh (it publishes MWh)


def _point(key: str, address: int, kind: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": key, "address": address, "function": "input", "type": kind} | extra


# A site's heat meter (energy register in 0.001 MWh) and a flow meter without an energy point
HEAT_METER = {
    "name": "site_heat_meter",
    "points": [
        _point("flow", 0, "float32", unit="m³/h"),
        _point("energy", 2, "uint32", unit="MWh", scale=0.001, device_class="energy"),
        _point("supply_temperature", 4, "float32", unit="°C"),
        _point("return_temperature", 6, "float32", unit="°C"),
    ],
}
FLOW_METER = {
    "name": "site_flow_meter",
    "points": [
        _point("flow", 0, "float32", unit="m³/h"),
        _point("supply_temperature", 4, "float32", unit="°C"),
        _point("return_temperature", 6, "float32", unit="°C"),
    ],
}
RAW_ENERGY = 36_000  # 36 MWh = 36,000 kWh


def _device(device_id: int) -> SimDevice:
    registers = [
        *codec.encode(12.5, "float32", "big"),
        *codec.encode(RAW_ENERGY, "uint32", "big"),
        *codec.encode(70.0, "float32", "big"),
        *codec.encode(50.0, "float32", "big"),
    ]
    bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    holding = [SimData(0, values=[0] * 8, datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=registers, datatype=DataType.REGISTERS)]
    return SimDevice(device_id, simdata=(bits, bits, holding, inputs))


def _gateway(tmp_path: Path, port: int, server_port: int, addon: Path | None) -> GatewayProcess:
    """The gateway ``gw1`` polling ``b001-meter`` (heat meter) and ``b002-meter`` (flow
    meter, no energy point); ``addon``: another release's package folder."""
    profiles = tmp_path / "profiles"
    profiles.mkdir(exist_ok=True)
    for profile in (HEAT_METER, FLOW_METER):
        (profiles / f"{profile['name']}.yaml").write_text(yaml.safe_dump(profile), "utf-8")
    devices = [
        {"name": "b001-meter", "device_id": 1, "profile": "site_heat_meter", "poll_interval": 0.5},
        {"name": "b002-meter", "device_id": 2, "profile": "site_flow_meter", "poll_interval": 0.5},
    ]
    bus = {"name": "line1", "type": "tcp", "host": "127.0.0.1", "port": server_port}
    bus |= {"timeout": 1.0, "devices": devices}
    config = gateway_config(tmp_path, port, buses=[bus], profile_dirs=[str(profiles)])
    if addon is None:
        return GatewayProcess(tmp_path / "gw", config)
    return GatewayProcess(tmp_path / "gw", config, addon=addon)


def _old_addon(folder: Path) -> Path:
    """The add-on package as it was before the kWh change, from the repository's history."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the repository's git history (the old add-on release)")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", OLD_ADDON, "addon/heatbalance_gateway"],
        capture_output=True,
        check=True,
    ).stdout
    folder.mkdir()
    subprocess.run(["tar", "x", "-C", str(folder)], input=archive, check=True)
    return folder / "addon"


async def _until(predicate: Any) -> None:
    for _ in range(1200):  # a guard against a hang only
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway's readings never arrived")


def _issue(hass: HomeAssistant, entry_id: str, kind: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{entry_id}_{kind}")


def test_addon_and_integration_speak_one_protocol() -> None:
    """The add-on's link protocol is the one this integration reads (bump both together)."""
    assert ADDON_PROTOCOL == PROTOCOL == 2


@pytest.mark.slow
async def test_this_addon_says_its_protocol_and_a_meter_without_energy_is_repaired(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    inlets = {
        iid: InletConfig(f"s{iid}", iid, source="gateway", gateway_meter=f"{iid.lower()}-meter")
        for iid in ("B001", "B002")
    }
    network = load_network(builtin_path("estate12"))  # type: ignore[arg-type]
    settings = Settings.from_options({})
    async with (
        ha_on_mosquitto(hass, tmp_path) as broker,
        SimServer([_device(1), _device(2)]) as server,
    ):
        gateway = _gateway(tmp_path, broker.port, server.port, None)
        source = GatewaySource(hass, {iid: (c.gateway_meter, None) for iid, c in inlets.items()})
        try:
            await source.async_start()
            gateway.start()
            await _until(lambda: source.reading("B002", 600).flow_m3h is not None)
            await _until(lambda: source.reading("B001", 600).heat_kwh is not None)
            assert source.info["gw1"]["protocol"] == PROTOCOL
            assert source.incompatible() == {}
            assert source.points()["b002-meter"] == {
                "flow",
                "supply_temperature",
                "return_temperature",
            }
            heat, flow = source.reading("B001", 600), source.reading("B002", 600)
            assert heat.heat_kwh == pytest.approx(36_000.0)  # 36 MWh in kWh
            # §6.0.6: the energy counter is a transmitted signal of the heat meter only
            assert (heat.attempted, heat.received) == (4, 4)
            assert (flow.attempted, flow.received) == (3, 3)
            checks = meter_checks(network, settings, inlets, source.points())
            assert "heat_balance" in checks["B001"]
            assert "heat_balance" not in checks["B002"]  # it believed so before the info
            assert "heat_balance" in meter_checks(network, settings, inlets)["B002"]
            await async_gateway_issues(hass, "e1", "estate12", network, settings, inlets, source)
            issue = _issue(hass, "e1", "gateway_signals")
            assert issue is not None
            assert issue.translation_placeholders is not None
            lines = issue.translation_placeholders["signals"].splitlines()
            assert [line.split(":")[0] for line in lines] == ["- B002"], lines
            assert "energy counter" in lines[0]
            assert _issue(hass, "e1", "gateway_protocol") is None
            assert gateway.stop() == 0
        finally:
            gateway.kill()
            source.stop()


@pytest.mark.slow
async def test_an_addon_from_before_kwh_raises_the_repair_and_gives_no_energy(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    old = _old_addon(tmp_path / "old")
    entry = await add_network(hass, "estate12", options={"mode": "manual"})
    async with (
        ha_on_mosquitto(hass, tmp_path) as broker,
        SimServer([_device(1), _device(2)]) as server,
    ):
        gateway = _gateway(tmp_path, broker.port, server.port, old)
        try:
            sub = next(s for s in entry.subentries.values() if s.data["inlet_id"] == "B001")
            mapping = {"source": "gateway", "gateway_meter": "b001-meter", "gateway_valve": ""}
            hass.config_entries.async_update_subentry(entry, sub, data=dict(sub.data) | mapping)
            await hass.async_block_till_done()
            coordinator = entry.runtime_data.coordinator
            source = coordinator.plant.gateway
            assert source is not None
            assert _issue(hass, entry.entry_id, "gateway_protocol") is None
            gateway.start()
            await _until(lambda: source.reading("B001", 600).flow_m3h is not None)
            await polling_off(hass, entry)  # the cycle below is the one that sees the addon
            await coordinator.async_refresh()
            await hass.async_block_till_done()
            issue = _issue(hass, entry.entry_id, "gateway_protocol")
            assert issue is not None
            assert issue.severity == ir.IssueSeverity.ERROR
            assert issue.translation_placeholders is not None
            assert issue.translation_placeholders["gateways"].startswith("gw1 (protocol 1")
            reading = coordinator.data.inlets["B001"].reading
            assert reading.flow_m3h == pytest.approx(12.5)
            assert reading.heat_kwh is None  # not 36.0 "kWh": the old add-on's MWh
            assert source.live["b001-meter"].values.get("flow") == pytest.approx(12.5)
            assert "energy" not in source.live["b001-meter"].values
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
        finally:
            gateway.kill()
