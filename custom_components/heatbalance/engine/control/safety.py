"""Operator safety thresholds every command passes through (§5.3.6-3, §5.3.8-1).

A controller proposes; this module disposes: openings stay within the operator's and the
device's limits, move at most ``max_step`` per control step, and a proposal that is not a
finite number (a controller fed bad data) holds the current position (fail-safe).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class SafetyLimits:
    """Thresholds an operator sets per network (§5.3.6-3)."""

    min_opening: float = 0.05
    max_opening: float = 1.0
    max_step: float = 0.5

    def __post_init__(self) -> None:
        """Refuse limits that contradict each other."""
        if not 0.0 <= self.min_opening <= self.max_opening <= 1.0:
            raise ValueError(
                "need 0 ≤ min_opening ≤ max_opening ≤ 1, "
                f"got {self.min_opening} and {self.max_opening}"
            )
        if not 0.0 < self.max_step <= 1.0:
            raise ValueError(f"max_step must be in (0, 1], got {self.max_step}")

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form (stored with the config entry's options)."""
        return asdict(self)


def apply_limits(
    current: float,
    proposed: float | None,
    limits: SafetyLimits,
    device_min: float = 0.0,
    device_max: float = 1.0,
) -> tuple[float, bool]:
    """The opening to command and whether the proposal was changed to get there."""
    lo = max(limits.min_opening, device_min)
    hi = min(limits.max_opening, device_max)
    if not math.isfinite(current):
        current = lo
    if proposed is None or not math.isfinite(proposed):
        return min(max(current, lo), hi), True
    step = min(max(proposed, current - limits.max_step), current + limits.max_step)
    value = min(max(step, lo), hi)
    return value, value != proposed
