"""Storage that cannot lie (issue 11): restored, rolled-back, truncated, corrupt, read-only and
full outboxes, with the real SQLite file, a real mosquitto and the consumer of the integration
(gateway_protocol.py).

Ground truth is every reading the gateway committed to its outbox (recorded at
``Outbox.append``); the consumer must store each of them exactly once, by identity (device and
original timestamp), whatever happened to the file in between.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from heatbalance_gateway.config import parse_config
from heatbalance_gateway.gateway import Gateway
from heatbalance_gateway.outbox import Outbox

from devtools.gateway_proc import plain_broker, simulated_buses, until
from devtools.mqtt_consumer import MqttConsumer


class Produced:
    """Records every reading committed to any outbox (the ground truth)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[tuple[str, float]] = []
        original = Outbox.append

        def append(box: Outbox, readings: Any) -> int:
            readings = list(readings)
            last = original(box, readings)
            self.keys.extend((device, ts) for ts, device, _values in readings)
            return last

        monkeypatch.setattr(Outbox, "append", append)


def config(tmp_path: Path, port: int, devices: int = 10) -> dict[str, Any]:
    return {
        "gateway_id": "gw1",
        "data_dir": str(tmp_path / "data"),
        "stats_interval": 0.3,
        "mqtt": {"main": plain_broker(port)},
        "outbox": {"ack_timeout": 1.0, "batch": 100},
        "buses": simulated_buses(devices, interval=0.1) if devices else [],
    }


async def run_until(cfg: dict[str, Any], done: Callable[[Gateway], bool], what: str) -> Gateway:
    """Run an in-process gateway until ``done``; then stop it cleanly."""
    gateway = Gateway(parse_config(cfg))
    task = asyncio.create_task(gateway.run())
    try:
        await until(lambda: done(gateway) or task.done(), what)
    finally:
        gateway.stop()
        await task
    return gateway


async def drain(cfg: dict[str, Any]) -> Gateway:
    """A gateway that polls nothing and forwards what its outbox holds."""
    return await run_until(
        {**cfg, "buses": []},
        lambda g: g.forwarder is not None and g.forwarder.synced and g.outbox.count == 0,
        "outbox drained",
    )


def assert_each_stored_once(produced: Produced, consumer: MqttConsumer) -> None:
    missing = [k for k in produced.keys if k not in consumer.identities]
    twice = {k: n for k, n in consumer.identities.items() if n > 1}
    print(
        f"{len(produced.keys)} readings committed, {len(missing)} lost, {len(twice)} stored "
        f"twice, {consumer.core.duplicates} duplicates dropped, {consumer.core.epochs} epochs"
    )
    assert not missing
    assert not twice


