"""The crash test through the integration's own GatewaySource and journal (issue 11 item 5).

A real gateway process (150 simulated devices) publishes through a real mosquitto to Home
Assistant's own MQTT client and the integration's ``GatewaySource``. The broker is SIGKILLed
(an outage builds a backlog), the gateway is SIGKILLed in the middle of the replay and
restarted, and Home Assistant "crashes": the source is dropped without its pending Store save
and a new one starts from what the Store and the journal hold. Ground truth is the gateway's
own sequence numbers: every one it issued must be written by the source (the instance before
the crash or the one after), none twice by one instance; backlog is journaled exactly once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.gateway_source import GatewaySource, Item
from devtools.gateway_proc import GatewayProcess, simulated_buses
from devtools.real_mqtt import gateway_config, ha_on_mosquitto


async def _until(predicate: Any, what: str, guard_s: float = 90.0) -> None:
    """Wait for a condition; the guard only turns a hang into a failure."""
    for _ in range(int(guard_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached: {what}")


class Recorded(GatewaySource):
    """The production source, recording the sequence of every reading it writes."""

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(hass, {})
        self.written: list[int] = []

    def _write(self, gateway: str, item: Item) -> None:
        self.written.append(int(item.reading["seq"]))
        super()._write(gateway, item)

    @property
    def contiguous(self) -> int:
        stream = self.tracker.streams.get("gw1")
        return 0 if stream is None else stream.contiguous


@pytest.mark.slow
async def test_crashes_through_the_integration_lose_nothing(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Any
) -> None:
    async with ha_on_mosquitto(hass, tmp_path, birth=False) as broker:
        await _crash_sequence(hass, broker, tmp_path)


async def _crash_sequence(hass: HomeAssistant, broker: Any, tmp_path: Any) -> None:
    config = gateway_config(
        tmp_path,
        broker.port,
        stats_interval=1.0,
        outbox={"ack_timeout": 2.0, "batch": 200},
        buses=simulated_buses(150, interval=0.5),
    )
    # discovery elsewhere: HA would otherwise build 300 entities, not what is tested here
    config["mqtt"]["discovery_prefix"] = "not-discovered"
    gateway = GatewayProcess(tmp_path / "gw", config)
    sources: list[Recorded] = []
    try:
        first = Recorded(hass)
        await first.async_start()
        sources.append(first)
        gateway.start()
        await _until(lambda: first.contiguous >= 600, "live data flowing")

        broker.kill()
        await asyncio.sleep(3.0)  # the outage: 150 devices keep polling into the outbox
        assert gateway.outbox()["rows"] >= 600
        broker.start()  # same port
        at_restart = gateway.outbox()["last_seq"]
        await _until(lambda: first.contiguous > at_restart - 400, "replay under way")
        gateway.kill()  # in the middle of the replay (or just after it)
        gateway.start()
        await _until(lambda: first.contiguous >= at_restart + 300, "forwarding again")

        # Home Assistant crashes: the source goes without its pending Store save
        first.stop()
        second = Recorded(hass)
        await second.async_start()
        sources.append(second)
        crash_at = gateway.outbox()["last_seq"]
        await _until(lambda: second.contiguous >= crash_at + 300, "after the HA restart")

        assert gateway.stop() == 0
        gateway.start(buses=[])  # drain what the clean shutdown flushed
        await _until(gateway.connected, "drain gateway connected")
        final = gateway.outbox()["last_seq"]
        await _until(lambda: second.contiguous >= final, "final drain")
        second.stop()
        assert gateway.stop() == 0
    finally:
        gateway.kill()
        for source in sources:
            source.stop()

    written = first.written + second.written
    print(
        f"crash test through GatewaySource: {final} readings issued, "
        f"{len(first.written)} + {len(second.written)} written, "
        f"{first.tracker.duplicates + second.tracker.duplicates} duplicates dropped, "
        f"{len(second.backlog.journal.records) if second.backlog else 0} backlog journaled"
    )
    assert set(written) == set(range(1, final + 1))  # 0 lost
    assert len(first.written) == len(set(first.written))  # 0 duplicates after dedup
    assert len(second.written) == len(set(second.written))
    # written by both: their ack had not reached the gateway when HA "crashed" (in memory only)
    print(f"written again after the HA restart: {len(set(first.written) & set(second.written))}")
    assert second.backlog is not None
    ids = [r["id"] for r in second.backlog.journal.records]
    assert len(ids) == len(set(ids))  # backlog journaled exactly once
