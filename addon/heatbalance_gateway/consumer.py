"""Consumer side of the store-and-forward protocol (imported by the HA integration).

Pure Python, no ``homeassistant`` import. The consumer receives batches from
``<base>/gw/<gateway>/data``, stores them, then acknowledges the highest *contiguous* sequence it
holds on ``<base>/gw/<gateway>/ack``; the gateway deletes only acknowledged rows (§6.0.3).
Rules implemented here:

* de-duplicate by ``msg_id`` (replays and go-back resends repeat messages on purpose);
* never acknowledge past a gap: a lost message is resent by the gateway after its ack timeout;
* ``floor`` in a batch says everything below it was acked or dropped (cap/TTL) by the gateway,
  so the contiguous pointer may jump there; the jump is counted as ``gap_skipped``;
* replayed (older) data never overwrites newer live state: :meth:`Consumer.accept` says whether a
  reading is newer than the device's current state; older readings still go to history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Accepted:
    """Outcome of one reading: new (not a duplicate) and whether it is the newest state."""

    reading: dict[str, Any]
    is_new: bool
    is_latest: bool


@dataclass(slots=True)
class StreamState:
    """Contiguous-ack tracking for one gateway outbox stream."""

    stream: str
    contiguous: int = 0
    pending: set[int] = field(default_factory=set)
    gap_skipped: int = 0


class Consumer:
    """Dedup, contiguous ack and latest-state rule for any number of gateways."""

    def __init__(self, max_seen: int = 1_000_000) -> None:
        self.streams: dict[str, StreamState] = {}
        self.latest_ts: dict[tuple[str, str], float] = {}
        self.duplicates = 0
        self.max_seen = max_seen

    def restore(self, gateway: str, stream: str, contiguous: int) -> None:
        """Resume from a persisted ack position (the integration stores it with its data)."""
        self.streams[gateway] = StreamState(stream, contiguous)

    def handle_batch(self, gateway: str, payload: bytes | str | dict[str, Any]) -> list[Accepted]:
        """Process one data batch; returns its readings with dedup/latest flags."""
        batch = payload if isinstance(payload, dict) else json.loads(payload)
        stream = str(batch["stream"])
        state = self.streams.get(gateway)
        if state is None or state.stream != stream:
            # New outbox file on the gateway (reinstalled): its sequences start again.
            state = self.streams[gateway] = StreamState(stream)
        floor = int(batch.get("floor", 0))
        if floor - 1 > state.contiguous:
            state.gap_skipped += floor - 1 - state.contiguous
            state.contiguous = floor - 1
            state.pending = {s for s in state.pending if s > state.contiguous}
        out = []
        for reading in batch["readings"]:
            out.append(self._one(gateway, state, reading))
        self._advance(state)
        return out

    def _one(self, gateway: str, state: StreamState, reading: dict[str, Any]) -> Accepted:
        seq = int(reading["seq"])
        if seq <= state.contiguous or seq in state.pending:
            self.duplicates += 1
            return Accepted(reading, False, False)
        state.pending.add(seq)
        key = (gateway, str(reading["device"]))
        ts = float(reading["ts"])
        latest = ts >= self.latest_ts.get(key, float("-inf"))
        if latest:
            self.latest_ts[key] = ts
        return Accepted(reading, True, latest)

    @staticmethod
    def _advance(state: StreamState) -> None:
        while state.contiguous + 1 in state.pending:
            state.contiguous += 1
            state.pending.discard(state.contiguous)

    def ack_payload(self, gateway: str) -> bytes | None:
        """JSON for the ack topic (after the batch is stored), or None before any data."""
        state = self.streams.get(gateway)
        if state is None:
            return None
        return json.dumps({"stream": state.stream, "seq": state.contiguous}).encode()


def data_topic(base: str, gateway: str) -> str:
    """Topic the gateway publishes batches on."""
    return f"{base}/gw/{gateway}/data"


def ack_topic(base: str, gateway: str) -> str:
    """Topic the consumer acknowledges on."""
    return f"{base}/gw/{gateway}/ack"
