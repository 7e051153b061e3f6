"""Outbox on real SQLite files: sequences, acks, cap/TTL accounting, command journal (§6.0.3)."""

from __future__ import annotations

import json
import sqlite3

from heatbalance_gateway.forwarder import encode_batch
from heatbalance_gateway.outbox import Outbox


def cycle(
    n: int, ts: float = 1000.0, device: str = "d1"
) -> list[tuple[float, str, dict[str, float]]]:
    return [(ts + i, device, {"t": float(i)}) for i in range(n)]


def test_sequences_survive_reopen_and_are_never_reused(tmp_path) -> None:
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path, clock=lambda: 1000.0)
    assert box.append(cycle(5)) == 5
    stream = box.stream
    assert box.ack(5) == 5
    box.close()
    again = Outbox(path, clock=lambda: 1000.0)
    assert again.stream == stream  # same file, same stream id
    assert again.append(cycle(2)) == 7  # AUTOINCREMENT: 1..5 are not reused after delete
    assert [r.seq for r in again.fetch(0, 100)] == [6, 7]
    assert again.floor() == 6
    assert again.acked() == 5
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_ack_deletes_only_up_to_the_acked_sequence(tmp_path) -> None:
    box = Outbox(tmp_path / "o.sqlite", clock=lambda: 1000.0)
    box.append(cycle(10))
    assert box.ack(4) == 4
    assert [r.seq for r in box.fetch(0, 100)] == [5, 6, 7, 8, 9, 10]
    assert box.backlog()["rows"] == 6
    rows = box.fetch(4, 2)
    assert [(r.seq, r.ts, r.device, json.loads(r.payload)) for r in rows] == [
        (5, 1004.0, "d1", {"t": 4.0}),
        (6, 1005.0, "d1", {"t": 5.0}),
    ]
    box.close()


def test_cap_drops_oldest_and_counts_it(tmp_path) -> None:
    box = Outbox(tmp_path / "o.sqlite", max_rows=10, clock=lambda: 1000.0)
    box.append(cycle(8))
    box.append(cycle(8, ts=2000.0))
    assert box.backlog()["rows"] == 10
    assert box.dropped == 6
    assert box.floor() == 7  # the consumer is told where the kept data starts
    box.close()
    assert Outbox(tmp_path / "o.sqlite").dropped == 6  # the count is durable too


def test_ttl_drops_old_rows_and_counts_them(tmp_path) -> None:
    now = [1000.0]
    box = Outbox(tmp_path / "o.sqlite", ttl_s=100.0, clock=lambda: now[0])
    box.append(cycle(3, ts=958.0))  # 958, 959, 960
    now[0] = 1060.0
    box.expire()  # cutoff 960: the two older rows go
    assert box.backlog()["rows"] == 1
    assert box.dropped == 2
    box.close()


def test_command_journal_remembers_results(tmp_path) -> None:
    box = Outbox(tmp_path / "o.sqlite", clock=lambda: 1000.0)
    assert box.command_seen("r1") == (False, None)
    box.command_start("r1")
    assert box.command_seen("r1") == (True, None)  # pending (or interrupted by a crash)
    box.command_done("r1", {"status": "confirmed"})
    box.close()
    assert Outbox(tmp_path / "o.sqlite").command_seen("r1") == (True, {"status": "confirmed"})


def test_batch_encoding_is_valid_json_with_the_documented_fields(tmp_path) -> None:
    box = Outbox(tmp_path / "o.sqlite", clock=lambda: 1000.0)
    box.append([(1000.5, 'odd "name"', {"pressure": 0.41})])
    batch = json.loads(encode_batch("gw1", box.stream, box.floor(), box.fetch(0, 10)))
    assert batch == {
        "gateway": "gw1",
        "stream": box.stream,
        "floor": 1,
        "protocol": 2,  # energy in kWh (issue 10: the integration checks it)
        "readings": [
            {
                "seq": 1,
                "msg_id": f"{box.stream}:1",
                "ts": 1000.5,
                "device": 'odd "name"',
                "values": {"pressure": 0.41},
            }
        ],
    }
    box.close()


async def test_gateway_over_cap_during_outage_counts_and_alarms_drops(tmp_path) -> None:
    """No broker at all: the cap drops oldest readings, and statistics say so (§6.0.3)."""
    import asyncio

    from heatbalance_gateway.config import parse_config
    from heatbalance_gateway.gateway import Gateway

    from devtools.broker import free_port
    from devtools.gateway_proc import plain_broker, simulated_buses

    config = parse_config(
        {
            "gateway_id": "gw1",
            "data_dir": str(tmp_path),
            "mqtt": {"main": plain_broker(free_port())},  # nothing listens there
            "outbox": {"max_rows": 50},
            "buses": simulated_buses(20, interval=0.1),
        }
    )
    gateway = Gateway(config)
    task = asyncio.create_task(gateway.run())
    try:
        for _ in range(600):
            if gateway.outbox.dropped >= 100:
                break
            await asyncio.sleep(0.05)
        stats = gateway.statistics()
    finally:
        gateway.stop()
        await task
    assert stats["link"] is None
    assert stats["outbox"]["rows"] == 50
    assert stats["outbox"]["dropped"] >= 100
    assert stats["outbox"]["alarm"] is True
    assert stats["outbox"]["last_seq"] == stats["outbox"]["dropped"] + 50
