"""Steady-state pressure and flow in a secondary network (§5.3.6-4 network balance analysis).

The pipe pairs of a :class:`~.model.Network` are expanded into a graph of hydraulic nodes
(supply side, return side, and one building supply node for each building that feeds
households) and links (supply pipes, return pipes, inlet branches, building service
connections, the substation). Every link obeys ``p_start − p_end = a·Q·|Q| − g`` where ``a``
is a quadratic resistance and ``g`` a pump's shut-off pressure; pipes add Darcy–Weisbach
friction (Colebrook–White, laminar below Re 2,000). The system is solved by the global gradient
algorithm (Todini & Pilati 1988): Newton steps on link flows and node pressures, where each
step needs one sparse symmetric solve of the size of the node count — so looped networks cost
no more than trees, and 23,000 households are a few thousand nodes.

Self-operated flow and ΔP valves are controlled elements: an outer loop moves their
resistance until they hold their setpoint or run fully open (§2.0.4, §7.2.5-2/-3).
Units: SI inside (Pa, m³/s); the result reports m³/h, kPa and m.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .model import GRAVITY, WATER_DENSITY, Network

KINEMATIC_VISCOSITY = 4.7e-7  # m²/s, water at about 60 °C
KV_MIN = 1e-4  # m³/h: a "closed" valve leaks this much at 100 kPa, so the matrix stays regular
DISTRIBUTED_PUMP_SHUTOFF = 1.25  # shut-off head over design head for inlet pumps without a curve
_VALVE_A = 1e5 * 3600.0**2  # Δp[Pa] = _VALVE_A · (Q[m³/s] / Kv[m³/h])²

# Link kinds
_PIPE_S, _PIPE_R, _BRANCH, _SERVICE, _SOURCE = range(5)


class HydraulicError(Exception):
    """The network could not be solved (raised with the reason)."""


@dataclass
class HydraulicResult:
    """One steady state; arrays are aligned with ``inlet_ids``, ``pipe_ids``, ``node_ids``."""

    inlet_ids: list[str]
    pipe_ids: list[str]
    node_ids: list[str]
    inlet_flow_m3h: np.ndarray
    dp_available_kpa: np.ndarray
    valve_dp_kpa: np.ndarray
    pipe_supply_flow_m3h: np.ndarray
    pipe_return_flow_m3h: np.ndarray
    node_supply_kpa: np.ndarray
    node_return_kpa: np.ndarray
    pump_flow_m3h: float
    pump_head_m: float
    pump_power_w: float
    pump_speed: float
    iterations: int
    converged: bool
    link_flow: np.ndarray = field(repr=False)  # m³/s per internal link, for warm starts

    def inlet(self, inlet_id: str) -> dict[str, float]:
        """Per-inlet figures by name."""
        i = self.inlet_ids.index(inlet_id)
        return {
            "flow_m3h": float(self.inlet_flow_m3h[i]),
            "dp_available_kpa": float(self.dp_available_kpa[i]),
            "valve_dp_kpa": float(self.valve_dp_kpa[i]),
        }


@dataclass
class _Graph:
    """Links and nodes of the expanded network, as index arrays."""

    start: np.ndarray
    end: np.ndarray
    kind: np.ndarray
    n_nodes: int
    fixed_node: int
    length: np.ndarray
    diameter: np.ndarray
    roughness: np.ndarray
    zeta: np.ndarray
    a_fixed: np.ndarray  # Pa/(m³/s)² of the parts that do not change (internal circuits)
    inlet_link: np.ndarray  # link of each inlet (branch or service connection)
    inlet_up: np.ndarray  # node whose pressure the inlet is offered (supply side)
    inlet_down: np.ndarray  # return node it discharges to
    source_link: int
    pipe_s_link: np.ndarray
    pipe_r_link: np.ndarray
    supply_node: np.ndarray  # per network node
    return_node: np.ndarray


class HydraulicModel:
    """A network prepared for repeated solves with changed openings or pump speed.

    Topology, pipe data and fixed resistances are computed once; the simulator and the
    controllers call :meth:`solve` thousands of times with a warm start.
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self.inlet_ids = list(network.inlets)
        self.pipe_ids = [p.id for p in network.pipes]
        self.node_ids = list(network.nodes)
        self._devices = [network.inlets[i].device for i in self.inlet_ids]
        self._graph = _build_graph(network, self.inlet_ids)
        self._kvs = np.array([d.kvs or 0.0 for d in self._devices])
        self._has_valve = np.array(
            [d.kvs is not None and d.type != "distributed_pump" for d in self._devices]
        )
        self._flow_valve = np.array([d.type == "flow_valve" for d in self._devices])
        self._linear = np.array([d.characteristic == "linear" for d in self._devices])
        self._range = np.array([d.rangeability for d in self._devices], dtype=float)
        self._min_open = np.array([d.min_opening for d in self._devices], dtype=float)
        self._max_open = np.array([d.max_opening for d in self._devices], dtype=float)
        self._dp_valve = np.array([d.type == "dp_valve" for d in self._devices])
        self._pump_g = np.array([_distributed_pump_g(d) for d in self._devices])
        self._pump_a = np.array([_distributed_pump_a(d) for d in self._devices])

    def openings(self) -> np.ndarray:
        """Current device openings from the network, aligned with ``inlet_ids``."""
        return np.array([d.opening for d in self._devices], dtype=float)

    def solve(
        self,
        openings: np.ndarray | None = None,
        pump_speed: float | None = None,
        warm_start: HydraulicResult | np.ndarray | None = None,
        *,
        kv_factor: np.ndarray | None = None,
        setpoints: np.ndarray | None = None,
        inlet_speeds: np.ndarray | None = None,
        tol: float = 1e-9,
        max_iter: int = 100,
    ) -> HydraulicResult:
        """Solve one steady state.

        ``kv_factor`` scales each valve's Kv (a blockage is a factor below 1); ``setpoints``
        override self-operated valves' setpoints (m³/h or kPa, NaN = the device's own).
        """
        g = self._graph
        pump = self.network.substation.pump
        speed = pump.speed if pump_speed is None else pump_speed
        opening = self.openings() if openings is None else np.asarray(openings, dtype=float)
        kv = self._valve_kv(opening, kv_factor)
        a_valve = np.where(self._has_valve, _VALVE_A / np.maximum(kv, KV_MIN) ** 2, 0.0)
        a_valve_min = np.where(self._has_valve, _VALVE_A / np.maximum(self._kvs, KV_MIN) ** 2, 0.0)
        targets = self._controlled_targets(setpoints)
        speeds = self._inlet_speeds(inlet_speeds)

        q = _initial_flows(g, self.network, self.inlet_ids, warm_start)
        a = g.a_fixed.copy()
        gain = np.zeros_like(a)
        gain[g.source_link] = WATER_DENSITY * GRAVITY * pump.shutoff_head_m * speed**2
        a[g.source_link] += WATER_DENSITY * GRAVITY * pump.curve_k * 3600.0**2
        gain[g.inlet_link] += self._pump_g * speeds**2
        a[g.inlet_link] += self._pump_a
        total_iter = 0
        converged = False
        p = np.zeros(g.n_nodes)
        for _outer in range(30):
            a_links = a.copy()
            a_links[g.inlet_link] += a_valve
            q, p, iters, converged = _newton(g, a_links, gain, q, tol, max_iter)
            total_iter += iters
            if not converged or not (self._flow_valve.any() or self._dp_valve.any()):
                break
            a_new = self._regulate(a_valve, a_valve_min, a, q, p, targets)
            if np.allclose(a_new, a_valve, rtol=1e-6, atol=0.0):
                break
            a_valve = a_new
        if not converged:
            raise HydraulicError(
                f"{self.network.name}: no hydraulic solution after {total_iter} iterations"
            )
        return self._result(q, p, a_valve, speed, total_iter, converged)

    def _valve_kv(self, opening: np.ndarray, kv_factor: np.ndarray | None) -> np.ndarray:
        """Kv of every device at ``opening`` (0 where the device has no valve), vectorised."""
        h = np.clip(np.nan_to_num(opening, nan=1.0), self._min_open, self._max_open)
        h = np.clip(h, 0.0, 1.0)
        r = self._range
        knee = 1.0 / r
        equal = self._kvs * np.where(h >= knee, r ** (h - 1.0), r ** (knee - 1.0) * h / knee)
        kv = np.where(self._linear, self._kvs * h, equal)
        kv = np.where(self._has_valve, kv, 0.0)
        return kv if kv_factor is None else kv * np.asarray(kv_factor, dtype=float)

    def _controlled_targets(self, setpoints: np.ndarray | None) -> np.ndarray:
        """Setpoint per inlet in SI (m³/s for flow valves, Pa for ΔP valves), NaN elsewhere."""
        own = np.array([d.setpoint if d.setpoint is not None else np.nan for d in self._devices])
        if setpoints is not None:
            given = np.asarray(setpoints, dtype=float)
            own = np.where(np.isnan(given), own, given)
        scale = np.where(self._flow_valve, 1 / 3600.0, np.where(self._dp_valve, 1000.0, np.nan))
        return own * scale

    def _inlet_speeds(self, inlet_speeds: np.ndarray | None) -> np.ndarray:
        """Relative speed of each inlet's distributed pump."""
        if inlet_speeds is not None:
            return np.asarray(inlet_speeds, dtype=float)
        return np.array([d.speed for d in self._devices])

    def _regulate(
        self,
        a_valve: np.ndarray,
        a_min: np.ndarray,
        a_rest: np.ndarray,
        q: np.ndarray,
        p: np.ndarray,
        targets: np.ndarray,
    ) -> np.ndarray:
        """One move of every self-operated valve toward its setpoint (bounded by Kvs)."""
        g = self._graph
        flow = np.abs(q[g.inlet_link])
        safe = np.maximum(flow, 1e-9)
        dp_avail = p[g.inlet_up] - p[g.inlet_down]
        a_new = a_valve.copy()
        # Flow valve: total branch resistance scales with (Q/Q_set)² at the same available ΔP.
        fv = self._flow_valve & ~np.isnan(targets)
        total = a_valve + a_rest[g.inlet_link]
        wanted = total * (safe / np.where(fv, targets, 1.0)) ** 2 - a_rest[g.inlet_link]
        a_new = np.where(fv, wanted, a_new)
        # ΔP valve: the circuit behind it (a quadratic resistance) must see the setpoint, so
        # its flow becomes Q·√(setpoint/ΔP_circuit) and the valve takes the rest of ΔP.
        dv = self._dp_valve & ~np.isnan(targets)
        target = np.where(dv, targets, 0.0)
        circuit = np.maximum(dp_avail - a_valve * flow * flow, 1e-6)
        q_target = np.maximum(safe * np.sqrt(target / circuit), 1e-9)
        valve_drop = np.maximum(dp_avail - target, 0.0)
        a_new = np.where(dv, valve_drop / q_target**2, a_new)
        return np.maximum(a_new, a_min)

    def _result(
        self,
        q: np.ndarray,
        p: np.ndarray,
        a_valve: np.ndarray,
        speed: float,
        iterations: int,
        converged: bool,
    ) -> HydraulicResult:
        """Convert the internal solution to reported units."""
        g = self._graph
        pump = self.network.substation.pump
        to_m3h = 3600.0
        inlet_q = q[g.inlet_link]
        elev = np.array([n.elevation_m for n in self.network.nodes.values()])
        z0 = self.network.nodes[self.network.substation.node].elevation_m
        # Gauge pressure: the return header is held at the pressurisation point; elevation
        # only shifts the reported value (static heads cancel around every closed loop).
        static = (
            WATER_DENSITY * GRAVITY * (elev - z0)
            - self.network.substation.static_pressure_kpa * 1000
        )
        pump_q = float(q[g.source_link]) * to_m3h
        head = pump.head_m(pump_q, speed)
        return HydraulicResult(
            inlet_ids=self.inlet_ids,
            pipe_ids=self.pipe_ids,
            node_ids=self.node_ids,
            inlet_flow_m3h=inlet_q * to_m3h,
            dp_available_kpa=(p[g.inlet_up] - p[g.inlet_down]) / 1000.0,
            valve_dp_kpa=a_valve * inlet_q * np.abs(inlet_q) / 1000.0,
            pipe_supply_flow_m3h=q[g.pipe_s_link] * to_m3h,
            pipe_return_flow_m3h=q[g.pipe_r_link] * to_m3h,
            node_supply_kpa=(p[g.supply_node] - static) / 1000.0,
            node_return_kpa=(p[g.return_node] - static) / 1000.0,
            pump_flow_m3h=pump_q,
            pump_head_m=head,
            pump_power_w=pump.power_w(pump_q, head),
            pump_speed=speed,
            iterations=iterations,
            converged=converged,
            link_flow=q,
        )


