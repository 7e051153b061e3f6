"""Reloads leave exactly one subscription of the gateway source (issue 10 item 6).

Real mosquitto, Home Assistant's own MQTT client and MQTT entry. When the MQTT entry unloads,
it copies the subscriptions still held into the set it restores when it is set up again. A
network entry that unsubscribes after that copy — it unloads while the MQTT entry is down —
removes its subscription from the old client only, so the restored client calls the stopped
source again, beside the new source's own subscription.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from devtools.gateway_proc import until
from devtools.real_mqtt import ha_on_mosquitto

from .conftest import add_network
from .test_gateway_subscribe_race import _settled

TOPIC = "heatbalance/gw/#"


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


def _ours(hass: HomeAssistant) -> list[Any]:
    client = hass.data[mqtt.DATA_MQTT].client
    return [s for s in client.subscriptions if s.topic.startswith("heatbalance/")]


async def _gateway_network(hass: HomeAssistant) -> Any:
    entry = await add_network(hass, options={"mode": "manual"})
    sub = next(s for s in entry.subentries.values() if s.data["inlet_id"] == "B001")
    mapping = {"source": "gateway", "gateway_meter": "b001-meter", "gateway_valve": "b001-valve"}
    hass.config_entries.async_update_subentry(entry, sub, data=dict(sub.data) | mapping)
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.plant.gateway is not None
    return entry


async def _status_reaches(hass: HomeAssistant, entry: Any, text: str) -> None:
    """A message on the topic base reaches the entry's source (counted once)."""
    source = entry.runtime_data.coordinator.plant.gateway
    await _settled(hass)  # the client subscribed the topic at the broker
    before = source.invalid
    await mqtt.async_publish(hass, "heatbalance/gw/gw1/status", text, 1)
    await until(lambda: source.invalid > before, "the message at the source", 30)
    await hass.async_block_till_done()
    assert source.invalid == before + 1


@pytest.mark.slow
async def test_reloads_leave_one_subscription(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    async with ha_on_mosquitto(hass, tmp_path):
        entry = await _gateway_network(hass)
        for _ in range(2):
            assert await hass.config_entries.async_reload(entry.entry_id)
            await hass.async_block_till_done()
        # a source unsubscribes only once its subscribe is acknowledged (HA 2026's signal,
        # gateway_source._once_subscribed): a reload right after a start is settled then
        await _settled(hass)
        assert [s.topic for s in _ours(hass)] == [TOPIC]
        await _status_reaches(hass, entry, "bogus-1")

        # the MQTT entry reloads under a loaded network: it restores the source's topic
        (mqtt_entry,) = hass.config_entries.async_entries(mqtt.DOMAIN)
        assert await hass.config_entries.async_reload(mqtt_entry.entry_id)
        await mqtt.async_wait_for_mqtt_client(hass)
        await hass.async_block_till_done()
        await _settled(hass)
        assert [s.topic for s in _ours(hass)] == [TOPIC]
        await _status_reaches(hass, entry, "bogus-2")

        # the network unloads while the MQTT entry is down, then both come back
        assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert entry.state is ConfigEntryState.NOT_LOADED
        assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
        await mqtt.async_wait_for_mqtt_client(hass)
        await hass.async_block_till_done()
        assert _ours(hass) == []  # nothing of the stopped source restored
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert [s.topic for s in _ours(hass)] == [TOPIC]
        await _status_reaches(hass, entry, "bogus-3")
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        assert _ours(hass) == []
