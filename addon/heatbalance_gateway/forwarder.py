"""Sends the outbox to the consumer in order, in batches, and trims it on application acks.

Go-back-N: up to ``window`` readings may be unacknowledged. If the consumer's ack does not move
for ``ack_timeout`` seconds, or the uplink changes (reconnect, failover, failback), sending
restarts right after the last acked sequence. Resent readings are duplicates by design; the
consumer drops them by ``msg_id``/``seq`` (§6.0.3).
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
from .topics import Topics

_LOGGER = logging.getLogger(__name__)


def encode_batch(gateway: str, stream: str, floor: int, rows: list[Row]) -> str:
    """Batch JSON as documented in DOCS.md; values are spliced in pre-encoded."""
    readings = ",".join(
        f'{{"seq":{r.seq},"msg_id":"{stream}:{r.seq}","ts":{r.ts!r},'
        f'"device":{json.dumps(r.device)},"values":{r.payload}}}'
        for r in rows
    )
    head = json.dumps({"gateway": gateway, "stream": stream, "floor": floor})[:-1]
    return f'{head},"readings":[{readings}]}}'


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
        self.outstanding_since: float | None = None
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

    def on_ack(self, payload: bytes) -> None:
        """Handle ``{"stream": ..., "seq": N}`` from the consumer."""
        try:
            ack = json.loads(payload)
            seq = int(ack["seq"])
            stream = str(ack["stream"])
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("ignoring malformed ack %r", payload[:100])
            return
        if stream != self.outbox.stream or seq <= self.acked:
            return
        seq = min(seq, self.outbox.last_seq())  # never trust an ack for data not yet produced
        self.outbox.ack(seq)
        self.acked = seq
        self.sent_upto = max(self.sent_upto, seq)
        self.outstanding_since = time.monotonic() if self.sent_upto > self.acked else None
        self.wake.set()

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
            link = self.uplink.active()
            if link is None:
                self._link = None
                await self._wait(0.2)
                continue
            if link.name != self._link:
                self._link = link.name
                self.go_back(f"uplink {link.name}")
            now = time.monotonic()
            if (
                self.outstanding_since is not None
                and now - self.outstanding_since > self.ack_timeout
            ):
                self.go_back("ack timeout")
            if self.sent_upto - self.acked >= self.window:
                await self._wait(0.05)
                continue
            rows = self.outbox.fetch(
                self.sent_upto, min(self.batch, self.window - (self.sent_upto - self.acked))
            )
            if not rows:
                await self._wait(0.25)
                continue
            payload = encode_batch(
                self.topics.gateway, self.outbox.stream, self.outbox.floor(), rows
            )
            if not link.publish(self.topics.data, payload):
                await self._wait(0.1)
                continue
            self.sent_messages += 1
            self.sent_readings += len(rows)
            self.sent_upto = rows[-1].seq
            if self.outstanding_since is None:
                self.outstanding_since = now
            await asyncio.sleep(0)  # let acks and polls in between batches
