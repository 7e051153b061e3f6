"""Temperatures and heat in a solved network: pipe losses, mixing, emitters (§4.1.1).

Given the flows of a :class:`~.hydraulics.HydraulicResult`, water temperatures follow the
flow: along each pipe they decay toward the ground temperature
(``T_out = T_g + (T_in − T_g)·exp(−U·L / (ṁ·c_p))``), at each node the incoming streams mix
by mass flow. At each heated inlet the emitter gives ``Q = Q_design·(ΔT_m / ΔT_m,design)^n``
with ΔT_m the arithmetic mean water temperature over the room, and the water gives
``Q = ṁ·c_p·(T_s − T_r)``; both hold at one return temperature, found by bisection for all
inlets at once. The return side mixes back to the substation the same way. Why this matters
for balancing: return-temperature targets (§4.1.1) ignore supply-pipe losses, mean-temperature
targets need the supply temperature this model provides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hydraulics import HydraulicResult
from .model import WATER_CP, WATER_DENSITY, Network, Pipe

_BISECTION_STEPS = 32  # halves a ≤100 K interval to below 3e-8 K
_MIN_FLOW = 1e-9  # m³/h below which a stream carries no heat


@dataclass
class ThermalResult:
    """Temperatures and heat per inlet (aligned with ``inlet_ids``) and for the network."""

    inlet_ids: list[str]
    supply_c: np.ndarray
    return_c: np.ndarray
    heat_w: np.ndarray
    network_supply_c: float
    network_return_c: float
    pipe_loss_w: float
    emitter_sensitivity_w_k: np.ndarray  # −dQ/dT_room, lets the simulator integrate implicitly


class ThermalModel:
    """A network prepared for repeated thermal solves (per-inlet constants computed once)."""

    def __init__(self, network: Network, inlet_ids: list[str]) -> None:
        self.network = network
        self.ids = inlet_ids
        inlets = [network.inlets[i] for i in inlet_ids]
        em = [i.emitter for i in inlets]
        self.q_design = np.array([i.design_load_kw * 1000.0 for i in inlets])
        self.dtm_design = np.array(
            [(e.design_supply_c + e.design_return_c) / 2 - e.design_room_c for e in em]
        )
        self.exponent = np.array([e.exponent for e in em])
        self.mixing = np.array([i.device.mixing_ratio or 0.0 for i in inlets])
        self.room_default = np.array([i.room_setpoint_c for i in inlets])
        index = {iid: k for k, iid in enumerate(inlet_ids)}
        self.children = {
            index[iid]: np.array([index[c.id] for c in network.children(iid)])
            for iid in inlet_ids
            if network.children(iid)
        }
        self.top_level = np.array([network.inlets[i].parent is None for i in inlet_ids])

    def solve(self, hyd: HydraulicResult, *, supply_c: float, room_c: np.ndarray) -> ThermalResult:
        """Temperatures for the flows in ``hyd`` at substation supply ``supply_c``."""
        network = self.network
        node_index = {nid: k for k, nid in enumerate(hyd.node_ids)}
        ground = network.ground_c
        flows = hyd.inlet_flow_m3h
        sub = node_index[network.substation.node]
        inlet_node = np.array([node_index[network.inlets[i].node] for i in self.ids])

        inject = {sub: [(hyd.pump_flow_m3h, supply_c)]}
        node_t, supply_loss = _propagate(network, hyd, inject, ground, supply_side=True)
        t_supply = node_t[inlet_node]
        room = np.asarray(room_c, dtype=float)
        room = np.where(np.isnan(room), self.room_default, room)
        heat, t_return, sens = self._emitters(flows, t_supply, room)
        for k, kids in self.children.items():  # a building returns its households' mixed water
            heat[k] = heat[kids].sum()
            t_return[k] = _mix(flows[kids], t_return[kids], fallback=float(t_supply[k]))
        returns: dict[int, list[tuple[float, float]]] = {}
        for k in np.flatnonzero(self.top_level):
            returns.setdefault(int(inlet_node[k]), []).append((flows[k], t_return[k]))
        node_r, return_loss = _propagate(network, hyd, returns, ground, supply_side=False)
        return ThermalResult(
            inlet_ids=self.ids,
            supply_c=t_supply,
            return_c=t_return,
            heat_w=heat,
            network_supply_c=supply_c,
            network_return_c=float(node_r[sub]),
            pipe_loss_w=supply_loss + return_loss,
            emitter_sensitivity_w_k=sens,
        )

    def _emitters(
        self, flow_m3h: np.ndarray, t_supply: np.ndarray, room: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Heat, return temperature and −dQ/dT_room of every inlet that heats a space."""
        u, n = self.mixing, self.exponent
        cap = np.maximum(flow_m3h, 0.0) * WATER_DENSITY * WATER_CP / 3600.0  # W/K
        lo = np.minimum(room, t_supply)
        hi = t_supply.copy()
        for _ in range(_BISECTION_STEPS):
            mid = (lo + hi) / 2.0
            tb = (t_supply + u * mid) / (1.0 + u)  # ejector mixing (§7.2.5-4); u = 0 otherwise
            excess = np.maximum((tb + mid) / 2.0 - room, 0.0)
            surplus = cap * (t_supply - mid) - self.q_design * (excess / self.dtm_design) ** n
            lo = np.where(surplus > 0, mid, lo)
            hi = np.where(surplus > 0, hi, mid)
        t_return = (lo + hi) / 2.0
        heat = cap * (t_supply - t_return)
        tb = (t_supply + u * t_return) / (1.0 + u)
        excess = np.maximum((tb + t_return) / 2.0 - room, 1e-6)
        # dQ/dT_room at fixed water temperatures, limited by what the water can carry.
        sens = np.minimum(n * heat / excess, cap)
        return heat, t_return, sens


