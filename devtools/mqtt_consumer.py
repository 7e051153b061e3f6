"""Test-side MQTT consumer: the integration's role, built on the integration's own protocol
module (custom_components/heatbalance/gateway_protocol.py, the one implementation).

Subscribes to a gateway's data topic on one or more brokers, stores every new reading, and
acks the highest contiguous sequence after storing, exactly as DOCS.md asks of the integration.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt

from custom_components.heatbalance.gateway_protocol import AckTracker, ack_topic, data_topic


class MqttConsumer:
    """Thread-safe collector of a gateway's readings."""

    def __init__(
        self, gateway: str, ports: list[int], base: str = "heatbalance", **auth: Any
    ) -> None:
        self.gateway = gateway
        self.base = base
        self.core = AckTracker()
        self.lock = threading.Lock()
        self.stored: dict[int, dict[str, Any]] = {}
        self.identities: dict[tuple[str, float], int] = {}  # (device, ts) → times stored
        self.received = 0
        self.batches = 0
        self.clients: list[mqtt.Client] = []
        self.by_client = [0] * len(ports)
        # Acks stop at this sequence when set: the test's way to keep a replay unfinished.
        self.ack_upto: int | None = None
        self.subscribed = 0  # SUBACKs received: from then on a batch sent reaches it
        for index, port in enumerate(ports):
            client = mqtt.Client(
                mqtt.CallbackAPIVersion.VERSION2,
                client_id=f"test-consumer-{gateway}-{index}",
                protocol=mqtt.MQTTv5,
            )
            if auth.get("username"):
                client.username_pw_set(auth["username"], auth["password"])
            if auth.get("ca"):
                client.tls_set(ca_certs=str(auth["ca"]))
            client.on_connect = self._on_connect
            client.on_message = self._on_message
            client.on_subscribe = self._on_subscribe
            client.reconnect_delay_set(0.2, 1)
            client.connect_async("127.0.0.1", port, keepalive=10, clean_start=True)
            self.clients.append(client)
        for client in self.clients:
            client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if not reason.is_failure:
            client.subscribe(data_topic(self.base, self.gateway), qos=1)

    def _on_subscribe(self, *_args: Any) -> None:
        with self.lock:
            self.subscribed += 1

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.batches += 1
            self.by_client[self.clients.index(client)] += 1
            for item in self.core.handle_batch(self.gateway, message.payload):
                self.received += 1
                if item.is_new:
                    self.stored[int(item.reading["seq"])] = item.reading
                    key = (item.reading["device"], item.reading["ts"])
                    self.identities[key] = self.identities.get(key, 0) + 1
            ack = self.core.ack_payload(self.gateway)
            if ack and self.ack_upto is not None:
                state = self.core.streams[self.gateway]
                seq = min(state.contiguous, self.ack_upto)
                ack = json.dumps({"stream": state.stream, "seq": seq}).encode()
        if ack:
            for other in self.clients:
                if other.is_connected():
                    other.publish(ack_topic(self.base, self.gateway), ack, qos=1)

    @property
    def contiguous(self) -> int:
        """Highest sequence stored without a gap."""
        with self.lock:
            state = self.core.streams.get(self.gateway)
            return 0 if state is None else state.contiguous

    def close(self) -> None:
        """Disconnect all clients and stop their threads."""
        for client in self.clients:
            client.disconnect()
            client.loop_stop()

    def dump(self) -> str:
        """Debug summary."""
        return json.dumps(
            {"received": self.received, "stored": len(self.stored), "dups": self.core.duplicates}
        )
