"""Temperatures and heat in a solved network: pipe losses, mixing, emitters (§4.1.1).

Why balancing needs this: return-temperature targets (§4.1.1) ignore supply-pipe losses and
mean-temperature targets need the inlet supply temperature; both come from here, and so does
the heat each building actually gets, which drives the room temperatures of the simulator.

Given the flows of a :class:`~.hydraulics.HydraulicResult` (docs/thermal.md):

* **Pipes** lose heat to the ground: ``T_out = T_g + (T_in − T_g)·exp(−U·L / (ṁ·c_p))`` with
  ``U`` = ``heat_loss_w_mk`` per metre and ``T_g`` = ``network.ground_c``.
* **Nodes** mix what flows in by mass. Written for every node of one side this is a sparse
  linear system which is triangular in the order of the flow (water runs from high to low
  pressure, so the flows form a DAG even in looped networks); solving it *is* visiting the
  nodes in topological order, with no special case for loops or stagnant pipes (a node no
  water reaches sits at ground temperature). The system depends only on the flows, so it is
  factorised once per hydraulic state and every later solve is a triangular substitution.
* **Emitters** give ``Q = Q_design·(ΔT_ln / ΔT_ln,design)^n`` with the *logarithmic* mean
  excess temperature over the room, which, unlike the arithmetic mean, stays physical at the
  low flows of a starved building (the return never drops below room temperature). Together
  with ``Q = ṁ·c_p·(T_s − T_r)`` this is one equation per inlet, solved by Newton for all
  inlets at once in a variable where it is convex and nearly linear (a few iterations).
* **Ejectors** (§7.2.5-4) mix ``u`` parts of return water into each part of network water:
  the building sees ``(T_s + u·T_r)/(1 + u)`` at ``(1 + u)`` times the network flow.
* **Households** are fed at their building's supply temperature; the building returns their
  mixed water and reports the sum of their heat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .hydraulics import HydraulicResult
from .model import WATER_CP, WATER_DENSITY, Network

CAPACITY_W_K = WATER_DENSITY * WATER_CP / 3600.0  # heat capacity flow of 1 m³/h, W/K
MIN_FLOW_M3H = 1e-9  # below this a stream carries no heat
_NEWTON_TOL = 1e-13  # in ln(y); ~1e-11 K on the return temperature
_NEWTON_STEPS = 60  # Newton is monotone after its first step; ~4 iterations in practice
_LINEAR_EXPONENT = 1.0 + 1e-9  # an emitter exponent at or below this is treated as n = 1
# Bounds of t = ln y: beyond them the return is at room temperature (y > 600) or the flow is
# absurdly large (y < e^-600); clipping keeps exp() finite for any input.
_T_RANGE = (-600.0, np.log(600.0))


@dataclass
class ThermalResult:
    """Temperatures and heat of one state; per-inlet arrays are aligned with ``inlet_ids``.

    For a building that feeds households, ``heat_w`` is their sum and ``return_c`` their
    mixed return; ``emitter_sensitivity_w_k`` is −dQ/dT_room of each heated room, which lets
    the simulator step rooms implicitly.
    """

    inlet_ids: list[str]
    supply_c: np.ndarray  # water arriving at the inlet, after supply-pipe losses
    return_c: np.ndarray  # water leaving the inlet to the network
    heat_w: np.ndarray
    network_supply_c: float
    network_return_c: float  # mixed return arriving at the substation
    pipe_loss_w: float  # supply + return pipes
    emitter_sensitivity_w_k: np.ndarray
    building_supply_c: np.ndarray  # what the emitters get (after an ejector's mixing)
    building_flow_m3h: np.ndarray  # flow through the emitters ((1 + u)·network flow)
    node_ids: list[str]
    node_supply_c: np.ndarray
    node_return_c: np.ndarray
    supply_loss_w: float
    return_loss_w: float


@dataclass
class EmitterState:
    """Solution of the emitter equations for a set of inlets (one value per inlet)."""

    heat_w: np.ndarray
    return_c: np.ndarray
    building_supply_c: np.ndarray
    sensitivity_w_k: np.ndarray  # −dQ/dT_room at fixed supply temperature and flow


@dataclass
class _Side:
    """One side (supply or return) of the network for one set of flows."""

    src: np.ndarray  # upstream node of every pipe, in the direction of its flow
    capacity: np.ndarray  # ṁ·c_p of every pipe, W/K (0 for a stagnant pipe)
    decay: np.ndarray  # exp(−U·L/(ṁ·c_p)), 0 for a stagnant pipe
    lu: Any  # factorised mixing matrix (scipy SuperLU)
    dry: np.ndarray  # nodes no water reaches


@dataclass
class _Transport:
    """Everything that depends only on the flows: computed once per hydraulic state."""

    hyd: HydraulicResult
    supply: _Side
    returns: _Side
    supply_factor: np.ndarray  # per node: (T − T_g) / (T_substation − T_g)
    inlet_flow: np.ndarray  # m³/h, negative flows (never expected) counted as none


class ThermalModel:
    """A network prepared for repeated thermal solves.

    Per-inlet constants are computed once; per hydraulic state the mixing matrices are
    factorised once (:meth:`transport`), so the simulator's steps cost a few vector
    operations and one triangular solve.
    """

    def __init__(self, network: Network, inlet_ids: list[str] | None = None) -> None:
        self.network = network
        self.ids = list(network.inlets) if inlet_ids is None else list(inlet_ids)
        inlets = [network.inlets[i] for i in self.ids]
        index = {iid: k for k, iid in enumerate(self.ids)}
        self.parent = np.array([index[i.parent] if i.parent else -1 for i in inlets], dtype=int)
        self.has_children = np.bincount(self.parent[self.parent >= 0], minlength=len(self.ids)) > 0
        self.top_level = self.parent < 0
        self.q_design = np.array([i.design_load_kw * 1000.0 for i in inlets])
        self.dt_design = np.array([_design_log_mean(i.id, i.emitter) for i in inlets])
        self.exponent = np.array([i.emitter.exponent for i in inlets])
        # Constants of the emitter equation (see emitters()); n = 1 has a closed form.
        self._linear = self.exponent <= _LINEAR_EXPONENT
        n_eff = np.where(self._linear, 2.0, self.exponent)
        self._k = n_eff / (n_eff - 1.0)
        self._c1 = self._k * np.log(self.dt_design) - np.log(self.q_design) / (n_eff - 1.0)
        self.mixing = np.array([i.device.mixing_ratio or 0.0 for i in inlets])
        self.room_default = np.array([i.room_setpoint_c for i in inlets])
        self._check(inlets)
        self.node_ids = list(network.nodes)
        node_index = {nid: k for k, nid in enumerate(self.node_ids)}
        self.sub = node_index[network.substation.node]
        self.inlet_node = np.array([node_index[i.node] for i in inlets], dtype=int)
        self.pipe_from = np.array([node_index[p.from_node] for p in network.pipes], dtype=int)
        self.pipe_to = np.array([node_index[p.to_node] for p in network.pipes], dtype=int)
        self.pipe_ua = np.array([p.heat_loss_w_mk * p.length_m for p in network.pipes])
        self._transport: _Transport | None = None
        self._guess = np.zeros(len(self.ids))  # last Newton solution, a warm start

    def _check(self, inlets: list[Any]) -> None:
        """Refuse what the model cannot represent, naming the inlet."""
        for k, inlet in enumerate(inlets):
            if self.has_children[k] and self.mixing[k] > 0:
                raise ValueError(
                    f"inlet {inlet.id}: an ejector at a building that feeds households is not "
                    "modelled; put the ejectors at the household inlets"
                )
            if inlet.emitter.exponent < 1.0:
                raise ValueError(f"inlet {inlet.id}: emitter exponent must be ≥ 1")

    # --- per hydraulic state ----------------------------------------------------------------
    def transport(self, hyd: HydraulicResult) -> _Transport:
        """Factorised mixing of both sides for the flows of ``hyd`` (kept while it is current)."""
        if self._transport is not None and self._transport.hyd is hyd:
            return self._transport
        if list(hyd.inlet_ids) != self.ids:
            raise ValueError("hydraulic result and thermal model list different inlets")
        n = len(self.node_ids)
        flow = np.maximum(hyd.inlet_flow_m3h, 0.0)
        inject = np.zeros(n)
        inject[self.sub] = max(hyd.pump_flow_m3h, 0.0)
        supply = self._side(hyd.pipe_supply_flow_m3h, self.pipe_from, self.pipe_to, inject)
        unit = np.where(supply.dry, 0.0, inject)  # substation water 1 K above ground
        factor = np.asarray(supply.lu.solve(unit))
        top = self.top_level
        returned = np.bincount(self.inlet_node[top], weights=flow[top], minlength=n)
        returns = self._side(hyd.pipe_return_flow_m3h, self.pipe_to, self.pipe_from, returned)
        self._transport = _Transport(hyd, supply, returns, factor, flow)
        return self._transport

    def _side(
        self, pipe_flow: np.ndarray, start: np.ndarray, end: np.ndarray, inject: np.ndarray
    ) -> _Side:
        """Mixing matrix of one side: ``(Σ ṁ_in)·θ_n − Σ ṁ_e·d_e·θ_src(e) = injected``.

        θ is the temperature above ground. ``start``/``end`` give each pipe's positive
        direction on this side; the flow's sign picks where the water really comes from.
        """
        import scipy.sparse as sp  # half a second to import: load on first use
        from scipy.sparse.linalg import splu

        n = len(self.node_ids)
        forward = pipe_flow >= 0
        src = np.where(forward, start, end)
        dst = np.where(forward, end, start)
        q = np.where(np.abs(pipe_flow) > MIN_FLOW_M3H, np.abs(pipe_flow), 0.0)
        capacity = q * CAPACITY_W_K
        decay = np.exp(-self.pipe_ua / np.maximum(capacity, 1e-300)) * (q > 0)
        inflow = inject + np.bincount(dst, weights=q, minlength=n)
        dry = inflow <= MIN_FLOW_M3H
        nodes = np.arange(n)
        matrix = sp.csc_matrix(
            (
                np.concatenate([np.where(dry, 1.0, inflow), -q * decay]),
                (np.concatenate([nodes, dst]), np.concatenate([nodes, src])),
            ),
            shape=(n, n),
        )
        return _Side(src=src, capacity=capacity, decay=decay, lu=splu(matrix), dry=dry)

    def inlet_supply_c(self, hyd: HydraulicResult, supply_c: float) -> np.ndarray:
        """Water temperature arriving at every inlet for substation supply ``supply_c``."""
        ground = self.network.ground_c
        factor = self.transport(hyd).supply_factor[self.inlet_node]
        return np.asarray(ground + (supply_c - ground) * factor, dtype=float)

    # --- per state --------------------------------------------------------------------------
    def solve(
        self, hyd: HydraulicResult, *, supply_c: float, room_c: np.ndarray | None = None
    ) -> ThermalResult:
        """Temperatures and heat for the flows of ``hyd``, substation supply ``supply_c``.

        ``room_c`` is aligned with the inlets (NaN or None: the inlet's room setpoint); the
        values of buildings that feed households are not used.
        """
        tr = self.transport(hyd)
        ground = self.network.ground_c
        node_supply = ground + (supply_c - ground) * tr.supply_factor
        t_supply = node_supply[self.inlet_node]
        room = self.room_default if room_c is None else np.asarray(room_c, dtype=float)
        room = np.where(np.isnan(room), self.room_default, room)
        em = self.emitters(tr.inlet_flow, t_supply, room)
        heat, t_return = self._aggregate(tr.inlet_flow, em, t_supply)
        node_return = self._return_side(tr, t_return)
        supply_loss = _loss(tr.supply, node_supply, ground)
        return_loss = _loss(tr.returns, node_return, ground)
        return ThermalResult(
            inlet_ids=self.ids,
            supply_c=t_supply,
            return_c=t_return,
            heat_w=heat,
            network_supply_c=float(supply_c),
            network_return_c=float(node_return[self.sub]),
            pipe_loss_w=supply_loss + return_loss,
            emitter_sensitivity_w_k=np.where(self.has_children, 0.0, em.sensitivity_w_k),
            building_supply_c=np.where(self.has_children, t_supply, em.building_supply_c),
            building_flow_m3h=tr.inlet_flow * (1.0 + self.mixing),
            node_ids=self.node_ids,
            node_supply_c=node_supply,
            node_return_c=node_return,
            supply_loss_w=supply_loss,
            return_loss_w=return_loss,
        )

    def _aggregate(
        self, flow: np.ndarray, em: EmitterState, t_supply: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Heat and return of every inlet; buildings with households get their sums."""
        kids = self.parent >= 0
        n = len(self.ids)
        heat = em.heat_w.copy()
        t_return = em.return_c.copy()
        if kids.any():
            parent = self.parent[kids]
            heat_sum = np.bincount(parent, weights=em.heat_w[kids], minlength=n)
            q_sum = np.bincount(parent, weights=flow[kids], minlength=n)
            qt_sum = np.bincount(parent, weights=flow[kids] * em.return_c[kids], minlength=n)
            count = np.bincount(parent, minlength=n)
            still = np.bincount(parent, weights=em.return_c[kids], minlength=n) / np.maximum(
                count, 1
            )
            # Flow-weighted mix; where every household stands still, their (room) average.
            mixed = np.where(q_sum > MIN_FLOW_M3H, qt_sum / np.maximum(q_sum, MIN_FLOW_M3H), still)
            heat = np.where(self.has_children, heat_sum, heat)
            t_return = np.where(self.has_children, mixed, t_return)
        return heat, t_return

    def _return_side(self, tr: _Transport, t_return: np.ndarray) -> np.ndarray:
        """Node temperatures of the return side for the inlets' return temperatures."""
        ground = self.network.ground_c
        top = self.top_level
        n = len(self.node_ids)
        excess = tr.inlet_flow[top] * (t_return[top] - ground)
        rhs = np.bincount(self.inlet_node[top], weights=excess, minlength=n)
        return ground + np.asarray(tr.returns.lu.solve(np.where(tr.returns.dry, 0.0, rhs)))

    # --- emitters ---------------------------------------------------------------------------
    def emitters(
        self, flow_m3h: np.ndarray, t_supply: np.ndarray, room: np.ndarray
    ) -> EmitterState:
        """Heat and return temperature of every inlet's emitter (all inlets at once).

        With ``θ = T − T_room``, ``y = ln(θ_b/θ_r)`` over the emitter and ``p = 1 − e^−y``,
        the emitter and water equations reduce to ``F(t) = k·t + ln(1/p + u) + K₀ − ln θ_s =
        0`` in ``t = ln y`` (``k = n/(n−1)``), which is increasing and convex with slope
        between ``k − 1`` and ``k``: Newton converges from any start, in a few steps.
        Without flow (or without a temperature difference) no heat passes and the water in
        the building settles at room temperature.
        """
        flow = np.maximum(np.asarray(flow_m3h, dtype=float), 0.0)
        theta_s = t_supply - room
        size = np.abs(theta_s)
        active = (flow > MIN_FLOW_M3H) & (size > 1e-9)
        cap_b = np.where(active, flow * (1.0 + self.mixing) * CAPACITY_W_K, 1.0)
        y, slope_ratio = self._solve_y(cap_b, np.where(active, size, 1.0))
        p = -np.expm1(-y)
        u = self.mixing
        drop = np.where(active, size / (1.0 / p + u), 0.0)  # θ_b − θ_r
        theta_r = drop * (1.0 - p) / p  # θ_b·e^−y
        sign = np.sign(theta_s)
        t_return = np.where(active, room + sign * theta_r, room)
        heat = np.where(active, flow * CAPACITY_W_K * (t_supply - t_return), 0.0)
        sens = np.where(active, np.abs(heat) / np.maximum(size, 1e-9) * slope_ratio, 0.0)
        return EmitterState(
            heat_w=heat,
            return_c=t_return,
            building_supply_c=np.where(active, (t_supply + u * t_return) / (1.0 + u), room),
            sensitivity_w_k=sens,
        )

    def _solve_y(self, cap_b: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``y = ln(θ_b/θ_r)`` per inlet and ``d ln Q / d ln θ_s`` there (see :meth:`emitters`)."""
        k, u = self._k, self.mixing
        log_cap = np.log(cap_b)
        target = np.log(size) - (k - 1.0) * log_cap - self._c1
        t = self._guess
        slope = k
        low, high = _T_RANGE
        for _ in range(_NEWTON_STEPS):
            y = np.exp(t)
            p = -np.expm1(-y)
            value = k * t + np.log(1.0 / p + u) - target
            # y/(e^y − 1) = y·(1 − p)/p: 1 as y → 0, 0 where e^−y underflows
            slope = k - y * (1.0 - p) / (p * (1.0 + u * p))
            moved = np.minimum(np.maximum(t - value / slope, low), high)
            step, t = moved - t, moved
            if np.max(np.abs(step), initial=0.0) < _NEWTON_TOL:
                break
        self._guess = t
        if not self._linear.any():
            return np.exp(t), k / slope
        y_linear = self.q_design / (self.dt_design * cap_b)  # n = 1: UA_emitter / (ṁ·c_p)
        return np.where(self._linear, y_linear, np.exp(t)), np.where(self._linear, 1.0, k / slope)


def solve_thermal(
    network: Network,
    hyd: HydraulicResult,
    *,
    supply_c: float,
    outdoor_c: float,
    room_c: np.ndarray | None = None,
) -> ThermalResult:
    """One thermal state of ``network`` for the flows ``hyd`` (see :class:`ThermalModel`).

    ``room_c`` is aligned with ``hyd.inlet_ids`` (NaN or None = the inlet's room setpoint).
    ``outdoor_c`` does not enter: the pipes are buried and lose heat to ``network.ground_c``,
    and the building envelope's loss to outdoor belongs to the room balance of the
    :class:`~.simulator.Simulator`. It is part of the signature so callers state the whole
    condition.
    """
    del outdoor_c
    return ThermalModel(network, hyd.inlet_ids).solve(hyd, supply_c=supply_c, room_c=room_c)


def _design_log_mean(inlet_id: str, emitter: Any) -> float:
    """Logarithmic mean excess temperature of an emitter at its design point."""
    hot = emitter.design_supply_c - emitter.design_room_c
    cold = emitter.design_return_c - emitter.design_room_c
    if not hot >= cold > 0:
        raise ValueError(
            f"inlet {inlet_id}: emitter design temperatures must satisfy supply ≥ return > room"
        )
    if hot - cold < 1e-9:
        return float(hot)
    return float((hot - cold) / np.log(hot / cold))


def _loss(side: _Side, node_c: np.ndarray, ground: float) -> float:
    """Heat lost by the pipes of one side, W: ``ṁ·c_p·(T_in − T_out)`` summed."""
    return float(np.sum(side.capacity * (1.0 - side.decay) * (node_c[side.src] - ground)))
