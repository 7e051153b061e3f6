"""Parsing of MQTT commands; execution happens in the bus worker that owns the device.

Two forms:

* ``<base>/gw/<gw>/cmd`` — JSON ``{"request_id", "device", "point", "value"[, "expect"]}``
  from the integration (``expect``: where it read the valve when it computed the step; the
  worker refuses a set-point whose valve stands elsewhere now); a request id executes at most
  once (journalled in the outbox database, so also across restarts); the result goes to
  ``<base>/gw/<gw>/cmd/result``.
* ``<base>/gw/<gw>/dev/<device>/<point>/set`` — plain payload from HA ``number``/``valve``
  entities (a number, or ``OPEN``/``CLOSE`` meaning the point's max/min).

Anything malformed is refused with a reason; nothing here can raise into the gateway loop.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from .register_map import Profile

REQUEST_SCHEMA = vol.Schema(
    {
        vol.Required("request_id"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Required("device"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Required("point"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Required("value"): lambda v: _value(v),
        # where the sender read the valve when it computed this step (same unit as value):
        # refused if the valve has moved away from it since (§5.3.6-3)
        vol.Optional("expect"): lambda v: _finite(v),
    },
    extra=vol.REMOVE_EXTRA,
)


def _value(value: Any) -> float | str:
    """A finite JSON number (not a bool) or OPEN/CLOSE."""
    if value in ("OPEN", "CLOSE"):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise vol.Invalid("value must be a number or OPEN/CLOSE")
    if not math.isfinite(value):
        raise vol.Invalid("value must be finite")
    return float(value)


def _finite(value: Any) -> float:
    """A finite JSON number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise vol.Invalid("expect must be a finite number")
    return float(value)


class CommandError(ValueError):
    """A command payload is malformed; ``request_id`` is set when it could be read."""

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command ready for a bus worker (value still in engineering units)."""

    device: str
    point: str
    value: float | str
    request_id: str | None
    expect: float | None = None


def parse_request(payload: bytes) -> ParsedCommand:
    """Parse a JSON command; raises CommandError."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise CommandError(f"not JSON: {err}") from err
    request_id = data.get("request_id") if isinstance(data, dict) else None
    request_id = request_id if isinstance(request_id, str) and 0 < len(request_id) <= 64 else None
    try:
        valid = REQUEST_SCHEMA(data)
    except vol.Invalid as err:
        raise CommandError(f"invalid command: {err}", request_id) from err
    return ParsedCommand(
        valid["device"], valid["point"], valid["value"], valid["request_id"], valid.get("expect")
    )


def parse_set(topic_tail: list[str], payload: bytes) -> ParsedCommand:
    """Parse ``dev/<device>/<point>/set`` with a plain payload."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as err:
        raise CommandError("payload is not UTF-8") from err
    value: float | str = text.upper() if text.upper() in ("OPEN", "CLOSE") else _number(text)
    return ParsedCommand(topic_tail[1], topic_tail[2], value, None)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise CommandError(f"not a number: {text[:40]!r}") from err
    if not math.isfinite(value):
        raise CommandError("value must be finite")
    return value


def resolve_value(command: ParsedCommand, profile: Profile) -> float:
    """Turn OPEN/CLOSE into the point's max/min; numbers pass through (range checked later)."""
    if isinstance(command.value, str):
        point = profile.point(command.point)
        if point.min is None or point.max is None:
            raise CommandError(f"point {command.point!r} is not writable", command.request_id)
        return point.max if command.value == "OPEN" else point.min
    return float(command.value)


def result_payload(result: dict[str, Any]) -> str:
    """JSON for the result topic."""
    return json.dumps(result, separators=(",", ":"), default=str)
