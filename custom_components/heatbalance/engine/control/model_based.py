"""Model-based regulation (§3.0.7): all valves and the pump set at once from a learnt model.

Each control step:

1. **identify** — every inlet's measured flow, opening and pressures update its
   :class:`~.identification.BranchIdentifier` (RLS with forgetting): the controller's model
   of that branch's circuit and valve follows the plant (§3.0.7-3 self-learning). A reading
   the model cannot explain once (a spike) is rejected and the inlet held for that step;
   the same disagreement twice is a real change and is learnt.
2. **targets** — flow targets are design flow × manual weight × ``aim`` (§5.3.6-5, inside
   the §8.2.4 band). For a temperature or room target (household valves toward room
   temperature, §3.0.7-4) an outer loop scales the inlet's flow target by
   ``exp(gain·e)`` each step — the hydraulic model then delivers that flow exactly.
3. **plan** — :class:`~.planner.HydraulicPlanner` answers the inverse question for all
   valves together (the valves are coupled) and gives the lowest pump speed that still
   gives the worst-placed circuit its flow with its valve at the largest allowed opening.

Inlets that cannot move (manual, held for bad data, not remotely actuated, another
algorithm) enter the plan as fixed resistances at their present position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..diagnosis import RESTORE_ERRORS, is_count, stored_map, stored_number
from ..hydraulics import HydraulicError
from ..model import Network
from .base import MAX_DP_KPA, MAX_FLOW_RATIO, InletReading, ReadingFields
from .identification import (
    PIPE_MIN_CHANGE,
    REJECT,
    BranchIdentifier,
    PipeIdentifier,
    ResidualScatter,
    carry_residuals,
    residual_sample_variance,
)
from .planner import HydraulicPlanner, Plan, PlanInput, line_name

RESIDUAL_SMOOTHING = 0.2  # weight of the newest pressure-residual sample
RESIDUAL_NOISE = 0.02  # relative σ of one flow or ΔP reading the residuals assume (2 %)
RESIDUAL_SHARE = 0.5  # a residual beyond half the pump's shut-off pressure is not believed
# A pressure inferred from a flow (Q²·R, no ΔP read) is as noisy as twice the flow reading
FLOW_PRESSURE_NOISE = 2.0
OUTLIER_Z = 4.0  # robust σ of one step's pipe fit beyond which an inferred pressure is left out
OUTLIER_FLOOR = 0.01  # … that σ never taken below 1 % of the typical offered pressure
LINE_PAIRS = 400  # point pairs whose slopes the robust pipe line tries (all on ≤29 inlets)
LINE_POINTS = 2000  # points that line is judged on (a sample beyond: 23k inlets stay cheap)
LINE_KEEP_Z = 2.5  # robust σ of that line within which points enter its least-squares refit
LINE_PULLED = 0.25  # least squares' slope this far off the robust one was pulled by outliers
READ, INFERRED = "read", "inferred"  # where an offered ΔP comes from
MIN_SHARED = 3  # inlets whose pressure is inferred from flow before they share one residual
OWN_Z = 3.0  # standard errors an inferred pressure stands off the shared residual …
OWN_CYCLES = 3  # … the same way in as many cycles in a row before the inlet learns its own
AGREED_CYCLES = 6  # cycles in a row within the noise after which the drawing is right there
DRAWING_RANGE = (0.05, 20.0)  # a valve factor learnt without ΔP: Kvs ×4.5 … ×0.22 of the file
DRAWING_SMOOTHING = 0.5  # weight of the newest sample (in log) once learnt
# At most this factor a cycle: a Kvs ×2 or ×0.5 in one step. A building drawn on another
# branch shares a neighbour's service pipe in the file, where the model offers the pair
# nothing at the unbalanced start: unbounded, both valve factors went to 0.05 at once, both
# valves were nearly closed (0.48 and 0.37 of design) and took six steps to come back.
DRAWING_STEP = 4.0
# The drawing test's σ is the meter's own learnt noise down to 1 %, not the 2 % assumed where
# nothing is learnt: with 1 % meters and the comb's far trunk drawn ×2, B001 stood +2.2 σ (of
# 2 %) off the shared residual for 20 cycles at +6.3 % of design, and was never learnt
MIN_DRAWING_NOISE = 0.01
# An inlet's own drawing error without ΔP is a resistance in series with its valve (a pipe
# drawn ×2, the building hung on another branch) plus a valve factor (its Kvs): learnt from
# its last cycles' (valve term, excess resistance) pairs, the newest counting most. Stored
# as a valve factor alone it was right at one opening only: one gen10x8 building's factor
# drifted 1.5 → 3.0 over 20 steps as its valve moved (bench_robust --no-dp, 15e)
SERIES_SAMPLES = 4  # cycles of (valve term, excess resistance) kept per inlet
SERIES_DECAY = 0.5  # weight of a sample one cycle older
# A valve factor other than the one it has is learnt only where the samples' slope over the
# valve term stands this many standard errors off it; else the excess is a series
# resistance. Fitted without this test, gen10x8's buildings (valves at 0.83…0.95, their
# term a small share of a branch with its households) learnt factors 0.44 → 0.14 → 0.50
# from 1 % noise in three cycles
SERIES_SLOPE_Z = 3.0
SERIES_FLOOR = 0.8  # a negative series resistance takes at most 80 % of the branch fully open
# Self-learning model, §3.0.7-3 (18e):
# A sample enters the valve factor's slope only beside the samples taken since the other
# street-level valves last moved more than this many times its own move that cycle (sums of
# |Δopening|). A building the file hangs on another branch sees the trunk flows' error, which
# the neighbours' moves change: estate12's B007 (no ΔP, seed 2) took the slope between the
# all-open start and the first plan, which moved 11 valves, as its valve factor (1.25) and was
# held just below the band for 20 steps (17k's trace)
SERIES_CONFOUND = 1.0
# Without ΔP a pipe line serving this many street-level inlets or more learns its own factor
# from their flows (fewer: one building's meter or valve looks the same; they share one)
MIN_LINE_INLETS = 3
# An inlet whose inferred pressure the pipe fit left out (fits no pipe correction, _outliers)
# this many cycles in a row when a pipe part's factor is adopted is named as a suspected
# drawing error beside that part (§3.0.7-3: the correction may stand for its place in the file)
SUSPECT_CYCLES = 2
SUSPECT_SHARE = 0.5  # … when its flow, drawn elsewhere, explains this share of the change
MAX_DRAWING_NOISE = 0.2  # a learnt σ beyond 20 % is a broken meter, not noise
METER_DOUBT = 0.035  # a flow ÷ heat-balance ratio this far off (meter check's level) is doubt
MIN_SEEN_FOR_RESIDUAL = 0.5  # share of leaf flows needed to compare pressures at all
OUTER_GAIN = 0.5  # share of a temperature error turned into a flow-target change per step
MULTIPLIER_RANGE = (0.3, 2.5)  # an outer loop never asks less than 30 % or more than 250 %


@dataclass
class InletView:
    """What the model-based step knows of one inlet this cycle."""

    opening: float | None  # where the valve is (None: unknown)
    movable: bool  # the plan may move it
    flow_target: float | None  # m³/h for movable inlets
    reading: InletReading | None
    fresh: bool = True  # read this cycle (else ``reading`` is the estimate carried over)


@dataclass
class ModelBased:
    """The learnt part of the model-based controller (serialisable)."""

    network: Network
    forgetting: float = 0.95
    identifiers: dict[str, BranchIdentifier] = field(default_factory=dict)
    multipliers: dict[str, float] = field(default_factory=dict)
    residuals: dict[str, float] = field(default_factory=dict)
    scatter: dict[str, ResidualScatter] = field(default_factory=dict)  # how sure each is
    pipes: PipeIdentifier = field(default_factory=PipeIdentifier)
    own: OwnDeviation = field(default_factory=lambda: OwnDeviation())  # see _learn_drawing
    drawing: dict[str, float] = field(default_factory=dict)  # valve factors without ΔP
    # with them: the resistance in series with the valve (kPa/(m³/h)²), and the samples
    # both are fitted to (see _fit_drawing)
    series: dict[str, float] = field(default_factory=dict)
    # (valve term, excess, its standard error, 1.0 where the other valves moved more than
    # its own that cycle: SERIES_CONFOUND)
    drawing_samples: dict[str, list[tuple[float, float, float, float]]] = field(
        default_factory=dict
    )
    weights: dict[str, float] = field(default_factory=dict)  # the operator's (§5.3.6-5)
    # building → (valve term, valve ΔP, own flow, available ΔP) of this cycle's reading
    _buildings: dict[str, tuple[float, float | None, float | None, float | None]] = field(
        default_factory=dict, repr=False
    )
    _leaf_flows: dict[str, float] = field(default_factory=dict, repr=False)
    _leaf_dp: dict[str, float] = field(default_factory=dict, repr=False)  # households' ΔP read
    _ever_read: set[str] = field(default_factory=set, repr=False)  # households with a meter
    _dp_read: set[str] = field(default_factory=set, repr=False)  # inlets with a ΔP transmitter
    _planned: dict[str, float] = field(default_factory=dict, repr=False)  # last plan's flows
    _blocked: frozenset[str] = field(default=frozenset(), repr=False)  # last cycle's blocked
    # street-level openings at the last cycle that inferred a pressure, and this cycle's
    # |Δopening| per inlet and their sum (no ΔP read only: SERIES_CONFOUND)
    _top_openings: dict[str, float] = field(default_factory=dict, repr=False)
    _moves: tuple[dict[str, float], float] = field(default_factory=lambda: ({}, 0.0), repr=False)
    _columns: np.ndarray | None = field(default=None, repr=False)  # see _pipe_columns
    _by_columns: bool = field(default=False, repr=False)  # the pipes were learnt by them
    # cycles in a row each inlet's inferred pressure was left out of the pipe fit, and the
    # inlets left out when a pipe factor was adopted (see drawing_suspects)
    _left_out: dict[str, int] = field(default_factory=dict, repr=False)
    _suspected: dict[str, int] = field(default_factory=dict, repr=False)
    _pipe_ends: np.ndarray | None = field(default=None, repr=False)  # see _pipe_path

    def __post_init__(self) -> None:
        """Build the planner and one identifier per branch with a valve."""
        self.planner = HydraulicPlanner(self.network, private=True)  # the controller's copy
        for k, iid in enumerate(self.planner.ids):
            if self.planner.has_kv[k] and iid not in self.identifiers:
                self.identifiers[iid] = BranchIdentifier(
                    a0=float(self.planner.a0[k]), forgetting=self.forgetting
                )

    # --- learning ------------------------------------------------------------------------
    def identify(
        self, iid: str, reading: InletReading, opening: float, gate: float | None = None
    ) -> str | None:
        """Feed one inlet's measurement to its identifier; the RLS verdict, None if none.

        ``gate`` widens the spike gate to the noise of the (estimated) reading.
        """
        ident = self.identifiers.get(iid)
        if ident is not None and gate is not None:
            ident.gate = gate
        pl = self.planner
        k = pl.index.get(iid)
        if ident is None or k is None:
            return None
        x = pl.valve_term(k, opening)
        flow, valve_dp, dp = reading.values(_IDENTIFIED)  # get() of each, in one call
        valve_dp = _pressure(valve_dp)
        if flow is not None and not 0 < flow <= MAX_FLOW_RATIO * pl.design_list[k]:
            flow = None  # a meter fault: nothing to learn from
        # the transmitter's ΔP only (measured_value): not the plant model's estimate
        dp = None if "dp_available_kpa" in reading.estimated else _pressure(dp)
        if not pl.leaf_list[k]:  # learnt once its households are read
            # its valve and its own circuit are learnt from a transmitter's ΔP only: the
            # plant model's estimate would teach them the model's own error as a fault
            self._buildings[iid] = (x, valve_dp, flow, dp)
            return None
        if flow is None:
            return None
        self._leaf_flows[iid] = flow
        self._ever_read.add(iid)
        if dp is not None:
            self._leaf_dp[iid] = dp
        return ident.update(flow, x, dp, valve_dp)

    def forget(self, iid: str) -> None:
        """Learn the inlet's branch afresh (its devices changed): identifier, outer loop and
        pressure residual back to the network file's."""
        if iid in self.identifiers:
            k = self.planner.index[iid]
            a0 = float(self.planner.a0[k])
            self.identifiers[iid] = BranchIdentifier(a0=a0, forgetting=self.forgetting)
        self.multipliers.pop(iid, None)
        self.residuals.pop(iid, None)
        self.scatter.pop(iid, None)
        self.own.forget(iid)
        self._drop_drawing(iid)
        self._left_out.pop(iid, None)
        self._suspected.pop(iid, None)
        self._ever_read.discard(iid)
        self._dp_read.discard(iid)

    def identify_buildings(self, views: dict[str, InletView] | None = None) -> None:
        """Learn the valve of every building that feeds households, from this cycle's reads.

        Only its valve is its own branch (the rest is its households'): its factor comes from
        its valve ΔP and the flow through it — the sum of its households' meters, read this
        cycle, not its own meter, so a biased building meter teaches it nothing. A blocked
        or mis-sized building valve then enters the plan as it is.

        Where a household has no meter (the common real plant: building heat meters only,
        households held where they were set; or only some households metered), their sum
        never comes: the building's own meter is all there is. Without a valve ΔP
        transmitter the valve's drop is then the available ΔP less what the households'
        circuits take at that flow (:meth:`_household_drop`). Whatever the model gets wrong
        behind the building valve (households set elsewhere than assumed, their circuits) is
        learnt as the valve's factor — the one thing the plan moves there. A household read
        before and missing this cycle is a lost reading, not a missing meter: the building
        waits for a cycle with all of them.

        Where the building's and its households' ΔP are read, what the building's own
        service connection (strainer, exchanger, risers before the households) takes is
        their difference less the valve's drop: its circuit factor is learnt too (the
        branch equation on ``ΔP_building − ΔP_households``). A clogged building circuit
        (gen8x12, ×10) otherwise left the building and its households at 0.83 of set flow
        with nothing moving: the households saw flow and ΔP fall together, the valve's ΔP
        was right, and the plan predicted the goal at the openings they had.
        """
        pl = self.planner
        for iid, (x, valve_dp, own, dp) in self._buildings.items():
            k = pl.index[iid]
            kids = [pl.ids[j] for j in pl.kids[k]]
            flows = [self._leaf_flows.get(kid) for kid in kids]
            flow, drop, branch = None, valve_dp, None
            if kids and all(f is not None for f in flows):
                flow = sum(f for f in flows if f is not None)
                behind = [self._leaf_dp[kid] for kid in kids if kid in self._leaf_dp]
                if dp is not None and behind and pl.a0[k] > 0:
                    branch = dp - float(np.median(behind))
            elif own is not None and not all(kid in self._ever_read for kid in kids):
                flow = own
                if drop is None and dp is not None:
                    drop = dp - self._household_drop(k, own, views or {})
            if flow is not None and drop is not None and drop > 0:
                self.identifiers[iid].update(flow, x, branch, drop)
        self._buildings.clear()
        self._leaf_flows.clear()
        self._leaf_dp.clear()

    def households_resistance(self, iid: str, openings: dict[str, float]) -> float | None:
        """A building's households as one resistance behind its valve (kPa/(m³/h)²), at
        ``openings`` (else the file's); None for an inlet that feeds no households."""
        k = self.planner.index.get(iid)
        if k is None or self.planner.leaf[k]:
            return None
        views = {i: InletView(o, False, None, None) for i, o in openings.items()}
        return self._household_drop(k, 1.0, views)

    def _household_drop(self, b: int, flow: float, views: dict[str, InletView]) -> float:
        """Pressure building ``b``'s households take when ``flow`` passes them all (kPa).

        They share one pressure p behind the building valve and each draws √(p/R), so the
        group is one resistance 1/(Σ 1/√R)² — R from the identified model at each
        household's known (or assumed) position, as the plan has them.
        """
        pl = self.planner
        conductance = 0.0
        for j in pl.kids[b]:
            iid = pl.ids[j]
            view = views.get(iid)
            opening = view.opening if view is not None and view.opening is not None else None
            ident = self.identifiers.get(iid)
            c0 = ident.circuit_factor if ident else 1.0
            c1 = ident.valve_factor if ident else 1.0
            x = pl.valve_term(j, pl.devices[j].opening if opening is None else opening)
            r = c0 * float(pl.a0[j]) + c1 * x
            conductance += 1.0 / math.sqrt(r) if r > 0 else math.inf
        if not 0 < conductance < math.inf:
            return 0.0
        return flow**2 / conductance**2

    def update_residuals(
        self,
        views: dict[str, InletView],
        speed: float,
        suspects: Collection[str] = (),
        meters: Callable[[str], float | None] | None = None,
        flow_noise: Callable[[str], float | None] | None = None,
        blocked: Collection[str] = (),
    ) -> None:
        """Learn where the network model's pressures are wrong (pipes, pump: §3.0.7-3).

        At the measured flows and pump speed the model offers each street-level inlet a
        pressure; the measured one differs by what the pipe model gets wrong. The
        smoothed difference is added to every plan (shrunk by its uncertainty,
        :class:`~.identification.ResidualScatter`), and a household takes its building's.
        Where no ΔP is read, the pressure the inlet's identified branch needs for its
        measured flow at its known opening stands in for it (:meth:`flow_pressure`), except
        at ``suspects`` (inlets diagnosed faulty: their branch model is what is wrong).
        Those inferred pressures share one residual (:func:`_shared_residual`) until one
        inlet's stands off it the same way :data:`OWN_CYCLES` cycles in a row
        (:class:`OwnDeviation`): then it is that inlet's drawing (a branch drawn wrong, the
        building hung on another branch, its valve's Kvs), learnt by :meth:`_learn_drawing`
        unless ``meters`` (per inlet its flow ÷ heat-balance ratio less one) says the flow
        meter reads what its heat meter does not. ``flow_noise`` (per inlet the learnt relative
        σ of one flow reading) widens that test where the meters are noisier than the 2 %
        it assumes (:data:`RESIDUAL_NOISE`).

        When an inlet of ``blocked`` (a suspect found blocked) is newly named, the other
        inlets' residuals restart from this cycle's samples: learnt while its blockage was not
        in the model, they carry it. gen2-pair, B002 blocked (Kv × 0.3) and its reading lost
        in the first cycle: B001 learnt +39 kPa, kept B001 at −34…−9 % while it decayed by
        the smoothing (0.8 a cycle) and never reached the band in 12 cycles through HA (the
        engine: 1 step).
        """
        self.identify_buildings(views)
        pl = self.planner
        design, leaf = pl.design.tolist(), pl.leaf.tolist()  # lists: see _plan_input
        flows_l = list(design)
        seen_l = [False] * len(design)
        for k, iid in enumerate(pl.ids):
            if not leaf[k]:
                continue
            view = views.get(iid)
            q = view.reading.get("flow_m3h") if view and view.reading else None
            if q is not None and 0 < q <= MAX_FLOW_RATIO * design[k]:
                flows_l[k], seen_l[k] = q, True
        flows = np.array(flows_l, dtype=float)
        seen = np.array(seen_l, dtype=bool)
        metered = self._building_meters(views, seen)
        covered = seen.copy()
        for b in metered:
            covered[pl.kids[b]] = True
        if covered[pl.leaf].mean() < MIN_SEEN_FOR_RESIDUAL:
            return
        unknown = pl.leaf & ~seen
        if unknown.any():
            modelled = self._forward_flows(views, speed)
            if modelled is None:
                return
            flows[unknown] = modelled[unknown]
            for b, q in metered.items():  # their sum is the building's meter
                kids = pl.kids[b]
                total = float(flows[kids].sum())
                if total > 0:
                    flows[kids] *= q / total
        # how many meters the flows' common error averages over
        seen_flows = np.concatenate([flows[seen], np.fromiter(metered.values(), float)])
        count = float(seen_flows.sum() ** 2 / max(float((seen_flows**2).sum()), 1e-12))
        for iid in suspects:  # its own fault, not the drawing: judged by the diagnosis
            self.own.runs.pop(iid, None)
            self._drop_drawing(iid)
            self._suspected.pop(iid, None)
        # a blockage named this cycle was not in the model while the others' residuals were
        # learnt: they restart from this cycle's samples (see the docstring)
        restart = not frozenset(blocked) <= self._blocked
        self._blocked = frozenset(blocked)
        offered = self._offered_read(views, suspects)
        try:
            model = pl.offered_pressures(flows, speed)
            if self._learn_pipes(model, offered, RESIDUAL_NOISE / math.sqrt(count), flows):
                model = carry_residuals(
                    self.residuals, pl, model, pl.offered_pressures(flows, speed)
                )
            guess = self._guess_spread(model, flows, unknown & ~covered, speed)
        except (HydraulicError, ArithmeticError, ValueError):
            return
        bound = RESIDUAL_SHARE * pl.g1
        shutoff = pl.g1 * speed**2
        shared = _shared_residual(offered, model)
        if shared is not None:
            self._cycle_moves(views)
        for k, (dp, kind) in offered.items():
            iid = pl.ids[k]
            if not math.isfinite(model[k]):
                continue
            new = float(np.clip(dp - model[k], -bound, bound))
            # Q²·R: twice the flow's relative noise, where a ΔP reading has its own once
            noise = (FLOW_PRESSURE_NOISE if kind == INFERRED else 1.0) * RESIDUAL_NOISE
            var = residual_sample_variance(dp, float(model[k]), shutoff, count, noise)
            if kind == INFERRED and shared is not None:
                new, var = float(np.clip(shared[0], -bound, bound)), var * shared[1]
                # the flows' common error moves the shared residual alike: not in the spread
                sigma = _learnt_noise(flow_noise, iid)
                sd = FLOW_PRESSURE_NOISE * sigma * dp * math.sqrt(1.0 + shared[1])
                self._learn_drawing(k, views, dp, float(model[k]) + new, sd, meters)
            var += float(guess[k]) ** 2
            old = self.residuals.get(iid)
            scatter = self.scatter.get(iid)
            if old is None or scatter is None or restart:  # first sample, or restarted
                self.residuals[iid] = new
                self.scatter[iid] = ResidualScatter(var)
                continue
            scatter.observe(var, RESIDUAL_SMOOTHING)
            self.residuals[iid] = old + RESIDUAL_SMOOTHING * (new - old)

    def _cycle_moves(self, views: dict[str, InletView]) -> None:
        """This cycle's |Δopening| of every street-level valve since the last cycle that
        inferred pressures, and their sum (:data:`SERIES_CONFOUND`); the openings kept."""
        pl, moves = self.planner, {}
        for k in np.flatnonzero(pl.top).tolist():
            iid = pl.ids[k]
            view = views.get(iid)
            if view is None or view.opening is None or not math.isfinite(view.opening):
                continue
            before = self._top_openings.get(iid)
            if before is not None:
                moves[iid] = abs(view.opening - before)
            self._top_openings[iid] = float(view.opening)
        self._moves = (moves, float(sum(moves.values())))

    def _confounded(self, iid: str) -> bool:
        """Whether the other valves moved more than :data:`SERIES_CONFOUND` times this
        inlet's own valve this cycle (its excess then moved with their flows)."""
        moves, total = self._moves
        own = moves.get(iid, 0.0)
        return total - own > SERIES_CONFOUND * own

    def _building_meters(self, views: dict[str, InletView], seen: np.ndarray) -> dict[int, float]:
        """Buildings whose own meter read this cycle stands for households never read (no
        household meters: the intermediate level's plant, Table 3.0.4): index → flow (m³/h).

        Their households' flows are the model's split of that reading. Without it no
        residual or pipe factor was learnt where only building meters exist (no leaf seen,
        :data:`MIN_SEEN_FOR_RESIDUAL`): gen8x4-loopmain drawn with pipes ×1.5 stayed at
        −10…+16 % with nothing moving, through HA and in the engine without household
        readings."""
        pl = self.planner
        out: dict[int, float] = {}
        for b in np.flatnonzero(pl.is_parent & pl.top).tolist():
            kids = pl.kids[b]
            if seen[kids].any() or any(pl.ids[j] in self._ever_read for j in kids.tolist()):
                continue
            view = views.get(pl.ids[b])
            if view is None or view.reading is None or not view.fresh:
                continue
            q = view.reading.get("flow_m3h")
            if q is not None and 0 < q <= MAX_FLOW_RATIO * float(pl.design[b]):
                out[b] = float(q)
        return out

    def _guess_spread(
        self, model: np.ndarray, flows: np.ndarray, unknown: np.ndarray, speed: float
    ) -> np.ndarray:
        """How much the offered pressures (``model``, kPa) depend on the flows no reading
        gave (``unknown``, taken from the model): their difference from the pressures with
        those flows at design. Added to a residual sample's variance, so a residual learnt
        while flows were guessed is shrunk toward the model (:class:`ResidualScatter`) until
        read cycles confirm it. A valve blocked (Kv × 0.3) and not yet identified passes far
        less than the model gives it: estate12 with its reading lost in the first cycle
        learnt +13…+29 kPa at every other inlet, and the next plans left them 1–3 % below
        the band for ten steps (30 % lost readings, seed 3)."""
        if not unknown.any():
            return np.zeros(len(model))
        other = flows.copy()
        other[unknown] = self.planner.design[unknown]
        spread = np.abs(model - self.planner.offered_pressures(other, speed))
        return np.where(np.isfinite(spread), spread, 0.0)

    def _learn_drawing(
        self,
        k: int,
        views: dict[str, InletView],
        inferred: float,
        offered: float,
        sd: float,
        meters: Callable[[str], float | None] | None = None,
    ) -> None:
        """Learn street-level inlet ``k``'s own drawing error where no ΔP is read (§3.0.7-3).

        ``inferred`` is the pressure its branch needs for its measured flow at its known
        opening (:meth:`flow_pressure`), ``offered`` what the network offers it (the model
        plus the shared residual), ``sd`` the standard error of their difference. Once it
        has stood off the same way :data:`OWN_CYCLES` cycles in a row (:class:`OwnDeviation`)
        the branch is drawn wrong there — its valve's Kvs, the building hung on another
        branch, its branch line's pipes — learnt as a resistance in series with its valve
        and a valve factor (:meth:`_fit_drawing`: :attr:`series`, added to its circuit, and
        :attr:`drawing`, multiplying the identified valve factor in every plan) that pass
        the measured flows at the offered pressures. Not a pressure residual: a valve whose
        Kvs is half the real one needs 2–4× the offered pressure, beyond any residual believed
        (:data:`RESIDUAL_SHARE`); as a valve factor one step corrects it. A biased meter
        stands off too until the meter check names it; its corrected flow ends the run.
        Before that, a flow its heat meter does not confirm (``meters``: the flow ÷ heat
        balance ratio explains half the flow's deviation or more) counts no cycle: learnt
        as the drawing, a +10 % meter's valve was closed before the meter was named
        (loop8 at 2 % noise: advanced band from step 10 instead of 1).
        """
        iid = self.planner.ids[k]
        if meters is not None and _meter_explains(meters(iid), inferred, offered):
            return
        sample = self._drawing_sample(k, views.get(iid), inferred, offered, sd)
        if sample is not None:
            kept = self.drawing_samples.setdefault(iid, [])
            kept.append((*sample, float(self._confounded(iid))))
            del kept[:-SERIES_SAMPLES]
        if not self.own.observe(iid, inferred - offered, sd):
            self.drawing.pop(iid, None)
            self.series.pop(iid, None)
            return
        if sample is not None:
            self._fit_drawing(k, sample)

    def _drawing_sample(
        self, k: int, view: InletView | None, inferred: float, offered: float, sd: float
    ) -> tuple[float, float, float] | None:
        """Street-level inlet ``k``'s (valve term, excess resistance, its standard error)
        this cycle: its identified valve's resistance at the read opening, and by how much
        more resistance than its identified branch the offered pressure says it has at the
        measured flow (kPa/(m³/h)²; ``sd`` the pressures' difference's standard error, kPa);
        None without a flow or a position."""
        if view is None or view.reading is None or view.opening is None:
            return None
        q = view.reading.get("flow_m3h")
        ident = self.identifiers.get(self.planner.ids[k])
        if q is None or not q > 0 or ident is None:
            return None
        x = ident.valve_factor * self.planner.valve_term(k, view.opening)
        excess, se = (offered - inferred) / q**2, sd / q**2
        if not (x > 0 and math.isfinite(x) and math.isfinite(excess) and se > 0):
            return None
        return x, excess, se

    def _fit_drawing(self, k: int, now: tuple[float, float, float]) -> None:
        """Fit inlet ``k``'s drawing error to its kept samples: ``excess = s + (d − 1)·x``,
        a series resistance ``s`` (:attr:`series`) and a valve factor ``d`` (:attr:`drawing`).

        Weighted least squares (the newest sample weighs most, each by its standard error);
        ``d`` takes the fitted slope only where it stands :data:`SERIES_SLOPE_Z` standard
        errors off the factor it has (the valve moved far enough for its Kvs to show), else
        ``d`` stays and ``s`` takes the excess. The slope is taken within runs of samples
        the other valves' moves did not confound (:data:`SERIES_CONFOUND`,
        :func:`_quiet_slope`): a building the file hangs on another branch sees the trunk
        flows' error, which changes when the neighbours move, not with its own valve (``s``
        from the last run alone made gen10x8's Kvs ×2 hunt, 0/3). A service pipe drawn ×2 is
        one constant
        resistance whatever the valve does; a valve factor alone explained it at one opening
        and was wrong at the next: one gen10x8 building's factor drifted 1.5 → 3.0 over 20
        steps, the plan chasing it.
        The branch's resistance at this opening moves at most :data:`DRAWING_STEP` a cycle,
        and a negative ``s`` takes at most :data:`SERIES_FLOOR` of the branch fully open.
        Samples asking for ``d`` beyond :data:`DRAWING_STEP` from the one it has, or for a
        negative ``s`` beyond the whole branch fully open, are not one inlet's pipe or Kvs:
        its excess moves with a neighbour's flow (:meth:`_valve_only`). Switching already
        where ``s`` reached its floor left gen10x8's B008 (pipes ×0.5) at −5…+11 % from
        step 5 on; clamped there, the comb's B001 hung on another branch stayed at +8.6 %.
        """
        iid = self.planner.ids[k]
        if iid in self.drawing and iid not in self.series:  # a valve factor alone, as it was
            self.drawing[iid] = self._valve_only(self.drawing[iid], 1.0 + now[1] / now[0])
            return
        samples = np.array(self.drawing_samples[iid])
        xs, ys = samples[:, 0], samples[:, 1]
        w = SERIES_DECAY ** np.arange(len(xs))[::-1] / samples[:, 2] ** 2
        old_d, old_s = self.drawing.get(iid, 1.0), self.series.get(iid, 0.0)
        d = old_d
        slope = _quiet_slope(xs, ys, w, samples[:, 3])
        if slope is not None and abs(1.0 + slope[0] - old_d) > SERIES_SLOPE_Z / slope[1]:
            d = 1.0 + slope[0]
        low, high = (
            max(old_d / DRAWING_STEP, DRAWING_RANGE[0]),
            min(DRAWING_STEP * old_d, DRAWING_RANGE[1]),
        )
        s = float(np.average(ys - (d - 1.0) * xs, weights=w))
        # the branch at this opening: within DRAWING_STEP of what was planned with last cycle
        base, x_now = self._own_circuit(k), now[0]
        before = max(base + old_s + old_d * x_now, 1e-12)
        total = float(np.clip(base + s + d * x_now, before / DRAWING_STEP, before * DRAWING_STEP))
        s = total - base - d * x_now
        floor, ceiling = self._series_range(k, d)
        if not low <= d <= high or s < floor / SERIES_FLOOR:  # no pipe or Kvs of its own:
            self.drawing[iid] = self._valve_only(self.drawing.get(iid), 1.0 + now[1] / x_now)
            self.series.pop(iid, None)  # a valve factor alone from now on, while it stands off
            return
        self.drawing[iid], self.series[iid] = d, min(max(s, floor), ceiling)

    @staticmethod
    def _valve_only(old: float | None, sample: float) -> float:
        """The valve factor that passes the measured flow at this opening, no series
        resistance (smoothed by :data:`DRAWING_SMOOTHING`, at most :data:`DRAWING_STEP` a
        cycle). Where the inlet passes more than any series resistance could explain — the
        file hangs it on another branch, sharing a neighbour's service pipe whose loss is
        the two flows' together — the excess changes with the neighbour's valve, not its
        own, and the window's fit chased it: comb B001 −51…+25 % for 15 steps, never in
        the advanced band (re-learnt at its opening every cycle, as before: from step 9,
        ``test_a_building_drawn_on_another_branch_is_learnt_without_dp``)."""
        sample = float(np.clip(sample, *DRAWING_RANGE))
        if old is not None:
            sample = old * (sample / old) ** DRAWING_SMOOTHING
        before = 1.0 if old is None else old
        return float(np.clip(sample, before / DRAWING_STEP, before * DRAWING_STEP))

    def _own_circuit(self, k: int) -> float:
        """Inlet ``k``'s circuit as the plan has it beside the valve (kPa/(m³/h)²): a
        building's only beyond its drawn one (the ideal network holds that)."""
        ident = self.identifiers.get(self.planner.ids[k])
        c0 = ident.circuit_factor if ident else 1.0
        a0 = float(self.planner.a0[k])
        return c0 * a0 if self.planner.leaf[k] else max(c0 - 1.0, 0.0) * a0

    def _series_range(self, k: int, d: float) -> tuple[float, float]:
        """The series resistances inlet ``k`` may learn with valve factor ``d``: down to
        :data:`SERIES_FLOOR` of its branch fully open (a building's with its households),
        up to :data:`DRAWING_RANGE`'s top
        times it (kPa/(m³/h)²)."""
        pl = self.planner
        ident = self.identifiers.get(pl.ids[k])
        c1 = ident.valve_factor if ident else 1.0
        full = self._own_circuit(k) + d * c1 * pl.valve_term(k, 1.0)
        if pl.is_parent[k]:  # its households at the file's openings are in its branch too
            full += self._household_drop(k, 1.0, {})
        return -SERIES_FLOOR * full, DRAWING_RANGE[1] * full

    def _drop_drawing(self, iid: str) -> None:
        """Forget the inlet's own drawing error and its samples."""
        self.drawing.pop(iid, None)
        self.series.pop(iid, None)
        self.drawing_samples.pop(iid, None)

    def valve_factor(self, iid: str) -> float:
        """The valve factor the plan uses: the identified one times the drawing's error
        learnt without ΔP (:meth:`_learn_drawing`)."""
        ident = self.identifiers.get(iid)
        return (ident.valve_factor if ident else 1.0) * self.drawing.get(iid, 1.0)

    def series_resistance(self, iid: str) -> float:
        """The resistance in series with the inlet's valve its drawing error adds, learnt
        without ΔP (kPa/(m³/h)², negative where the file draws too much; :meth:`_fit_drawing`)."""
        return self.series.get(iid, 0.0)

    def _forward_flows(self, views: dict[str, InletView], speed: float) -> np.ndarray | None:
        """Every inlet's flow as the identified model passes it at the known openings and
        ``speed`` (m³/h); None when the model cannot be solved.

        The offered pressures the residuals compare with are computed at the measured
        flows; an inlet with neither a reading nor an estimate (lost from the first cycle, a
        household without a meter) needs a flow too. Its design flow is the wrong guess
        exactly where it matters, at the unbalanced start (−40…+150 %): with 30 % of the
        readings lost at district120's first cycle, the missing flows made every offered
        pressure ≈55 kPa too high, every inlet learnt that residual, and the re-plans of the
        next ten steps landed inlets up to +20 % off their goals while the residual
        decayed (per-step trace, seed 2).
        """
        pl = self.planner
        openings = np.full(len(pl.ids), np.nan)  # NaN: the network file's opening
        for iid, view in views.items():
            k = pl.index.get(iid)
            if k is not None and view.opening is not None:
                openings[k] = view.opening
        try:
            res = pl.forward.solve(
                openings, speed, kv_factor=self._kv_factors(openings), raise_on_failure=False
            )
        except (HydraulicError, ArithmeticError, ValueError):
            return None
        flows = np.asarray(res.inlet_flow_m3h, dtype=float)
        if not res.converged or not np.all(np.isfinite(flows)):
            return None
        return flows

    def _kv_factors(self, openings: np.ndarray) -> np.ndarray:
        """Every valve's identified Kv over its characteristic's (1/√c1; 1 where unknown) at
        ``openings`` (NaN: the file's): a learnt series resistance is the forward model's
        at that opening (its valve term's share, never below :data:`DRAWING_RANGE`'s)."""
        pl = self.planner
        kv = [1.0] * len(pl.ids)  # a list, made an array once (numpy's element writes ≈10×)
        for iid in self.identifiers:
            k, factor = pl.index.get(iid), self.valve_factor(iid)  # with the drawing's
            if k is not None and iid in self.series:
                opening = float(openings[k])
                x = pl.valve_term(k, pl.devices[k].opening if math.isnan(opening) else opening)
                if x > 0:
                    floor = DRAWING_RANGE[0] * factor
                    factor = max(factor + self.series[iid] / x, floor)
            if k is not None and factor > 0 and math.isfinite(factor):
                kv[k] = 1.0 / math.sqrt(factor)
        return np.array(kv, dtype=float)

    def _offered_read(
        self, views: dict[str, InletView], suspects: Collection[str]
    ) -> dict[int, tuple[float, str]]:
        """Each street-level inlet's offered pressure this cycle (kPa) and where it comes
        from: :data:`READ` (a transmitter) or :data:`INFERRED` (no ΔP read anywhere on it:
        :meth:`flow_pressure`). The plant model's ΔP that HA entities and gateway inlets
        without transmitters carry (flagged estimated, 10a) is inferred too: learnt as a
        residual of its own and never for the pipes, a drawing with pipes ×1.5 took 2–4
        steps through HA entities (the engine 1) and genf36 never reached the band in 12
        (35 deviation alarms); inferred, 1–3 (bench_product_faults ``--dp``, 10x).

        Only inlets read this cycle: a lost reading's estimate carries the ΔP of an earlier
        cycle, and a re-plan that moved its neighbours changed it since (district120 at
        30 % lost readings: B092's 41 kPa read before the first plan, carried while it was
        offered 96–138 kPa, a residual of −20 kPa kept for ten steps of re-plans)."""
        pl = self.planner
        out: dict[int, tuple[float, str]] = {}
        for k in np.flatnonzero(pl.top).tolist():
            view = views.get(pl.ids[k])
            if view is None or view.reading is None or not view.fresh:
                continue
            # the plant model's ΔP (HA entities, gateway inlets without transmitters, 10a) is
            # no measurement: inferred from the flow like an inlet with no ΔP at all (10x)
            estimate = "dp_available_kpa" in view.reading.estimated
            dp = None if estimate else _pressure(view.reading.get("dp_available_kpa"))
            if dp is not None:
                out[k] = (dp, READ)
                self._dp_read.add(pl.ids[k])
                continue
            if pl.ids[k] in self._dp_read:
                continue  # its transmitter's reading was lost this cycle: nothing is inferred
            inferred = None if pl.ids[k] in suspects else self.flow_pressure(k, view, views)
            if inferred is not None:
                out[k] = (inferred, INFERRED)
        return out

    def flow_pressure(self, k: int, view: InletView, views: dict[str, InletView]) -> float | None:
        """The pressure street-level inlet ``k`` must be offered to pass its measured flow
        at its known opening, by its identified branch (kPa; None: no flow or no position).

        Without a ΔP transmitter the branch equation Δp = R·Q² still holds: at a known
        opening the measured flow over the model's is the model's error (§3.0.7-3). Put on
        the pressure the network offers, it enters the same per-inlet residuals and pipe
        identification as a read ΔP: a factor shared by the inlets' path losses is the
        drawing's pipes, one shared by all the pump, and what is left per inlet its
        circuit or valve — the residual the plan then plans with. Without it the plan,
        believing the file, re-proposed the openings the valves had (pipes ×1.5, pump
        −20 %: never in the intermediate band). A building feeding households adds what
        they take behind its valve at their known openings.
        """
        pl = self.planner
        if view.reading is None or view.opening is None or not pl.has_kv[k]:
            return None
        q = view.reading.get("flow_m3h")
        if q is None or not 0 < q <= MAX_FLOW_RATIO * pl.design_list[k]:
            return None
        ident = self.identifiers.get(pl.ids[k])
        c0 = ident.circuit_factor if ident else 1.0
        c1 = ident.valve_factor if ident else 1.0
        drop = (c0 * float(pl.a0[k]) + c1 * pl.valve_term(k, view.opening)) * q**2
        if pl.is_parent[k]:
            drop += self._household_drop(k, q, views)
        return drop if math.isfinite(drop) and drop > 0 else None

    def _learn_pipes(
        self,
        model: np.ndarray,
        offered: dict[int, tuple[float, str]],
        flow_noise: float,
        flows: np.ndarray,
    ) -> bool:
        """Identify the pipe lines' resistance factors (§3.0.7-3); True when the model's
        pipes were rescaled (the caller carries or restarts the per-inlet residuals).
        ``flows``: every inlet's measured (or modelled) flow the model was solved at."""
        pl = self.planner
        before = self._per_pipe_factors()
        top = np.flatnonzero(pl.top)
        measured = np.full(len(top), np.nan)
        inferred = np.zeros(len(top), dtype=bool)
        for j, k in enumerate(top.tolist()):
            if k in offered:
                measured[j], inferred[j] = offered[k][0], offered[k][1] == INFERRED
        losses = pl.path_losses()[top]
        out = _outliers(measured, losses, inferred)
        self._count_left_out(top, measured, out)
        left = {int(k): float(measured[j] - model[k]) for j, k in enumerate(top.tolist()) if out[j]}
        measured[out] = np.nan
        measured[self._own_drawings(top, inferred, measured)] = np.nan
        if inferred.sum() > 0.5 * np.isfinite(measured).sum():
            # From flows, one line's factor is as likely one inlet's meter or valve (a line
            # often serves one building: loop8's −10 % meter made its line 2.5): such lines
            # share one factor; a line serving MIN_LINE_INLETS or more keeps its own, so
            # an error they share is the pipes', not each inlet's series resistance
            columns = self._pipe_columns()
            self._by_columns = bool(columns.max() > 0)
            if self._by_columns:
                losses = pl.path_losses(groups=columns)[top]
            else:
                losses = losses.sum(axis=1, keepdims=True)
        else:
            self._by_columns = False
        changed = self.pipes.update(model[top], measured, losses, flow_noise)
        if changed:
            self._suspect_drawings(left, flows, self._per_pipe_factors() / before)
            self.apply_pipe_factor()  # the planner always plans with the factors it stores
            # the drawings' samples were taken against the old pipes: their fits restart
            # from this cycle's (two far comb inlets' factors 0.47 → 0.16 when it changed)
            self.drawing_samples.clear()
        return changed

    def _count_left_out(self, top: np.ndarray, measured: np.ndarray, out: np.ndarray) -> None:
        """Count the cycles in a row each street-level inlet's pressure was left out of the
        pipe fit (``out``); one that entered it (a finite ``measured``) starts again, one not
        read this cycle keeps its count."""
        for j, k in enumerate(top.tolist()):
            iid = self.planner.ids[k]
            if out[j]:
                self._left_out[iid] = self._left_out.get(iid, 0) + 1
            elif math.isfinite(measured[j]):
                self._left_out.pop(iid, None)

    def _suspect_drawings(
        self, left: dict[int, float], flows: np.ndarray, ratio: np.ndarray
    ) -> None:
        """Name the inlets left out of this cycle's fit (``left``: index → inferred minus
        offered pressure, kPa) whose flow, drawn in the wrong place, explains at least
        :data:`SUSPECT_SHARE` of a part's newly adopted change (``ratio``: per pipe, the new
        factor over the one the model had). A flow the file hangs too near the substation
        really runs on along the line: its pipes beyond the junction carry it too, their
        loss grows ((Q + q)/Q)², and the inlet is offered less than drawn; one the file
        hangs too far runs on fewer pipes of its drawn path, and is offered more. The
        part's change is judged against the inlet's flow running on along its whole
        remaining line (its true place is not known: an upper bound).
        """
        pl = self.planner
        loss, pipe_flow = pl.pipe_losses()
        names, columns, _ = self._parts()
        for k, deviation in left.items():
            iid, q = pl.ids[k], float(flows[k])
            cycles = self._left_out.get(iid, 0)
            if cycles < SUSPECT_CYCLES or not (q > 0 and math.isfinite(q)):
                continue
            path = self._drawn_path(k)
            for c in range(len(names)):
                part = np.flatnonzero((columns == c) & np.isfinite(loss) & (pipe_flow > 0))
                if part.size and self._explains(part, path, q, deviation, loss, pipe_flow, ratio):
                    self._suspected[iid] = max(cycles, self._suspected.get(iid, 0))
                    break

    def _explains(
        self,
        part: np.ndarray,
        path: list[int],
        q: float,
        deviation: float,
        loss: np.ndarray,
        flow: np.ndarray,
        ratio: np.ndarray,
    ) -> bool:
        """Whether a flow ``q`` drawn in the wrong place explains the part's change (see
        :meth:`_suspect_drawings`)."""
        weight = loss[part]
        if not weight.sum() > 0:
            return False
        change = float(weight @ ratio[part] / weight.sum()) - 1.0
        drawn = set(path)
        on = [p for p in part.tolist() if p in drawn]
        if abs(change) <= PIPE_MIN_CHANGE or not on:
            return False
        if change > 0 and deviation < 0:  # hung too near: its flow runs on beyond the junction
            moved = np.array([p not in drawn and set(on) <= set(self._pipe_path(p)) for p in part])
            grown = (flow[part] + q * moved) / flow[part]
        elif change < 0 and deviation > 0:  # hung too far: its flow leaves the drawn path
            moved = np.isin(part, on)
            grown = np.maximum(flow[part] - q * moved, 0.0) / flow[part]
        else:
            return False
        predicted = float(weight @ grown**2 / weight.sum()) - 1.0
        return predicted * change > 0 and abs(predicted) >= SUSPECT_SHARE * abs(change)

    def _per_pipe_factors(self) -> np.ndarray:
        """Each pipe's learnt factor as :meth:`apply_pipe_factor` gives it to the planner."""
        _, columns, factors = self._parts()
        return np.asarray(factors[columns], dtype=float)

    def _parts(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The parts the pipes' factors are learnt for, as :meth:`apply_pipe_factor` applies
        them: their names, each pipe's part and each part's factor."""
        pl = self.planner
        factors = np.asarray(self.pipes.factors, dtype=float)
        names, columns = self.pipe_part_names(), pl.pipe_group
        if self._by_columns:
            columns = self._pipe_columns()
        if len(names) != factors.size or int(columns.max()) + 1 != factors.size:
            names, columns = ["all pipes"], np.zeros(len(pl.pipe_group), dtype=np.int64)
            factors = np.array([self.pipes.factor])
        return names, columns, factors

    def drawing_suspects(self) -> dict[str, dict[str, Any]]:
        """Inlets a learnt pipe correction may stand for: drawn in the wrong place (§3.0.7-3).

        Learnt from flows alone, a pipe part's factor is the pipes' error or a flow the file
        puts elsewhere: the comb's B008, drawn at B001's node, really draws its flow along
        the near trunk, which was learnt 1.35 of the file (19f) — right for the band, but it
        showed the operator a trunk correction, not the building. Such a building's own
        inferred pressure fits no pipe correction, so the fit left it out
        (:func:`_outliers`) :data:`SUSPECT_CYCLES` cycles in a row when the factor was
        adopted. Per such inlet: the cycles it had been left out then and the parts on its
        drawn path whose factor is off the file's by more than
        :data:`~.identification.PIPE_MIN_CHANGE` (none: not listed). A diagnosis only: the
        plan is not changed by it.
        """
        pl = self.planner
        names, columns, factors = self._parts()
        off = np.abs(factors - 1.0) > PIPE_MIN_CHANGE
        out: dict[str, dict[str, Any]] = {}
        for iid in sorted(self._suspected):
            k = pl.index.get(iid)
            if k is None:
                continue
            crossed = sorted({int(columns[p]) for p in self._drawn_path(k)})
            parts = {names[c]: round(float(factors[c]), 4) for c in crossed if off[c]}
            if parts:
                out[iid] = {"parts": parts, "left_out_cycles": self._suspected[iid]}
        return out

    def _drawn_path(self, k: int) -> list[int]:
        """The pipes from the substation to inlet ``k``'s node as the file draws them."""
        return self._node_path(int(self.planner.forward.topo.inlet_node[k]))

    def _pipe_path(self, pipe: int) -> list[int]:
        """The pipes from the substation to the far end of spanning-tree ``pipe``."""
        if self._pipe_ends is None:
            topo = self.planner.forward.topo
            tree = np.asarray(topo.tree_pipe)
            self._pipe_ends = np.full(len(topo.pipe_ids), -1, dtype=np.int64)
            nodes = np.flatnonzero(tree >= 0)
            self._pipe_ends[tree[nodes]] = nodes
        end = int(self._pipe_ends[pipe])
        return self._node_path(end) if end >= 0 else []

    def _node_path(self, node: int) -> list[int]:
        """The spanning tree's pipes from the substation to ``node``."""
        topo = self.planner.forward.topo
        pipes = []
        while node >= 0 and int(topo.tree_pipe[node]) >= 0:
            pipes.append(int(topo.tree_pipe[node]))
            node = int(topo.tree_up[node])
        return pipes

    def _own_drawings(
        self, top: np.ndarray, inferred: np.ndarray, measured: np.ndarray
    ) -> np.ndarray:
        """Inferred pressures of inlets that learnt a drawing error of their own (a mask):
        left out of the pipe fit while at least half of the usable pressures stay in.

        Their deviation from the shared residual is explained at the inlet
        (:meth:`_learn_drawing`); left in, it bent the network-wide pipe factor after the
        drawings had been learnt against the old one, and every drawing had to be learnt
        again: gen10x8 with one branch's pipes ×2 and another's ×0.5, no ΔP (bench_robust
        seed 0), pipes 1.0 → 0.77 at step 6 with four drawings learnt, three buildings off
        again, advanced band never; without them the pipes stay at 1.0, advanced from
        step 8 (§3.0.7-3).
        """
        own = np.array(
            [
                bool(inferred[j]) and self.own.adopted(self.planner.ids[k])
                for j, k in enumerate(top.tolist())
            ],
            dtype=bool,
        )
        usable = np.isfinite(measured)
        if not own.any() or (usable & ~own).sum() < 0.5 * usable.sum():
            return np.zeros(len(top), dtype=bool)
        return own

    def _pipe_columns(self) -> np.ndarray:
        """Each pipe's factor learnt from flows alone (an index per pipe): a line serving
        :data:`MIN_LINE_INLETS` street-level inlets or more learns its own, split where it
        serves half of them when that far part serves as many again (the far end of a long
        comb learns one correction of its own); the other lines one together
        (§3.0.7-3)."""
        if self._columns is None:
            pl = self.planner
            topo = pl.forward.topo
            served = np.zeros(len(topo.node_ids))
            np.add.at(served, np.asarray(topo.inlet_node)[pl.top], 1.0)
            for level in reversed(topo.tree_levels):
                np.add.at(served, topo.tree_up[level], served[level])
            per_pipe = np.zeros(len(pl.pipe_group))
            nodes = np.flatnonzero(np.asarray(topo.tree_pipe) >= 0)
            per_pipe[topo.tree_pipe[nodes]] = served[nodes]
            line = np.zeros(len(pl.group_names))
            np.maximum.at(line, pl.pipe_group, per_pipe)
            most = line[pl.pipe_group]
            apart = most / 2 >= MIN_LINE_INLETS
            far = apart & (per_pipe > 0) & (per_pipe <= most / 2)
            key = np.where(apart, 2 * pl.pipe_group + far + 1, 0)
            self._columns = np.unique(key, return_inverse=True)[1].reshape(-1)
        return self._columns

    def pipe_part_names(self) -> list[str]:
        """The names of the parts the pipes' factors are learnt for: the lines, or where
        they were learnt from flows alone the parts of :meth:`_pipe_columns`."""
        pl = self.planner
        if not self._by_columns and len(self.pipes.factors) == len(pl.group_names):
            return list(pl.group_names)
        columns = self._pipe_columns().tolist()
        ids = pl.forward.topo.pipe_ids
        parts: list[list[str]] = [[] for _ in range(max(columns) + 1)]
        for pipe, column in zip(ids, columns, strict=True):
            parts[column].append(pipe)
        return [line_name(part) for part in parts]

    def apply_pipe_factor(self) -> None:
        """Give the planner's models the learnt pipe resistances (per line, or per part
        of a line where they were learnt from flows alone: :meth:`_pipe_columns`)."""
        pl, factors = self.planner, np.asarray(self.pipes.factors, dtype=float)
        if factors.size in (1, len(pl.group_names)) and not self._by_columns:
            pl.scale_pipes(factors)
            return
        columns = self._pipe_columns()
        if int(columns.max()) + 1 != factors.size:
            pl.scale_pipes(np.array([self.pipes.factor]))
            return
        pl.forward.scale_pipes(factors[columns])
        pl.ideal.scale_pipes(factors[columns])

    def residual_array(self) -> np.ndarray:
        """Residual per inlet for the planner (households inherit their building's)."""
        pl = self.planner
        out = np.zeros(len(pl.ids))
        for iid, value in self.residuals.items():
            k = pl.index.get(iid)
            scatter = self.scatter.get(iid)
            if k is not None:
                out[k] = value if scatter is None else scatter.shrunk(value)
        kids = pl.parent >= 0
        out[kids] = out[pl.parent[kids]]
        return out

    def outer_loop(self, iid: str, error: float | None, deadband: float) -> float:
        """Flow-target multiplier of an inlet with a temperature target, after this step."""
        m = self.multipliers.get(iid, 1.0)
        if error is not None and abs(error) >= deadband:
            m = float(np.clip(m * math.exp(OUTER_GAIN * error), *MULTIPLIER_RANGE))
        self.multipliers[iid] = m
        return m

    def trim_opening(self, iid: str, opening: float, flow: float, goal: float) -> float | None:
        """Opening that moves one street-level leaf's flow from ``flow`` to ``goal``, alone.

        With the other valves standing, the pressure offered to the inlet stays (nearly)
        put, and the circuit law Q²·R = Δp gives R_new = R_now·(Q/goal)²: only the split of
        R between circuit and valve comes from the identified model, so the error scales
        with the size of the correction, not with the flow. Households are left to the
        plan: one household's move shifts its building valve's drop and with it every
        sibling's pressure (gen10x8: siblings raised one by one starved a household whose
        valve stood fully open). None when the valve cannot be sized so.
        """
        pl = self.planner
        k = pl.index.get(iid)
        if k is None or not (pl.top[k] and pl.leaf[k] and pl.has_kv[k]):
            return None
        if flow <= 0 or goal <= 0:
            return None
        circuit, c1 = self._branch(iid, k)
        now = circuit + c1 * pl.valve_term(k, opening)
        valve = (now * (flow / goal) ** 2 - circuit) / c1 if c1 > 0 else 0.0
        if not valve > 0:
            return None
        return pl.opening_for(k, math.sqrt(100.0 / valve))

    def _branch(self, iid: str, k: int) -> tuple[float, float]:
        """The identified circuit resistance of leaf k and its valve factor c1."""
        ident = self.identifiers.get(iid)
        c0 = ident.circuit_factor if ident else 1.0
        return c0 * float(self.planner.a0[k]) + self.series_resistance(iid), self.valve_factor(iid)

    def flow_factor(self, iid: str, before: float, after: float) -> float | None:
        """Ratio by which a leaf's flow changes when its own valve moves ``before → after``.

        At the pressure the inlet is offered (others standing), Q ∝ 1/√R, and only R's
        split between circuit and valve comes from the identified model — so the error of
        this prediction scales with the size of the move, not with the flow (the
        estimator's move-aware prediction, §3.0.7-1). None for a building that feeds
        households (its flow is theirs) or a valve the model cannot size.
        """
        pl = self.planner
        k = pl.index.get(iid)
        if k is None or not (pl.leaf[k] and pl.has_kv[k]):
            return None
        circuit, c1 = self._branch(iid, k)
        old = circuit + c1 * pl.valve_term(k, before)
        new = circuit + c1 * pl.valve_term(k, after)
        if not (old > 0 and new > 0 and math.isfinite(old) and math.isfinite(new)):
            return None
        return math.sqrt(old / new)

    def move_factors(
        self,
        positions: dict[str, float],
        moves: dict[str, tuple[float, float]],
        speeds: tuple[float, float],
    ) -> dict[str, float] | None:
        """Ratio by which every inlet's flow changes when ``moves`` (valve → ``(before,
        after)``) and the pump speed ``speeds`` (before, after) are applied, the other valves
        standing at ``positions`` — the model's forward answer (§3.0.7-1).

        What a set of moves does to an inlet's flow, relative to what it was, is known far
        better than either flow: the network's coupling (a looped neighbour taking water,
        a building valve and its households moved together, the pump) is in the hydraulic
        model, and its errors (pipes, identified valves) mostly cancel in the ratio. None
        when the model cannot be solved.
        """
        pl = self.planner
        index = pl.index
        # filled as lists, made arrays once (numpy's element writes cost ≈10× a list's)
        before_l = [math.nan] * len(pl.ids)
        for iid, opening in positions.items():
            k = index.get(iid)
            if k is not None:
                before_l[k] = opening
        after_l = list(before_l)
        for iid, (was, now) in moves.items():
            k = index.get(iid)
            if k is not None:
                before_l[k], after_l[k] = was, now
        before = np.array(before_l, dtype=float)
        after = np.array(after_l, dtype=float)
        kv = self._kv_factors(before)
        try:
            old = pl.forward.solve(before, speeds[0], kv_factor=kv, tol=1e-7)
            new = pl.forward.solve(after, speeds[1], old, kv_factor=kv, tol=1e-7)
        except (HydraulicError, ArithmeticError, ValueError):
            return None
        q0 = np.asarray(old.inlet_flow_m3h, dtype=float)
        q1 = np.asarray(new.inlet_flow_m3h, dtype=float)
        # whole arrays, then lists: numpy's element access per inlet cost ≈10× (23,870 at
        # 23k); IEEE division is the same quotient either way
        good = (q0 > 0) & (q1 > 0) & np.isfinite(q0) & np.isfinite(q1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(good, q1, 1.0) / np.where(good, q0, 1.0)
        return {
            iid: r for iid, r, ok in zip(pl.ids, ratio.tolist(), good.tolist(), strict=True) if ok
        }

    # --- planning ------------------------------------------------------------------------
    def plan(
        self,
        views: dict[str, InletView],
        speed_max: float,
        limit_speed: Any,
        pump_control: bool,
        max_opening: float,
    ) -> Plan | None:
        """All openings and the pump speed at once; None when the model cannot be solved."""
        try:
            data = self._plan_input(views, max_opening)
            plan = self.planner.plan(data, speed_max, limit_speed, pump_control)
        except (HydraulicError, ArithmeticError, ValueError):
            return None
        if not math.isfinite(plan.speed):
            return None
        self._planned = plan.flows
        return plan

    def planned_flow(self, iid: str) -> float | None:
        """The last plan's flow for the inlet: what an inlet planned without a flow reading
        (``Commands.open_loop``) is assumed to draw — shown flagged as estimated, never as a
        measurement (issue 10 item 3). None before any plan."""
        value = self._planned.get(iid)
        return float(value) if value is not None and math.isfinite(value) else None

    def _plan_input(self, views: dict[str, InletView], max_opening: float) -> PlanInput:
        """Arrays for the planner from the identified branches and this cycle's views.

        Built in Python lists and made arrays once: indexing numpy arrays element by element
        costs ≈10× a list's, 23,870 times a cycle on a large network (same values)."""
        pl = self.planner
        n = len(pl.ids)
        design, a0 = pl.design.tolist(), pl.a0.tolist()
        leaf, has_kv = pl.leaf.tolist(), pl.has_kv.tolist()
        flow_l = list(design)
        resistance_l = [0.0] * n
        circuit_l = [0.0] * n
        valve_factor_l = [1.0] * n
        movable_l = [False] * n
        fixed_l = [math.nan] * n
        metered_l = [False] * n
        # bound once: the loop runs per inlet (23,870 at 23k), every look-up in it counts
        view_of, ident_of, drawing = views.get, self.identifiers.get, self.drawing
        valve_term, devices, planned = pl.valve_term, pl.devices, self._planned
        for k, iid in enumerate(pl.ids):
            view = view_of(iid)
            ident = ident_of(iid)
            c0, c1 = ident.theta if ident else (1.0, 1.0)  # circuit and valve factors
            if iid in drawing:
                c1 = self.valve_factor(iid)
            # a building's own circuit is in the ideal network as drawn: only what the
            # identification found beyond it is added to its branch (a clogged strainer)
            own = float(c0 * a0[k]) if leaf[k] else max(c0 - 1.0, 0.0) * a0[k]
            if iid in self.series:  # an own drawing error learnt without ΔP
                own += self.series[iid]
            circuit_l[k] = own
            valve_factor_l[k] = c1
            if view is not None and view.movable and view.flow_target is not None:
                movable_l[k] = True
                flow_l[k] = view.flow_target
                resistance_l[k] = own + c1 * valve_term(k, max_opening)
                continue
            opening = view.opening if view is not None and view.opening is not None else None
            position = devices[k].opening if opening is None else opening
            r = resistance_l[k] = own + c1 * valve_term(k, position)
            measured = view.reading.get("flow_m3h") if view and view.reading else None
            if measured is not None and 0 < measured <= MAX_FLOW_RATIO * design[k]:
                flow_l[k], metered_l[k] = measured, True
            else:  # unread: the last plan's flow for it (planned or predicted), not design
                flow_l[k] = planned.get(iid, design[k])
            if leaf[k] and has_kv[k] and r > 0:
                fixed_l[k] = r
        flow = np.array(flow_l, dtype=float)
        resistance = np.array(resistance_l, dtype=float)
        circuit = np.array(circuit_l, dtype=float)
        valve_factor = np.array(valve_factor_l, dtype=float)
        movable = np.array(movable_l, dtype=bool)
        fixed = np.array(fixed_l, dtype=float)
        metered = np.array(metered_l, dtype=bool)
        held_kids = _held_households(pl, movable, fixed)
        for b, kids in held_kids.items():
            _share_by_resistance(flow, kids, fixed, metered)
            flow[kids] *= flow[b] / max(float(flow[kids].sum()), 1e-9)
        targets = movable & pl.has_kv
        for kids in held_kids.values():
            targets[kids] = True
        return PlanInput(
            flow=flow,
            resistance=resistance,
            circuit=circuit,
            valve_factor=valve_factor,
            movable=movable & pl.has_kv,
            constrains=targets,
            scaled=targets,
            residual=self.residual_array(),
            fixed_resistance=fixed,
            priority=np.array(
                [self.weights.get(i, self.network.inlets[i].weight) for i in pl.ids], dtype=float
            ),
        )

    # --- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready learnt state."""
        return {
            "identifiers": {iid: i.to_dict() for iid, i in self.identifiers.items()},
            "multipliers": dict(self.multipliers),
            "residuals": dict(self.residuals),
            "residual_var": {iid: s.var for iid, s in self.scatter.items()},
            "pipes": self.pipes.to_dict(),
            # only where no ΔP is read (a plant with transmitters stores what it always did)
            **({"own_runs": dict(self.own.runs)} if self.own.runs else {}),
            **({"own_quiet": dict(self.own.quiet)} if self.own.quiet else {}),
            **({"drawing": dict(self.drawing)} if self.drawing else {}),
            **({"series": dict(self.series)} if self.series else {}),
            **(
                {
                    "drawing_samples": {
                        i: [list(p) for p in v] for i, v in self.drawing_samples.items()
                    }
                }
                if self.drawing_samples
                else {}
            ),
            **({"top_openings": dict(self._top_openings)} if self._top_openings else {}),
            **({"pipe_parts": True} if self._by_columns else {}),  # see _pipe_columns
            **({"suspected": dict(self._suspected)} if self._suspected else {}),
            # carried between cycles, so a restart plans bit for bit as an uninterrupted
            # run (issue 10): the last plan's flows (an unread inlet's), the households ever
            # read, the inlets with a ΔP transmitter, last cycle's blocked valves and the
            # ideal solve's warm start
            "planned": dict(self._planned),
            "ever_read": sorted(self._ever_read),
            "dp_read": sorted(self._dp_read),
            "blocked": sorted(self._blocked),
            "ideal_warm": self.planner.warm_dict(),
        }

    def load(self, data: dict[str, Any]) -> None:
        """Restore :meth:`to_dict` (entries for inlets no longer in the network dropped).

        Every stored number is read by the loop's one rule (:func:`.diagnosis.stored_map`):
        a damaged entry — one inlet's identifier, residual, scatter, run, drawing factor or
        multiplier, or the pipes' fit — restarts alone and the rest is kept. Before, one
        residual of text or None raised out of here and the controller restarted the whole
        model part: every inlet's identification and residual with it (issue 10).
        """
        for iid, raw in _mapping(data.get("identifiers")).items():
            if iid in self.identifiers:
                try:
                    self.identifiers[iid] = BranchIdentifier.from_dict(raw)
                except RESTORE_ERRORS:  # damaged: this inlet learns afresh, the rest kept
                    continue
        try:
            self.pipes = PipeIdentifier.from_dict(dict(data.get("pipes", {})))
        except RESTORE_ERRORS:  # damaged: the pipes learn afresh from the drawing (α = 1)
            self.pipes = PipeIdentifier()
        # factors per part of a line (learnt from flows) or per line: as many of each is common
        self._by_columns = data.get("pipe_parts") is True
        self.apply_pipe_factor()
        bound = RESIDUAL_SHARE * self.planner.g1
        index = self.planner.index
        for iid, value in stored_map(data.get("residuals"), index).items():
            self.residuals[iid] = float(np.clip(value, -bound, bound))
        for iid, var in stored_map(data.get("residual_var"), self.residuals, 0.0).items():
            self.scatter[iid] = ResidualScatter(var)
        for iid, run in _mapping(data.get("own_runs")).items():
            if iid in index and type(run) is int and run != 0:  # JSON's int, no bool
                self.own.runs[iid] = max(min(run, OWN_CYCLES), -OWN_CYCLES)
        for iid, quiet in _mapping(data.get("own_quiet")).items():
            if iid in index and is_count(quiet) and quiet > 0:
                self.own.quiet[iid] = min(quiet, AGREED_CYCLES)
        for iid, cycles in _mapping(data.get("suspected")).items():
            if iid in index and is_count(cycles) and cycles > 0:
                self._suspected[iid] = cycles
        for iid, factor in stored_map(data.get("drawing"), index).items():
            self.drawing[iid] = float(np.clip(factor, *DRAWING_RANGE))
        self._load_series(data)
        for iid, m in stored_map(data.get("multipliers"), index).items():
            self.multipliers[iid] = float(np.clip(m, *MULTIPLIER_RANGE))
        self._load_carried(data)

    def _load_series(self, data: dict[str, Any]) -> None:
        """Restore the series resistances and their samples by the loop's one rule for a
        stored number (:func:`.diagnosis.stored_number`); a damaged entry is dropped (the
        next cycles learn it again). Before, a bool passed as a number and a sample of
        1e308 was kept (its square overflows in the fit, issue 10)."""
        index = self.planner.index
        for iid, value in stored_map(data.get("series"), index).items():
            lo, hi = self._series_range(index[iid], self.drawing.get(iid, 1.0))
            self.series[iid] = float(np.clip(value, lo, hi))
        for iid, raw in _mapping(data.get("drawing_samples")).items():
            stored = (_drawing_sample(p) for p in (raw if isinstance(raw, list) else []))
            pairs = [p for p in stored if p is not None]
            if iid in index and pairs:
                self.drawing_samples[iid] = pairs[-SERIES_SAMPLES:]
        for iid, opening in stored_map(data.get("top_openings"), index, 0.0).items():
            self._top_openings[iid] = min(opening, 1.0)

    def _load_carried(self, data: dict[str, Any]) -> None:
        """Restore what :meth:`to_dict` carries between cycles; stored before (missing) or
        damaged: as a fresh model has it (the next cycles learn it again)."""
        index = self.planner.index
        planned = data.get("planned")
        self._planned.update(stored_map(planned, index, 0.0))
        for name in ("ever_read", "dp_read"):
            ids = data.get(name)
            kept = (
                {i for i in ids if isinstance(i, str) and i in index}
                if isinstance(ids, list)
                else set()
            )
            setattr(self, f"_{name}", kept)
        blocked = data.get("blocked")
        if isinstance(blocked, list):
            self._blocked = frozenset(i for i in blocked if isinstance(i, str) and i in index)
        self.planner.load_warm(data.get("ideal_warm"))

    def rejected(self, verdict: str | None) -> bool:
        """Whether an identification verdict means "hold this inlet this step"."""
        return verdict == REJECT

    def is_leaf(self, iid: str) -> bool:
        """Whether the inlet feeds no households (its branch is identified on its own)."""
        k = self.planner.index.get(iid)
        return k is not None and self.planner.leaf_list[k]


def _drawing_sample(raw: Any) -> tuple[float, float, float, float] | None:
    """One stored drawing sample (:meth:`ModelBased._load_series`), or None if damaged;
    three numbers were stored before SERIES_CONFOUND (the fourth then 0)."""
    if not isinstance(raw, list | tuple) or len(raw) not in (3, 4):
        return None
    try:
        values = [stored_number(v) for v in raw]
    except RESTORE_ERRORS:
        return None
    if values[0] <= 0 or values[2] <= 0:
        return None
    return values[0], values[1], values[2], values[3] if len(values) > 3 else 0.0


def _mapping(value: Any) -> Mapping[str, Any]:
    """A stored map, or none where the Store holds something else (damaged)."""
    return value if isinstance(value, Mapping) else {}


def _held_households(
    pl: HydraulicPlanner, movable: np.ndarray, fixed: np.ndarray
) -> dict[int, np.ndarray]:
    """Buildings the plan moves whose households all stay put (intermediate level, §3.0.6).

    Their households share the building's flow target in the proportion they draw now: the
    building valve alone sets the flow, and the households' needs constrain it. Building →
    its households' indices, ascending (``pl.kids``: a mask ``parent == b`` per building
    cost ≈ 90 ms a cycle at 23k, 770 buildings × 23,870 inlets).
    """
    out: dict[int, np.ndarray] = {}
    for b in np.flatnonzero(pl.is_parent & movable & pl.has_kv).tolist():
        kids = pl.kids[b]
        if len(kids) and not movable[kids].any() and np.isfinite(fixed[kids]).all():
            out[b] = kids
    return out


def _share_by_resistance(
    flow: np.ndarray, kids: np.ndarray, fixed: np.ndarray, metered: np.ndarray
) -> None:
    """Predict the flows of a building's held households ``kids`` (indices) that no meter
    reads (in place).

    Held valves do not share the building's flow as their design flows do: behind the
    building valve they all see one pressure ``p``, and each draws √(p/R) through its fixed
    resistance R. Planned in design proportion, the building valve was sized for its most
    demanding household while the others drew more: gen40x10 with only the buildings
    mapped ended +12…+35 % over its set flows, every cycle, where the plan saw none. ``p``
    comes from the metered households (their Q²·R), else any value: only proportions count.
    """
    members = kids  # indices, ascending (:func:`_held_households`)
    r = fixed[members]
    read = metered[members]
    if read.all():
        return
    p = float(np.median(flow[members[read]] ** 2 * r[read])) if read.any() else 1.0
    flow[members[~read]] = np.sqrt(p / r[~read])


def _outliers(measured: np.ndarray, losses: np.ndarray, inferred: np.ndarray) -> np.ndarray:
    """Pressures inferred from a flow that one step's pipe fit cannot explain (a mask).

    Fitted as ``source − α·path loss`` (one common factor; :func:`_robust_line` where least
    squares' slope is more than :data:`LINE_PULLED` off it, else least squares), an
    inferred pressure more than :data:`OUTLIER_Z` robust standard deviations off is left out
    of the pipe identification: it is one inlet's own error (its meter, valve or circuit, or
    its place in the drawing, §5.3.7), not the pipes'. Left in, a −10 % meter bent the
    comb's learnt pipes until the others left the band (never in the advanced band again); a
    clogged circuit did the same on loop8. At most a quarter of the inlets are left out,
    never a read ΔP.
    """
    ok = np.isfinite(measured) & np.all(np.isfinite(losses), axis=1)
    out = np.zeros(len(measured), dtype=bool)
    if ok.sum() < 4 or not (inferred & ok).any():
        return out
    path = losses[ok].sum(axis=1)
    design = np.column_stack([np.ones(len(path)), -path])
    coef = np.linalg.lstsq(design, measured[ok], rcond=None)[0]
    intercept, slope = _robust_line(path, measured[ok])
    if abs(slope + coef[1]) <= LINE_PULLED * abs(slope):  # least squares was not pulled
        intercept, slope = float(coef[0]), -float(coef[1])
    residual = np.full(len(measured), 0.0)
    residual[ok] = measured[ok] - intercept - slope * path
    spread = 1.4826 * float(np.median(np.abs(residual[ok] - np.median(residual[ok]))))
    floor = OUTLIER_FLOOR * float(np.median(np.abs(measured[ok])))
    far = ok & inferred & (np.abs(residual) > OUTLIER_Z * max(spread, floor))
    worst = np.argsort(-np.abs(np.where(far, residual, 0.0)))[: int(ok.sum()) // 4]
    out[worst[far[worst]]] = True
    return out


def _robust_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``y ≈ a + b·x`` not pulled by a few far-off points: the least-median-of-squares line
    over the slopes of point pairs (all pairs up to :data:`LINE_PAIRS`, else that many
    drawn with a fixed seed; judged on at most :data:`LINE_POINTS` points), then least
    squares on the points within :data:`LINE_KEEP_Z` robust σ of it; returns ``(a, b)``.

    Least squares alone is pulled by the very points it should expose when they also sit
    far along ``x``: a building drawn on another branch shares, in the file, a neighbour's
    service pipe, and both get a path loss larger than the pump's head. On the 1.5 km comb
    those two points bent the one-step fit so that nothing stood out and the network's
    pipes were learnt as 0.2 of the file at the first step (every other inlet then learnt a
    drawing error of its own, two were named blocked; intermediate band from step 18).
    """
    n = len(x)
    rng = np.random.default_rng(0)  # fixed: the same readings give the same line
    if n * (n - 1) // 2 <= LINE_PAIRS:
        i, j = np.triu_indices(n, 1)
    else:
        i, j = rng.integers(n, size=LINE_PAIRS), rng.integers(n, size=LINE_PAIRS)
    dx = x[j] - x[i]
    usable = np.abs(dx) > 1e-9 * max(float(np.ptp(x)), 1e-12)
    if not usable.any():
        return float(np.median(y)), 0.0
    slopes = np.unique((y[j] - y[i])[usable] / dx[usable])
    judged = np.arange(n) if n <= LINE_POINTS else rng.choice(n, LINE_POINTS, replace=False)
    fitted = y[None, judged] - slopes[:, None] * x[None, judged]
    centre = np.median(fitted, axis=1)
    spread = np.median(np.abs(fitted - centre[:, None]), axis=1)
    best = int(np.argmin(spread))
    a, b = float(centre[best]), float(slopes[best])
    sigma = 1.4826 * float(spread[best])
    keep = np.abs(y - a - b * x) <= LINE_KEEP_Z * max(sigma, 1e-12)
    if keep.sum() >= 2 and np.ptp(x[keep]) > 0:
        b, a = (float(v) for v in np.polyfit(x[keep], y[keep], 1))
    return a, b


def _quiet_slope(
    xs: np.ndarray, ys: np.ndarray, w: np.ndarray, confounded: np.ndarray
) -> tuple[float, float] | None:
    """The weighted slope of ``ys`` over ``xs`` within runs of samples the other valves' moves
    did not confound (a confounded sample starts a run: :data:`SERIES_CONFOUND`), and the
    square root of its x spread (the slope's standard error is its inverse); None without
    any spread within a run."""
    runs = np.cumsum(confounded > 0)
    dx, dy = np.zeros(len(xs)), np.zeros(len(xs))
    for run in np.unique(runs).tolist():
        mask = runs == run
        dx[mask] = xs[mask] - np.average(xs[mask], weights=w[mask])
        dy[mask] = ys[mask] - np.average(ys[mask], weights=w[mask])
    spread = float(np.sum(w * dx * dx))
    if not spread > 0 or not math.isfinite(spread):
        return None
    return float(np.sum(w * dx * dy)) / spread, math.sqrt(spread)


def _shared_residual(
    offered: dict[int, tuple[float, str]], model: np.ndarray
) -> tuple[float, float] | None:
    """The pressure residual the inlets whose pressure was inferred from their flow share:
    their median, and the factor on one sample's variance (π/2 over their number); None
    with fewer than :data:`MIN_SHARED` of them.

    From flows alone a shared error is the network's (pump, pipes not yet learnt); one
    inlet's own is as likely its meter or its valve (§5.3.7), which the meter check and
    the valve identification judge. Kept per inlet, it closed a +10 % meter's valve before
    the meter was named (estate12, advanced band from 7 instead of 1) and turned a
    circuit's clog into a pressure the plan tried to serve (loop8, never in band again).
    """
    values = [
        dp - float(model[k])
        for k, (dp, kind) in offered.items()
        if kind == INFERRED and math.isfinite(model[k])
    ]
    if len(values) < MIN_SHARED:
        return None
    return float(np.median(values)), 0.5 * math.pi / len(values)


def _meter_explains(ratio: float | None, inferred: float, offered: float) -> bool:
    """Whether a flow meter's disagreement with its heat meter (``ratio``, flow ÷ heat
    balance less one) explains half or more of the flow's deviation from the model's: the
    inferred pressure goes with the flow squared, so that deviation is √(inferred/offered)."""
    if ratio is None or not (inferred > 0 and offered > 0) or not math.isfinite(ratio):
        return False
    deviation = math.sqrt(inferred / offered) - 1.0
    return ratio * deviation > 0 and abs(ratio) >= max(METER_DOUBT, 0.5 * abs(deviation))


def _learnt_noise(flow_noise: Callable[[str], float | None] | None, iid: str) -> float:
    """The relative σ of one of the inlet's flow readings the drawing test assumes: the
    learnt one, never below :data:`MIN_DRAWING_NOISE` (1 %); 2 % where none is learnt."""
    learnt = flow_noise(iid) if flow_noise is not None else None
    if learnt is None or not math.isfinite(learnt):
        return RESIDUAL_NOISE
    return max(MIN_DRAWING_NOISE, min(learnt, MAX_DRAWING_NOISE))


_IDENTIFIED = ReadingFields("flow_m3h", "valve_dp_kpa", "dp_available_kpa")


def _pressure(value: float | None) -> float | None:
    """A pressure reading only if it is above zero and below what PN25 pipes can hold."""
    return value if value is not None and 0 < value <= MAX_DP_KPA else None


@dataclass
class OwnDeviation:
    """Which inlets whose pressure is inferred from their flow learn a residual of their own.

    Signed counts of consecutive cycles in which an inlet's inferred pressure stood more than
    :data:`OWN_Z` standard errors off the shared residual the same way (a cycle within half
    of that ends the run; a lost reading or one in between keeps it). A drawing wrong at
    one inlet — the file hangs it on another branch, its valve's Kvs is half the real one,
    its branch's pipes ×2 while another's are ×0.5 — stands off every cycle, whatever the
    valves do: sharing the median, the plan re-proposed the opening the valve had and the
    building stayed at +22…+55 % for 24 steps (bench_robust --no-dp, 0/4 networks). Noise
    does not stand off the same way three times running; a biased meter does until the
    meter check names it, and its corrected flow then ends the run.

    A drawing does not change: an inlet that agreed with it :data:`AGREED_CYCLES` cycles in
    a row and stands off later has changed in the plant (residents closed its radiators, a
    valve clogged), which the diagnosis names and the plan isolates (§5.3.7). Learnt as
    the drawing, gen10x8's building whose radiators closed at step 8 was served by opening
    its valve and was never named (bench_robust --no-dp: others 0 % in the advanced band).
    """

    runs: dict[str, int] = field(default_factory=dict)
    quiet: dict[str, int] = field(default_factory=dict)  # cycles in a row within the noise

    def adopted(self, iid: str) -> bool:
        """Whether the inlet plans with its own residual."""
        return abs(self.runs.get(iid, 0)) >= OWN_CYCLES

    def observe(self, iid: str, deviation: float, sd: float) -> bool:
        """Count this cycle's ``deviation`` from the shared residual (kPa, its standard error
        ``sd``); whether the inlet now plans with its own."""
        if not (math.isfinite(deviation) and math.isfinite(sd) and sd > 0):
            return self.adopted(iid)
        run, quiet = self.runs.get(iid, 0), self.quiet.get(iid, 0)
        if abs(deviation) > OWN_Z * sd:
            if quiet >= AGREED_CYCLES:
                return False  # it agreed with the drawing: the plant changed since
            self.quiet.pop(iid, None)
            way = 1 if deviation > 0 else -1
            self.runs[iid] = run + way if run * way > 0 else way
        elif abs(deviation) < 0.5 * OWN_Z * sd:
            self.runs.pop(iid, None)
            self.quiet[iid] = min(quiet + 1, AGREED_CYCLES)
        return self.adopted(iid)

    def forget(self, iid: str) -> None:
        """The inlet's devices changed: judged afresh."""
        self.runs.pop(iid, None)
        self.quiet.pop(iid, None)
