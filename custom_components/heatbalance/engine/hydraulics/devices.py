"""Laws of the inlet links: the balancing devices of §2.0.4 in series with the heated circuit.

Every inlet link obeys ``p_start − p_end = a·Q·|Q| − g`` (quadratic resistance ``a``, pump
pressure ``g``), and a self-operated valve adds a *regulating* part on top: above its target
flow ``Q_t`` the law turns steep, ``+ K·(Q − Q_t)``, with ``K`` so large that the flow stays
within 1e-7 of ``Q_t`` while the available ΔP allows; below ``Q_t`` the valve is fully open.
That is exactly the characteristic of a self-operated flow regulator (a horizontal branch at
``Q_t`` in the Q–Δp plane), monotone and convex, so it sits inside the Newton iteration as
any other element — no outer loop, no oscillation.

A self-operated ΔP valve holds the ΔP of the circuit behind it. That circuit is a fixed set
of laws (the internal resistance of a plain building, or the households of a building), so
"hold ΔP_set" is the same as "hold the flow that circuit draws at ΔP_set": the ΔP valve is a
flow regulator whose target is that flow, computed here in closed form.

Units: SI (Pa, m³/s) in the arrays; Kv in m³/h at 100 kPa as everywhere in heating.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import GRAVITY, VALVE_TYPES, WATER_DENSITY, Network
from .errors import HydraulicError
from .topology import DEVICE_TYPES, Topology

VALVE_A = 1e5 * 3600.0**2  # Δp[Pa] = VALVE_A·(Q[m³/s] / Kv[m³/h])², i.e. Δp[kPa] = 100·(Q/Kv)²
CLOSED_KV_FRACTION = 1e-6  # a "closed" valve still passes Kv = 1e-6·Kvs: no singular matrix
DISTRIBUTED_PUMP_SHUTOFF = 1.25  # shut-off head over design head for inlet pumps (no curve given)
STEEP_REL = 1e-7  # a regulating valve lets the flow exceed its target by this fraction at most

_EJECTORS = ("manual_ejector", "electric_ejector")
# Law families of the inlet devices.
PLAIN, VALVE, FLOW, DP, PUMP = range(5)
_KIND = {
    "none": PLAIN,
    "static_valve": VALVE,
    "electric_valve": VALVE,
    "iot_valve": VALVE,
    "manual_ejector": VALVE,
    "electric_ejector": VALVE,
    "flow_valve": FLOW,
    "dp_valve": DP,
    "distributed_pump": PUMP,
}


@dataclass
class InletLaws:
    """Per-inlet law of one solve (SI): open-law ``a``, pump ``g``, regulating target/steepness."""

    a: np.ndarray  # Pa/(m³/s)², whole link fully open (device + circuit)
    a_device: np.ndarray  # Pa/(m³/s)², the device's share of ``a`` (0 for pumps and none)
    g: np.ndarray  # Pa, pressure a distributed pump adds at zero flow
    pump_a: np.ndarray  # Pa/(m³/s)², the pump curve's droop (part of ``a``)
    target: np.ndarray  # m³/s, +inf where nothing regulates
    kv: np.ndarray  # m³/h from the characteristic at the opening (0 where no Kv)
    steep: np.ndarray  # Pa/(m³/s), 0 where nothing regulates


class DeviceTable:
    """Static per-inlet data of the devices, gathered once per model (vectorised laws)."""

    def __init__(self, network: Network, topo: Topology) -> None:
        c = topo.columns
        self.ids = topo.inlet_ids
        self.devices = c.devices
        self.kind = np.array([_KIND[t] for t in DEVICE_TYPES])[c.code]
        ejector = np.isin(c.code, [DEVICE_TYPES.index(t) for t in _EJECTORS])
        self.has_kv = ejector | np.isin(c.code, [DEVICE_TYPES.index(t) for t in VALVE_TYPES])
        self.kvs = np.where(self.has_kv, c.kvs, 0.0)
        self.linear = c.linear
        self.rangeability = np.where(c.linear, 2.0, c.rangeability)
        self.min_open = c.min_opening
        self.max_open = c.max_opening
        self.q_design = c.design_flow_m3h / 3600.0
        safe_q = np.where(self.q_design > 0, self.q_design, 1.0)
        self.a_int = np.where(c.internal_kpa > 0, c.internal_kpa * 1000.0 / safe_q**2, 0.0)
        # An ejector's internal circuit is driven by the ejector itself, not by the network:
        # the network side sees the nozzle only.
        self.a_int[ejector] = 0.0
        self.pump_g, self.pump_a = _distributed_pumps(c.pump_head_m, c.pump_flow_m3h, self.kind)
        self.regulated = np.flatnonzero((self.kind == FLOW) | (self.kind == DP))
        self._regulated_devices = [self.devices[k] for k in self.regulated.tolist()]
        self.pumps = np.flatnonzero(self.kind == PUMP)
        self.parent = topo.parent
        self.is_parent = topo.is_parent
        self.depth = topo.depth
        _check_dp_circuits(network.name, topo, self.kind)

    # --- current settings from the network objects -------------------------------------------
    def openings(self) -> np.ndarray:
        """Openings stored on the devices, aligned with the inlets."""
        return np.array([d.opening for d in self.devices], dtype=float)

    def setpoints(self, given: np.ndarray | None = None) -> np.ndarray:
        """Setpoints stored on the self-operated valves (m³/h or kPa), NaN elsewhere.

        Gathered in one list, not element by element: the planner's ideal network has a
        regulator per household and reads them at every solve (23,100 at 23k: 3.7 → 1 ms).
        ``given``: the caller's setpoints, NaN where a device's own is wanted; when no
        regulator's is (the planner passes every household's, NaN for the buildings, which
        regulate nothing) the devices are not read at all (≈1 ms a solve at 23k)."""
        out = np.full(len(self.devices), np.nan)
        if given is not None and not np.isnan(np.asarray(given, dtype=float)[self.regulated]).any():
            return out
        values = [d.setpoint for d in self._regulated_devices]
        out[self.regulated] = np.array([np.nan if v is None else v for v in values], dtype=float)
        return out

    def speeds(self) -> np.ndarray:
        """Relative speeds stored on the distributed pumps (1 elsewhere, unused)."""
        out = np.ones(len(self.devices))
        for k in self.pumps:
            out[k] = self.devices[k].speed
        return out

    # --- laws of one solve ---------------------------------------------------------------------
    def kv(self, openings: np.ndarray, kv_factor: np.ndarray) -> np.ndarray:
        """Kv (m³/h) of every valve or nozzle at ``openings`` from its characteristic.

        Same curve as :meth:`~..model.Device.kv`, vectorised; self-operated valves are taken
        fully open (their regulation is the steep law, not an opening). 0 where no Kv.
        """
        h = np.clip(np.clip(openings, self.min_open, self.max_open), 0.0, 1.0)
        h = np.where((self.kind == FLOW) | (self.kind == DP), 1.0, h)
        r = self.rangeability
        knee = 1.0 / r
        equal = self.kvs * np.where(h >= knee, r ** (h - 1.0), r ** (knee - 1.0) * h / knee)
        kv = np.where(self.linear, self.kvs * h, equal) * kv_factor
        return np.where(self.has_kv, kv, 0.0)

    def laws(
        self,
        openings: np.ndarray,
        kv_factor: np.ndarray,
        setpoints: np.ndarray,
        speeds: np.ndarray,
        p_ref: float,
    ) -> InletLaws:
        """The inlet laws for these settings; ``p_ref`` (Pa) scales the regulating steepness."""
        kv = self.kv(openings, kv_factor)
        usable = np.where(self.has_kv, np.maximum(kv, CLOSED_KV_FRACTION * self.kvs), 1.0)
        a_device = np.where(self.has_kv, VALVE_A / usable**2, 0.0)
        pump_a = self.pump_a.copy()
        g = self.pump_g * speeds**2
        a = self.a_int + a_device + pump_a
        target = np.full(len(a), np.inf)
        self._targets(setpoints, a, g, target)
        regulated = np.isfinite(target)
        scale = np.maximum(np.where(regulated, target, 0.0), 1e-3 * self.q_design)
        scale = np.maximum(scale, 1e-12)
        steep = np.where(regulated, p_ref / (STEEP_REL * scale), 0.0)
        return InletLaws(
            a=a, a_device=a_device, g=g, pump_a=pump_a, target=target, kv=kv, steep=steep
        )

    def _targets(
        self, setpoints: np.ndarray, a: np.ndarray, g: np.ndarray, target: np.ndarray
    ) -> None:
        """Fill ``target`` (m³/s) for self-operated valves, deepest circuits first.

        Flow valves and ΔP valves over a plain circuit are set for a whole depth at once
        (the planner's ideal network has one per household: 23,000 on a large network); a
        ΔP valve over households sums their laws one by one (:meth:`_target`).
        """
        for depth in range(int(self.depth.max(initial=0)), -1, -1):
            here = self.regulated[self.depth[self.regulated] == depth]
            values = setpoints[here]
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():  # the first one, with its message
                k = int(here[np.argmax(bad)])
                self._target(k, float(setpoints[k]), a, g, target)
            flow = self.kind[here] == FLOW
            target[here[flow]] = values[flow] / 3600.0
            plain = ~flow & ~self.is_parent[here]
            target[here[plain]] = np.sqrt(values[plain] * 1000.0 / self.a_int[here[plain]])
            for k in here[~flow & self.is_parent[here]]:
                target[k] = self._target(int(k), float(setpoints[k]), a, g, target)

    def _target(
        self, k: int, setpoint: float, a: np.ndarray, g: np.ndarray, target: np.ndarray
    ) -> float:
        """Flow that device ``k`` regulates to."""
        dev = self.devices[k]
        if not np.isfinite(setpoint) or setpoint < 0:
            raise HydraulicError(
                f"inlet {self.ids[k]}: a {dev.type} needs a setpoint ≥ 0 "
                f"({'m³/h' if self.kind[k] == FLOW else 'kPa'}), got {setpoint}"
            )
        if self.kind[k] == FLOW:
            return setpoint / 3600.0
        dp = setpoint * 1000.0
        if not self.is_parent[k]:
            return float(np.sqrt(dp / self.a_int[k]))
        children = np.flatnonzero(self.parent == k)
        x = dp + g[children]
        q = np.sign(x) * np.sqrt(np.abs(x) / a[children])
        return float(np.minimum(q, target[children]).sum())


def _distributed_pumps(
    head_m: np.ndarray, flow_m3h: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shut-off pressure (Pa) and curve droop (Pa/(m³/s)²) of each inlet's pump at full speed.

    A distributed pump is given by one duty point (``pump_head_m`` at ``pump_flow_m3h``); its
    curve is taken as ``H = 1.25·H_d·s² − 0.25·H_d·(Q/Q_d)²``, the usual shape of small
    wet-rotor circulators.
    """
    pump = kind == PUMP
    head = np.where(pump, head_m, 0.0) * WATER_DENSITY * GRAVITY
    q = np.where(pump, flow_m3h, 1.0) / 3600.0
    return head * DISTRIBUTED_PUMP_SHUTOFF, head * (DISTRIBUTED_PUMP_SHUTOFF - 1.0) / q**2


def _check_dp_circuits(name: str, topo: Topology, kind: np.ndarray) -> None:
    """A ΔP valve's circuit must be made of closed-form laws (no building inside a building)."""
    for k in np.flatnonzero((kind == DP) & topo.is_parent):
        inner = np.flatnonzero((topo.parent == k) & topo.is_parent)
        if len(inner):
            raise HydraulicError(
                f"network {name!r} cannot be solved:\n  "
                f"inlet {topo.inlet_ids[k]}: a ΔP valve over a circuit that contains buildings "
                f"with their own households ({topo.inlet_ids[inner[0]]}) is not supported"
            )
