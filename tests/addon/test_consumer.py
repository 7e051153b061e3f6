"""Consumer side of the link protocol (the integration's gateway_protocol.py, also used by the
add-on's tests): dedup, contiguous acks, floor jumps, epochs, latest-state rule."""

from __future__ import annotations

import json

from custom_components.heatbalance.gateway_protocol import AckTracker as Consumer


def batch(
    seqs: list[int], stream: str = "s1", floor: int = 1, ts: dict[int, float] | None = None
) -> bytes:
    return json.dumps(
        {
            "gateway": "gw1",
            "stream": stream,
            "floor": floor,
            "readings": [
                {
                    "seq": s,
                    "msg_id": f"{stream}:{s}",
                    "ts": (ts or {}).get(s, float(s)),
                    "device": "d1",
                    "values": {"t": s},
                }
                for s in seqs
            ],
        }
    ).encode()


def ack(consumer: Consumer) -> dict:
    return json.loads(consumer.ack_payload("gw1") or b"null")


def test_duplicates_are_dropped_and_ack_stops_at_a_gap() -> None:
    c = Consumer()
    assert c.ack_payload("gw1") is None
    out = c.handle_batch("gw1", batch([1, 2, 4]))
    assert [a.is_new for a in out] == [True, True, True]
    assert ack(c) == {"stream": "s1", "seq": 2}  # 3 is missing: do not ack past it
    out = c.handle_batch("gw1", batch([2, 3, 4, 5]))  # go-back resend
    assert [a.is_new for a in out] == [False, True, False, True]
    assert ack(c) == {"stream": "s1", "seq": 5}
    assert c.duplicates == 2


def test_floor_skips_what_the_gateway_dropped() -> None:
    c = Consumer()
    c.handle_batch("gw1", batch([1, 2]))
    c.handle_batch("gw1", batch([10, 11], floor=10))  # 3..9 dropped by cap/TTL at the gateway
    assert ack(c)["seq"] == 11
    assert c.streams["gw1"].gap_skipped == 7


def test_replayed_old_readings_never_become_latest_state() -> None:
    c = Consumer()
    live = c.handle_batch("gw1", batch([5], ts={5: 500.0}))
    assert live[0].is_latest
    replay = c.handle_batch("gw1", batch([1, 2], ts={1: 100.0, 2: 200.0}))
    assert [(a.is_new, a.is_latest) for a in replay] == [(True, False), (True, False)]
    newer = c.handle_batch("gw1", batch([6], ts={6: 600.0}))
    assert newer[0].is_latest


def test_new_stream_restarts_tracking_and_restore_resumes() -> None:
    c = Consumer()
    c.handle_batch("gw1", batch([1, 2, 3]))
    c.handle_batch("gw1", batch([1], stream="s2"))  # gateway outbox re-created
    assert ack(c) == {"stream": "s2", "seq": 1}
    d = Consumer()
    d.restore("gw1", "s2", 40)
    out = d.handle_batch("gw1", batch([40, 41], stream="s2"))
    assert [a.is_new for a in out] == [False, True]
    assert ack(d)["seq"] == 41
