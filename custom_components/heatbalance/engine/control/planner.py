"""Coordinated valve settings for target flows, from the hydraulic model (§3.0.7, §5.3.6-3).

Valves in a network are coupled: closing one raises the pressure every other inlet sees. So
the settings are computed for all valves at once, by asking the model the inverse question
"which openings give the flows Q*?":

1. In a copy of the network every controllable inlet becomes an *ideal flow regulator*
   (no resistance, flow held at Q*). One solve of that model at the highest allowed pump
   speed gives the pressure ``Δp_i`` each inlet is offered when every flow is on target —
   it no longer depends on the openings, only on the pipes and the pump.
2. At fixed flows every offered pressure moves by the same amount when the pump speed
   changes (``ρ·g·H0·Δ(s²)``: pipe losses stay, the pump's shut-off head scales with s²).
   So the *slack* of each inlet — offered pressure minus what its branch needs with the
   valve at its largest allowed opening — says at once how far the pump can slow down: the
   worst-placed circuit, the one with the least slack, ends with its valve fully open. That
   is the lowest pump head that serves everyone, and the pump speed follows in closed form.
3. Each valve then gets the Kv that drops the rest of its offered pressure at Q*, and the
   characteristic is inverted to an opening. A building that feeds households throttles the
   difference between the street pressure and what its worst household needs.

If even the highest speed cannot serve everyone, the operator's weights decide who is served
first (§5.3.6-5, :func:`priority_tiers`): the inlets of the lowest weight share the shortfall
by one common factor (proportional shortfall) while every higher weight keeps its set flow;
when that would leave them below :data:`PRIORITY_FLOOR` of their set flow, the next weight
joins the sharing. With equal weights every target is scaled by the same factor (nobody
starves alone) — the closed form again, since every pressure drop is quadratic in flow.
Inlets that cannot be moved (manual, faulty, no remote actuator) are planned at the
flow they are predicted to draw, and that prediction is refined once the pump speed is known.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..hydraulics import HydraulicError, HydraulicModel, HydraulicResult, WarmStart
from ..hydraulics.topology import Topology
from ..model import GRAVITY, WATER_DENSITY, Device, Inlet, Network
from .flow_balance import opening_for_kv

KPA_PER_M = WATER_DENSITY * GRAVITY / 1000.0
IDEAL_KVS = 1e5  # an "ideal regulator" has practically no resistance of its own
KV_TYPES = frozenset(
    {"static_valve", "electric_valve", "iot_valve", "manual_ejector", "electric_ejector"}
)
_SCALE_ROUNDS = 6
# Priority (§5.3.6-5) never leaves a lower-weighted inlet below half its set flow: below that
# its rooms go cold however the weights read, so the shortfall is shared with the next weight.
PRIORITY_FLOOR = 0.5


@dataclass
class PlanInput:
    """Per-inlet data of one plan, arrays aligned with :attr:`HydraulicPlanner.ids`.

    ``flow`` is Q* for movable inlets and the predicted flow for fixed ones (leaves only);
    ``resistance`` the branch resistance with the valve at its largest allowed opening
    (movable) or where it stands (fixed), kPa/(m³/h)² — for a building that feeds
    households, its valve's part and what its own circuit was identified to take beyond the
    drawing; ``circuit`` the resistance of the circuit behind the valve (a building: that
    excess only, the drawn circuit is in the ideal network); ``valve_factor`` c1 of the
    identification (the real valve's resistance over the characteristic's); ``constrains``
    whether the inlet's need limits the pump.
    """

    flow: np.ndarray
    resistance: np.ndarray
    circuit: np.ndarray
    valve_factor: np.ndarray
    movable: np.ndarray
    constrains: np.ndarray
    residual: np.ndarray
    fixed_resistance: np.ndarray  # resistance of fixed leaves at their position (NaN: unknown)
    scaled: np.ndarray | None = None  # flows that are targets (default: the movable leaves)
    priority: np.ndarray | None = None  # manual weight per inlet (§5.3.6-5; default: equal)

    def targets(self) -> np.ndarray:
        """Mask of flows that are targets, scaled down together when infeasible."""
        return self.movable if self.scaled is None else self.scaled

    def weights(self) -> np.ndarray:
        """Manual weight of every inlet (1 where none is given)."""
        return np.ones(len(self.flow)) if self.priority is None else self.priority


@dataclass
class Plan:
    """Result of one planning: pump speed, openings and the flows they should give.

    ``scale`` is the smallest share of its target any target inlet is planned to get (1 when
    the pump serves everyone); ``flows`` are the planned flows of the leaves.
    """

    speed: float
    openings: dict[str, float]
    ideal_openings: dict[str, float]
    flows: dict[str, float]
    scale: float
    slack_kpa: float
    worst: str | None


CONTINUATION_SHARES = (0.25, 0.5, 0.75, 1.0)  # of the flows, when a cold ideal solve fails
# An ideal solve that has not cut its worst step 10× in this many Newton steps is caught in a
# limit cycle (regulators flipping between branches) and is given up at once, not at 50
# (gga.newton's ``stall``): every ideal solve has a fallback, and converging ones took ≤ 12
# steps, never 8 without that cut (issue 10, 21e: 3,300 solves of the fingerprint's runs, gen23k)
IDEAL_STALL = 8


class HydraulicPlanner:
    """The controller's hydraulic model of a network, asked the inverse question."""

    def __init__(self, network: Network, *, private: bool = False) -> None:
        """The model of ``network``; ``private``: the network is the caller's own copy,
        which nothing else changes (the controller's), so it is not copied again — at
        23,000 inlets a copy is 0.2 s and 290,000 objects the garbage collector walks."""
        self.network = network if private else network.copy()
        self.forward = HydraulicModel(self.network)  # topology; its pipes follow learning
        self.ids: list[str] = list(self.forward.inlet_ids)
        self.index = {iid: k for k, iid in enumerate(self.ids)}
        topo = self.forward.topo
        self.parent = np.asarray(topo.parent)
        self.is_parent = np.asarray(topo.is_parent, dtype=bool)
        self.leaf = ~self.is_parent
        self.top = self.parent < 0
        # every building's households (indices, ascending), built once: looking them up
        # with ``parent == b`` per household is O(n²) on 23,000 households
        order = np.argsort(self.parent, kind="stable")
        cuts = np.searchsorted(self.parent[order], np.arange(len(self.ids) + 1))
        self.kids = [order[cuts[b] : cuts[b + 1]] for b in range(len(self.ids))]
        self.families = Families(self.kids, np.flatnonzero(self.is_parent))
        inlets = [self.network.inlets[i] for i in self.ids]
        self.devices: list[Device] = [i.device for i in inlets]
        self.design = np.array([i.design_flow_m3h for i in inlets])
        self.has_kv = np.array([d.type in KV_TYPES and bool(d.kvs) for d in self.devices])
        self._has_kv: list[bool] = self.has_kv.tolist()
        self.leaf_list: list[bool] = self.leaf.tolist()  # per-inlet readers (see valve_term)
        self.design_list: list[float] = self.design.tolist()  # the same, for per-inlet readers
        # each valve's last (device, opening, x): a household's position rarely changes,
        # and the identification and the plan ask the same term every cycle (23,870 at 23k)
        self._terms: list[tuple[Device, float, float] | None] = [None] * len(self.ids)
        self.a0 = np.array([_prior_circuit(i) for i in inlets])
        self.ideal = HydraulicModel(_ideal_network(self.network, self.is_parent, self.ids))
        # its devices are the planner's own and never move: their openings read once, not
        # from 23,870 device objects at every ideal solve (≈ 4 ms each, ten solves a plan)
        self._ideal_open = self.ideal.openings()
        self._ideal_open.setflags(write=False)
        pump = self.network.substation.pump
        self.g1 = KPA_PER_M * pump.shutoff_head_m  # kPa per unit of speed²
        self._last_ideal: HydraulicResult | None = None
        self._warm: WarmStart | None = None  # the last ideal solve's, stored (restart)
        self.pipe_group, self.group_names = pipe_lines(self.forward.topo)

    # --- valves --------------------------------------------------------------------------
    def valve_term(self, k: int, opening: float) -> float:
        """x = 100/Kv² of inlet k's valve at ``opening`` by its characteristic (kPa/(m³/h)²)."""
        device = self.devices[k]
        if not self._has_kv[k]:  # a list: numpy's element access is ≈10× (2 calls per inlet)
            return 0.0
        last = self._terms[k]
        if last is not None and type(opening) is float and last[0] is device and last[1] == opening:
            return last[2]  # the same float: the term is a function of the two alone
        kv = max(device.kv(opening), 1e-6 * float(device.kvs or 1.0))
        x = 100.0 / kv**2
        if type(opening) is float and type(x) is float:  # no numpy scalar handed back later
            self._terms[k] = (device, opening, x)
        return x

    def opening_for(self, k: int, kv: float) -> float:
        """Opening at which inlet k's valve has nominal Kv ``kv`` (inverse characteristic)."""
        return opening_for_kv(self.devices[k], kv) if math.isfinite(kv) else 1.0

    # --- inverse model -------------------------------------------------------------------
    def plan(
        self,
        data: PlanInput,
        speed_ref: float,
        limit_speed: Callable[[float], float],
        pump_control: bool = True,
    ) -> Plan:
        """Pump speed and openings that give every movable inlet its flow (see module doc).

        ``speed_ref`` is the highest speed the pump may run at (or the speed it keeps, if
        ``pump_control`` is off); ``limit_speed`` applies the safety limits to a proposed
        speed, so the openings are sized for the speed the pump will really have.
        """
        flows = data.flow.copy()
        dp, scales = self._allocate(data, flows, speed_ref)
        flows = flows * scales
        scale = float(np.min(scales, initial=1.0))
        slack, worst = self._min_slack(data, dp, flows)
        wanted = speed_ref
        if pump_control and scale >= 1.0:
            wanted = math.sqrt(max(speed_ref**2 - slack / self.g1, 0.0))
        speed = limit_speed(wanted)
        if np.any(~data.movable & self.leaf & np.isfinite(data.fixed_resistance)):
            # Fixed inlets draw more or less at the new speed: predict, and plan once more.
            # A refinement only: where the held leaves' predicted flows make the ideal solve
            # oscillate (households nobody maps on a real plant), the first pressures stand —
            # dropping the whole plan would leave every valve where it is, cycle after cycle.
            predicted = self._predict_fixed(data, dp, flows, speed_ref, speed)
            try:
                dp, _ = self._scaled_pressures(data, predicted, speed_ref, rounds=1)
                flows = predicted
            except HydraulicError:
                pass
        dp = dp + self.g1 * (speed**2 - speed_ref**2)
        openings, ideal = self._openings(data, dp, flows)
        return Plan(
            speed=speed,
            openings=openings,
            ideal_openings=ideal,
            flows=_leaf_flows(self.ids, self.leaf, flows),
            scale=scale,
            slack_kpa=slack,
            worst=worst,
        )

    def offered_pressures(self, flows: np.ndarray, speed: float) -> np.ndarray:
        """Pressure the model says each inlet is offered when the leaves draw ``flows``.

        Depends only on pipes and pump, not on the valves: comparing it with measured
        pressures at measured flows isolates the model's error in the network itself.
        """
        return self._ideal_pressures(flows, speed)[0]

    def path_losses(
        self, flows: np.ndarray | None = None, speed: float = 1.0, groups: np.ndarray | None = None
    ) -> np.ndarray:
        """Pressure lost in each pipe group on the way to each inlet, supply plus return (kPa).

        Rows are inlets, columns the groups of :func:`pipe_lines`, at the pipes as the model
        has them now and the leaves drawing ``flows`` (None: as in the last ideal solve, e.g.
        :meth:`offered_pressures` just before). Pressure is a potential, so the drops
        along the spanning-tree path add up to the offered pressure's deficit exactly, loops
        included: ``offered = source − row sum``. The identification regresses measured
        pressures on these columns to learn each group's resistance (§3.0.7-3).
        """
        res = self._last_ideal
        if flows is not None or res is None:
            res = self.ideal_result(self.design if flows is None else flows, speed)
        topo = self.forward.topo
        dp = np.asarray(res.node_supply_kpa, dtype=float) - np.asarray(res.node_return_kpa)
        group = self.pipe_group if groups is None else groups  # other groups: one per pipe
        width = len(self.group_names) if groups is None else int(groups.max()) + 1
        per_node = np.zeros((len(topo.node_ids), width))
        for level in topo.tree_levels:
            up = topo.tree_up[level]
            per_node[level] = per_node[up]
            per_node[level, group[topo.tree_pipe[level]]] += dp[up] - dp[level]
        return np.asarray(per_node[topo.inlet_node], dtype=float)

    def pipe_losses(self) -> tuple[np.ndarray, np.ndarray]:
        """Each spanning-tree pipe's pressure loss, supply plus return (kPa), and its flow
        (m³/h) in the last ideal solve (:meth:`offered_pressures`); NaN for loop-closing
        pipes and before any solve. What :meth:`path_losses` adds up per inlet, per pipe."""
        topo = self.forward.topo
        loss = np.full(len(topo.pipe_ids), np.nan)
        flow = np.full(len(topo.pipe_ids), np.nan)
        res = self._last_ideal
        if res is None:
            return loss, flow
        dp = np.asarray(res.node_supply_kpa, dtype=float) - np.asarray(res.node_return_kpa)
        nodes = np.flatnonzero(np.asarray(topo.tree_pipe) >= 0)
        pipes = np.asarray(topo.tree_pipe)[nodes]
        loss[pipes] = dp[np.asarray(topo.tree_up)[nodes]] - dp[nodes]
        flow[pipes] = np.abs(np.asarray(res.pipe_supply_flow_m3h, dtype=float)[pipes])
        return loss, flow

    def scale_pipes(self, group_factors: np.ndarray) -> None:
        """Give both models each pipe group's learnt resistance factor (one: all groups)."""
        factors = np.asarray(group_factors, dtype=float)
        per_pipe = (
            factors[self.pipe_group]
            if factors.size > 1
            else np.full(len(self.pipe_group), float(factors.reshape(-1)[0]))
        )
        self.forward.scale_pipes(per_pipe)
        self.ideal.scale_pipes(per_pipe)

    def ideal_result(self, flows: np.ndarray, speed: float) -> HydraulicResult:
        """The ideal network (every leaf a regulator without resistance) holding ``flows``.

        Commissioning plans its presettings on it too (one ideal network for both).
        """
        setpoints = np.where(self.leaf, np.maximum(flows, 1e-9), np.nan)
        res = self.ideal.solve(
            self._ideal_open,
            pump_speed=speed,
            warm_start=self._last_ideal if self._last_ideal is not None else self._warm,
            setpoints=setpoints,
            raise_on_failure=False,
            stall=IDEAL_STALL,
        )
        if not res.converged:
            res = self._ideal_by_continuation(setpoints, speed)
        self._last_ideal = res
        return res

    def warm_dict(self) -> dict[str, str] | None:
        """The next ideal solve's warm start as stored (:class:`WarmStart`; None: none)."""
        return WarmStart.stored(self._last_ideal if self._last_ideal is not None else self._warm)

    def load_warm(self, data: Any) -> None:
        """Restore :meth:`warm_dict`: a restart's first ideal solve starts where an
        uninterrupted run's would, so its plan is the same to the bit (issue 10)."""
        self._warm = WarmStart.from_dict(data)

    def _ideal_by_continuation(self, setpoints: np.ndarray, speed: float) -> HydraulicResult:
        """The ideal solve approached from a quarter of the flows up, each step warm-started
        from the last. Zero-resistance regulators started cold can make Newton cycle on large
        household networks (770 buildings × 30 households: no solution in 300 iterations),
        while each step from a converged neighbour takes 2–3 iterations."""
        res: HydraulicResult | None = None
        for share in CONTINUATION_SHARES[:-1]:
            step = self.ideal.solve(
                self._ideal_open,
                pump_speed=speed,
                warm_start=res,
                setpoints=setpoints * share,
                raise_on_failure=False,
                stall=IDEAL_STALL,
            )
            res = step if step.converged else res
        return self.ideal.solve(
            self._ideal_open,
            pump_speed=speed,
            warm_start=res,
            setpoints=setpoints,
            stall=IDEAL_STALL,
        )

    def _ideal_pressures(self, flows: np.ndarray, speed: float) -> tuple[np.ndarray, bool]:
        """Offered pressure at every inlet with every leaf held at ``flows``; reached?"""
        res = self.ideal_result(flows, speed)
        setpoints = np.where(self.leaf, np.maximum(flows, 1e-9), np.nan)
        got = res.inlet_flow_m3h[self.leaf]
        reached = bool(np.all(got >= (1.0 - 1e-4) * setpoints[self.leaf] - 1e-9))
        return np.asarray(res.dp_available_kpa, dtype=float), reached

    def _allocate(
        self, data: PlanInput, flows: np.ndarray, speed: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pressures at the allocated flows and each inlet's factor on its target (§5.3.6-5).

        The lowest weight shares the shortfall first (see :func:`priority_tiers`).
        """
        tried: list[np.ndarray] = []  # each tier's pressures; the last tried is the one kept

        def scale_of(mask: np.ndarray) -> float:
            dp, beta = self._scaled_pressures(data, flows, speed, mask=mask)
            tried.append(dp)
            return beta

        scales = shortfall_factors(data.weights(), data.targets(), scale_of)
        if not tried:  # no targets at all
            return self._scaled_pressures(data, flows, speed)[0], scales
        return tried[-1], scales

    def _scaled_pressures(
        self,
        data: PlanInput,
        flows: np.ndarray,
        speed: float,
        rounds: int = _SCALE_ROUNDS,
        mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float]:
        """Pressures at target flows, scaling the ``mask`` targets (default: all) down by one
        common factor while infeasible; the other flows stay as they are."""
        shut = self.g1 * speed**2
        scale = 1.0
        dp = np.zeros(len(self.ids))
        targets = data.targets() if mask is None else mask
        for _ in range(rounds):
            q = flows * np.where(targets, scale, 1.0)
            dp, reached = self._ideal_pressures(q, speed)
            dp = dp + data.residual
            shortfall = self._unit_margins(data, dp, q, targets_only=True)
            if reached and (not shortfall or min(m for m, _, _ in shortfall) >= -1e-6):
                break
            # Every drop is quadratic in flow: scaling all flows by β moves each margin in
            # closed form, dp(β) = shut − β²·(shut − dp); the tightest unit sets β.
            beta2 = min((shut / max(shut - m, 1e-9) for m, _, _ in shortfall if m < 0), default=1.0)
            if not reached:
                beta2 = min(beta2, 0.9)
            scale *= math.sqrt(max(min(beta2, 1.0), 1e-4))
        return dp, min(scale, 1.0)

    def _unit_margins(
        self, data: PlanInput, dp: np.ndarray, q: np.ndarray, targets_only: bool = False
    ) -> list[tuple[float, str, float]]:
        """(slack kPa, inlet id, need kPa) of every unit that constrains the pump.

        A unit is a plain inlet, or a building with households: its valve plus its most
        demanding household. ``targets_only``: only units whose flows are targets.
        """
        out: list[tuple[float, str, float]] = []
        targets = data.targets()
        use = data.constrains & (targets if targets_only else True)
        for k in np.flatnonzero(self.leaf & self.top & use):
            need = q[k] ** 2 * data.resistance[k]
            out.append((float(dp[k] - need), self.ids[k], float(need)))
        # every building's sums and maxima at once (to the bit of one building at a time,
        # :class:`Families`); the arithmetic on them stays Python floats, as it was
        fam = self.families
        constrains, first = fam.first(data.constrains)
        keep = constrains if not targets_only else constrains & fam.any(targets)
        sums = fam.sums(q).tolist()
        worst = fam.max_where(q**2 * data.resistance, data.constrains).tolist()
        resistance = data.resistance[fam.parents].tolist()
        dp_first = dp[first].tolist()
        ids, firsts = self.ids, first.tolist()
        for j in np.flatnonzero(keep).tolist():
            need = sums[j] ** 2 * resistance[j] + worst[j]
            out.append((dp_first[j] - need, ids[firsts[j]], need))
        return out

    def _min_slack(
        self, data: PlanInput, dp: np.ndarray, q: np.ndarray
    ) -> tuple[float, str | None]:
        """The smallest slack of any constraining unit and the inlet that has it."""
        margins = self._unit_margins(data, dp, q)
        if not margins:
            return 0.0, None
        slack, worst, _ = min(margins)
        return slack, worst

    def _predict_fixed(
        self, data: PlanInput, dp: np.ndarray, flows: np.ndarray, s_ref: float, s: float
    ) -> np.ndarray:
        """Flows of fixed leaves at the pressures of the chosen speed (their own law)."""
        out = flows.copy()
        shifted = dp + self.g1 * (s**2 - s_ref**2)
        fixed = ~data.movable & self.leaf & np.isfinite(data.fixed_resistance)
        drops = self._parent_drops(data, shifted, flows)
        # all fixed leaves at once (23,100 unmapped households at 23k); the same operations
        # element by element, and sqrt is correctly rounded in numpy as in math
        k = np.flatnonzero(fixed)
        offered = shifted[k] - drops[k]
        resistance = data.fixed_resistance[k]
        ok = (offered > 0) & (resistance > 0)
        out[k[ok]] = np.sqrt(offered[ok] / resistance[ok])
        return out

    def _parent_drops(self, data: PlanInput, dp: np.ndarray, flows: np.ndarray) -> np.ndarray:
        """Planned drop across the valve of each inlet's building (0 for a plain inlet); each
        building's computed once, not once per household (23,000 times on a large network),
        and every building's sums at once (:class:`Families`)."""
        fam = self.families
        out = np.zeros(len(self.ids))
        if not len(fam.parents):
            return out
        sums = fam.sums(flows).tolist()
        worst = fam.max_where(flows**2 * data.resistance, fam.everyone).tolist()
        resistance = data.resistance[fam.parents].tolist()
        movable = data.movable[fam.parents].tolist()
        dp_first = dp[fam.heads].tolist()
        drops = [0.0] * len(sums)
        for j, qb in enumerate(sums):
            at_limit = qb**2 * resistance[j]
            drops[j] = at_limit if not movable[j] else max(at_limit, dp_first[j] - worst[j])
        out[fam.members] = np.repeat(np.array(drops, dtype=float), fam.sizes)
        return out

    def _openings(
        self, data: PlanInput, dp: np.ndarray, flows: np.ndarray
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Openings of movable valves (and what fixed ones would need) at pressures ``dp``."""
        openings: dict[str, float] = {}
        ideal: dict[str, float] = {}
        drops = self._parent_drops(data, dp, flows).tolist()
        # Python lists: element access on numpy arrays is ≈10× dearer (same values)
        is_parent, flow_l, dp_l = self.is_parent.tolist(), flows.tolist(), dp.tolist()
        circuit, factor = data.circuit.tolist(), data.valve_factor.tolist()
        movable = data.movable.tolist()
        fam = self.families  # each building's flow and first household, all at once
        parent_flow = dict(zip(fam.parents.tolist(), fam.sums(flows).tolist(), strict=True))
        head = dict(zip(fam.parents.tolist(), fam.heads.tolist(), strict=True))
        for k in np.flatnonzero(self.has_kv).tolist():
            iid = self.ids[k]
            if is_parent[k]:  # its valve takes the drop planned for it less its own circuit's
                q = parent_flow[k]  # beyond the drawing (the ideal network has the drawn one)
                drop = drops[head[k]] - circuit[k] * q**2
            else:
                q = flow_l[k]
                drop = dp_l[k] - drops[k] - circuit[k] * q**2
            kv = q * math.sqrt(100.0 * factor[k] / drop) if drop > 0 else math.inf
            value = self.opening_for(k, kv)
            ideal[iid] = value
            if movable[k]:
                openings[iid] = value
        return openings, ideal


def _leaf_flows(ids: list[str], leaf: np.ndarray, flows: np.ndarray) -> dict[str, float]:
    """Each leaf's planned flow by id, as Python floats (numpy's element access per inlet
    is ≈10× a list's: 23,870 at 23k; the same values)."""
    return {
        iid: q
        for iid, q, is_leaf in zip(ids, flows.tolist(), leaf.tolist(), strict=True)
        if is_leaf
    }


def priority_tiers(weights: np.ndarray, scalable: np.ndarray) -> Iterator[tuple[np.ndarray, bool]]:
    """Who shares a shortfall, in the order to try (§5.3.6-5): (mask, whether it is the last).

    First the ``scalable`` inlets of the lowest weight, then those up to the next weight, and
    so on until all of them: the operator's weights decide who is served first, and inside
    the sharing group the shortfall is proportional (one common factor). Callers stop at the
    first group whose common factor reaches :data:`PRIORITY_FLOOR` (or 1).
    """
    # rounded after removing exact repeats (23,870 inlets, a handful of weights): the same set
    levels = sorted({round(w, 9) for w in np.unique(weights[scalable], equal_nan=False).tolist()})
    for j, level in enumerate(levels):
        yield scalable & (weights <= level + 1e-9), j == len(levels) - 1


def shortfall_factors(
    weights: np.ndarray, scalable: np.ndarray, scale_of: Callable[[np.ndarray], float]
) -> np.ndarray:
    """Each inlet's factor on its target when the plant cannot serve every one (§5.3.6-5).

    The one rule the planner and commissioning share: the tiers of
    :func:`priority_tiers` are tried in turn, lowest weight first, and the first whose
    common factor reaches :data:`PRIORITY_FLOOR` (or the last tier) shares the shortfall by
    that factor, every inlet outside it keeping its target. ``scale_of(mask)`` is the
    largest common factor of the ``mask`` targets (the others held) that the plant serves,
    at most 1 — the planner solves its ideal network for it, commissioning bisects on it
    (PI does not share a shortfall by weights yet: 21d's measured attempt, docs/control.md).
    All ones without a ``scalable`` inlet.
    """
    for mask, last in priority_tiers(weights, scalable):
        beta = scale_of(mask)
        if beta >= PRIORITY_FLOOR or last:
            return np.where(mask, beta, 1.0)
    return np.ones(len(weights))


def pipe_lines(topo: Topology) -> tuple[np.ndarray, list[str]]:
    """Pipes grouped into lines, the units whose resistance is learnt together (§3.0.7-3).

    From the substation a line follows, at every junction, the pipe that serves the most
    inlets (the trunk, then each branch line), and every other pipe there starts a line of
    its own — how a network is drawn and built, so a drawing wrong on one branch is wrong on
    whole lines. Loop-closing pipes join the line of the node they reach. Returns each
    pipe's group index and each group's name (its first and last pipe).
    """
    n_nodes = len(topo.node_ids)
    served = np.zeros(n_nodes)
    np.add.at(served, topo.inlet_node, 1.0)
    for level in reversed(topo.tree_levels):
        np.add.at(served, topo.tree_up[level], served[level])
    heaviest = np.full(n_nodes, -1)
    for node in np.argsort(-served, kind="stable"):  # first heaviest child per parent wins
        up = int(topo.tree_up[node])
        if up >= 0 and heaviest[up] < 0:
            heaviest[up] = node
    line = np.full(n_nodes, -1)
    group = np.zeros(len(topo.pipe_ids), dtype=np.int64)
    members: list[list[int]] = []
    for level in topo.tree_levels:
        for node in level:
            up = int(topo.tree_up[node])
            if heaviest[up] == node and line[up] >= 0:
                line[node] = line[up]
            else:
                line[node] = len(members)
                members.append([])
            pipe = int(topo.tree_pipe[node])
            group[pipe] = line[node]
            members[line[node]].append(pipe)
    for pipe in topo.chords:
        group[pipe] = max(int(line[topo.end[pipe]]), 0)
        members[group[pipe]].append(int(pipe))
    names = [line_name([topo.pipe_ids[p] for p in m]) for m in members] or ["all"]
    return group, names


def line_name(pipes: list[str]) -> str:
    """'P1' for one pipe, 'P1…P7 (5 pipes)' for a line."""
    if len(pipes) == 1:
        return pipes[0]
    return f"{pipes[0]}…{pipes[-1]} ({len(pipes)} pipes)"


def _prior_circuit(inlet: object) -> float:
    """Circuit resistance behind the device from the network file (kPa/(m³/h)²)."""
    q = inlet.design_flow_m3h  # type: ignore[attr-defined]
    dp = inlet.internal_dp_kpa  # type: ignore[attr-defined]
    if inlet.device.type in ("manual_ejector", "electric_ejector"):  # type: ignore[attr-defined]
        return 0.0  # the ejector drives its own circuit; the network sees the nozzle only
    return float(dp) / q**2 if q > 0 and dp > 0 else 0.0


def _ideal_network(network: Network, is_parent: np.ndarray, ids: list[str]) -> Network:
    """A copy where leaves are ideal flow regulators and buildings have no valve.

    Only the inlets are copied (each inlet shallowly, with a new device): the substation,
    nodes and pipes are shared with the planner's own network, which the planner never
    changes (learnt pipe resistances scale the models' arrays, not the network)."""
    ideal = copy.copy(network)
    ideal.inlets = {iid: _shallow(inlet) for iid, inlet in network.inlets.items()}
    for k, iid in enumerate(ids):
        inlet = ideal.inlets[iid]
        if is_parent[k]:
            inlet.device = Device("none")
        else:
            inlet.device = Device("flow_valve", kvs=IDEAL_KVS, setpoint=inlet.design_flow_m3h)
            inlet.internal_dp_kpa = 0.0
    return ideal


def _shallow(inlet: Inlet) -> Inlet:
    """``copy.copy(inlet)`` as it copies a plain dataclass (a new object, the same
    ``__dict__`` entries), without the pickle protocol's detour: 23,871 inlets at 23k took
    0.05–0.08 s CPU by ``copy.copy`` at every controller build."""
    out = object.__new__(Inlet)
    out.__dict__.update(inlet.__dict__)
    return out


class Families:
    """Each building's households (``kids``) as rows of equal length, so a sum, maximum or
    test over every building's households is a few array steps, not one per building (770
    buildings, seven times a plan at 23k).

    Buildings with the same number of households share one index matrix. numpy sums each
    row of a C-contiguous matrix with the same pairwise steps as that row alone, so
    :meth:`sums` is ``values[kids[b]].sum()`` to the bit (``np.add.reduceat`` is not: it
    adds in order). Results are aligned with ``parents`` (the buildings, ascending).
    """

    def __init__(self, kids: list[np.ndarray], parents: np.ndarray) -> None:
        self.parents = parents
        self.sizes = sizes = np.array([len(kids[b]) for b in parents.tolist()], dtype=np.intp)
        # every building's households one after the other, and each building's first
        chosen = [kids[b] for b in parents.tolist()]
        self.members = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.intp)
        self.heads = np.array([k[0] for k in chosen], dtype=np.intp)
        self.everyone = np.ones(len(kids), dtype=bool)
        self._groups: list[tuple[np.ndarray, np.ndarray]] = []
        for size in np.unique(sizes).tolist():
            rows = np.flatnonzero(sizes == size)
            members = [kids[b] for b in parents[rows].tolist()]
            index = np.array(members, dtype=np.intp).reshape(len(rows), size)
            self._groups.append((rows, index))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Each building's ``values[kids].sum()``."""
        out = np.zeros(len(self.parents))
        for rows, index in self._groups:
            out[rows] = values[index].sum(axis=1)
        return out

    def any(self, mask: np.ndarray) -> np.ndarray:
        """Whether any of each building's households is in ``mask``."""
        out = np.zeros(len(self.parents), dtype=bool)
        for rows, index in self._groups:
            out[rows] = mask[index].any(axis=1)
        return out

    def first(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether any household is in ``mask``, and the first (lowest index) that is
        (where none is: the building's first household)."""
        found = np.zeros(len(self.parents), dtype=bool)
        first = np.zeros(len(self.parents), dtype=np.intp)
        for rows, index in self._groups:
            inside = mask[index]
            found[rows] = inside.any(axis=1)
            first[rows] = index[np.arange(len(rows)), inside.argmax(axis=1)]
        return found, first

    def max_where(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Each building's largest ``values`` among its households in ``mask`` (−inf: none)."""
        out = np.full(len(self.parents), -np.inf)
        for rows, index in self._groups:
            if index.shape[1]:
                out[rows] = np.where(mask[index], values[index], -np.inf).max(axis=1)
        return out
