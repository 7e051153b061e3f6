"""Traditional regulation: one PI loop per inlet on its control target (§5.3.6-1, §3.0.6).

The loop acts on the valve opening. Its gains are scaled by the valve's sensitivity
``d ln Kv / d opening`` (``ln R`` for an equal-percentage valve, ``1/h`` for a linear one),
so an error of 10 % in flow asks for about a 10 % change in Kv whatever the valve; the
circuit's own resistance makes the real change smaller, which is why plain PI converges over
several steps where the coordinated model-based controller needs one or two.

* **deadband** — inside ``|e| < deadband`` the loop neither integrates nor moves: no actuator
  wear for noise (§8.2.5: a balanced network stops moving devices);
* **anti-windup by back-calculation** — the integral is corrected by what the safety limits
  took off the output, so after a valve sat at a limit the loop does not overshoot;
* **bumpless start** — the bias is the opening the loop found when it took over.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..model import Device

MIN_SENSITIVITY = 0.5  # d ln Kv/dh floor: a linear valve nearly open still moves


@dataclass
class PIState:
    """Serialisable memory of one inlet's loop."""

    bias: float
    integral: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PIState:
        """Read back :meth:`to_dict`; a non-finite value restarts the loop at 0.5 open."""
        bias = _finite_or(data.get("bias"), 0.5)
        return cls(bias=bias, integral=_finite_or(data.get("integral"), 0.0))


def valve_sensitivity(device: Device, opening: float) -> float:
    """``d ln Kv / d opening`` of the valve at ``opening``."""
    if device.characteristic == "linear":
        return max(1.0 / max(opening, 1e-3), MIN_SENSITIVITY)
    return max(math.log(device.rangeability), MIN_SENSITIVITY)


def pi_proposal(
    state: PIState, error: float, sensitivity: float, kp: float, ki: float, deadband: float
) -> float | None:
    """The opening the loop asks for, or None inside the deadband (hold)."""
    if abs(error) < deadband:
        return None
    state.integral += ki * error / sensitivity
    return state.bias + kp * error / sensitivity + state.integral


def back_calculate(state: PIState, proposed: float, commanded: float) -> None:
    """Take off the integral what the limits took off the output (anti-windup)."""
    state.integral += commanded - proposed


def _finite_or(value: Any, default: float) -> float:
    """``value`` as a finite float, else ``default``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default
