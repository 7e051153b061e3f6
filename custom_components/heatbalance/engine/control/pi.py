"""Traditional regulation: one PI loop per inlet on its control target (§5.3.6-1, §3.0.6).

The loop acts on the valve opening, and its gains are **scheduled** on the plant's static
gain at the current operating point, so one tuning fits every valve and network:

* the valve characteristic — ``d ln Kv / d opening`` (``ln R`` for an equal-percentage
  valve, ``1/h`` for a linear one; inverted exactly, closing knee included);
* the network model's static gain — the valve's share ``β = Δp_valve / Δp_available`` of
  the pressure its inlet is offered, from the hydraulic model solved at the current openings
  (:class:`GainSchedule`). A valve with little authority (wide open, a big circuit behind it)
  changes its flow little per Kv, so it must move further; a nearly closed one the opposite.
  For a flow target the whole step is the exact inverse of ``q² (a_valve + a_circuit) =
  Δp_available``: an error of ``ln(q*/q)`` asks for ``Δ ln Kv = −½ ln((q/q*)² − 1 + β) / β)``.

Without the schedule (no model solution) the loop falls back to the valve characteristic
alone, which converges over many steps: the circuit's resistance makes the real change
smaller than the Kv change.

* **deadband against the learnt noise** — inside ``|e| < max(deadband, z·σ)`` the loop
  neither integrates nor moves, σ being the standard error of the inlet's estimated flow
  (the Kalman filter of :mod:`.estimation`), scaled up when the loops' own noise level
  (:class:`GainSchedule`, learnt from consecutive readings of valves that did not move) is
  above the level the filter assumes. A 5 % meter read once after a move is uncertain by
  5 %: acting on it walked valves across the band (half the valves moved every step); held,
  the filter averages the next readings and the loop acts once the deviation is real
  (§8.2.5: a balanced network stops moving devices);
* **common mode, robust** — the loops' shared error (every valve too open after start-up) is
  the *median* flow error of the healthy loops that can still act: a stuck or blocked valve
  or a starving building whose valve is already fully open is a lone deviation, and as a
  mean it pushed every other valve open with it (a stuck valve left 0–10 % of the others in
  the advanced band);
* **anti-windup by back-calculation** — the integral is corrected by what the safety limits
  took off the output, so after a valve sat at a limit the loop does not overshoot;
* **bumpless start** — the bias is the opening the loop found when it took over.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evaluation import band
from ..hydraulics import HydraulicError, HydraulicModel, HydraulicResult, WarmStart
from ..hydraulics.devices import CLOSED_KV_FRACTION, PLAIN, VALVE, VALVE_A
from ..model import Device, Network
from ..plain import as_plain
from .flow_balance import opening_for_kv
from .targets import TargetError

MIN_SENSITIVITY = 0.5  # d ln Kv/dh floor: a linear valve nearly open still moves
MIN_AUTHORITY = 0.05  # β floor: the model's share is uncertain, noise must not swing a valve
OWN_AUTHORITY = 0.5  # a building below its band whose valve holds this share of its Δp …
COLLECTIVE = 1.1  # Kv factor of the model's collective-gain probe
NOISE = 0.03  # reading noise (relative) a loop assumes before it learnt one; meters: 1…5 %
MAX_LN_KV_STEP = 1.5  # one step changes Kv by at most ×4.5 (a model is not the plant)
SHUT_SHARE = 0.2  # below this share of its goal an open-loop valve is set from the inverse
HOLD_Z = 1.0  # a flow error within this many standard errors of its estimate is noise
HOLD_BAND_SHARE = 0.8  # … but a loop rests only in this share of the band around its aim
AGAINST_Z = 2.0  # an error beyond this many σ of its flow has a known sign: no step against it
AGAINST_ERROR = "PI: the loops' common move would move this valve against its own error: held"
INTERMEDIATE_FLOW = (band("intermediate", "flow").lower, band("intermediate", "flow").upper)
SHORT = -math.log(1.0 + INTERMEDIATE_FLOW[0] / 100.0)  # … does not close with the others
SATURATED = 1e-3  # a valve this close to its limit cannot move further that way
NOISE_RANGE = (0.005, 0.2)  # the loops' learnt reading noise stays within 0.5…20 %
NOISE_WEIGHT = 0.3  # memory of the learnt noise level: a few cycles
MIN_NOISE_PAIRS = 3  # reading pairs a cycle needs before it says anything about noise
MODEL_SHARE = 0.3  # a flow change the model predicts is uncertain by this share of it …
RATIO_DRIFT = 0.003  # … and reading/model drifts this much a cycle anyway (ln)
RATIO_GATE = 4.0  # a reading this many σ off reading/model starts it afresh (a fault)
RATIO_MAX_AGE = 8  # cycles a ratio carries a lost reading (as the estimator's estimates)
# ln(reading / model) is kept within ±this: e^±20 is 5e8 apart, beyond any plant, and keeps
# the shift e^ratio a finite, non-zero number (a 5e-324 m³/h reading gave ln −744, e^−744
# rounded to 0, and the open-loop goal ÷ shift raised ZeroDivisionError in the cycle).
RATIO_LIMIT = 20.0
REFINE_SOLVES = 2  # model solves an open-loop move is refined by, with the cycle's moves
OPEN_LOOP_SHIFT = 0.03  # a silent-meter inlet's predicted flow this far off its goal (ln)
# moves its valve again: inside it, others' small moves would make it hunt
FREED_KV_MIN = 0.05  # freed_share cuts the light loops' Kv at most to this share …
FREED_SOLVES = 7  # … searching for the cut in this many halvings of ln Kv (to 0.03)


@dataclass
class ModelRatio:
    """One inlet's ``ln(reading / model flow)``: its mean, variance and the model's flow.

    The plant's flow is the model's at the current openings times a ratio that moves only
    as far as the model is wrong about a change — so readings average across every move.
    """

    mean: float
    var: float
    model: float  # ln of the model's flow the ratio was last taken against
    age: int = 0  # cycles since its last reading
    suspect: float | None = None  # a reading beyond the gate, held for the next to judge


@dataclass
class PIState:
    """Serialisable memory of one inlet's loop."""

    bias: float
    integral: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form (``asdict``, fast: one per inlet in every Store save)."""
        return as_plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PIState:
        """Read back :meth:`to_dict`; a non-finite value restarts the loop at 0.5 open."""
        bias = _finite_or(data.get("bias"), 0.5)
        return cls(bias=bias, integral=_finite_or(data.get("integral"), 0.0))


def valve_sensitivity(device: Device, opening: float) -> float:
    """``d ln Kv / d opening`` of the valve at ``opening``."""
    if device.characteristic == "linear":
        return max(1.0 / max(opening, 1e-3), MIN_SENSITIVITY)
    return max(math.log(device.rangeability), MIN_SENSITIVITY)


class GainSchedule:
    """Each inlet's valve authority from the network model at the current openings."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self._model: HydraulicModel | None = None
        inlets = network.inlets.values()
        parents = {i.parent for i in inlets if i.parent is not None}
        # street-level inlets without households: a valve that alone serves its flow
        self._plain = frozenset(i.id for i in inlets if i.parent is None and i.id not in parents)
        self._last: HydraulicResult | None = None
        self._warm: WarmStart | None = None  # _last's warm start as stored (restart)
        self.authority: dict[str, float] = {}
        self.common = 0.0  # mean flow error of the loops (ln), moved by all valves together
        self.together = 1.0  # d ln q / d ln Kv when every valve moves (the model's probe)
        self.loops = 1
        self.noise = NOISE  # the loops' reading noise (relative σ), see learn_noise
        self._flows: dict[str, float] = {}  # last cycle's raw flow readings …
        self._openings: dict[str, float] = {}  # … and the valve positions they were read at
        self._speed: float | None = None
        self.ratios: dict[str, ModelRatio] = {}  # see observe
        self._gain: dict[str, float] = {}  # d ln q / d ln Kv of all valves together, per inlet
        self._h: dict[str, float] = {}  # the openings the model was solved at
        self._q: dict[str, float] = {}  # … and the flows it gave there
        self._dp: dict[str, float] = {}  # … and the Δp across each inlet's branch (kPa)
        self._a_int: dict[str, float] | None = None  # branch resistance beside the valve
        self._a_over: dict[str, float] = {}  # … of a building over households, this cycle's
        self._solved: tuple[np.ndarray, float | None, np.ndarray] | None = None  # h, speed, Kv
        self.read_ratio = 0.0  # median ln(reading / model) of the read inlets (observe)
        # open-loop inlets' goals in the model's terms, and the openings their step allows
        self._aims: dict[str, tuple[float, float, float]] = {}
        self._passes: dict[str, float] = {}  # blocked valves' share of their Kv (update)

    def update(
        self,
        openings: Mapping[str, float | None],
        pump_speed: float | None,
        errors: Mapping[str, TargetError | None] | None = None,
        blocked: Mapping[str, float] | None = None,
    ) -> None:
        """Solve the model at the known openings (others as configured); keep each β
        (and the common mode of ``errors``, if given: :meth:`set_common`).

        ``blocked``: valves diagnosed blocked, with the share of their characteristic's Kv
        they pass — the model takes them as they are, or it promises a blocked valve the
        pressure everyone else's closing brings and closes it with them (estate12's B007,
        blocked to 30 %, at 76 % of design: closed to 71 %, its flow fell to 45 %).
        """
        self._passes = {
            iid: share
            for iid, share in (blocked or {}).items()
            if math.isfinite(share) and 0.0 < share <= 1.0
        }
        try:
            if self._model is None:
                self._model = HydraulicModel(self.network)
            model = self._model
            h = model.openings()
            for k, iid in enumerate(model.topo.inlet_ids):
                known = openings.get(iid)
                if known is not None:
                    h[k] = known
            speed = pump_speed if pump_speed is not None and 0 < pump_speed <= 1.05 else None
            warm = self._last if self._last is not None else self._warm
            kv = np.ones(len(h))
            if self._passes:
                index = {iid: k for k, iid in enumerate(model.topo.inlet_ids)}
                for iid, share in self._passes.items():
                    j = index.get(iid)
                    if j is not None:
                        kv[j] = share
            res = model.solve(h, pump_speed=speed, warm_start=warm, kv_factor=kv)
        except (HydraulicError, ArithmeticError, ValueError):
            self.authority, self._dp, self._aims = {}, {}, {}
            self._last = self._solved = self._warm = None
            return
        self._last = res
        self._solved = (h, speed, kv)
        self._aims = {}
        try:  # every valve a little more open at once: the loops move together
            more = model.solve(h, pump_speed=speed, warm_start=res, kv_factor=kv * COLLECTIVE)
        except (HydraulicError, ArithmeticError, ValueError):
            more = None
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = res.valve_dp_kpa / res.dp_available_kpa
            gain = (
                np.log(more.inlet_flow_m3h / res.inlet_flow_m3h) / math.log(COLLECTIVE)
                if more is not None
                else np.full(len(h), np.nan)
            )
        self.authority = {
            iid: float(min(max(b, MIN_AUTHORITY), 1.0))
            for iid, b in zip(res.inlet_ids, beta, strict=True)
            if math.isfinite(b)
        }
        self._gain = {iid: float(g) for iid, g in zip(res.inlet_ids, gain, strict=True)}
        self._h = {iid: float(x) for iid, x in zip(res.inlet_ids, h, strict=True)}
        self._q = dict(zip(res.inlet_ids, res.inlet_flow_m3h.tolist(), strict=True))
        self._dp = dict(zip(res.inlet_ids, res.dp_available_kpa.tolist(), strict=True))
        if self._a_int is None:  # Pa/(m³/s)²; not a building's over households (theirs too)
            dev = model.devices
            self._a_int = {
                iid: float(a)
                for iid, a, parent in zip(res.inlet_ids, dev.a_int, dev.is_parent, strict=True)
                if not parent
            }
        self._a_over = _households_law(model, h, kv) if model.devices.is_parent.any() else {}
        if errors is not None:
            self.set_common(errors)

    def set_common(self, errors: Mapping[str, TargetError | None]) -> None:
        """The loops' common mode: the median flow error of the loops that can still act."""
        flow_errors = {
            iid: e.error
            for iid, e in errors.items()
            if e is not None
            and e.target == "flow"
            and iid in self._h
            and self._can_act(iid, self._h[iid], e.error)
        }
        together = [self._gain[iid] for iid in flow_errors if iid in self._gain]
        together = [g for g in together if math.isfinite(g)]
        self.common = 0.0
        self.loops = max(1, len(flow_errors))
        if together and len(flow_errors) > 1:
            self.together = max(float(np.mean(together)), MIN_AUTHORITY)
            self.common = float(np.median(list(flow_errors.values())))

    def starved(
        self,
        errors: Mapping[str, TargetError | None],
        deadbands: Mapping[str, float],
        faulty: Collection[str],
        aim: float,
    ) -> dict[str, float]:
        """Buildings to open for a household that cannot open further: each building's flow
        error raised to its largest such household's (ln), where that is more.

        A household loop whose valve stands fully open while its flow is short of its aim by
        more than its ``deadbands`` entry cannot help itself; its building's loop, resting in
        its own deadband on the sum of its households, never heard of it (gen8x12-households,
        silent 5 %: B008H06 fully open at −0.02 % for 14 steps under B008 at +2.8 %; a
        building reopened after a shutdown, gen10x8-households B006H06 at −4…−7 % to the
        end). The building opens, the others close by their loops. Not for a faulty
        household (a blocked one would pull its building open for good), nor beyond
        :data:`HOLD_BAND_SHARE` of the building's room above its aim in the intermediate
        band (§8.2.3), which it must keep.
        """
        inlets = self.network.inlets
        room = HOLD_BAND_SHARE * math.log((1.0 + INTERMEDIATE_FLOW[1] / 100.0) / aim)
        short: dict[str, float] = {}
        for iid, err in errors.items():
            inlet = inlets.get(iid)
            parent = inlet.parent if inlet is not None else None
            opening = self._h.get(iid)
            if parent is None or err is None or err.target != "flow" or opening is None:
                continue
            if iid in faulty or err.error <= deadbands.get(iid, math.inf):
                continue
            if not self._can_act(iid, opening, err.error):
                short[parent] = max(short.get(parent, 0.0), err.error)
        out = {}
        for parent, error in short.items():
            own = errors.get(parent)
            if own is not None and own.target == "flow" and -room < own.error < error:
                out[parent] = error
        return out

    def observe(self, flows: Mapping[str, float | None]) -> None:
        """Carry each inlet's ``ln(reading / model flow)`` by a Kalman step (call after
        :meth:`update`, which solved the model at this cycle's openings).

        The model (the network file, blocked valves as found) gives every inlet's flow at
        the openings the valves stand at now, others' moves and the pump included; what it
        gets wrong is a ratio that changes only by the model's error on a change
        (``MODEL_SHARE`` of the change it predicts, plus ``RATIO_DRIFT``). So the ratio
        averages every reading since the start, not only those since the last move — at
        5 % noise an estimate that restarts with each of the network's many small moves
        stayed as wide as one reading (district120: buildings rested at +10…+14 %), and
        a lost reading is carried by the model, not held (§3.0.7: the model learns from
        the plant). A reading beyond ``RATIO_GATE`` σ is held as a suspect; when the
        next one is beyond it the same way (a blockage, a model change) the ratio starts
        afresh from both. Taken at once, one 5 % reading 4 σ low (1 in 16,000, but 2,880
        readings a run on district120) opened a building in band to +16 %. An inlet not
        read yet has no estimate: it is held, not regulated on the model's word (§3.0.7-1).
        """
        res = self._last
        if res is None:
            self.ratios = {}
            self._q = {}
            return
        self._observe(res, flows)
        read = [r.mean for r in self.ratios.values() if r.age <= RATIO_MAX_AGE]
        self.read_ratio = float(np.median(read)) if read else 0.0

    def _observe(self, res: HydraulicResult, flows: Mapping[str, float | None]) -> None:
        """:meth:`observe` on the model solved at this cycle's openings (``res``)."""
        noise2 = self.noise * self.noise
        for iid, q in zip(res.inlet_ids, res.inlet_flow_m3h, strict=True):
            model = math.log(q) if q > 0 and math.isfinite(q) else None
            ratio = self.ratios.get(iid)
            if model is None:
                self.ratios.pop(iid, None)
                continue
            if ratio is not None:
                change = MODEL_SHARE * (model - ratio.model)
                ratio.var += change * change + RATIO_DRIFT * RATIO_DRIFT
                ratio.model = model
            reading = flows.get(iid)
            if reading is None or not 0.0 < reading < math.inf:
                if ratio is not None:  # not read yet: nothing to carry (held, not guessed)
                    ratio.age += 1
                continue
            z = min(max(math.log(reading) - model, -RATIO_LIMIT), RATIO_LIMIT)
            if ratio is None:
                self.ratios[iid] = ModelRatio(z, noise2, model)
                continue
            nu = z - ratio.mean
            ratio.age = 0
            if nu * nu > RATIO_GATE * RATIO_GATE * (ratio.var + noise2):
                first, ratio.suspect = ratio.suspect, z
                if first is None or (first - ratio.mean) * nu <= 0:
                    continue  # one reading far off: a spike until the next says so too
                ratio.mean, ratio.var = 0.5 * (first + z), 0.5 * noise2  # the plant changed
                ratio.suspect = None
                continue
            ratio.suspect = None
            gain = ratio.var / (ratio.var + noise2)
            ratio.mean += gain * nu
            ratio.var *= 1.0 - gain

    def open_loop(
        self, iid: str, device: Device, opening: float, goal: float
    ) -> tuple[float, float, float] | None:
        """A silent-meter inlet's opening for ``goal``, the flow predicted at ``opening`` and
        the flow predicted at the new opening (None: no model solution, or no Kv).

        The prediction is the model's flow at this cycle's openings times what readings
        say of the model: the inlet's own ratio if it was ever read, else the median of
        the read inlets' (a network file off as a whole, the pump's real head). The
        opening is the model's inverse of the goal (:meth:`_reopened`, then :meth:`refine`
        once every move of the cycle is known); only a branch the model does not reduce to
        one law takes the ratio path: :meth:`_flow_step`'s inverse without noise shrinking
        (there is no reading to be noisy), at most ``MAX_LN_KV_STEP`` — from a shut valve
        that path said nothing (×4.5 of a zero Kv stays zero; a shut gen20 building took
        four cycles, 0 → 0.05 → 0.49 → 0.67).
        """
        q, beta = self._q.get(iid), self.authority.get(iid)
        if q is None or not 0.0 <= q < math.inf or beta is None or device.kvs is None:
            return None
        if not 0.0 < goal < math.inf:
            return None
        ratio = self.ratios.get(iid)
        shift = math.exp(ratio.mean if ratio is not None else self.read_ratio)
        flow = q * shift
        reopened = self._reopened(iid, device, goal / shift)
        if reopened is not None:
            bounds = (0.0, 1.0)  # a shut valve: ×4.5 of its Kv says nothing
            if flow >= SHUT_SHARE * goal:  # else at most MAX_LN_KV_STEP (a model is not the plant)
                kv = device.kv(opening)
                bounds = (
                    opening_for_kv(device, kv * math.exp(-MAX_LN_KV_STEP)),
                    opening_for_kv(device, kv * math.exp(MAX_LN_KV_STEP)),
                )
            self._aims[iid] = (goal / shift, *bounds)  # refined with every move (see refine)
            wanted = min(max(reopened, bounds[0]), bounds[1])
            if wanted == reopened < 1.0:  # fully open, a blocked valve may fall short of it
                return wanted, flow, goal
            after = self.flow_at(iid, device, wanted)
            return wanted, flow, after if after is not None else goal
        if flow <= 0.0:
            return None
        share = flow / goal
        left = share * share - 1.0 + beta  # (q/q*)² − (1 − β); a product: no OverflowError
        step = MAX_LN_KV_STEP if left <= 0 else -0.5 * math.log(left / beta)
        capped = min(max(step, -MAX_LN_KV_STEP), MAX_LN_KV_STEP)
        # at a constant branch Δp: q'/q = 1 / √((1 − β) + β·(Kv/Kv')²)
        after = (
            goal if capped == step else flow / math.sqrt(1.0 - beta + beta * math.exp(-2 * capped))
        )
        return opening_for_kv(device, device.kv(opening) * math.exp(capped)), flow, after

    def flow_at(self, iid: str, device: Device, opening: float) -> float | None:
        """The flow (m³/h) predicted at ``opening`` with this cycle's Δp across the inlet's
        branch and what readings say of the model (as :meth:`open_loop`); None: a building
        over households that are not all plain valves, no model solution or no Kv. What a
        command that the step limits cut short is shown to pass — not its goal, nor the shut
        valve's nothing."""
        a_int = self._branch_law(iid)
        dp = self._dp.get(iid)
        if a_int is None or dp is None or not 0.0 < dp < math.inf or device.kvs is None:
            return None
        kv = device.kv(opening) * self._passes.get(iid, 1.0)
        if not kv > 0.0:
            return 0.0
        ratio = self.ratios.get(iid)
        shift = math.exp(ratio.mean if ratio is not None else self.read_ratio)
        per_kv = 3600.0 / kv
        q = math.sqrt(dp * 1000.0 / (a_int + 1e5 * per_kv * per_kv)) * 3600.0
        return q * shift

    def _reopened(
        self, iid: str, device: Device, flow: float, dp: float | None = None
    ) -> float | None:
        """The opening at which the model's branch passes ``flow`` (m³/h) at ``dp`` (kPa,
        default this cycle's Δp across it): the valve takes what the branch's own
        resistance leaves (None: a building over households the model does not reduce to
        one law, see :func:`_households_law`). A blocked valve passes only its share of the
        characteristic's Kv (:meth:`update`'s ``blocked``), so it opens further for it: set
        from the characteristic alone, a building blocked to 45 % whose meter fell silent
        was closed from 0.98 to 0.75 open and passed 0.52 of design (g12, g6x4: 0.55)."""
        a_int = self._branch_law(iid)
        dp = self._dp.get(iid) if dp is None else dp
        if a_int is None or dp is None or not 0.0 < dp < math.inf or device.kvs is None:
            return None
        if not 0.0 < flow < math.inf:
            return None
        q = flow / 3600.0  # products, not powers: an absurd goal gives inf, not OverflowError
        valve_kpa = dp - a_int * q * q / 1000.0
        if not valve_kpa > 0.0:  # NaN too (0 × ∞ of an absurd goal)
            return 1.0  # the branch alone takes the whole Δp: fully open
        kv = flow / math.sqrt(valve_kpa / 100.0) / self._passes.get(iid, 1.0)
        return opening_for_kv(device, kv)

    def refine(
        self, moves: Mapping[str, float], ids: list[str], pump_speed: float | None = None
    ) -> dict[str, float]:
        """Open-loop inlets' openings (``ids``, planned by :meth:`open_loop` on the model's
        inverse) for their goals once this cycle's ``moves`` (and pump command) are made:
        the model solved with them, each branch inverted again at the Δp it then has.
        Empty: no solution.

        :meth:`_reopened` inverts at this cycle's Δp, but opening a valve lowers its own
        branch's Δp (more flow through the mains) and others' moves change it: a shut
        building reopened to half its flow landed at 0.84–0.95 of design on the next move
        (gen20, g6x4, g10x8, g20x3; g6x4's B002: 128 → 92 kPa), and took 3–4 cycles to the
        band.
        """
        aims = {iid: self._aims[iid] for iid in ids if iid in self._aims}
        solved = self._solve_after(moves, pump_speed) if aims else None
        if solved is None:
            return {}
        res, h, index = solved
        model, now = self._model, self._solved
        over = self._a_over
        if model is not None and now is not None and model.devices.is_parent.any():
            self._a_over = _households_law(model, h, now[2])  # households moved too
        out: dict[str, float] = {}
        try:
            for iid, (aim, lo, hi) in aims.items():
                device = self.network.inlets[iid].device
                dp_after = float(res.dp_available_kpa[index[iid]])
                refined = self._reopened(iid, device, aim, dp_after)
                if refined is not None:
                    out[iid] = min(max(refined, lo), hi)
        finally:
            self._a_over = over
        return out

    def flows_after(
        self, moves: Mapping[str, float], ids: list[str], pump_speed: float | None = None
    ) -> dict[str, float]:
        """The flows (m³/h) of ``ids`` predicted once this cycle's ``moves`` (openings sent)
        and pump command are made: the model solved again with them, times what readings
        say of the model (as :meth:`open_loop`). Empty: no solution this cycle or now.

        :meth:`flow_at` holds the branch's Δp at this cycle's: a large reopening lowers it
        and others' moves change it (12i measured the shown flow 0.89 of what passed). One
        solve, only in a cycle where an open-loop inlet moved (at most once per set flow).
        """
        solved = self._solve_after(moves, pump_speed)
        if solved is None:
            return {}
        res, _, index = solved
        out: dict[str, float] = {}
        for iid in ids:
            k = index.get(iid)
            q = float(res.inlet_flow_m3h[k]) if k is not None else math.nan
            if not 0.0 <= q < math.inf:
                continue
            ratio = self.ratios.get(iid)
            out[iid] = q * math.exp(ratio.mean if ratio is not None else self.read_ratio)
        return out

    def freed_share(
        self, cut: Collection[str], served: Mapping[str, float], sets: Mapping[str, float]
    ) -> float | None:
        """The share of their set flows (``sets``, m³/h) the ``cut`` loops carry together
        once they are throttled just enough for every ``served`` loop (fully open; id → its
        set flow) to reach its set flow, by the model at this cycle's openings and pump
        speed times what readings say of it (:meth:`observe`); None: no model solution.

        §5.3.6-5 under PI: a heavier-weighted loop starves fully open, and the lighter
        ones must give up the water it lacks. Read from the flows alone the light loops'
        share only followed their own flows down (gen10x8-households, pump head −20 %,
        the middle building weighted 1.2: fully open at 0.91 of its set flow while the
        light tier's share fell 0.002 a cycle, 21d). The model says what closing them
        frees: their valves' Kv cut by one common factor (searched in ``ln``, at most
        ``FREED_SOLVES`` solves), where the served loops reach their set flows; below
        ``FREED_KV_MIN`` the served loops cannot be served that way, and what the cut
        loops then carry is the answer (the weights' floor decides, ``shortfall_factors``).
        """
        model, solved, last = self._model, self._solved, self._last
        if model is None or solved is None or last is None or not served:
            return None
        h, speed, kv = solved
        index = {iid: k for k, iid in enumerate(model.topo.inlet_ids)}
        cut_k = np.array([index[i] for i in cut if i in index], dtype=int)
        served_k = np.array([index[i] for i in served if i in index], dtype=int)
        if not len(cut_k) or not len(served_k):
            return None
        shift = np.array(
            [
                math.exp(r.mean if (r := self.ratios.get(iid)) is not None else self.read_ratio)
                for iid in model.topo.inlet_ids
            ]
        )
        need = np.array([served[model.topo.inlet_ids[k]] for k in served_k])
        own = float(sum(sets[model.topo.inlet_ids[k]] for k in cut_k))
        if not own > 0.0:
            return None

        devices = [self.network.inlets[model.topo.inlet_ids[k]].device for k in cut_k]
        rooms = np.array(  # ln Kv each cut valve may still open by (0: fully open)
            [_room(d, float(h[k])) for d, k in zip(devices, cut_k.tolist(), strict=True)]
        )

        def at(log_factor: float) -> tuple[float, float] | None:
            """(worst served loop's flow over its set flow, the cut loops' share)."""
            factor = kv.copy()
            factor[cut_k] *= np.exp(np.minimum(log_factor, rooms))
            try:
                res = model.solve(h, pump_speed=speed, warm_start=last, kv_factor=factor)
            except (HydraulicError, ArithmeticError, ValueError):
                return None
            flows = res.inlet_flow_m3h * shift
            worst = float(np.min(flows[served_k] / need))
            return worst, float(np.sum(flows[cut_k])) / own

        lo, hi = math.log(FREED_KV_MIN), float(np.max(rooms))
        top = at(hi)  # the cut loops as open as they go: served already?
        if top is None or top[0] >= 1.0:
            return None if top is None else top[1]
        low = at(lo)  # cut as far as it goes: still not served, the weights' floor decides
        if low is None or low[0] < 1.0:
            return None if low is None else low[1]
        best = low[1]
        for _ in range(FREED_SOLVES):
            mid = 0.5 * (lo + hi)
            got = at(mid)
            if got is None:
                return None
            if got[0] >= 1.0:
                lo, best = mid, got[1]
            else:
                hi = mid
        return best

    def _solve_after(
        self, moves: Mapping[str, float], pump_speed: float | None
    ) -> tuple[HydraulicResult, np.ndarray, dict[str, int]] | None:
        """The model solved at this cycle's openings with ``moves`` made and the pump at
        ``pump_speed`` (None: as this cycle's); its openings and inlet index (None: no
        solution this cycle or now)."""
        model, solved = self._model, self._solved
        if model is None or solved is None or self._last is None:
            return None
        h, speed, kv = solved
        if pump_speed is not None and 0 < pump_speed <= 1.05:
            speed = pump_speed
        h = h.copy()
        index = {iid: k for k, iid in enumerate(model.topo.inlet_ids)}
        for iid, opening in moves.items():
            k = index.get(iid)
            if k is not None and math.isfinite(opening):
                h[k] = opening
        try:
            res = model.solve(h, pump_speed=speed, warm_start=self._last, kv_factor=kv)
        except (HydraulicError, ArithmeticError, ValueError):
            return None
        return res, h, index

    def _branch_law(self, iid: str) -> float | None:
        """Pa/(m³/s)² of the inlet's branch beside its valve (None: not one quadratic law)."""
        over = self._a_over.get(iid)
        return over if over is not None else (self._a_int or {}).get(iid)

    def forget(self, iid: str) -> None:
        """An inlet read from other devices now: its ratio and last reading no longer hold."""
        for memory in (self.ratios, self._flows, self._openings):
            memory.pop(iid, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready memory: the learnt noise, each ratio, last cycle's readings."""
        return {
            "noise": self.noise,
            "ratios": {iid: as_plain(r) for iid, r in self.ratios.items()},  # asdict, fast
            "flows": dict(self._flows),
            "openings": dict(self._openings),
            "speed": self._speed,
            # carried between cycles, so a restart acts bit for bit as an uninterrupted run
            # (issue 10): the loops' collective gain (kept where too few loops act) and the
            # model solve's warm start
            "together": self.together,
            "warm": WarmStart.stored(self._last if self._last is not None else self._warm),
        }

    def load(self, data: Mapping[str, Any]) -> None:
        """Read back :meth:`to_dict` (a non-finite or unknown entry is dropped)."""
        noise = _finite_or(data.get("noise"), NOISE)
        self.noise = min(max(noise, NOISE_RANGE[0]), NOISE_RANGE[1])
        inlets = self.network.inlets
        ratios = data.get("ratios")
        for iid, raw in (ratios if isinstance(ratios, Mapping) else {}).items():
            if iid not in inlets or not isinstance(raw, Mapping):
                continue
            mean, var, model = (_finite_or(raw.get(k), math.nan) for k in ("mean", "var", "model"))
            age = int(min(max(_finite_or(raw.get("age"), 0.0), 0.0), RATIO_MAX_AGE + 1))
            suspect = _finite_or(raw.get("suspect"), math.nan)
            if all(math.isfinite(v) for v in (mean, var, model)) and var >= 0:
                self.ratios[iid] = ModelRatio(
                    mean, var, model, age, suspect if math.isfinite(suspect) else None
                )
        for name, target in (("flows", self._flows), ("openings", self._openings)):
            raw_map = data.get(name)
            for iid, value in (raw_map if isinstance(raw_map, Mapping) else {}).items():
                number = _finite_or(value, math.nan)
                if iid in inlets and math.isfinite(number):
                    target[iid] = number
        speed = _finite_or(data.get("speed"), math.nan)
        self._speed = speed if math.isfinite(speed) else None
        together = _finite_or(data.get("together"), 1.0)
        self.together = together if MIN_AUTHORITY <= together <= 1e3 else 1.0
        self._warm = WarmStart.from_dict(data.get("warm"))

    def flow_estimate(self, iid: str) -> tuple[float, float] | None:
        """The inlet's flow as the model and its readings say, and its relative σ (None:
        never read, or not for ``RATIO_MAX_AGE`` cycles)."""
        ratio = self.ratios.get(iid)
        if ratio is None or ratio.age > RATIO_MAX_AGE:
            return None
        return math.exp(ratio.model + ratio.mean), math.sqrt(ratio.var)

    def learn_noise(
        self,
        flows: Mapping[str, float | None],
        openings: Mapping[str, float | None],
        pump_speed: float | None,
    ) -> None:
        """The meters' noise from consecutive raw readings of loops no move touched.

        ``d = ln(q_k / q_(k−1))`` of an inlet whose own valve, building's and households'
        valves stood still is two readings' noise plus the shift others' moves made. The
        common shift is taken off (the median ``d``), and the spread is measured robustly
        (the median absolute deviation, ×1.4826/√2 for one reading's σ), so an inlet on a
        branch others moved is an outlier, not noise. The estimator learns its noise only
        in cycles others' moves barely touched — while many loops move it keeps its 2 %
        prior, and a 5 % meter then looked significant: every loop moved on noise, so the
        noise was never learnt. This level does not need quiet cycles.
        """
        inlets = self.network.inlets
        moved = {
            iid
            for iid, h in openings.items()
            if h is not None
            and (old := self._openings.get(iid)) is not None
            and abs(h - old) > 1e-6
        }
        parents = {p for iid in moved if iid in inlets and (p := inlets[iid].parent) is not None}
        touched = moved | parents
        pump_still = (
            pump_speed is None or self._speed is None or abs(pump_speed - self._speed) < 1e-6
        )
        diffs = []
        for iid, q in flows.items():
            old = self._flows.get(iid)
            parent = inlets[iid].parent if iid in inlets else None
            if q is None or old is None or q <= 0 or old <= 0:
                continue
            if iid in touched or parent in moved:
                continue
            ratio = q / old
            if 0.0 < ratio < math.inf:  # a subnormal over a normal reading underflows to 0
                diffs.append(math.log(ratio))
        if pump_still and len(diffs) >= MIN_NOISE_PAIRS:
            d = np.asarray(diffs)
            level = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)
            self.noise += NOISE_WEIGHT * (level - self.noise)
            self.noise = min(max(self.noise, NOISE_RANGE[0]), NOISE_RANGE[1])
        self._flows = {iid: q for iid, q in flows.items() if q is not None and q > 0}
        self._openings = {iid: h for iid, h in openings.items() if h is not None}
        self._speed = pump_speed

    def flow_std(self, std: float | None, assumed: float | None) -> float | None:
        """The estimate's relative σ, scaled by learnt over ``assumed`` reading noise."""
        if std is None or assumed is None or assumed <= 0:
            return std
        return std * max(1.0, self.noise / assumed)

    def _can_act(self, iid: str, opening: float, error: float) -> bool:
        """Whether the loop can still move its valve the way its error asks (not at a limit)."""
        device = self.network.inlets[iid].device
        if error > 0:
            return opening < device.max_opening - SATURATED
        return opening > device.min_opening + SATURATED

    def sensitivity(
        self, iid: str, device: Device, opening: float, error: float, flow: bool
    ) -> float | None:
        """``error / Δopening`` of the scheduled step (what :func:`pi_proposal` divides by);
        None: the step is refused (:data:`AGAINST_ERROR`).

        A flow loop's step is its own plus the loops' common move (:meth:`_flow_step`); where
        the common move outweighs the own step, the valve would move against the loop's own
        error. That is right only while the error may be noise (the reading cannot tell its
        sign: a loop at its aim closes with the others after start-up) and the others really
        make the move. Beyond ``AGAINST_Z`` σ it is refused: the common mode is the median
        of errors that may point both ways (goals raised for some, lowered for others by new
        weights: estate12's B003 at 4.8 % above its goal was opened, 0.84 → 0.85), and it
        does not know the moves the step limits, deadbands and faults leave undone (after
        start-up the far buildings, 16–30 % short, were closed with the near ones, 1.0 →
        0.69, and fell to 76 % of design). The sensitivity is then never negative for a
        real error, so neither the proportional part nor the integral can push a valve the
        wrong way (§5.3.6-1). At ``HOLD_Z`` (1 σ) a 5 % meter's loop read short was held
        open while it truly stood +25 % with the rest (loop8: intermediate at step 14).
        """
        beta = self.authority.get(iid)
        if beta is None or device.kvs is None or abs(error) < 1e-9:
            return valve_sensitivity(device, opening)
        if flow:
            step = self._flow_step(iid, error, beta)
            if step * error < 0 and abs(error) > AGAINST_Z * self._sigma(iid):
                return None
        else:
            step = significance(error, self.noise) * error / beta
        step = min(max(step, -MAX_LN_KV_STEP), MAX_LN_KV_STEP)
        moved = opening_for_kv(device, device.kv(opening) * math.exp(step)) - opening
        if abs(moved) < 1e-6:
            return valve_sensitivity(device, opening)
        return error / moved

    def _sigma(self, iid: str) -> float:
        """The relative σ of the loop's flow: its ratio's (:meth:`observe`), else the noise."""
        known = self.ratios.get(iid)
        return math.sqrt(known.var) if known is not None else self.noise

    def _flow_step(self, iid: str, error: float, beta: float) -> float:
        """``Δ ln Kv`` for a flow error ``ln(q*/q)``: the own step plus the common move.

        The own step is the exact inverse of the branch for the loop's deviation from the
        common mode, shrunk by its significance against the noise; the common move is what
        every loop does together (``common / together``). A building below its band
        (§8.2.3) whose valve holds most of its pressure (β ≥ ``OWN_AUTHORITY``) does not
        close with the others: its flow follows its own Kv almost one to one, and the
        pressure their closing brings cannot make up for it (estate12's B007, stuck at
        30 %, at 27 % of design, β 0.98: its own opening +1.83 and the common closing
        −1.84 cancelled, no command, so the stuck valve was named a step late). A valve
        wide open has little authority and does close with the rest: the network's
        pressure rises for it. Households and buildings over households are left out:
        behind a starving building the households all starve, and kept open they held
        households1200's others out of the band 3–8 steps longer (3 seeds); its buildings,
        kept open, took a step more to the band (CLI, intermediate: 6, 5 without).
        """
        own = error - self.common
        ratio = math.exp(-2.0 * own) - 1.0 + beta  # (q/q*)² − (1 − β), over β
        step = MAX_LN_KV_STEP if ratio <= 0 else -0.5 * math.log(ratio / beta)
        sigma = self._sigma(iid)
        step *= significance(own, sigma)
        move = significance(self.common, sigma / math.sqrt(self.loops)) * (
            self.common / self.together
        )
        short = error > SHORT and iid in self._plain
        if short and beta >= OWN_AUTHORITY and move < 0:
            return step
        return step + move


