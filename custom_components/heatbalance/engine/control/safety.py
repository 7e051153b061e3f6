"""Operator safety thresholds every command passes through (§5.3.6-3, §5.3.8-1).

A controller proposes; this module disposes. Whatever a controller computes — from good data,
bad data or a bug — the command that leaves the engine:

* stays within the operator's and the device's own opening limits (the tighter of the two);
* moves at most ``max_step`` per control step from where the valve is;
* never closes a valve further while its inlet is at or below the minimum flow (a starving
  building must not be throttled more, whatever the algorithm believes);
* holds the current position when the proposal is not a finite number (fail-safe);
* and the substation pump stays within its speed range and speed-change limit.

Every intervention is reported by name so the integration can raise the §5.3.8-1
safety-threshold alarms (minimum flow, minimum opening, opening change).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..diagnosis import RESTORE_ERRORS, is_number, stored_number

# Names of the limits that acted on a command (§5.3.8-1 alarm types).
MIN_OPENING = "min_opening"
MAX_OPENING = "max_opening"
MAX_STEP = "max_step"
MIN_FLOW = "min_flow"
NOT_FINITE = "not_finite"
MIN_SPEED = "min_pump_speed"
MAX_SPEED = "max_pump_speed"
MAX_SPEED_STEP = "max_pump_step"


@dataclass
class SafetyLimits:
    """Thresholds an operator sets per network (§5.3.6-3).

    ``min_flow_ratio`` is a share of each inlet's set flow (design × weight,
    ``ControllerConfig.set_flow``) below which its valve is never closed further — the same
    share the minimum-flow alarm compares with (``alarms.inlet_conditions``); the pump limits
    narrow the pump's own VFD range.
    """

    min_opening: float = 0.05
    max_opening: float = 1.0
    max_step: float = 0.5
    min_flow_ratio: float = 0.0
    min_pump_speed: float = 0.0
    max_pump_speed: float = 1.0
    max_pump_step: float = 0.2

    def __post_init__(self) -> None:
        """Refuse limits that contradict each other (a wrong threshold must not run)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not finite_number(value):  # text, a bool or NaN never sets a limit
                raise ValueError(f"{f.name} must be a finite number, got {value!r}")
        self._ordered("min_opening", "max_opening")
        if not 0.0 < self.max_step <= 1.0:
            raise ValueError(f"max_step must be in (0, 1], got {self.max_step}")
        if not 0.0 <= self.min_flow_ratio <= 2.0:
            raise ValueError(f"min_flow_ratio must be in [0, 2], got {self.min_flow_ratio}")
        self._ordered("min_pump_speed", "max_pump_speed")
        if not 0.0 < self.max_pump_step <= 1.0:
            raise ValueError(f"max_pump_step must be in (0, 1], got {self.max_pump_step}")

    def _ordered(self, low: str, high: str) -> None:
        """Refuse a range that is not 0 ≤ low ≤ high ≤ 1."""
        lo, hi = getattr(self, low), getattr(self, high)
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"need 0 ≤ {low} ≤ {high} ≤ 1, got {lo} and {hi}")

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form (stored with the config entry's options)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SafetyLimits:
        """Limits as an operator's settings give them (unknown keys ignored, missing ones
        default); a value that is no finite number raises ValueError naming it. Before,
        ``float`` took text ("0.3") and a bool (True: a step limit of 1, the loosest)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def restored(cls, data: Any) -> tuple[SafetyLimits, list[str]]:
        """Limits read back from a store, and the names of the damaged ones: each stored
        number by the loop's one rule (:func:`.diagnosis.stored_number`); a damaged one
        restarts at the engine's own, the others kept; if what is kept is out of range or
        out of order (a minimum above its maximum), all restart. The loop sets the
        operator's limits from the options before any step (``ControlLoop.configure``)."""
        if not isinstance(data, Mapping):
            return cls(), ["limits"]
        kept: dict[str, float] = {}
        damaged: list[str] = []
        for name in (f.name for f in fields(cls) if f.name in data):
            try:
                kept[name] = stored_number(data[name])
            except RESTORE_ERRORS:
                damaged.append(name)
        try:
            return cls(**kept), damaged
        except ValueError:
            return cls(), [*damaged, *kept]

    def opening_range(
        self, device_min: float = 0.0, device_max: float = 1.0
    ) -> tuple[float, float]:
        """The opening range a command must lie in: the tighter of operator and device."""
        lo = max(self.min_opening, _clip01(device_min, 0.0))
        hi = min(self.max_opening, _clip01(device_max, 1.0))
        return lo, max(lo, hi)

    def speed_range(self, pump_min: float = 0.0, pump_max: float = 1.0) -> tuple[float, float]:
        """The pump speed range: the tighter of operator and VFD."""
        lo = max(self.min_pump_speed, _clip01(pump_min, 0.0))
        hi = min(self.max_pump_speed, _clip01(pump_max, 1.0))
        return lo, max(lo, hi)


def limit_opening(
    current: float,
    proposed: float | None,
    limits: SafetyLimits,
    device_min: float = 0.0,
    device_max: float = 1.0,
    *,
    flow_ratio: float | None = None,
) -> tuple[float, list[str]]:
    """The opening to command and the names of the limits that acted.

    ``current`` is where the valve is (feedback, else the last command); ``flow_ratio`` the
    inlet's measured flow over its set flow, for the minimum-flow rule. The opening range wins
    over the step limit: a valve found outside the range is brought back at once.
    """
    lo, hi = limits.opening_range(device_min, device_max)
    acted: list[str] = []
    if not math.isfinite(current):
        current = lo
    if proposed is None or not math.isfinite(proposed):
        acted.append(NOT_FINITE)
        proposed = current
    value = proposed
    if value > current + limits.max_step or value < current - limits.max_step:
        acted.append(MAX_STEP)
        value = min(max(value, current - limits.max_step), current + limits.max_step)
    starving = flow_ratio is not None and flow_ratio <= limits.min_flow_ratio
    if starving and value < current:
        acted.append(MIN_FLOW)
        value = current
    if value < lo:
        acted.append(MIN_OPENING)
        value = lo
    elif value > hi:
        acted.append(MAX_OPENING)
        value = hi
    return value, acted


def apply_limits(
    current: float,
    proposed: float | None,
    limits: SafetyLimits,
    device_min: float = 0.0,
    device_max: float = 1.0,
    *,
    flow_ratio: float | None = None,
) -> tuple[float, bool]:
    """The opening to command and whether the proposal was changed to get there."""
    value, acted = limit_opening(
        current, proposed, limits, device_min, device_max, flow_ratio=flow_ratio
    )
    return value, bool(acted)


def limit_pump_speed(
    current: float,
    proposed: float | None,
    limits: SafetyLimits,
    pump_min: float = 0.0,
    pump_max: float = 1.0,
) -> tuple[float, list[str]]:
    """The pump speed to command and the limits that acted (same rules as for valves)."""
    lo, hi = limits.speed_range(pump_min, pump_max)
    acted: list[str] = []
    if not math.isfinite(current):
        current = hi  # unknown speed: the safe side for the buildings is full speed
    if proposed is None or not math.isfinite(proposed):
        acted.append(NOT_FINITE)
        proposed = current
    value = proposed
    step = limits.max_pump_step
    if value > current + step or value < current - step:
        acted.append(MAX_SPEED_STEP)
        value = min(max(value, current - step), current + step)
    if value < lo:
        acted.append(MIN_SPEED)
        value = lo
    elif value > hi:
        acted.append(MAX_SPEED)
        value = hi
    return value, acted


def _clip01(value: float, default: float) -> float:
    """A device limit within 0…1 (a missing or absurd one means no limit)."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return min(max(float(value), 0.0), 1.0)


def finite_number(value: Any) -> bool:
    """A finite int or float, not a bool nor text (:func:`.diagnosis.is_number`; an int
    beyond a float's range is none either): the one rule a setting's number passes."""
    try:
        return is_number(value)
    except OverflowError:
        return False
