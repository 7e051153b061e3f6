"""Sends the outbox to the consumer in order, in batches, and trims it on application acks.

Go-back-N: up to ``window`` readings may be unacknowledged. If the consumer's ack does not move
for ``ack_timeout`` seconds, or the uplink changes (reconnect, failover, failback), sending
restarts right after the last acked sequence. Resent readings are duplicates by design; the
consumer drops them by ``msg_id``/``seq`` (§6.0.3).

Backoff (issue 10): a consumer slower than a long backlog (a small Home Assistant box taking
in a replayed outage) does not ack within the timeout although it holds what was sent. Each
ack timeout in a row doubles the wait for the next (at most ``MAX_BACKOFF`` × ``ack_timeout``),
and the wait runs from the last resent batch, so no resend starts while an earlier one is
still within its timeout; once the ack passes everything that was outstanding at the resend,
the timeout is back to ``ack_timeout``. Before, every timeout resent the whole window again
and a consumer that queued every copy fell further behind (its ack stood still for minutes).

Epochs (issue 11): every send is recorded in the outbox first (``sent_max``), and until the
first ack of a run only rows sent before are resent (or an empty "hello" batch), so the first
ack tells whether the consumer holds more of this stream than the file ever sent — a restored
or rolled-back file — before any new sequence can collide; the outbox then starts a new stream.
When the outbox changes stream (rollback, storage moved to memory or back) sending restarts at
its floor. The in-memory outbox goes back to its file only when nothing is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from .mqtt_link import Uplink
from .outbox import Outbox, Row
from .topics import PROTOCOL, Topics

_LOGGER = logging.getLogger(__name__)
MAX_BACKOFF = 8  # the ack timeout grows to at most this many times its setting


def encode_batch(gateway: str, stream: str, floor: int, rows: list[Row]) -> str:
    """Batch JSON as documented in DOCS.md; values are spliced in pre-encoded."""
    readings = ",".join(
        f'{{"seq":{r.seq},"msg_id":"{stream}:{r.seq}","ts":{r.ts!r},'
        f'"device":{json.dumps(r.device)},"values":{r.payload}}}'
        for r in rows
    )
    head = {"gateway": gateway, "stream": stream, "floor": floor, "protocol": PROTOCOL}
    head_json = json.dumps(head)[:-1]
    return f'{head_json},"readings":[{readings}]}}'


class Forwarder:
    """Outbox -> MQTT data topic, with application-level acknowledgement."""

    def __init__(
        self, outbox: Outbox, topics: Topics, uplink: Uplink, options: dict[str, Any]
    ) -> None:
        self.outbox = outbox
        self.topics = topics
        self.uplink = uplink
        self.batch = int(options["batch"])
        self.window = int(options["window"])
        self.ack_timeout = float(options["ack_timeout"])
        self.acked = max(outbox.acked(), outbox.floor() - 1)
        self.sent_upto = self.acked
        self.stream = outbox.stream
        self.synced = False  # an ack of this run was checked against sent_max
        self._hello_at = -1e9
        self.outstanding_since: float | None = None
        self.timeouts = 0  # ack timeouts in a row (the backoff's exponent)
        self.resend_end = 0  # what was outstanding at the last timeout's resend
        self.resent_at = -1e9  # when the last batch of that resend was sent
        self.rollbacks = 0
        self.go_backs = 0
        self.sent_messages = 0
        self.sent_readings = 0
        self._link: str | None = None
        self.wake = asyncio.Event()
        self._stopping = False

    def go_back(self, why: str) -> None:
        """Resend everything not yet acknowledged."""
        if self.sent_upto > self.acked:
            _LOGGER.info("resending from seq %d (%s)", self.acked + 1, why)
            self.go_backs += 1
        self.sent_upto = self.acked
        self.outstanding_since = None
        self.wake.set()

    def consumer_online(self) -> None:
        """The consumer (re)started (Home Assistant's birth message): what it has not
        acknowledged is resent now, and the backoff its absence grew starts over."""
        self.timeouts, self.resend_end, self.resent_at = 0, 0, -1e9
        self.go_back("home assistant online")

    def on_ack(self, payload: bytes) -> None:
        """Handle ``{"stream": ..., "seq": N}`` from the consumer."""
        try:
            ack = json.loads(payload)
            seq = int(ack["seq"])
            stream = str(ack["stream"])
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("ignoring malformed ack %r", payload[:100])
            return
        self._follow_stream()
        if stream != self.outbox.stream:
            return
        if seq > max(self.outbox.sent_max, self.outbox.floor() - 1):
            # more than this file ever sent: restored or rolled back (issue 11)
            self.rollbacks += 1
            self.outbox.rollback(seq)
            self._follow_stream()
            return
        self.synced = True
        if seq <= self.acked:
            return
        self.outbox.ack(seq)
        self.acked = seq
        if seq >= self.resend_end:
            self.timeouts = 0  # the consumer caught up with the resend
        self.sent_upto = max(self.sent_upto, seq)
        self.outstanding_since = time.monotonic() if self.sent_upto > self.acked else None
        self.wake.set()

    def _follow_stream(self) -> None:
        """Restart from the floor when the outbox began a new stream (a fresh epoch: nothing
        of it was sent, so no ack of it can be stale and no rollback check is due)."""
        if self.outbox.stream == self.stream:
            return
        self.stream = self.outbox.stream
        self.acked = self.outbox.floor() - 1
        self.sent_upto = self.acked
        self.outstanding_since = None
        self.timeouts, self.resend_end = 0, 0  # the new stream's sequences start afresh
        self.synced = True
        self.wake.set()

    def ack_wait(self) -> float:
        """Seconds without ack progress before the unacked readings are resent (backoff)."""
        return self.ack_timeout * min(1 << self.timeouts, MAX_BACKOFF)

    def _timed_out(self, now: float) -> bool:
        """The ack has not moved for :meth:`ack_wait` since the later of the oldest unacked
        send and the last resent batch."""
        if self.outstanding_since is None:
            return False
        return now - max(self.outstanding_since, self.resent_at) > self.ack_wait()

    def idle(self) -> bool:
        """Nothing sent is waiting for an ack (the outbox may change stream safely)."""
        return self.sent_upto <= self.acked

    def _hello(self, link: Any, now: float) -> None:
        """An empty batch asking the consumer for its ack position of this stream."""
        if now - self._hello_at < self.ack_timeout:
            return
        self._hello_at = now
        link.publish(
            self.topics.data,
            encode_batch(self.topics.gateway, self.outbox.stream, self.outbox.floor(), []),
        )

    def stop(self) -> None:
        """Make :meth:`run` return."""
        self._stopping = True
        self.wake.set()

    async def _wait(self, seconds: float) -> None:
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=seconds)

    async def run(self) -> None:
        """Loop until stopped."""
        while not self._stopping:
            self._follow_stream()
            link = self.uplink.active()
            if link is None:
                self._link = None
                await self._wait(0.2)
                continue
            if link.name != self._link:
                self._link = link.name
                self.go_back(f"uplink {link.name}")
            now = time.monotonic()
            if self._timed_out(now):
                self.resend_end = self.sent_upto
                self.timeouts = min(self.timeouts + 1, 16)
                self.go_back(f"ack timeout; the next after {self.ack_wait():g} s")
            if self.sent_upto - self.acked >= self.window:
                await self._wait(0.05)
                continue
            rows = self.outbox.fetch(
                self.sent_upto, min(self.batch, self.window - (self.sent_upto - self.acked))
            )
            if not self.synced:  # until an ack is checked, only what was sent before
                rows = [r for r in rows if r.seq <= self.outbox.sent_max]
            if not rows:
                if not self.synced:
                    self._hello(link, now)
                await self._wait(0.25)
                continue
            payload = encode_batch(
                self.topics.gateway, self.outbox.stream, self.outbox.floor(), rows
            )
            self.outbox.mark_sent(rows[-1].seq)
            if self.outbox.stream != self.stream:
                continue  # the outbox moved to memory while recording the send: start over
            if not link.publish(self.topics.data, payload):
                await self._wait(0.1)
                continue
            self.sent_messages += 1
            self.sent_readings += len(rows)
            self.sent_upto = rows[-1].seq
            if self.outstanding_since is None:
                self.outstanding_since = now
            if rows[0].seq <= self.resend_end:
                self.resent_at = time.monotonic()
            await asyncio.sleep(0)  # let acks and polls in between batches