@pytest.mark.parametrize("how", ["backup", "lost_wal_tail"])
async def test_restored_outbox_loses_nothing(
    tmp_path: Path, broker: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """An older copy of the outbox put back (add-on backup restore, or the WAL tail lost):
    its sequences would collide with ones the consumer holds; the first ack shows it."""
    produced = Produced(monkeypatch)
    consumer = MqttConsumer("gw1", [broker.port])
    cfg = config(tmp_path, broker.port)
    path = Path(cfg["data_dir"]) / "outbox.sqlite"
    copy = tmp_path / "copy.sqlite"
    try:

        def snapshot_then_more(gateway: Gateway) -> bool:
            if not copy.exists() and consumer.contiguous >= 300:
                if how == "backup":  # the online backup API: a consistent copy with the WAL
                    with sqlite3.connect(copy) as target:
                        sqlite3.connect(path).backup(target)
                else:  # the main file only: what the WAL got after this checkpoint is lost
                    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(PASSIVE)")
                    shutil.copyfile(path, copy)
                gateway.marks = consumer.contiguous  # type: ignore[attr-defined]
            return copy.exists() and consumer.contiguous >= gateway.marks + 800  # type: ignore[attr-defined]

        await run_until(cfg, snapshot_then_more, "800 readings after the snapshot")
        stream = (await drain(cfg)).outbox.stream  # all delivered: what follows is the restore's
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(copy, path)  # the restore
        after = len(produced.keys)
        second = await run_until(
            cfg, lambda _g: len(produced.keys) >= after + 500, "500 readings after the restore"
        )
        assert second.outbox.stream != stream
        assert second.forwarder is not None
        assert second.forwarder.rollbacks == 1
        assert second.outbox.epoch_reason.startswith("rollback")
        await drain(cfg)
    finally:
        consumer.close()
    assert_each_stored_once(produced, consumer)


async def test_truncated_outbox_is_a_new_stream_and_alarmed(
    tmp_path: Path, broker: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """Truncated to 0 bytes: what it held is gone (alarmed, logged with the path); everything
    committed afterwards reaches the consumer."""
    consumer = MqttConsumer("gw1", [broker.port])
    cfg = config(tmp_path, broker.port)
    path = Path(cfg["data_dir"]) / "outbox.sqlite"
    try:
        await run_until(cfg, lambda _g: consumer.contiguous >= 200, "data flowing")
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.write_bytes(b"")
        produced = Produced(monkeypatch)
        stats: list[dict[str, Any]] = []

        def seen(gateway: Gateway) -> bool:
            stats.append(gateway.statistics())
            return len(produced.keys) >= 300

        with caplog.at_level(logging.WARNING):
            await run_until(cfg, seen, "300 readings after the truncation")
        await drain(cfg)
    finally:
        consumer.close()
    assert stats[0]["outbox"]["alarm"]
    assert stats[0]["outbox"]["recreated"]
    assert not stats[-1]["outbox"]["alarm"]  # reported once, then cleared
    assert any(str(path) in r.getMessage() and "empty" in r.getMessage() for r in caplog.records)
    assert consumer.core.epochs == 1
    assert_each_stored_once(produced, consumer)


def test_corrupt_outbox_is_moved_aside(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.ERROR):
        box = Outbox(path)
    assert box.storage_error is None
    assert box.recreated
    assert box.append([(1.0, "d1", {"t": 1.0})]) == 1
    aside = list(tmp_path.glob("outbox.sqlite.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not")
    assert any(str(path) in r.getMessage() and "corrupt" in r.getMessage() for r in caplog.records)
    box.close()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("PRAGMA max_page_count = 1", "full"),  # SQLITE_FULL, as on a full disk
        ("PRAGMA query_only = ON", "readonly"),  # SQLITE_READONLY, as on a read-only file
    ],
)
def test_storage_fault_moves_to_memory_and_back(
    tmp_path: Path, caplog: Any, fault: str, message: str
) -> None:
    """Appends go on in memory (a new stream, cap counted and logged), then back to the file."""
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path, memory_rows=50)
    box.append([(float(i), "d1", {"t": float(i)}) for i in range(20)])
    stream = box.stream
    box.db.execute(fault)  # the file's connection now fails every write the way the fault does
    big = "x" * 4000  # rows that need new pages (max_page_count stops at the current size)
    with caplog.at_level(logging.WARNING):
        box.append([(float(i), "d1", {"t": float(i), "pad": big}) for i in range(20, 100)])
    assert box.storage_error is not None
    assert message in box.storage_error.replace(" ", "")
    assert box.stream != stream
    assert box.count == 50  # 20 carried over + 80 new, cap 50
    assert box.dropped == 50
    assert box.report_drops() == 50
    assert box.report_drops() == 0  # the alarm clears
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert str(path) in logged
    assert "memory" in logged
    kept = [r.ts for r in box.fetch(0, 100)]
    assert kept == [float(i) for i in range(50, 100)]  # the oldest went
    assert box.retry_file()  # a new connection: the space (or permission) is back
    assert box.storage_error is None
    assert [r.ts for r in box.fetch(0, 100)] == kept
    box.close()
    again = Outbox(path)
    assert [r.ts for r in again.fetch(0, 100)] == kept
    assert again.dropped == 50
    again.close()


async def test_storage_fault_keeps_polling_and_forwarding(
    tmp_path: Path, broker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage fails under a running gateway: live forwarding goes on from memory, and the
    readings return to the file once it is writable again."""
    produced = Produced(monkeypatch)
    consumer = MqttConsumer("gw1", [broker.port])
    cfg = config(tmp_path, broker.port)
    state: dict[str, Any] = {}

    def fault_then_heal(gateway: Gateway) -> bool:
        if "fault" not in state and consumer.contiguous >= 200:
            gateway.outbox.db.execute("PRAGMA query_only = ON")  # every write fails from now on
            gateway.outbox.retry_file = lambda: False  # type: ignore[method-assign]
            state["fault"] = len(produced.keys)
        if "fault" in state and "memory_at" not in state and gateway.outbox.storage_error:
            state["memory_at"] = len(produced.keys)
        if (
            "memory_at" in state
            and "healed" not in state
            and len(produced.keys) >= state["memory_at"] + 300
        ):
            del gateway.outbox.retry_file  # space is back
            state["healed"] = True
        return "healed" in state and gateway.outbox.storage_error is None

    try:
        gateway = await run_until(cfg, fault_then_heal, "fault, memory, healed")
        in_memory = produced.keys[state["memory_at"] : state["memory_at"] + 300]
        assert all(k in consumer.identities for k in in_memory)  # forwarded from memory
        assert gateway.outbox.epoch_changes >= 2
        await drain(cfg)
    finally:
        consumer.close()
    assert_each_stored_once(produced, consumer)