def _room(device: Device, opening: float) -> float:
    """``ln`` of how far a valve's Kv may still grow from ``opening`` (0: fully open)."""
    if device.kvs is None:
        return 0.0
    now, top = device.kv(opening), device.kv(device.max_opening)
    return math.log(top / now) if 0.0 < now < top < math.inf else 0.0


def _households_law(
    model: HydraulicModel, h: np.ndarray, kv_factor: np.ndarray
) -> dict[str, float]:
    """Pa/(m³/s)² of each building's branch over households beside its own valve, at the
    openings ``h``: its service resistance in series with its households in parallel,
    ``a_int + (Σ a_h^-½)^-2`` — exact when every household is a plain valve or circuit (no
    pump, no self-operated valve, no households of its own); other buildings are left out.

    Without it a shut silent building over households took the ratio path of a zero flow:
    0 → 0.05 → 0.49 → 0.73 (g6x4), shown as passing nothing, then 11 % above what passed.
    """
    dev = model.devices
    kv = dev.kv(h, kv_factor)
    usable = np.where(dev.has_kv, np.maximum(kv, CLOSED_KV_FRACTION * dev.kvs), 1.0)
    a = dev.a_int + np.where(dev.has_kv, VALVE_A / (usable * usable), 0.0)
    plain = ((dev.kind == PLAIN) | (dev.kind == VALVE)) & ~dev.is_parent & (a > 0)
    child = np.flatnonzero(dev.parent >= 0)
    up = dev.parent[child]
    conductance = np.zeros(len(h))
    np.add.at(
        conductance, up, np.where(plain[child], 1.0 / np.sqrt(np.where(a > 0, a, 1.0))[child], 0.0)
    )
    odd = np.zeros(len(h), dtype=bool)
    odd[up[~plain[child]]] = True
    ok = np.flatnonzero(dev.is_parent & ~odd & (conductance > 0))
    law = dev.a_int[ok] + 1.0 / (conductance[ok] * conductance[ok])
    return {dev.ids[k]: float(x) for k, x in zip(ok, law, strict=True)}


