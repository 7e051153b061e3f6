"""Coordinated flow balancing by valve authority, with pump speed control (§3.0.6, §5.3.6).

Each step re-sizes every valve at once from what it measured. At an unchanged available
pressure, an inlet's flow follows from the conductance of its branch — the valve's Kv in
series with the fixed circuit behind it (``1/C² = 1/Kv² + 1/Kc²``) — so the Kv an inlet needs
for its target follows from one reading of flow, opening and pressures. The inlet that
needs the most of its valve sets the network's level: if even fully open it cannot reach
target, every target is scaled down to its share (equal flow ratios, nobody starves alone);
the pump speed is then moved so that this worst-placed inlet gets its target with its valve
fully open — the lowest head that serves everyone, which is what makes the advanced band
(§8.2.4) reachable without wasting pump power. Inlets with missing, non-finite or absurd
measurements hold their position (fail-safe); every opening passes the safety limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..model import Device, Pump
from .safety import SafetyLimits, apply_limits

_MAX_FLOW_M3H = 1e4
_MAX_DP_KPA = 1e4
_MIN_DP_KPA = 0.01  # 10 Pa: below what a differential-pressure transmitter resolves


@dataclass
class InletMeasurement:
    """What the controller reads at one inlet (None = not available this cycle)."""

    flow_m3h: float | None
    opening: float | None
    dp_available_kpa: float | None
    valve_dp_kpa: float | None


@dataclass
class _Branch:
    """An inlet's branch as seen in one measurement."""

    kc: float  # conductance of the fixed circuit, m³/h at 100 kPa
    dp_kpa: float  # pressure available to the branch
    kv_max: float  # the valve's Kv at its largest allowed opening

    def flow_at(self, kv: float) -> float:
        """Flow through the branch with the valve at ``kv``."""
        if kv <= 0:
            return 0.0
        return math.sqrt(self.dp_kpa / 100.0) / math.sqrt(1.0 / kv**2 + 1.0 / self.kc**2)


def opening_for_kv(device: Device, kv: float) -> float:
    """Invert the valve characteristic: the opening at which the valve has ``kv``."""
    kvs = device.kvs or 0.0
    if kvs <= 0 or kv <= 0:
        return 0.0
    if kv >= kvs:
        return 1.0
    if device.characteristic == "linear":
        return kv / kvs
    r = device.rangeability
    h = 1.0 + math.log(kv / kvs) / math.log(r)
    knee = 1.0 / r
    if h >= knee:
        return h
    return float(knee * kv / (kvs * r ** (knee - 1.0)))


def reachable_level(
    devices: Mapping[str, Device],
    measured: Mapping[str, InletMeasurement],
    targets_m3h: Mapping[str, float],
    limits: SafetyLimits,
) -> float | None:
    """Share of its target the worst-placed inlet gets with its valve at max opening.

    Above 1 the pump gives more head than anyone needs; below 1 someone starves. None when
    no inlet has usable data.
    """
    shares = []
    for iid, device in devices.items():
        branch = _branch(device, measured.get(iid), limits)
        target = targets_m3h.get(iid)
        if branch is not None and target is not None and target > 0:
            shares.append(branch.flow_at(branch.kv_max) / target)
    return min(shares) if shares else None


def balance_step(
    devices: Mapping[str, Device],
    measured: Mapping[str, InletMeasurement],
    targets_m3h: Mapping[str, float],
    limits: SafetyLimits,
) -> dict[str, float]:
    """New openings for every actuated valve in ``devices`` (others are left out)."""
    level = min(reachable_level(devices, measured, targets_m3h, limits) or 1.0, 1.0)
    commands: dict[str, float] = {}
    for iid, device in devices.items():
        if not device.actuated or not device.kvs:
            continue
        m = measured.get(iid)
        current = device.opening if m is None or m.opening is None else m.opening
        target = targets_m3h.get(iid)
        proposal = _proposal(device, m, limits, None if target is None else target * level)
        commands[iid], _ = apply_limits(
            current, proposal, limits, device.min_opening, device.max_opening
        )
    return commands


def pump_speed_step(
    pump: Pump, speed: float, level: float | None, max_change: float = 0.2
) -> float:
    """Next pump speed: flow scales about linearly with speed, so divide by the level.

    ``level`` is :func:`reachable_level`; None (no data) holds the speed.
    """
    if level is None or not math.isfinite(level) or level <= 0:
        return speed
    wanted = speed / math.sqrt(level)  # half the correction: the valves move in the same step
    wanted = min(max(wanted, speed - max_change), speed + max_change)
    return min(max(wanted, pump.min_speed), pump.max_speed)


def _branch(device: Device, m: InletMeasurement | None, limits: SafetyLimits) -> _Branch | None:
    """The branch behind one measurement, or None when the data cannot be trusted."""
    if m is None or not device.kvs:
        return None
    flow, opening, dp = _value(m.flow_m3h), _value(m.opening), _value(m.dp_available_kpa)
    if not (1e-6 < flow < _MAX_FLOW_M3H and _MIN_DP_KPA < dp < _MAX_DP_KPA and 0 <= opening <= 1):
        return None  # missing, no flow, or no secondary network sees this: nothing to size from
    valve_dp = _value(m.valve_dp_kpa)
    if not 0 < valve_dp < dp:
        valve_dp = 100.0 * (flow / max(device.kv(opening), 1e-6)) ** 2
    kc = flow / math.sqrt(max(dp - valve_dp, 1e-6) / 100.0)
    kv_max = device.kv(min(limits.max_opening, device.max_opening))
    return _Branch(kc=kc, dp_kpa=dp, kv_max=kv_max)


def _proposal(
    device: Device, m: InletMeasurement | None, limits: SafetyLimits, target: float | None
) -> float | None:
    """The opening that gives ``target`` if the available pressure stays; None = hold."""
    if target is None or m is None:
        return None
    branch = _branch(device, m, limits)
    if branch is None:
        if _value(m.flow_m3h) == 0.0 and 0.0 <= _value(m.opening) <= 1.0:
            return min(1.0, _value(m.opening) + 0.25)  # nothing flows: open up and look again
        return None
    needed = target / math.sqrt(branch.dp_kpa / 100.0)  # branch conductance for the target
    if needed >= branch.kc:
        return 1.0  # even a fully open valve cannot reach the target here
    return opening_for_kv(device, needed / math.sqrt(1.0 - (needed / branch.kc) ** 2))


def _value(x: float | None) -> float:
    """A reading as a float, NaN when missing (NaN fails every range check above)."""
    return float("nan") if x is None else float(x)
