"""The consumer side of the gateway link protocol — the one implementation (issue 11).

Pure Python, no Home Assistant: the integration's GatewaySource runs it, and so do the add-on's
tests (their MQTT consumer), so the rules below are tested once and used once. The producer
side (outbox and forwarder) is the add-on's; docs/gateway.md describes the wire format.

The gateway sends batches on ``<base>/gw/<gateway>/data``; the consumer stores the new readings,
then acknowledges the highest *contiguous* sequence on ``<base>/gw/<gateway>/ack``; the gateway
deletes acknowledged rows only (§6.0.3). Rules:

* duplicates (replays, go-back resends) are dropped by sequence number within a stream, and
  across streams by the reading's identity (device and original timestamp): a gateway that
  re-streams its outbox under a new epoch (restored or rolled-back file, storage moved to
  memory and back) resends rows this consumer may already hold;
* the ack never names a sequence past a gap; a batch's ``floor`` says everything below it is
  gone at the gateway (acked, or dropped by its cap/TTL — counted as ``gap_skipped``);
* a new stream id is a new epoch: tracking starts again at its floor;
* replayed backlog keeps its original timestamps and never replaces newer live state.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

PROTOCOL = 2
"""The link protocol this consumer speaks (the add-on's ``topics.PROTOCOL``): 2 = energy
counters in kWh. A batch without a version is from an add-on before it (1: energy in MWh)."""
LEGACY_PROTOCOL = 1

RECENT_IDENTITIES = 50_000
"""Readings per gateway remembered by identity (device, timestamp) for cross-stream dedup:
more than a re-streamed outbox resends at once (the forwarder's window, 5,000 by default)."""


class BatchError(ValueError):
    """A data batch is malformed (it is counted and dropped, never acknowledged)."""


@dataclass(slots=True)
class Item:
    """One reading of a batch: new (not a duplicate) and whether it is the newest state."""

    reading: dict[str, Any]
    is_new: bool
    is_latest: bool


@dataclass(slots=True)
class Stream:
    """Contiguous-ack position in one gateway's outbox stream (one epoch)."""

    stream: str
    contiguous: int = 0
    pending: set[int] = field(default_factory=set)
    gap_skipped: int = 0


@dataclass(slots=True)
class _Recent:
    """Bounded set of reading identities, oldest forgotten first."""

    order: deque[tuple[str, float]] = field(default_factory=deque)
    keys: set[tuple[str, float]] = field(default_factory=set)

    def add(self, key: tuple[str, float]) -> bool:
        """Remember ``key``; False when it was already known."""
        if key in self.keys:
            return False
        self.keys.add(key)
        self.order.append(key)
        if len(self.order) > RECENT_IDENTITIES:
            self.keys.discard(self.order.popleft())
        return True

    def forget(self, key: tuple[str, float]) -> None:
        """Unlearn ``key`` (its reading was not kept after all)."""
        self.keys.discard(key)


class AckTracker:
    """Dedup, contiguous ack and latest-state rule for any number of gateways."""

    def __init__(self) -> None:
        self.streams: dict[str, Stream] = {}
        self.latest_ts: dict[tuple[str, str], float] = {}
        self.duplicates = 0
        self.epochs = 0  # stream changes seen (new outbox file, restore, rollback, storage)
        self.protocols: dict[str, int] = {}  # gateway → link protocol of its last batch
        self._recent: dict[str, _Recent] = {}

    def restore(self, gateway: str, stream: str, contiguous: int) -> None:
        """Resume from a persisted ack position."""
        self.streams[gateway] = Stream(stream, contiguous)

    def handle_batch(self, gateway: str, payload: bytes | str) -> list[Item]:
        """Parse and classify one batch; raises BatchError when it is malformed."""
        return self.handle_parsed(gateway, parse_batch(payload))

    def handle_parsed(self, gateway: str, batch: dict[str, Any]) -> list[Item]:
        """Classify one batch already parsed by :func:`parse_batch`."""
        self.protocols[gateway] = batch["protocol"]
        state = self.streams.get(gateway)
        if state is None or state.stream != batch["stream"]:
            if state is not None:
                self.epochs += 1
            state = self.streams[gateway] = Stream(batch["stream"])  # a new epoch
        if batch["floor"] - 1 > state.contiguous:
            if state.contiguous or state.pending:  # a fresh epoch simply starts at its floor
                state.gap_skipped += batch["floor"] - 1 - state.contiguous
            state.contiguous = batch["floor"] - 1
            state.pending = {s for s in state.pending if s > state.contiguous}
        items = [self._one(gateway, state, r) for r in batch["readings"]]
        while state.contiguous + 1 in state.pending:
            state.contiguous += 1
            state.pending.discard(state.contiguous)
        return items

    def _one(self, gateway: str, state: Stream, reading: dict[str, Any]) -> Item:
        seq = reading["seq"]
        if seq <= state.contiguous or seq in state.pending:
            self.duplicates += 1
            return Item(reading, False, False)
        state.pending.add(seq)  # received: the ack may pass it, even when it is a duplicate
        if not self._recent.setdefault(gateway, _Recent()).add((reading["device"], reading["ts"])):
            self.duplicates += 1
            return Item(reading, False, False)
        key = (gateway, reading["device"])
        latest = reading["ts"] >= self.latest_ts.get(key, -math.inf)
        if latest:
            self.latest_ts[key] = reading["ts"]
        return Item(reading, True, latest)

    def forget(self, gateway: str, items: list[Item]) -> None:
        """Unlearn the identities of a batch's new readings that were not kept (the consumer
        rewinds its ack position; the gateway sends them again and they must count as new)."""
        recent = self._recent.get(gateway)
        if recent is not None:
            for item in items:
                if item.is_new:
                    recent.forget((item.reading["device"], item.reading["ts"]))

    def ack_payload(self, gateway: str) -> bytes | None:
        """JSON for the ack topic, or None before any batch of that gateway."""
        state = self.streams.get(gateway)
        return None if state is None else ack_message(state)


def ack_message(state: Stream) -> bytes:
    """The ack topic's JSON for an ack position."""
    return json.dumps({"stream": state.stream, "seq": state.contiguous}).encode()


class Received:
    """Per gateway, the sequences received so far — stored or still queued for storing.

    A consumer that queues batches checks each arriving batch against this before queueing
    it: a batch holding nothing new (a go-back resend of what is queued already) is dropped
    at once. Without it, a gateway resending its window (5,000 readings) every ack timeout to
    a consumer slower than its backlog queued every copy behind the backlog, and the ack
    position stood still (issue 10, the backlog livelock). Same rules as :class:`AckTracker`:
    the stream, the floor, contiguous plus pending sequences.
    """

    def __init__(self) -> None:
        self.streams: dict[str, Stream] = {}

    def covers(self, gateway: str, batch: dict[str, Any]) -> bool:
        """Whether every reading of ``batch`` was received already. An empty batch (the
        gateway asking for its ack position) is never covered: it must be answered."""
        state = self.streams.get(gateway)
        readings = batch["readings"]
        if state is None or state.stream != batch["stream"] or not readings:
            return False
        return all(r["seq"] <= state.contiguous or r["seq"] in state.pending for r in readings)

    def note(self, gateway: str, batch: dict[str, Any]) -> None:
        """Count ``batch``'s sequences as received (queued)."""
        state = self.streams.get(gateway)
        if state is None or state.stream != batch["stream"]:
            state = self.streams[gateway] = Stream(batch["stream"])
        if batch["floor"] - 1 > state.contiguous:
            state.contiguous = batch["floor"] - 1
            state.pending = {s for s in state.pending if s > state.contiguous}
        state.pending.update(r["seq"] for r in batch["readings"] if r["seq"] > state.contiguous)
        while state.contiguous + 1 in state.pending:
            state.contiguous += 1
            state.pending.discard(state.contiguous)

    def reset(self, gateway: str, stored: Stream | None) -> None:
        """Back to what is stored (a batch was not kept: its resend must get through)."""
        if stored is None:
            self.streams.pop(gateway, None)
        else:
            self.streams[gateway] = copy_stream(stored)


def parse_batch(payload: bytes | str) -> dict[str, Any]:
    """A batch with typed fields; BatchError names what is wrong."""
    try:
        raw = json.loads(payload)
        readings = [
            {
                "seq": int(r["seq"]),
                "ts": finite(r["ts"]),
                "device": str(r["device"]),
                "values": dict(r.get("values") or {}),
            }
            for r in raw["readings"]
        ]
        return {
            "stream": str(raw["stream"]),
            "floor": int(raw.get("floor", 0)),
            "protocol": int(raw.get("protocol", LEGACY_PROTOCOL)),
            "readings": readings,
        }
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise BatchError(f"malformed gateway batch: {err!r}") from err


def finite(value: Any) -> float:
    """A finite float (ValueError otherwise)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("timestamp not finite")
    return number


def copy_stream(stream: Stream) -> Stream:
    """An independent copy of an ack position."""
    return Stream(stream.stream, stream.contiguous, set(stream.pending), stream.gap_skipped)


def data_topic(base: str, gateway: str) -> str:
    """Topic the gateway publishes batches on."""
    return f"{base}/gw/{gateway}/data"


def ack_topic(base: str, gateway: str) -> str:
    """Topic the consumer acknowledges on."""
    return f"{base}/gw/{gateway}/ack"


def command_topic(base: str, gateway: str) -> str:
    """Topic the consumer sends set-point commands on."""
    return f"{base}/gw/{gateway}/cmd"
