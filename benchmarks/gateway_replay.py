"""Replay throughput of the gateway's store-and-forward outbox (issue 5 goal: ≥2,000 msg/s).

Fills an outbox file with N readings (as after an outage), starts a real mosquitto and a real
gateway process with no buses, and times how fast a consumer using the integration's
``gateway_protocol.AckTracker`` receives, de-duplicates and acknowledges the whole backlog.
Prints figures; asserts nothing (the machine is shared and noisy).

    .venv/ha2026/bin/python benchmarks/gateway_replay.py [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "addon"), str(ROOT)]

from heatbalance_gateway.outbox import Outbox  # noqa: E402

from devtools.broker import Mosquitto  # noqa: E402
from devtools.gateway_proc import GatewayProcess, plain_broker  # noqa: E402
from devtools.mqtt_consumer import MqttConsumer  # noqa: E402


def main(count: int = 30_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        data = base / "gw" / "data"
        box = Outbox(data / "outbox.sqlite")
        now = time.time()
        for start in range(0, count, 500):
            box.append(
                (
                    now - 3600 + (start + i) * 0.1,
                    f"d{(start + i) % 500:04d}",
                    {"pressure": 0.412, "temperature": 61.25},
                )
                for i in range(min(500, count - start))
            )
        box.close()
        broker = Mosquitto(base / "broker")
        broker.start()
        gateway = GatewayProcess(
            base / "gw",
            {
                "gateway_id": "bench",
                "data_dir": str(data),
                "buses": [],
                "mqtt": {"main": plain_broker(broker.port, "bench")},
            },
        )
        consumer = MqttConsumer("bench", [broker.port])
        try:
            time.sleep(0.5)  # consumer subscribed
            gateway.start()
            while consumer.received == 0:
                time.sleep(0.005)
            first = time.perf_counter()
            while consumer.contiguous < count:
                time.sleep(0.005)
            elapsed = time.perf_counter() - first
        finally:
            gateway.stop()
            consumer.close()
            broker.stop()
    print(
        f"replayed {count} readings in {elapsed:.2f} s: {count / elapsed:,.0f} msg/s "
        f"({consumer.batches} batches, {consumer.core.duplicates} duplicates dropped)"
    )
    integration_side(count)


def integration_side(count: int, per_batch: int = 250) -> None:
    """Integration-side cost: parse, de-duplicate and ack (gateway_source.AckTracker).

    Every batch is delivered twice (a full replay after a lost ack), so half are duplicates.
    """
    from custom_components.heatbalance.gateway_source import AckTracker

    batches = [
        json.dumps(
            {
                "gateway": "bench",
                "stream": "s1",
                "floor": 0,
                "readings": [
                    {
                        "seq": seq,
                        "msg_id": f"s1:{seq}",
                        "ts": 1.8e9 + seq * 0.1,
                        "device": f"d{seq % 500:04d}",
                        "values": {"pressure": 0.412, "temperature": 61.25},
                    }
                    for seq in range(start + 1, min(start + per_batch, count) + 1)
                ],
            }
        )
        for start in range(0, count, per_batch)
    ]
    tracker = AckTracker()
    first = time.perf_counter()
    for payload in batches + batches:
        tracker.handle_batch("bench", payload)
        tracker.ack_payload("bench")
    elapsed = time.perf_counter() - first
    print(
        f"integration side: {2 * count} readings (half duplicates) parsed, de-duplicated and "
        f"acked in {elapsed:.2f} s: {2 * count / elapsed:,.0f} msg/s; "
        f"ack at {tracker.streams['bench'].contiguous}, {tracker.duplicates} duplicates dropped"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000)
