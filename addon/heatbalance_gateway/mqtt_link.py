"""MQTT uplinks (paho-mqtt 2.x, MQTT v5, QoS 1): a main broker and an optional backup.

Both links stay connected when they can; the main one carries traffic whenever it is up, the
backup takes over when the main one has been down for ``failover_after`` seconds and hands back
as soon as the main one returns (§6.0.1 backup channel, §5.1.3 redundant comms). Nothing is lost
in a switch because data leaves the outbox only on the consumer's ack (§6.0.3): on every switch
the forwarder goes back to the last acked sequence and resends.

paho runs its network loop in its own thread; callbacks hand work to the asyncio loop with
``call_soon_threadsafe``. A failed connection attempt is logged with its reason (TLS: unknown
CA, expired, self-signed, wrong host name; refused; unreachable) whenever the reason changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties

_LOGGER = logging.getLogger(__name__)


class BrokerLink:
    """One paho client to one broker endpoint."""

    def __init__(
        self,
        name: str,
        broker: dict[str, Any],
        client_id: str,
        will: tuple[str, str],
        loop: asyncio.AbstractEventLoop,
        on_connect: Callable[[BrokerLink], None],
        on_message: Callable[[BrokerLink, str, bytes, bool], None],
        on_disconnect: Callable[[BrokerLink], None],
    ) -> None:
        self.name = name
        self.broker = broker
        self.loop = loop
        self.connected = False
        self.down_since: float | None = time.monotonic()
        self.last_error: str | None = None
        self._on_connect = on_connect
        self._on_message = on_message
        self._on_disconnect = on_disconnect
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            transport=broker["transport"],
            reconnect_on_failure=True,
        )
        if broker["transport"] == "websockets":
            client.ws_set_options(path=broker["ws_path"])
        client.username_pw_set(broker["username"], broker["password"])
        if "tls" in broker:
            tls = broker["tls"]
            client.tls_set(
                ca_certs=tls["ca_file"],
                certfile=tls.get("cert_file"),
                keyfile=tls.get("key_file"),
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
            client.tls_insecure_set(False)  # verify the broker's host name too
        client.will_set(will[0], will[1], qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=4)
        client.max_inflight_messages_set(200)
        client.on_connect = self._connected
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        client.on_subscribe = self._suback
        self.client = client
        self._pending_subscriptions: dict[int, tuple[list[str], Callable[[], object]]] = {}

    # paho thread -> asyncio loop
    def _connected(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if reason.is_failure:
            self.last_error = str(reason)
            _LOGGER.warning("%s broker refused the connection: %s", self.name, reason)
            return
        self.loop.call_soon_threadsafe(self._set_connected)

    def _connect_failed(self, _c: Any, _u: Any) -> None:
        """paho calls this inside its ``except OSError`` around the connect: the exception is
        the reason (ssl.SSLCertVerificationError names CA, expiry, self-signed, host name)."""
        err = sys.exception()
        reason = "unknown" if err is None else f"{type(err).__name__}: {err}"
        if reason != self.last_error:
            _LOGGER.warning(
                "%s broker %s:%s connection failed: %s",
                self.name,
                self.broker["host"],
                self.broker["port"],
                reason,
            )
        self.last_error = reason

    def _set_connected(self) -> None:
        self.connected = True
        self.down_since = None
        self.last_error = None
        _LOGGER.info("%s broker connected", self.name)
        self._on_connect(self)

    def _disconnected(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        self.loop.call_soon_threadsafe(self._set_disconnected, str(reason))

    def _set_disconnected(self, reason: str) -> None:
        if self.connected:
            _LOGGER.warning("%s broker disconnected: %s", self.name, reason)
        self.connected = False
        self.down_since = self.down_since or time.monotonic()
        self._on_disconnect(self)

    def _suback(self, _c: Any, _u: Any, mid: int, reasons: list[Any], _p: Any = None) -> None:
        refusals = [str(r) if r.is_failure else None for r in reasons]
        self.loop.call_soon_threadsafe(self._set_subscribed, mid, refusals)

    def _set_subscribed(self, mid: int, refusals: list[str | None]) -> None:
        pending = self._pending_subscriptions.pop(mid, None)
        if pending is None:
            return  # a subscription of an earlier connection
        topics, granted = pending
        refused = [f"{t} ({r})" for t, r in zip(topics, refusals, strict=False) if r is not None]
        if refused:
            _LOGGER.warning("%s broker refused subscriptions: %s", self.name, ", ".join(refused))
        else:
            _LOGGER.info("%s broker subscribed", self.name)
        granted()

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.loop.call_soon_threadsafe(
            self._on_message, self, message.topic, bytes(message.payload), bool(message.retain)
        )

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting."""
        self.client.connect_async(
            self.broker["host"], self.broker["port"], self.broker["keepalive"], clean_start=True
        )
        self.client.loop_start()

    def stop(self, goodbye: tuple[str, str] | None = None) -> None:
        """Publish a last message (gateway offline) and disconnect cleanly."""
        if goodbye and self.connected:
            info = self.client.publish(goodbye[0], goodbye[1], qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()
        self.connected = False

    def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        expiry_s: int | None = None,
    ) -> bool:
        """Queue a publish on this link; False if not connected."""
        if not self.connected:
            return False
        properties = None
        if expiry_s is not None:
            properties = Properties(mqtt.PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = expiry_s
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def subscribe(self, topics: list[str], granted: Callable[[], object] | None = None) -> None:
        """Subscribe (QoS 1) to the given topics; ``granted`` runs on the loop once the
        broker's SUBACK arrived: only from then on does a message published there reach us
        (a clean session keeps nothing from before)."""
        result, mid = self.client.subscribe([(t, 1) for t in topics])
        if granted is not None and result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_subscriptions[mid] = (topics, granted)


class Uplink:
    """Chooses the active link: main when up, backup after ``failover_after`` without main."""

    def __init__(self, main: BrokerLink, backup: BrokerLink | None, failover_after: float) -> None:
        self.main = main
        self.backup = backup
        self.failover_after = failover_after
        self._last_active: str | None = None
        self.switches = 0

    @property
    def links(self) -> list[BrokerLink]:
        """All configured links."""
        return [self.main] + ([self.backup] if self.backup else [])

    def active(self) -> BrokerLink | None:
        """The link to publish on now (None if no usable link)."""
        if self.main.connected:
            return self._note(self.main)
        down_for = time.monotonic() - (self.main.down_since or time.monotonic())
        if self.backup and self.backup.connected and down_for >= self.failover_after:
            return self._note(self.backup)
        return self._note(None)

    def _note(self, link: BrokerLink | None) -> BrokerLink | None:
        name = None if link is None else link.name
        if name != self._last_active:
            if name is not None and self._last_active is not None:
                self.switches += 1
            _LOGGER.info("uplink: %s -> %s", self._last_active, name)
            self._last_active = name
        return link