def solve_hydraulics(
    network: Network,
    *,
    pump_speed: float | None = None,
    openings: np.ndarray | None = None,
    **kwargs: Any,
) -> HydraulicResult:
    """Solve one steady state of ``network`` (one-shot wrapper of :class:`HydraulicModel`)."""
    return HydraulicModel(network).solve(openings, pump_speed, **kwargs)


def _newton(
    g: _Graph, a: np.ndarray, gain: np.ndarray, q: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Global gradient iterations on flows ``q`` and pressures for fixed link resistances."""
    # scipy.sparse costs half a second to import; pay it on the first solve, not on import.
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    free = np.ones(g.n_nodes, dtype=bool)
    free[g.fixed_node] = False
    index = np.cumsum(free) - 1
    n_free = int(free.sum())
    s_free, e_free = free[g.start], free[g.end]
    rows = np.concatenate(
        [
            index[g.start][s_free],
            index[g.end][e_free],
            index[g.start][s_free & e_free],
            index[g.end][s_free & e_free],
        ]
    )
    cols = np.concatenate(
        [
            index[g.start][s_free],
            index[g.end][e_free],
            index[g.end][s_free & e_free],
            index[g.start][s_free & e_free],
        ]
    )
    p: np.ndarray = np.zeros(g.n_nodes)
    pipes = g.kind <= _PIPE_R
    for it in range(1, max_iter + 1):
        a_tot = a.copy()
        a_tot[pipes] += _pipe_resistance(g, q[pipes])
        head_loss = a_tot * q * np.abs(q) - gain
        deriv = np.maximum(2.0 * a_tot * np.abs(q), 1e-3)
        w = 1.0 / deriv
        matrix = sp.csc_matrix(
            (
                np.concatenate([w[s_free], w[e_free], -w[s_free & e_free], -w[s_free & e_free]]),
                (rows, cols),
            ),
            shape=(n_free, n_free),
        )
        # Energy residual e = F(Q) − (p_start − p_end); mass residual is A21·Q.
        resid = head_loss - (p[g.start] - p[g.end])
        net_in = np.bincount(g.end, weights=q, minlength=g.n_nodes) - np.bincount(
            g.start, weights=q, minlength=g.n_nodes
        )
        rhs_full = net_in - (
            np.bincount(g.end, weights=w * resid, minlength=g.n_nodes)
            - np.bincount(g.start, weights=w * resid, minlength=g.n_nodes)
        )
        dp_free = spsolve(matrix, rhs_full[free])
        dp: np.ndarray = np.zeros(g.n_nodes)
        dp[free] = dp_free
        dq = -w * (resid - (dp[g.start] - dp[g.end]))
        q = q + dq
        p = p + dp
        if np.max(np.abs(dq)) <= tol * max(float(np.max(np.abs(q))), 1e-6):
            return q, p, it, True
    return q, p, max_iter, False


def _pipe_resistance(g: _Graph, q: np.ndarray) -> np.ndarray:
    """Quadratic coefficient of every pipe at flow ``q`` (Darcy–Weisbach + minor losses)."""
    mask = g.kind <= _PIPE_R
    d = g.diameter[mask]
    area = np.pi * d * d / 4.0
    velocity = np.abs(q) / area
    reynolds = np.maximum(velocity * d / KINEMATIC_VISCOSITY, 1.0)
    f = friction_factor(reynolds, g.roughness[mask] / d)
    return (f * g.length[mask] / d + g.zeta[mask]) * WATER_DENSITY / (2.0 * area * area)


def friction_factor(reynolds: np.ndarray, rel_roughness: np.ndarray) -> np.ndarray:
    """Darcy friction factor: laminar 64/Re, Colebrook–White above Re 4,000, blended between.

    Colebrook is solved by fixed-point iteration from the Swamee–Jain explicit estimate;
    three iterations bring it within 1e-6 relative (Swamee–Jain alone is off by up to ~1 %,
    which moves far inlets' flows by half a percent on long networks).
    """
    re = np.asarray(reynolds, dtype=float)
    re_t = np.maximum(re, 4000.0)
    rough = rel_roughness / 3.7
    f = 0.25 / np.log10(rough + 5.74 / re_t**0.9) ** 2
    for _ in range(3):
        f = (-2.0 * np.log10(rough + 2.51 / (re_t * np.sqrt(f)))) ** -2
    laminar = 64.0 / re
    blend = np.clip((re - 2000.0) / 2000.0, 0.0, 1.0)
    return np.where(re < 2000.0, laminar, (1 - blend) * (64.0 / 2000.0) + blend * f)


def _distributed_pump_g(device: Any) -> float:
    """Shut-off pressure (Pa) of an inlet's distributed pump at full speed, else 0."""
    if device.type != "distributed_pump" or not device.pump_head_m:
        return 0.0
    return float(WATER_DENSITY * GRAVITY * device.pump_head_m * DISTRIBUTED_PUMP_SHUTOFF)


def _distributed_pump_a(device: Any) -> float:
    """Head-curve coefficient (Pa/(m³/s)²) of an inlet's distributed pump, else 0."""
    if device.type != "distributed_pump" or not device.pump_head_m or not device.pump_flow_m3h:
        return 0.0
    drop = device.pump_head_m * (DISTRIBUTED_PUMP_SHUTOFF - 1.0) * WATER_DENSITY * GRAVITY
    return float(drop / (device.pump_flow_m3h / 3600.0) ** 2)


def _build_graph(network: Network, inlet_ids: list[str]) -> _Graph:
    """Expand pipe pairs and inlets into hydraulic nodes and links."""
    node_index = {nid: i for i, nid in enumerate(network.nodes)}
    n = len(node_index)
    supply = np.arange(n)
    ret = np.arange(n) + n
    parents = {i.parent for i in network.inlets.values() if i.parent}
    building_node = {bid: 2 * n + k for k, bid in enumerate(sorted(parents))}
    links: dict[str, list[Any]] = {
        k: [] for k in ("start", "end", "kind", "len", "d", "eps", "zeta", "a")
    }

    def add(start: int, end: int, kind: int, length=0.0, d=1.0, eps=0.0, zeta=0.0, a=0.0) -> int:
        for key, val in zip(links, (start, end, kind, length, d, eps, zeta, a), strict=True):
            links[key].append(val)
        return len(links["start"]) - 1

    pipe_s, pipe_r = [], []
    for pipe in network.pipes:
        f, t = node_index[pipe.from_node], node_index[pipe.to_node]
        pipe_s.append(
            add(
                supply[f],
                supply[t],
                _PIPE_S,
                pipe.length_m,
                pipe.inner_diameter_mm / 1000,
                pipe.roughness_mm / 1000,
                pipe.zeta,
            )
        )
        pipe_r.append(
            add(
                ret[t],
                ret[f],
                _PIPE_R,
                pipe.length_m,
                pipe.return_diameter_mm / 1000,
                pipe.roughness_mm / 1000,
                pipe.zeta,
            )
        )
    inlet_link, up, down = [], [], []
    for iid in inlet_ids:
        inlet = network.inlets[iid]
        k = node_index[inlet.node]
        a_int = inlet.internal_dp_kpa * 1000.0 / (inlet.design_flow_m3h / 3600.0) ** 2
        if iid in building_node:
            start, end, kind = supply[k], building_node[iid], _SERVICE
            up.append(supply[k])
        else:
            start = building_node[inlet.parent] if inlet.parent else supply[k]
            end, kind = ret[k], _BRANCH
            up.append(start)
        down.append(ret[k])
        inlet_link.append(add(start, end, kind, a=a_int))
    sub = network.substation
    s = node_index[sub.node]
    a_hx = sub.hx_dp_kpa * 1000.0 / (sub.pump.design_flow_m3h / 3600.0) ** 2
    source = add(ret[s], supply[s], _SOURCE, a=a_hx)
    arr = {k: np.asarray(v) for k, v in links.items()}
    return _Graph(
        start=arr["start"].astype(int),
        end=arr["end"].astype(int),
        kind=arr["kind"].astype(int),
        n_nodes=2 * n + len(building_node),
        fixed_node=int(ret[s]),
        length=arr["len"].astype(float),
        diameter=arr["d"].astype(float),
        roughness=arr["eps"].astype(float),
        zeta=arr["zeta"].astype(float),
        a_fixed=arr["a"].astype(float),
        inlet_link=np.array(inlet_link, dtype=int),
        inlet_up=np.array(up, dtype=int),
        inlet_down=np.array(down, dtype=int),
        source_link=source,
        pipe_s_link=np.array(pipe_s, dtype=int),
        pipe_r_link=np.array(pipe_r, dtype=int),
        supply_node=supply,
        return_node=ret,
    )


def _initial_flows(
    g: _Graph,
    network: Network,
    inlet_ids: list[str],
    warm_start: HydraulicResult | np.ndarray | None,
) -> np.ndarray:
    """Start from the previous solution, or from design flows (pipes: a small guess)."""
    if isinstance(warm_start, HydraulicResult):
        return warm_start.link_flow.copy()
    if warm_start is not None:
        return np.asarray(warm_start, dtype=float).copy()
    total = sum(i.design_flow_m3h for i in network.terminal_inlets()) / 3600.0
    q = np.full(g.start.shape, total / max(len(inlet_ids), 1))
    q[g.inlet_link] = [network.inlets[i].design_flow_m3h / 3600.0 for i in inlet_ids]
    q[g.source_link] = total
    return q
