"""A gateway replaying a long backlog to a slow Home Assistant (issue 10, the backlog livelock).

A real gateway process, its outbox holding a three-hour outage (12,000 readings, none acked),
replays through a real mosquitto to Home Assistant's own MQTT client and the integration's
``GatewaySource``. Home Assistant is deliberately slow: every data message it receives blocks
its event loop in proportion to its size (a loaded box: receiving and parsing cost the same
for a resent copy as for the first), more than the gateway's window takes in its ack timeout.

Before, the source queued every batch as a task, duplicates included, and the gateway resent
its whole window after every ack timeout: the copies queued up behind the backlog faster than
the loop took them in (10g: the ack stood at seq 5,000 for 4 minutes). Now the source drops a
batch it holds already before queueing anything, bounds its queue, stores a group of batches
per journal write and ack, and the gateway backs off its resends. Checked: the whole backlog is
acknowledged, the queue stays bounded, and every reading is journaled, none twice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from heatbalance_gateway.outbox import Outbox
from homeassistant.core import HomeAssistant, callback

from custom_components.heatbalance.gateway_source import QUEUE_READINGS, GatewaySource, Item
from custom_components.heatbalance.settings import default_gateway_devices
from devtools.gateway_proc import GatewayProcess, until
from devtools.real_mqtt import gateway_config, ha_on_mosquitto

BACKLOG = 12_000
INLETS = ("B001", "B002", "B003", "B004")
METER = {"flow": 4.2, "supply_temperature": 60.5, "return_temperature": 44.0, "power": 70.0}
LOAD_S_PER_KB = 0.0015  # loop time a received data message costs (≈50 ms per 250 readings)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


class SlowHome(GatewaySource):
    """The production source in a Home Assistant whose event loop is busy: each data message
    costs loop time by its size, whatever the source then does with it. Records every
    reading written and the most work ever queued (the source's queue, the loop's tasks)."""

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(hass, {i: default_gateway_devices(i) for i in INLETS}, key="backlog")
        self.written: list[int] = []
        self.most_queued = 0
        self.most_tasks = 0

    @callback
    def _on_message(self, msg: Any) -> None:
        if msg.topic.endswith("/data"):
            time.sleep(len(msg.payload) / 1024 * LOAD_S_PER_KB)
        super()._on_message(msg)

    def _write(self, gateway: str, item: Item) -> None:
        self.written.append(int(item.reading["seq"]))
        super()._write(gateway, item)

    def sample(self) -> None:
        self.most_queued = max(self.most_queued, self.queued)
        self.most_tasks = max(self.most_tasks, len(self.hass._tasks))

    @property
    def contiguous(self) -> int:
        stream = self.tracker.streams.get("gw1")
        return 0 if stream is None else stream.contiguous


def _outage(data: Path) -> str:
    """The gateway's outbox after a three-hour outage; its stream id."""
    outbox = Outbox(data / "outbox.sqlite")
    start = time.time() - 3 * 3600.0
    devices = [default_gateway_devices(i)[0] for i in INLETS]
    readings = [(start + i * 0.5, devices[i % 4], METER) for i in range(BACKLOG)]
    assert outbox.append(readings) == BACKLOG
    stream = outbox.stream
    outbox.close()
    return stream


@pytest.mark.slow
async def test_backlog_replayed_to_a_slow_home_assistant_is_stored_whole(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    stream = _outage(tmp_path / "gw" / "data")
    async with ha_on_mosquitto(hass, tmp_path) as broker:
        source = SlowHome(hass)
        await source.async_start()
        assert source.backlog is not None
        config = gateway_config(tmp_path, broker.port, buses=[])
        config["outbox"] = {"ack_timeout": 0.5, "window": 5000, "batch": 250}
        gateway = GatewayProcess(tmp_path / "gw", config)
        acked: list[int] = []

        def progress() -> bool:
            source.sample()
            if not acked or acked[-1] != source.contiguous:
                acked.append(source.contiguous)
            return source.contiguous >= BACKLOG

        try:
            gateway.start()
            await until(progress, "the whole backlog acknowledged", guard_s=300.0)
            await until(lambda: gateway.outbox()["rows"] == 0, "the gateway's outbox trimmed")
        finally:
            source.stop()
            gateway.kill()
            await hass.async_block_till_done()
        resends = gateway.log.read_text("utf-8", "replace").count("resending from")
    lines = Path(source.backlog.journal.path).read_bytes().splitlines()
    journal = [json.loads(line)["id"] for line in lines]
    print(
        f"backlog {BACKLOG}: {len(acked)} ack positions, {resends} resends, "
        f"{source.tracker.duplicates} duplicates, most queued {source.most_queued} readings, "
        f"most loop tasks {source.most_tasks}"
    )
    # every reading stored once: written once by the source, journaled once (§6.0.3)
    assert sorted(source.written) == list(range(1, BACKLOG + 1))
    assert sorted(journal) == sorted(f"gw1/{stream}/{seq}" for seq in range(1, BACKLOG + 1))
    # the ack advanced step by step (not one jump after a stall), and the work stayed bounded
    assert len(acked) >= BACKLOG // 5000 + 2
    assert source.most_queued <= QUEUE_READINGS
    assert source.most_tasks < 100
