"""Gateway peers bound to identity, and one gateway link per config entry.

Issue 11 item 3: every inlet device belongs to one gateway id (configured on the inlet, else
the first that reports it); readings, command results and statistics about it from any other
gateway are ignored and logged, and commands go to the owner only. Issue 10 item 6: each entry
has its own topic base, Store and journal, so two networks share one broker.

Runs in a real Home Assistant test instance with its MQTT integration (``mqtt_mock``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.heatbalance.const import SOURCE_GATEWAY
from custom_components.heatbalance.diagnostics import gateway_link
from custom_components.heatbalance.gateway_source import GatewaySource
from custom_components.heatbalance.settings import default_gateway_devices

from .conftest import add_network, cycles, start_inlet_reconfigure
from .test_gateway_source import METER, batch

NOW = 1_800_000_000.0


@pytest.fixture
def expected_lingering_timers() -> bool:
    """mqtt_mock leaves HA's MQTT timers running (FACTS.md)."""
    return True


def _published(mqtt_mock: Any, topic: str) -> list[Any]:
    return [c.args[1] for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic]


async def _source(hass: HomeAssistant, owners: dict[str, str | None]) -> GatewaySource:
    devices = {iid: default_gateway_devices(iid) for iid in owners}
    source = GatewaySource(hass, devices, clock=lambda: NOW, owners=owners)
    await source.async_start()
    return source


def _fire(hass: HomeAssistant, gateway: str, leaf: str, payload: str) -> None:
    async_fire_mqtt_message(hass, f"heatbalance/gw/{gateway}/{leaf}", payload)