def significance(error: float, noise: float) -> float:
    """How much of a step an error earns against reading noise: ~1 far above it, → 0 in it.

    ``e² / (e² + (2σ)²)``: a 10 % flow error moves ~86 % of the model's step at 2 % noise, a
    2 % one ~20 % — the valve follows real deviations at once and noise only a little.
    """
    return error * error / (error * error + 4.0 * noise * noise)


def noise_deadband(
    deadband: float, std: float | None, aim: float | None = 1.0, level: str = "intermediate"
) -> float:
    """The deadband against the estimate's uncertainty: ``max(deadband, HOLD_Z·σ)``.

    Never wider than :data:`HOLD_BAND_SHARE` of the ``level``'s flow band around the
    loop's ``aim`` (§8.2.3-1: −5…+10 %; §8.2.4-1: 0…+5 %): a loop must not rest outside the
    band its level asks — with a 5 % meter 2 σ is 10 %, and district120's B102 rested at
    −6.5 % for good; capped by the intermediate band at the advanced level, gen30-comb3km
    rested at +5.1…+5.3 % around its +2.5 % aim. ``aim`` None: no cap (an inlet the band
    does not judge).
    """
    if std is None or not math.isfinite(std) or std <= 0:
        return deadband
    if aim is None:  # no band to keep
        return max(deadband, HOLD_Z * std)
    flow = band(level, "flow")
    lo, hi = flow.lower, flow.upper
    half = min(math.log(aim / (1.0 + lo / 100.0)), math.log((1.0 + hi / 100.0) / aim))
    return max(deadband, min(HOLD_Z * std, HOLD_BAND_SHARE * half))


def pi_proposal(
    state: PIState,
    error: float,
    sensitivity: float,
    kp: float,
    ki: float,
    deadband: float,
    current: float | None = None,
) -> float | None:
    """The opening the loop asks for, or None inside the deadband (hold).

    A held loop tracks ``current`` (where its valve stands): the proportional part of its
    last move stays in the valve, so it goes into the integral. Without that, the first
    move after a hold took the old proportional kick back — estate12's B005, in band for
    ten steps, opened 4 % on a 3 % *too high* flow and left the band.
    """
    if abs(error) < deadband:
        if current is not None:
            hold(state, current)
        return None
    state.integral += ki * error / sensitivity
    return state.bias + kp * error / sensitivity + state.integral


def hold(state: PIState, current: float) -> None:
    """A loop left where its valve stands: the integral tracks it (no kick at the next move)."""
    state.integral = current - state.bias


def back_calculate(state: PIState, proposed: float, commanded: float) -> None:
    """Take off the integral what the limits took off the output (anti-windup)."""
    state.integral += commanded - proposed


def _finite_or(value: Any, default: float) -> float:
    """``value`` as a finite float, else ``default``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default