def solve_thermal(
    network: Network,
    hyd: HydraulicResult,
    *,
    supply_c: float,
    outdoor_c: float,
    room_c: np.ndarray,
) -> ThermalResult:
    """One-shot thermal solve (see :class:`ThermalModel`).

    ``room_c`` is aligned with ``hyd.inlet_ids`` (NaN = the inlet's room setpoint); values of
    inlets that feed households are ignored. ``outdoor_c`` is not used: buried pipes lose
    heat to ``network.ground_c``; it is accepted so callers pass the full condition.
    """
    del outdoor_c
    return ThermalModel(network, hyd.inlet_ids).solve(hyd, supply_c=supply_c, room_c=room_c)


def _propagate(
    network: Network,
    hyd: HydraulicResult,
    inject: dict[int, list[tuple[float, float]]],
    ground: float,
    *,
    supply_side: bool,
) -> tuple[np.ndarray, float]:
    """Mix and cool water through the pipes of one side; returns node temperatures and loss.

    Nodes are visited in topological order of the flow (Kahn's algorithm), so every node is
    mixed once all water reaching it is known. A node no water reaches takes the ground
    temperature.
    """
    node_index = {nid: k for k, nid in enumerate(hyd.node_ids)}
    flows = hyd.pipe_supply_flow_m3h if supply_side else hyd.pipe_return_flow_m3h
    edges = []
    for pipe, q in zip(network.pipes, flows, strict=True):
        a, b = node_index[pipe.from_node], node_index[pipe.to_node]
        if not supply_side:
            a, b = b, a
        if abs(q) > _MIN_FLOW:
            edges.append((a, b, abs(q), pipe) if q > 0 else (b, a, abs(q), pipe))
    n_nodes = len(hyd.node_ids)
    incoming: list[list[tuple[float, float]]] = [list(inject.get(k, [])) for k in range(n_nodes)]
    pending = np.zeros(n_nodes, dtype=int)
    out_edges: list[list[tuple[int, float, Pipe]]] = [[] for _ in range(n_nodes)]
    for a, b, q, pipe in edges:
        pending[b] += 1
        out_edges[a].append((b, q, pipe))
    temps = np.full(n_nodes, ground)
    ready = [k for k in range(n_nodes) if pending[k] == 0]
    loss = 0.0
    while ready:
        k = ready.pop()
        streams = incoming[k]
        if streams:
            temps[k] = _mix(
                np.array([s[0] for s in streams]),
                np.array([s[1] for s in streams]),
                fallback=ground,
            )
        for b, q, pipe in out_edges[k]:
            t_out = _pipe_outlet(temps[k], q, pipe, ground)
            loss += q * WATER_DENSITY * WATER_CP / 3600.0 * (temps[k] - t_out)
            incoming[b].append((q, t_out))
            pending[b] -= 1
            if pending[b] == 0:
                ready.append(b)
    return temps, loss


def _pipe_outlet(t_in: float, q_m3h: float, pipe: Pipe, ground: float) -> float:
    """Outlet temperature of a pipe carrying ``q_m3h`` in at ``t_in``.

    Both pipes of a pair share the heat-loss coefficient.
    """
    capacity = q_m3h * WATER_DENSITY * WATER_CP / 3600.0
    decay = np.exp(-pipe.heat_loss_w_mk * pipe.length_m / capacity)
    return float(ground + (t_in - ground) * decay)


def _mix(flows: np.ndarray, temps: np.ndarray, *, fallback: float) -> float:
    """Mass-flow-weighted mean temperature of streams."""
    total = float(np.sum(flows))
    if total <= _MIN_FLOW:
        return float(fallback)
    return float(np.dot(flows, temps) / total)
