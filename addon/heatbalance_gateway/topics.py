"""MQTT topic layout, in one place so DOCS.md, the ACL and the code agree.

Everything a gateway writes lives under ``<base>/gw/<gateway_id>/`` or under discovery
``<prefix>/<component>/<gateway_id>/...``; the mosquitto ACL grants exactly that to the user
named like the gateway (``pattern write heatbalance/gw/%u/#``), so a gateway cannot publish into
another gateway's topics (§5.1.3 graded access).
"""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL = 2
"""Version of the link protocol, sent with every data batch and in the retained ``info``.
2: energy counters in kWh (1: add-ons before that published MWh and sent no version; the
integration takes no energy counter from a batch of another version and raises a repair)."""


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names for one gateway."""

    base: str
    gateway: str
    discovery_prefix: str = "homeassistant"

    @property
    def root(self) -> str:
        """Prefix of every gateway topic."""
        return f"{self.base}/gw/{self.gateway}"

    @property
    def status(self) -> str:
        """Gateway availability, retained ``online``/``offline`` (also the last will)."""
        return f"{self.root}/status"

    @property
    def info(self) -> str:
        """What this gateway is, retained JSON published on every connect (the birth
        message): link protocol, add-on version, energy unit and each field device's point
        keys, so the consumer knows what a device can deliver before it reports."""
        return f"{self.root}/info"

    @property
    def data(self) -> str:
        """Outbox batches (QoS 1, not retained)."""
        return f"{self.root}/data"

    @property
    def ack(self) -> str:
        """Consumer acknowledgements (highest contiguous sequence)."""
        return f"{self.root}/ack"

    @property
    def command(self) -> str:
        """JSON commands with request ids."""
        return f"{self.root}/cmd"

    @property
    def command_result(self) -> str:
        """Results of JSON commands."""
        return f"{self.root}/cmd/result"

    @property
    def stats(self) -> str:
        """Statistics JSON, retained (§6.0.6)."""
        return f"{self.root}/stats"

    @property
    def set_wildcard(self) -> str:
        """Subscription for Home Assistant entity commands."""
        return f"{self.root}/dev/+/+/set"

    def device_state(self, device: str) -> str:
        """Latest values of a device, JSON, retained."""
        return f"{self.root}/dev/{device}/state"

    def device_availability(self, device: str) -> str:
        """Device availability, retained ``online``/``offline``."""
        return f"{self.root}/dev/{device}/availability"

    def point_set(self, device: str, point: str) -> str:
        """Command topic of a writable point for HA ``number``/``valve`` entities."""
        return f"{self.root}/dev/{device}/{point}/set"

    def discovery(self, component: str, object_id: str) -> str:
        """HA MQTT discovery config topic; node id = gateway id (ACL: %u)."""
        return f"{self.discovery_prefix}/{component}/{self.gateway}/{object_id}/config"
