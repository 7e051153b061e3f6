"""Backlog journal throughput (issue 5 item 4, §6.0.3): how fast the integration can make a
replayed backlog durable before acking it, and how long a start takes to read and aggregate it.

Each batch is appended, flushed and fsync'd once (as gateway_source does before its ack), so the
rate depends on the batch size the gateway's forwarder sends and on the disk's fsync latency.
Reading a journal (parse + prune) and the hourly aggregation are what every Home Assistant start
pays for the retained journal.

    .venv/ha2026/bin/python -m benchmarks.bench_gateway_journal
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from custom_components.heatbalance import gateway_history as gh

NOW = 1_800_000_000.0
METER = {"flow": 4.2, "supply_temperature": 60.5, "return_temperature": 44.0, "power": 70.0}


def _records(n: int, start_seq: int = 0) -> list[dict[str, object]]:
    return [
        gh.record(
            "gw1",
            "s1",
            {
                "seq": start_seq + i,
                "ts": NOW - 86_400 + i,
                "device": f"b{i % 500:03d}-meter",
                "values": METER,
            },
        )
        for i in range(n)
    ]


def append_rate(directory: str, batch: int, total: int) -> float:
    """Readings per second made durable, ``batch`` readings per fsync."""
    journal = gh.Journal(os.path.join(directory, f"append-{batch}.jsonl"))
    batches = [_records(batch, k * batch) for k in range(total // batch)]
    start = time.perf_counter()
    for records in batches:
        journal.write(records)
        journal.committed(records)
    return total / (time.perf_counter() - start)


def load_and_aggregate(directory: str, n: int) -> tuple[float, float]:
    """Seconds to load (parse + prune) and to aggregate a journal of ``n`` readings."""
    path = os.path.join(directory, f"load-{n}.jsonl")
    with open(path, "wb") as file:
        file.write(gh.encode(_records(n)))
    journal = gh.Journal(path)
    start = time.perf_counter()
    journal.load(NOW)
    loaded = time.perf_counter() - start
    devices = {f"b{i:03d}-meter": (f"B{i:03d}", "meter") for i in range(500)}
    start = time.perf_counter()
    gh.hourly(journal.records, devices, NOW)
    return loaded, time.perf_counter() - start


def replay_rate(directory: str, count: int, per_batch: int = 250) -> float:
    """Readings per second through the integration's path for a replayed backlog, without the
    event loop: parse + de-duplicate (AckTracker), select the backlog, de-duplicate against the
    journal, append + fsync, ack payload — once per batch of the forwarder's default size."""
    from custom_components.heatbalance.gateway_source import AckTracker

    payloads = [
        json.dumps(
            {
                "gateway": "gw1",
                "stream": "s1",
                "floor": 0,
                "readings": [
                    {
                        "seq": q,
                        "ts": NOW - 86_400 + q,
                        "device": f"b{q % 500:03d}-meter",
                        "values": METER,
                    }
                    for q in range(start + 1, min(start + per_batch, count) + 1)
                ],
            }
        )
        for start in range(0, count, per_batch)
    ]
    tracker, journal = AckTracker(), gh.Journal(os.path.join(directory, "replay.jsonl"))
    start = time.perf_counter()
    for payload in payloads:
        items = tracker.handle_batch("gw1", payload)
        late = [
            gh.record("gw1", "s1", i.reading)
            for i in items
            if i.is_new and gh.is_backlog(i.reading["ts"], i.is_latest, NOW, gh.LATE_S)
        ]
        fresh = journal.new(late)
        journal.write(fresh)
        journal.committed(fresh)
        tracker.ack_payload("gw1")
    return count / (time.perf_counter() - start)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=5000, help="readings per append run")
    parser.add_argument("--journal", type=int, default=100_000, help="readings to load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for batch in (1, 10, 100, 500):
            total = min(args.total, 500 * batch)
            rate = append_rate(directory, batch, total)
            print(f"append+fsync, {batch:>3} readings/batch: {rate:>10,.0f} readings/s")
        rate = replay_rate(directory, args.total * 4)
        print(f"replayed backlog, 250 readings/batch, parse to fsync: {rate:>10,.0f} readings/s")
        loaded, aggregated = load_and_aggregate(directory, args.journal)
        size = os.path.getsize(os.path.join(directory, f"load-{args.journal}.jsonl"))
        print(
            f"start with {args.journal:,} journaled readings ({size / 1e6:.1f} MB): "
            f"load {loaded:.2f} s, hourly aggregation {aggregated:.2f} s"
        )


if __name__ == "__main__":
    main()
