"""Valve characteristic inversion: the opening at which a valve has a given Kv (§2.0.4).

Shared by the planner, the commissioning calculation and the PI gain schedule. (The
measurement-driven flow balancer that lived here had no caller left in production: the
engine's controller is :mod:`.controller`.)
"""

from __future__ import annotations

import math

from ..model import Device


def opening_for_kv(device: Device, kv: float) -> float:
    """Invert the valve characteristic: the opening at which the valve has ``kv``."""
    kvs = device.kvs or 0.0
    if kvs <= 0 or not kv > 0:  # NaN too
        return 0.0
    if kv >= kvs:
        return 1.0
    share = kv / kvs  # 0.0 when a subnormal kv underflows: a shut valve
    if device.characteristic == "linear" or share <= 0.0:
        return share
    r = device.rangeability
    h = 1.0 + math.log(share) / math.log(r)
    knee = 1.0 / r
    if h >= knee:
        return h
    return float(knee * kv / (kvs * r ** (knee - 1.0)))
