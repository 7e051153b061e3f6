"""``HydraulicModel`` (prepared once, solved many times) and the one-shot ``solve_hydraulics``."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..model import GRAVITY, WATER_DENSITY, Network
from .devices import DP, FLOW, PUMP, VALVE, DeviceTable, InletLaws
from .errors import HydraulicError
from .gga import Laplacian, LinkLaws, NewtonOutcome, PipeData, newton
from .result import HydraulicResult, WarmStart
from .topology import build_topology

KINEMATIC_VISCOSITY = 4.7e-7  # m²/s, water at about 60 °C (4.74e-7), the middle of the season
RHO_G = WATER_DENSITY * GRAVITY
FLOOR_REL = 1e-6  # derivative of a quadratic law is taken at ≥ this fraction of design flow
D_MIN_REL = 1e-6  # no derivative below 1e-6 × pump pressure / design flow (see gga.newton)
CHORD_VELOCITY = 0.3  # m/s, first guess for pipes that close loops (their flow is unknown)


class HydraulicModel:
    """A network prepared for repeated solves with changed openings, setpoints or pump speed.

    Topology, pipe constants, device data and the sparse matrix structure are computed once;
    the simulator and the controllers call :meth:`solve` thousands of times, warm-started from
    the previous result. Device *settings* (opening, setpoint, speed) are read from the network
    at each solve unless passed in; change a device's type or Kvs, or the topology, and build a
    new model.
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self.topo = build_topology(network)
        self.inlet_ids = self.topo.inlet_ids
        self.pipe_ids = self.topo.pipe_ids
        self.node_ids = self.topo.node_ids
        self.devices = DeviceTable(network, self.topo)
        self._pipes = self._base_pipes = _pipe_data(network)
        self._laplacian = Laplacian(
            self.topo.start, self.topo.end, self.topo.n_hyd, self.topo.fixed_node
        )
        sub = network.substation
        pump = sub.pump
        q_pump = pump.design_flow_m3h / 3600.0
        self._source_a = (RHO_G * pump.curve_k * 3600.0**2) + sub.hx_dp_kpa * 1000.0 / q_pump**2
        self._p_ref = RHO_G * pump.shutoff_head_m + float(self.devices.pump_g.max(initial=0.0))
        self._p_ref = max(self._p_ref, 1000.0)
        self._q_ref = max(q_pump, float(self.devices.q_design[~self.topo.is_parent].sum()))
        n_links = self.topo.n_links
        self._q_floor = np.zeros(n_links)
        inlets = self.topo.inlet_links()
        self._q_floor[inlets] = np.maximum(FLOOR_REL * self.devices.q_design, 1e-12)
        self._q_floor[self.topo.source_link] = FLOOR_REL * q_pump

    def scale_pipes(self, factor: float | np.ndarray) -> None:
        """Scale every pipe's resistance by ``factor`` against the network file's (one
        factor, or one per pipe aligned with ``pipe_ids``).

        Friction and minor losses scale exactly (the friction factor depends on flow and
        roughness, not on length), so this is the model a self-learning controller
        corrects when its measured pressures say the drawing is wrong (§3.0.7-3).
        """
        base = self._base_pipes
        factor = np.tile(factor, 2) if np.ndim(factor) else factor  # supply and return
        self._pipes = replace(
            base, k_friction=base.k_friction * factor, k_minor=base.k_minor * factor
        )

    def openings(self) -> np.ndarray:
        """Current device openings from the network, aligned with ``inlet_ids``."""
        return self.devices.openings()

    def solve(
        self,
        openings: np.ndarray | None = None,
        pump_speed: float | None = None,
        warm_start: HydraulicResult | WarmStart | np.ndarray | None = None,
        *,
        kv_factor: np.ndarray | None = None,
        setpoints: np.ndarray | None = None,
        inlet_speeds: np.ndarray | None = None,
        tol: float = 1e-9,
        max_iter: int = 50,
        raise_on_failure: bool = True,
        stall: int | None = None,
    ) -> HydraulicResult:
        """Solve one steady state.

        ``openings`` (0…1), ``kv_factor`` (Kv multiplier, a blockage is < 1), ``setpoints``
        (m³/h for flow valves, kPa for ΔP valves) and ``inlet_speeds`` (distributed pumps) are
        arrays aligned with ``inlet_ids``; NaN or ``None`` means the device's own value.
        ``warm_start`` is a previous result of this model. Converged means no link flow
        changed by more than ``tol`` × the pump's design flow in the last Newton step (or
        the quadratic phase predicts the next step below that, see ``gga.newton``): a bound
        on the step, not the error. Flows below the derivative floor (``FLOOR_REL``, a pump
        near standstill) converge only linearly and may be off by ~100 × that. ``stall``
        stops a solve that makes no progress before ``max_iter`` (see ``gga.newton``).
        """
        speed = self._pump_speed(pump_speed)
        dev = self.devices
        laws_in = dev.laws(
            _per_inlet(self, "openings", openings, dev.openings),
            _per_inlet(self, "kv_factor", kv_factor, lambda: np.ones(len(self.inlet_ids))),
            _per_inlet(self, "setpoints", setpoints, lambda: dev.setpoints(setpoints)),
            _per_inlet(self, "inlet_speeds", inlet_speeds, dev.speeds),
            self._p_ref,
        )
        laws = self._link_laws(laws_in, speed)
        if not np.any(laws.g):
            # No pump turns: every law is passive and strictly increasing, so nothing flows.
            # (Newton would get there too, but only by halving its way down to zero.)
            zero = NewtonOutcome(
                np.zeros(self.topo.n_links), np.zeros(self.topo.n_hyd), 0, True, 0.0, 0
            )
            return self._result(zero, laws_in, speed)
        q0 = self._initial_flows(laws, warm_start)
        out = newton(
            laws,
            self._laplacian,
            self.topo,
            q0,
            tol=tol,
            max_iter=max_iter,
            q_ref=self._q_ref,
            stall=stall,
        )
        if not out.converged and raise_on_failure:
            raise HydraulicError(self._failure(out))
        return self._result(out, laws_in, speed)

    # --- settings ---------------------------------------------------------------------------
    def _pump_speed(self, pump_speed: float | None) -> float:
        """The substation pump's relative speed for this solve (checked)."""
        speed = self.network.substation.pump.speed if pump_speed is None else pump_speed
        if not (isinstance(speed, int | float) and math.isfinite(speed) and speed >= 0):
            raise HydraulicError(f"pump speed must be a number ≥ 0, got {pump_speed!r}")
        return float(speed)

    def _link_laws(self, inlet: InletLaws, speed: float) -> LinkLaws:
        """All links' laws: inlets from the device table, the substation from the pump."""
        topo = self.topo
        n_links = topo.n_links
        a = np.zeros(n_links)
        g = np.zeros(n_links)
        links = topo.inlet_links()
        a[links] = inlet.a
        g[links] = inlet.g
        a[topo.source_link] = self._source_a
        g[topo.source_link] = RHO_G * self.network.substation.pump.shutoff_head_m * speed**2
        regulated = self.devices.regulated
        return LinkLaws(
            pipes=self._pipes,
            a=a,
            g=g,
            q_floor=self._q_floor,
            d_min=D_MIN_REL * self._p_ref / self._q_ref,
            regulated=regulated + links.start,
            target=inlet.target[regulated],
            steep=inlet.steep[regulated],
        )

    # --- initial guess ----------------------------------------------------------------------
    def _initial_flows(
        self, laws: LinkLaws, warm_start: HydraulicResult | WarmStart | np.ndarray | None
    ) -> np.ndarray:
        """Warm start from a previous result, else a cold guess from the laws (see docs)."""
        topo = self.topo
        links = np.arange(topo.n_links)[topo.inlet_links()]
        if warm_start is None:
            return self._cold_flows(laws, links)
        kept = isinstance(warm_start, WarmStart)
        prev = (
            warm_start.link_flow
            if isinstance(warm_start, HydraulicResult | WarmStart)
            else warm_start
        )
        q = np.array(prev, dtype=float)
        if q.shape != (topo.n_links,) or not np.all(np.isfinite(q)):
            if kept:  # stored before a restart, for the network as it was then: cold
                return self._cold_flows(laws, links)
            raise HydraulicError("warm start does not belong to this network's model")
        p = getattr(warm_start, "node_pressure_pa", np.zeros(0))
        if len(p) == topo.n_hyd:
            # Settings may have changed: every inlet restarts on its *new* law at the old ΔP.
            q[links] = laws.invert(links, p[topo.start[links]] - p[topo.end[links]])
        return q

    def _cold_flows(self, laws: LinkLaws, links: np.ndarray) -> np.ndarray:
        """Inlets on their own law at a guessed ΔP, summed up the buildings and the pipe tree."""
        topo = self.topo
        q = np.zeros(topo.n_links)
        street_dp = 0.5 * laws.g[topo.source_link]
        inlet_q = laws.invert(links, street_dp * 0.5**topo.depth)
        design = self.devices.q_design
        inlet_q = np.where(design > 0, np.minimum(inlet_q, design), inlet_q)
        for depth in range(int(topo.depth.max(initial=0)), 0, -1):
            kids = topo.depth == depth
            sums = np.bincount(topo.parent[kids], weights=inlet_q[kids], minlength=len(inlet_q))
            inlet_q[topo.is_parent & (topo.depth == depth - 1)] = sums[
                topo.is_parent & (topo.depth == depth - 1)
            ]
        q[links] = inlet_q
        top = topo.depth == 0
        at_node = np.bincount(
            topo.inlet_node[top], weights=inlet_q[top], minlength=len(topo.node_ids)
        )
        pipe_q = np.zeros(topo.n_pipes)
        pipe_q[topo.chords] = CHORD_VELOCITY * self._pipes.area[topo.chords]
        for level in reversed(topo.tree_levels):
            np.add.at(at_node, topo.tree_up[level], at_node[level])
            pipe_q[topo.tree_pipe[level]] = at_node[level] * topo.tree_sign[level]
        n = topo.n_pipes
        q[:n] = pipe_q
        q[n : 2 * n] = pipe_q
        q[topo.source_link] = inlet_q[top].sum()
        return q

    # --- output -----------------------------------------------------------------------------
    def _failure(self, out: NewtonOutcome) -> str:
        """Why the iteration stopped, in words an operator can act on."""
        return (
            f"network {self.network.name!r}: no hydraulic solution after {out.iterations} "
            f"iterations (largest flow change {out.last_change * 3600:.3g} m³/h at "
            f"{self.topo.link_name(out.worst_link)}); check for inlets without resistance, "
            "pumps working against each other, or raise max_iter"
        )

    def _device_figures(
        self, q_in: np.ndarray, drop: np.ndarray, laws: InletLaws
    ) -> tuple[np.ndarray, np.ndarray]:
        """Drop across each balancing device (Pa) and the Kv it works at (m³/h, NaN: none)."""
        dev = self.devices
        kind = dev.kind
        q2 = q_in * np.abs(q_in)
        regulated = (kind == FLOW) | (kind == DP)
        valve_dp = np.select(
            [kind == VALVE, regulated, kind == PUMP],
            [laws.a_device * q2, drop - dev.a_int * q2, laws.pump_a * q2 - laws.g],
            0.0,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            kv_regulated = np.abs(q_in) * 3600.0 / np.sqrt(np.abs(valve_dp) / 1e5)
        # A self-operated valve below its target flow is fully open (Kvs); at its target it has
        # throttled itself to whatever Kv passes that flow at its drop.
        throttling = regulated & (q_in >= laws.target * (1.0 - 1e-6)) & (valve_dp > 0)
        kv = np.where((kind == VALVE) | regulated, laws.kv, np.nan)
        kv = np.where(throttling, kv_regulated, kv)
        return valve_dp, kv

    def _result(self, out: NewtonOutcome, laws: InletLaws, speed: float) -> HydraulicResult:
        """Convert the internal solution to reported units (m³/h, kPa, m, W)."""
        topo, q, p = self.topo, out.q, out.p
        n = topo.n_pipes
        links = topo.inlet_links()
        q_in = q[links]
        n_nodes = len(topo.node_ids)
        drop = p[topo.start[links]] - p[topo.end[links]]
        valve_dp, kv = self._device_figures(q_in, drop, laws)
        sub = self.network.substation
        static = (
            RHO_G * (topo.elevation - topo.elevation[topo.sub_node]) - sub.static_pressure_kpa * 1e3
        )
        pump_q = float(q[topo.source_link]) * 3600.0
        head = sub.pump.head_m(pump_q, speed)
        return HydraulicResult(
            inlet_ids=topo.inlet_ids,
            pipe_ids=topo.pipe_ids,
            node_ids=topo.node_ids,
            inlet_flow_m3h=q_in * 3600.0,
            dp_available_kpa=(p[topo.inlet_up] - p[topo.inlet_node + n_nodes]) / 1000.0,
            valve_dp_kpa=valve_dp / 1000.0,
            pipe_supply_flow_m3h=q[:n] * 3600.0,
            pipe_return_flow_m3h=q[n : 2 * n] * 3600.0,
            node_supply_kpa=(p[:n_nodes] - static) / 1000.0,
            node_return_kpa=(p[n_nodes : 2 * n_nodes] - static) / 1000.0,
            pump_flow_m3h=pump_q,
            pump_head_m=head,
            pump_power_w=sub.pump.power_w(pump_q, head),
            pump_speed=speed,
            iterations=out.iterations,
            converged=out.converged,
            link_flow=q,
            valve_kv=kv,
            node_pressure_pa=p,
        )


def solve_hydraulics(
    network: Network,
    *,
    pump_speed: float | None = None,
    openings: np.ndarray | None = None,
    tol: float = 1e-9,
    max_iter: int = 50,
    **kwargs: Any,
) -> HydraulicResult:
    """Solve one steady state of ``network`` (one-shot wrapper of :class:`HydraulicModel`).

    Keyword arguments are those of :meth:`HydraulicModel.solve`. Like the CLI, it refuses a
    pump speed above the pump's VFD maximum (speed 3 would be nine times the head); a model's
    ``solve`` stays free to explore beyond it (the oracle's "big flow" pump search does).
    """
    pump = network.substation.pump
    if (
        isinstance(pump_speed, int | float)
        and math.isfinite(pump_speed)
        and pump_speed > pump.max_speed
    ):
        raise HydraulicError(
            f"pump speed {pump_speed:g} is above the pump's VFD maximum {pump.max_speed:g}"
        )
    model = HydraulicModel(network)
    return model.solve(openings, pump_speed, tol=tol, max_iter=max_iter, **kwargs)


def _per_inlet(model: HydraulicModel, name: str, values: Any, default: Any) -> np.ndarray:
    """An array aligned with the inlets; NaN entries (or ``None``) take the device's value."""
    if values is None:
        return np.asarray(default(), dtype=float)
    arr = np.asarray(values, dtype=float)
    if arr.shape != (len(model.inlet_ids),):
        raise HydraulicError(
            f"{name}: expected {len(model.inlet_ids)} values (one per inlet), got shape {arr.shape}"
        )
    missing = np.isnan(arr)
    if missing.any():
        arr = np.where(missing, default(), arr)
    if name in ("kv_factor", "inlet_speeds") and (np.any(arr < 0) or not np.all(np.isfinite(arr))):
        raise HydraulicError(f"{name}: values must be finite and ≥ 0")
    if name == "openings" and not np.all(np.isfinite(arr)):
        raise HydraulicError("openings: values must be finite")
    return arr


def _diameters(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Supply and return inner diameters (mm) of every pipe pair."""
    supply = np.array([p.inner_diameter_mm for p in network.pipes], dtype=float)
    ret = np.array([p.return_diameter_mm for p in network.pipes], dtype=float)
    return supply, ret


def _pipe_data(network: Network) -> PipeData:
    """Darcy–Weisbach constants of the supply then return pipe links."""
    d = np.concatenate(_diameters(network)) / 1000.0
    length = np.array([p.length_m for p in network.pipes] * 2, dtype=float)
    rough = np.array([p.roughness_mm for p in network.pipes] * 2, dtype=float) / 1000.0
    zeta = np.array([p.zeta for p in network.pipes] * 2, dtype=float)
    area = np.pi * d * d / 4.0
    dyn = WATER_DENSITY / (2.0 * area * area)
    return PipeData(
        area=area,
        k_friction=length / d * dyn,
        k_minor=zeta * dyn,
        q_per_re=KINEMATIC_VISCOSITY * area / d,
        rel_roughness=rough / d,
    )
