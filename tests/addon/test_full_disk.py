"""A real full disk and a real read-only filesystem under the running gateway (issue 11 item 2).

The gateway process keeps its data directory on a small tmpfs mounted by the test (needs root,
as the CI and the developers' machines run; skipped where mounting is not permitted). The disk
is filled with a real file until ENOSPC, and later remounted read-only, while the gateway polls
and publishes: polling and live forwarding must go on, readings past the memory cap are dropped
with a counted alarm, and the outbox must return to its file once the space (or the write
permission) is back — the gateway process never dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from devtools.gateway_proc import GatewayProcess, plain_broker, simulated_buses, until
from devtools.mqtt_consumer import MqttConsumer


@contextlib.contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path`` (unmounted afterwards)."""
    path.mkdir(parents=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path) -> Path:
    """Write a file until the filesystem is full (ENOSPC)."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


async def remount(path: Path, how: str) -> None:
    """``mount -o remount,<how>`` (ro / rw)."""
    await asyncio.to_thread(
        subprocess.run, ["mount", "-o", f"remount,{how}", str(path)], check=True
    )


class Watcher:
    """Latest statistics and a count of live state messages, from the broker."""

    def __init__(self, port: int) -> None:
        self.stats: dict[str, Any] = {}
        self.states = 0
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(
            [("heatbalance/gw/gw1/stats", 1), ("heatbalance/gw/gw1/dev/+/state", 0)]
        )
        self.client.loop_start()

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            if message.topic.endswith("/stats"):
                self.stats = json.loads(message.payload)
            elif not message.retain:
                self.states += 1

    def outbox(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.stats.get("outbox", {}))

    def requests(self) -> int:
        with self.lock:
            return sum(b["requests"] for b in self.stats.get("buses", {}).values())

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.slow
async def test_full_and_read_only_disk_under_the_running_gateway(
    tmp_path: Path, broker: Any
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        config = {
            "gateway_id": "gw1",
            "data_dir": str(disk / "data"),
            "stats_interval": 0.3,
            "mqtt": {"main": plain_broker(broker.port)},
            # memory cap = max_rows: a few seconds of readings, then the oldest are dropped
            "outbox": {"ack_timeout": 1.0, "batch": 200, "max_rows": 600},
            "buses": simulated_buses(20, interval=0.1),
        }
        gateway = GatewayProcess(tmp_path / "gw", config)
        watcher = Watcher(broker.port)
        consumer: MqttConsumer | None = None
        try:
            gateway.start()
            await until(lambda: watcher.outbox().get("rows", 0) > 0, "outbox in its file")
            assert watcher.outbox()["storage"] == "file"

            # 1. the disk fills up (no consumer acks, so the backlog needs new pages)
            filler = fill(disk)
            await until(lambda: watcher.outbox().get("storage") == "memory", "outbox in memory")
            assert "full" in watcher.outbox()["storage_error"]
            states, requests = watcher.states, watcher.requests()
            await until(lambda: watcher.outbox().get("dropped", 0) > 0, "oldest dropped")
            await until(lambda: watcher.outbox().get("alarm") is True, "outbox alarm")
            await until(lambda: watcher.states > states + 200, "live state still published")
            assert watcher.requests() > requests  # polling goes on
            assert gateway.process is not None
            assert gateway.process.poll() is None

            # 2. space returns; a consumer acks the backlog, the outbox moves back to its file
            filler.unlink()
            consumer = MqttConsumer("gw1", [broker.port])
            await until(lambda: watcher.outbox().get("storage") == "file", "outbox back in file")
            await until(lambda: watcher.outbox().get("alarm") is False, "alarm cleared")
            received = consumer.received
            await until(lambda: consumer.received > received + 200, "forwarding from the file")

            # 3. a read-only filesystem: Linux refuses to remount it read-only under open
            # writers, so the gateway is restarted on it (as after a crash that left the disk
            # read-only), then the filesystem is made writable under the running gateway
            assert gateway.stop() == 0
            await remount(disk, "ro")
            gateway.start()
            await until(lambda: watcher.outbox().get("storage") == "memory", "read-only: memory")
            error = watcher.outbox()["storage_error"]
            received = consumer.received
            await until(lambda: consumer.received > received + 200, "forwarding from memory")
            await remount(disk, "rw")
            await until(lambda: watcher.outbox().get("storage") == "file", "writable: file")
            assert gateway.process.poll() is None
            assert gateway.stop() == 0
            log = gateway.log.read_text()
            assert "read-only" in error.lower() or "readonly" in error.lower(), error
            assert str(disk / "data" / "outbox.sqlite") in log  # the path is named
        finally:
            gateway.kill()
            watcher.close()
            if consumer is not None:
                consumer.close()
