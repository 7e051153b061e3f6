"""A gateway source stopped while Home Assistant's MQTT client is still subscribing it.

Home Assistant 2026.10's MQTT client (MQTT 5, subscription identifiers) subscribes its queued
wildcard topics one after the other: it takes them all from the queue, sends the first, awaits
its SUBACK, and only then looks up the next one's subscription id. An entry reload in that
window (the gateway source unsubscribes, the client releases the ids of topics no longer
subscribed) made the lookup raise ``KeyError: 'heatbalance/gw/+/info'`` (4 of 14 gateway runs
of bench_product, at the teardown's reload). The raise ends the client's subscribe run: any
other integration's wildcard topic queued behind is not subscribed until the next reconnect.

Real mosquitto, Home Assistant's own MQTT client. The window is held open by holding the
client's first SUBACK until the source's unsubscribes have been sent (the ordering a reload
produced by chance): with ``ahead``, another integration's wildcard topic is sent first, the
source's topic waits behind it. Before, the source subscribed four topics (its own second
raised); one topic alone still raised behind another's; now its unsubscribe waits for the
client to have subscribed it. HA 2025.4 looks up no ids: the same run passes there as well.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import DATA_DISPATCHER

from custom_components.heatbalance.gateway_source import GatewaySource
from custom_components.heatbalance.settings import default_gateway_devices
from devtools.gateway_proc import until
from devtools.real_mqtt import ha_on_mosquitto


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


class HeldSuback:
    """Holds the MQTT client's first awaited SUBACK (after :meth:`arm`) until released."""

    def __init__(self, client: Any) -> None:
        self.original = client._async_wait_for_mid_or_raise
        self.armed = False
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()
        client._async_wait_for_mid_or_raise = self._wait

    def arm(self) -> None:
        self.armed = True

    async def _wait(self, mid: Any, result_code: int) -> None:
        if self.armed:
            self.armed = False
            self.waiting.set()
            await self.release.wait()
        await self.original(mid, result_code)


async def _settled(hass: HomeAssistant) -> None:
    """Until the client's own subscribe runs (discovery's topics) are over: a topic
    subscribed last is subscribed (HA 2025.4 has no such signal: its queue empty)."""
    client = hass.data[mqtt.DATA_MQTT].client
    on_done = getattr(mqtt, "async_on_subscribe_done", None)
    unsubscribe = await mqtt.async_subscribe(hass, "settle/#", lambda _msg: None, 1)
    if on_done is not None:
        done = asyncio.Event()
        stop = on_done(hass, "settle/#", 1, done.set)
        await asyncio.wait_for(done.wait(), 60)
        stop()
    await until(lambda: not client._pending_subscriptions, "the client's queue empty")
    await asyncio.sleep(0.5)
    unsubscribe()
    await asyncio.sleep(0.5)
    await hass.async_block_till_done()


def _unsubscribes_done(hass: HomeAssistant) -> bool:
    """The client has no unsubscribe queued, scheduled or under way (what was unsubscribed
    is sent and its subscription ids released)."""
    client = hass.data[mqtt.DATA_MQTT].client
    debouncer = client._unsubscribe_debouncer
    return not client._pending_unsubscribes and debouncer._timer is None and not debouncer._task


@pytest.mark.parametrize("ahead", [False, True], ids=["own-topics", "behind-another"])
async def test_source_stopped_while_subscribing_spares_the_topics_queued_behind(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_hass_config: None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    ahead: bool,
) -> None:
    async with ha_on_mosquitto(hass, tmp_path):
        await _settled(hass)
        client = hass.data[mqtt.DATA_MQTT].client
        held = HeldSuback(client)
        source = GatewaySource(hass, {"B001": default_gateway_devices("B001")}, key="race")
        got: list[str] = []

        @callback
        def other(msg: Any) -> None:
            got.append(msg.payload)

        held.arm()
        unsubscribe_ahead = (
            await mqtt.async_subscribe(hass, "ahead/+/state", lambda _msg: None, 1)
            if ahead
            else None
        )
        await source.async_start()
        unsubscribe_other = await mqtt.async_subscribe(hass, "other/+/state", other, 1)
        await asyncio.wait_for(held.waiting.wait(), 30)  # the run's first topic sent
        source.stop()  # the entry unloads meanwhile (a reload's first half)
        await asyncio.sleep(0.2)  # the client's unsubscribe cooldown is 0.1 s
        await until(lambda: _unsubscribes_done(hass), "the unsubscribes sent", 10)
        with caplog.at_level(logging.ERROR):
            held.release.set()
            await until(lambda: not client._pending_subscriptions, "the subscribe run")
            await asyncio.sleep(0.5)
            await hass.async_block_till_done()
            await mqtt.async_publish(hass, "other/x/state", "on", 1)
            await until(lambda: got == ["on"], "a message on the topic queued behind", 10)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors == [], [r.getMessage() for r in errors]
        unsubscribe_other()
        if unsubscribe_ahead is not None:
            unsubscribe_ahead()
        await hass.async_block_till_done()


def _watchers(hass: HomeAssistant) -> int:
    """Listeners waiting for the MQTT client's subscribe runs (``async_on_subscribe_done``)."""
    return len(hass.data.get(DATA_DISPATCHER, {}).get("mqtt_processed_subscriptions", {}))


async def test_source_stopped_while_the_broker_is_gone_leaves_nothing_behind(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    """A source started and stopped while Home Assistant's client has no connection: no
    subscribe run can be under way, so the unsubscribe is not held back. Before, it waited
    for a SUBACK: when the connection never came back (the MQTT entry unloaded) the watcher
    stayed as long as Home Assistant ran, and the subscription went into the ones the MQTT
    entry restores when it is set up again, still calling the stopped source."""
    async with ha_on_mosquitto(hass, tmp_path, birth=False) as broker:
        await _settled(hass)
        client = hass.data[mqtt.DATA_MQTT].client
        watchers = _watchers(hass)
        broker.kill()
        await until(lambda: not client.connected, "Home Assistant's client disconnected")
        source = GatewaySource(hass, {"B001": default_gateway_devices("B001")}, key="gone")
        await source.async_start()
        source.stop()
        await hass.async_block_till_done()
        assert _watchers(hass) == watchers
        assert not [s for s in client.subscriptions if s.topic.startswith("heatbalance/")]
