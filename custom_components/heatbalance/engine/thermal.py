"""Temperatures and heat in a solved network: pipe losses, mixing, emitters (§4.1.1).

Given the flows of a :class:`~.hydraulics.HydraulicResult`, water temperatures follow the
flow: along each pipe they decay toward the ground temperature
(``T_out = T_g + (T_in − T_g)·exp(−U·L / (ṁ·c_p))``), at each node the incoming streams mix
by mass flow. At each heated inlet the emitter gives ``Q = Q_design·(ΔT_m / ΔT_m,design)^n``
with ΔT_m the arithmetic mean water temperature over the room, and the water gives
``Q = ṁ·c_p·(T_s − T_r)``; both hold at one return temperature, found by a monotone Newton
iteration for all inlets at once. The return side mixes back to the substation the same way.
Why this matters for balancing: return-temperature targets (§4.1.1) ignore supply-pipe
losses, mean-temperature targets need the supply temperature this model provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .hydraulics import HydraulicResult
from .model import WATER_CP, WATER_DENSITY, Network

_NEWTON_STEPS = 30  # monotone Newton; converges in under ten for any real emitter
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
        self.node_ids = list(network.nodes)
        node_index = {nid: k for k, nid in enumerate(self.node_ids)}
        self.sub = node_index[network.substation.node]
        self.inlet_node = np.array([node_index[network.inlets[i].node] for i in inlet_ids])
        self.pipe_from = np.array([node_index[p.from_node] for p in network.pipes], dtype=int)
        self.pipe_to = np.array([node_index[p.to_node] for p in network.pipes], dtype=int)
        self.pipe_ua = np.array([p.heat_loss_w_mk * p.length_m for p in network.pipes], dtype=float)
        self._factor: dict[bool, tuple[Any, ...]] = {}

    def solve(self, hyd: HydraulicResult, *, supply_c: float, room_c: np.ndarray) -> ThermalResult:
        """Temperatures for the flows in ``hyd`` at substation supply ``supply_c``."""
        n_nodes = len(self.node_ids)
        flows = hyd.inlet_flow_m3h
        inject = np.zeros(n_nodes)
        inject[self.sub] = hyd.pump_flow_m3h
        node_t, supply_loss = self._propagate(
            hyd.pipe_supply_flow_m3h, inject, inject * supply_c, reverse=False
        )
        t_supply = node_t[self.inlet_node]
        room = np.asarray(room_c, dtype=float)
        room = np.where(np.isnan(room), self.room_default, room)
        heat, t_return, sens = self._emitters(flows, t_supply, room)
        for k, kids in self.children.items():  # a building returns its households' mixed water
            heat[k] = heat[kids].sum()
            t_return[k] = _mix(flows[kids], t_return[kids], fallback=float(t_supply[k]))
        top = self.top_level
        q_in = np.bincount(self.inlet_node[top], weights=flows[top], minlength=n_nodes)
        h_in = np.bincount(
            self.inlet_node[top], weights=flows[top] * t_return[top], minlength=n_nodes
        )
        node_r, return_loss = self._propagate(hyd.pipe_return_flow_m3h, q_in, h_in, reverse=True)
        return ThermalResult(
            inlet_ids=self.ids,
            supply_c=t_supply,
            return_c=t_return,
            heat_w=heat,
            network_supply_c=supply_c,
            network_return_c=float(node_r[self.sub]),
            pipe_loss_w=supply_loss + return_loss,
            emitter_sensitivity_w_k=sens,
        )

    def _propagate(
        self, pipe_flow: np.ndarray, inject_q: np.ndarray, inject_h: np.ndarray, *, reverse: bool
    ) -> tuple[np.ndarray, float]:
        """Node temperatures of one side as one sparse linear solve; returns them and the loss.

        Each node mixes what flows in: ``(Σq_in)·T_n − Σ q_e·d_e·T_from(e) =
        inject + Σ q_e·(1 − d_e)·T_g`` with ``d_e`` a pipe's exponential decay at its flow.
        Water flows from high to low pressure, so the matrix is triangular in flow order and
        loops are fine. A node no water reaches takes the ground temperature. The matrix only
        depends on the flows, so its factorisation is kept until the flows change.
        """
        ground = self.network.ground_c
        key = (reverse, pipe_flow.tobytes(), inject_q.tobytes())
        cached = self._factor.get(reverse)
        if cached is None or cached[0] != key:
            self._factor[reverse] = (key, *self._factorise(pipe_flow, inject_q, reverse=reverse))
        _key, lu, src, dst, q, decay, dry = self._factor[reverse]
        n = len(self.node_ids)
        rhs = inject_h + np.bincount(dst, weights=q * (1.0 - decay) * ground, minlength=n)
        temps = lu.solve(np.where(dry, ground, rhs))
        t_out = ground + (temps[src] - ground) * decay
        loss = float(np.sum(q * WATER_DENSITY * WATER_CP / 3600.0 * (temps[src] - t_out)))
        return temps, loss

    def _factorise(
        self, pipe_flow: np.ndarray, inject_q: np.ndarray, *, reverse: bool
    ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """LU factors of the mixing matrix for these flows, plus the per-pipe data."""
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        a, b = (self.pipe_to, self.pipe_from) if reverse else (self.pipe_from, self.pipe_to)
        forward = pipe_flow >= 0
        src = np.where(forward, a, b)
        dst = np.where(forward, b, a)
        q = np.abs(pipe_flow)
        capacity = np.maximum(q, _MIN_FLOW) * WATER_DENSITY * WATER_CP / 3600.0
        decay = np.where(q > _MIN_FLOW, np.exp(-self.pipe_ua / capacity), 0.0)
        n = len(self.node_ids)
        inflow = inject_q + np.bincount(dst, weights=q, minlength=n)
        dry = inflow <= _MIN_FLOW
        diag = np.where(dry, 1.0, inflow)
        off = np.where(dry[dst], 0.0, q * decay)
        nodes = np.arange(n)
        matrix = sp.csc_matrix(
            (
                np.concatenate([diag, -off]),
                (np.concatenate([nodes, dst]), np.concatenate([nodes, src])),
            ),
            shape=(n, n),
        )
        return splu(matrix), src, dst, q, decay, dry

    def _emitters(
        self, flow_m3h: np.ndarray, t_supply: np.ndarray, room: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Heat, return temperature and −dQ/dT_room of every inlet that heats a space."""
        u, n = self.mixing, self.exponent
        cap = np.maximum(flow_m3h, 0.0) * WATER_DENSITY * WATER_CP / 3600.0  # W/K
        # f(Tr) = water − emitter is concave and decreasing in Tr: Newton from Tr = Ts (where
        # f ≤ 0) approaches the root from the right without overshooting.
        lo = np.minimum(room, t_supply)
        slope = (u / (1.0 + u) + 1.0) / 2.0  # d(mean water temperature)/dTr
        t_return = t_supply.copy()
        for _ in range(_NEWTON_STEPS):
            tb = (t_supply + u * t_return) / (1.0 + u)  # ejector mixing (§7.2.5-4); else u = 0
            excess = np.maximum((tb + t_return) / 2.0 - room, 0.0)
            ratio = excess / self.dtm_design
            f = cap * (t_supply - t_return) - self.q_design * ratio**n
            df = -cap - self.q_design * n * ratio ** (n - 1.0) * slope / self.dtm_design
            step = f / np.minimum(df, -1e-9)
            t_return = np.maximum(t_return - step, lo)
            if np.max(np.abs(step)) < 1e-9:
                break
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


def _mix(flows: np.ndarray, temps: np.ndarray, *, fallback: float) -> float:
    """Mass-flow-weighted mean temperature of streams."""
    total = float(np.sum(flows))
    if total <= _MIN_FLOW:
        return float(fallback)
    return float(np.dot(flows, temps) / total)