async def test_another_gateway_cannot_take_over_a_configured_inlet(
    hass: HomeAssistant, mqtt_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    source = await _source(hass, {"B001": "gw1"})
    valve = {"position_feedback": 40.0}
    with caplog.at_level(logging.WARNING):
        # gw2, inside its own ACL, reports gw1's devices first
        _fire(hass, "gw2", "data", batch([(1, NOW - 5, "b001-valve", {"position_feedback": 9})]))
        await hass.async_block_till_done()
        _fire(hass, "gw1", "data", batch([(1, NOW - 4, "b001-valve", valve)]))
        await hass.async_block_till_done()
    assert source.live["b001-valve"].gateway == "gw1"
    assert source.reading("B001", stale_s=600).opening == pytest.approx(0.40)
    assert gateway_link(source)["foreign"] == 1  # the diagnostics show it
    assert "Ignored a reading for b001-valve from gateway gw2" in caplog.text
    # gw2's batch is still acknowledged on its own topic: it must not resend it forever
    assert json.loads(_published(mqtt_mock, "heatbalance/gw/gw2/ack")[-1])["seq"] == 1

    request_id = await source.async_set_opening("B001", 0.5)
    assert request_id is not None
    assert _published(mqtt_mock, "heatbalance/gw/gw2/cmd") == []  # only the owner is asked
    assert json.loads(_published(mqtt_mock, "heatbalance/gw/gw1/cmd")[-1])["value"] == 50.0
    forged = {"request_id": request_id, "status": "confirmed", "device": "b001-valve"}
    _fire(hass, "gw2", "cmd/result", json.dumps(forged))
    await hass.async_block_till_done()
    assert request_id not in source.results
    _fire(hass, "gw1", "cmd/result", json.dumps({**forged, "status": "not_confirmed"}))
    await hass.async_block_till_done()
    assert source.results[request_id]["status"] == "not_confirmed"

    # statistics about gw1's devices from gw2 are dropped, gw1's own are used
    figures = {"first_try_rate": 100.0, "requests": 50}
    _fire(hass, "gw2", "stats", json.dumps({"devices": {"b001-valve": figures}}))
    await hass.async_block_till_done()
    assert source.link_rate("B001") is None
    _fire(hass, "gw1", "stats", json.dumps({"devices": {"b001-valve": {**figures, "requests": 7}}}))
    await hass.async_block_till_done()
    assert source.link_rate("B001") == (100.0, 7)
    assert gateway_link(source)["foreign"] == 3
    source.stop()


async def test_unconfigured_device_is_bound_to_its_first_gateway(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    source = await _source(hass, {"B001": None})
    _fire(hass, "gw1", "data", batch([(1, NOW - 5, "b001-meter", METER)]))
    await hass.async_block_till_done()
    _fire(hass, "gw2", "data", batch([(1, NOW - 4, "b001-meter", {**METER, "flow": 99.0})]))
    await hass.async_block_till_done()
    assert source.reading("B001", stale_s=600).flow_m3h == METER["flow"]
    stored = source.as_dict()
    assert stored["owners"] == {"b001-meter": "gw1"}
    source.stop()
    again = GatewaySource(hass, {"B001": default_gateway_devices("B001")}, clock=lambda: NOW)
    again.restore(stored)  # the binding survives a restart
    assert again.owner["b001-meter"] == "gw1"


async def _gateway_inlet(
    hass: HomeAssistant, entry: Any, inlet: str, device: str, gateway: str = "gw1"
) -> None:
    result = await start_inlet_reconfigure(hass, entry, inlet)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": SOURCE_GATEWAY, "link": "wired"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"gateway_meter": device, "gateway_valve": "", "gateway_id": gateway}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()


async def test_two_networks_on_one_broker_keep_their_own_link(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    """Two entries, two topic bases, each gateway's "gw1": readings and acks stay apart."""
    north = await add_network(hass, "estate12", options={"gateway_topic": "north"})
    south = await add_network(hass, "loop8", options={"gateway_topic": "south"})
    await _gateway_inlet(hass, north, "B001", "meter-a")
    await _gateway_inlet(hass, south, "B1", "meter-a")  # same device name, other network
    now = dt_util.utcnow().timestamp()
    async_fire_mqtt_message(
        hass, "north/gw/gw1/data", batch([(1, now, "meter-a", {**METER, "flow": 4.0})])
    )
    async_fire_mqtt_message(
        hass, "south/gw/gw1/data", batch([(1, now, "meter-a", {**METER, "flow": 6.0})], "s9")
    )
    await hass.async_block_till_done()
    await cycles(hass, north, 1)
    await cycles(hass, south, 1)
    n_source = north.runtime_data.coordinator.plant.gateway
    s_source = south.runtime_data.coordinator.plant.gateway
    assert (n_source.base, s_source.base) == ("north", "south")
    assert n_source.reading("B001", stale_s=600).flow_m3h == 4.0
    assert s_source.reading("B1", stale_s=600).flow_m3h == 6.0
    assert json.loads(_published(mqtt_mock, "north/gw/gw1/ack")[-1]) == {"stream": "s1", "seq": 1}
    assert json.loads(_published(mqtt_mock, "south/gw/gw1/ack")[-1]) == {"stream": "s9", "seq": 1}
    # each entry its own Store and journal
    assert n_source.key == north.entry_id
    assert s_source.key == south.entry_id
    assert n_source.backlog is not None
    assert s_source.backlog is not None
    assert n_source.backlog.journal.path != s_source.backlog.journal.path
    assert north.entry_id in n_source.backlog.journal.path
    stores = {src._store.key for src in (n_source, s_source) if src._store is not None}
    assert stores == {
        f"heatbalance.gateway_source.{north.entry_id}",
        f"heatbalance.gateway_source.{south.entry_id}",
    }
    await hass.config_entries.async_unload(north.entry_id)
    await hass.config_entries.async_unload(south.entry_id)
    await hass.async_block_till_done()


async def test_a_new_topic_base_takes_effect_at_once(hass: HomeAssistant, mqtt_mock: Any) -> None:
    """The operator moves the network's link to another topic base in the options: the
    entry reloads and listens there (before, the source stayed on the old base until
    Home Assistant restarted: the reload rule left the topic out)."""
    entry = await add_network(hass, "estate12", options={"gateway_topic": "north"})
    await _gateway_inlet(hass, entry, "B001", "meter-a")
    hass.config_entries.async_update_entry(
        entry, options=dict(entry.options) | {"gateway_topic": "east"}
    )
    await hass.async_block_till_done()
    now = dt_util.utcnow().timestamp()
    for base, flow in (("north", 4.0), ("east", 6.0)):
        reading = batch([(1, now, "meter-a", {**METER, "flow": flow})], f"s-{base}")
        async_fire_mqtt_message(hass, f"{base}/gw/gw1/data", reading)
    await hass.async_block_till_done()
    source = entry.runtime_data.coordinator.plant.gateway
    assert source.base == "east"
    assert source.reading("B001", stale_s=600).flow_m3h == 6.0
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_pump_drive_is_commanded_through_its_own_gateway_only(
    hass: HomeAssistant, mqtt_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Two networks on one broker and topic base (the default, left as it was), each pump
    drive named ``pump-vfd`` on its own gateway: each entry reads and commands its own drive.
    Before, a drive's speed and commands followed whichever gateway reported that name last:
    one network's pump speed was sent to the other network's drive."""
    north = await add_network(hass, "estate12")
    south = await add_network(hass, "loop8")
    await _gateway_inlet(hass, north, "B001", "meter-n", "gw1")
    await _gateway_inlet(hass, south, "B1", "meter-s", "gw2")
    for entry, gateway in ((north, "gw1"), (south, "gw2")):
        options = {"pump_gateway_device": "pump-vfd", "pump_gateway_id": gateway}
        hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
        await hass.async_block_till_done()
    now = dt_util.utcnow().timestamp()
    with caplog.at_level(logging.WARNING):
        for gateway, speed in (("gw1", 80.0), ("gw2", 60.0)):  # gw2 reports last
            drive = {"speed_feedback": speed}
            _fire(hass, gateway, "data", batch([(1, now, "pump-vfd", drive)], f"s-{gateway}"))
            await hass.async_block_till_done()
    plants = {e.title: e.runtime_data.coordinator.plant for e in (north, south)}
    n_plant, s_plant = plants[north.title], plants[south.title]
    assert n_plant.gateway.pump_speed("pump-vfd", stale_s=600) == pytest.approx(0.80)
    assert s_plant.gateway.pump_speed("pump-vfd", stale_s=600) == pytest.approx(0.60)
    assert "Ignored a reading for pump-vfd from gateway gw2" in caplog.text
    mqtt_mock.async_publish.reset_mock()
    assert await n_plant.async_dispatch(hass, {}, 0.7) == set()
    assert await s_plant.async_dispatch(hass, {}, 0.5) == set()
    (to_gw1,) = [json.loads(p) for p in _published(mqtt_mock, "heatbalance/gw/gw1/cmd")]
    (to_gw2,) = [json.loads(p) for p in _published(mqtt_mock, "heatbalance/gw/gw2/cmd")]
    assert (to_gw1["device"], to_gw1["point"], to_gw1["value"]) == (
        "pump-vfd",
        "speed_setpoint",
        70.0,
    )
    assert (to_gw2["device"], to_gw2["value"]) == ("pump-vfd", 50.0)
    # a forged answer from the other network's gateway is not the command's confirmation
    forged = {"request_id": to_gw1["request_id"], "status": "confirmed", "device": "pump-vfd"}
    _fire(hass, "gw2", "cmd/result", json.dumps(forged))
    await hass.async_block_till_done()
    assert to_gw1["request_id"] not in n_plant.gateway.results
    # a drive that is not this network's is never commanded, whatever asks
    assert await n_plant.gateway.async_set_pump_speed("other-vfd", 0.5) is None
    for entry in (north, south):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_unconfigured_pump_drive_is_bound_to_its_first_gateway(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    """Without a configured gateway id the first gateway that reports the drive owns it, and
    the binding is kept over a restart (as an inlet device's)."""
    source = GatewaySource(hass, {}, clock=lambda: NOW, pump=("pump-vfd", None))
    await source.async_start()
    _fire(hass, "gw1", "data", batch([(1, NOW - 5, "pump-vfd", {"speed_feedback": 80.0})]))
    await hass.async_block_till_done()
    _fire(hass, "gw2", "data", batch([(1, NOW - 4, "pump-vfd", {"speed_feedback": 30.0})], "s2"))
    await hass.async_block_till_done()
    assert source.pump_speed("pump-vfd", stale_s=600) == pytest.approx(0.80)
    assert await source.async_set_pump_speed("pump-vfd", 0.6) is not None
    assert _published(mqtt_mock, "heatbalance/gw/gw2/cmd") == []
    stored = source.as_dict()
    assert stored["owners"] == {"pump-vfd": "gw1"}
    source.stop()
    again = GatewaySource(hass, {}, clock=lambda: NOW, pump=("pump-vfd", None))
    again.restore(stored)
    assert again.owner["pump-vfd"] == "gw1"


async def test_substation_meter_is_bound_to_its_first_gateway(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    """The substation's flow meter on the gateway: another gateway's device of the same name
    (another network on the broker) is not read as this network's substation flow."""
    source = GatewaySource(hass, {}, clock=lambda: NOW, substation="ss-meter")
    await source.async_start()
    _fire(hass, "gw1", "data", batch([(1, NOW - 5, "ss-meter", {**METER, "flow": 80.0})]))
    await hass.async_block_till_done()
    _fire(hass, "gw2", "data", batch([(1, NOW - 4, "ss-meter", {**METER, "flow": 30.0})], "s2"))
    await hass.async_block_till_done()
    assert source.device_flow("ss-meter", stale_s=600) == pytest.approx(80.0)
    assert source.as_dict()["owners"] == {"ss-meter": "gw1"}
    source.stop()
