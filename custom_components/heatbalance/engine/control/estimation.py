"""Estimation before action (§3.0.7-1): each inlet's signals filtered, with their uncertainty.

Field meters are noisier than the balancing band is wide (a 2 % flow meter against the
advanced band's 0…+5 %, §8.2.4). Acting on every raw reading makes valves hunt after noise.
So every analogue signal of every inlet (flow, supply/return/room temperature, available and
valve ΔP) gets a scalar Kalman filter:

* **state** — the true value, a random walk between cycles (``drift`` per step: slow plant
  changes, rooms warming); a command to the inlet's valve or a pump change makes the walk
  jump (the flow is expected to change), so the next reading counts almost fully;
* **measurement noise** — learned from the data: for flow and ΔP (relative noise, a share
  of the reading) from pairs of successive readings, the earlier carried through the known
  moves between them, E[(y₁ − f·y₀)²] = 2R + the plant's true change; for temperatures
  (absolute noise, K; they drift) by covariance matching, the innovation ν = reading −
  prediction having variance P⁻ + R, so an exponentially weighted mean of ν² − P⁻
  estimates R. Either only in cycles whose prediction is sure (nothing commanded, or a
  move the model carries);
* **outliers** — while the prediction is sure (a quiet cycle, or one carried through a
  known move) a reading beyond ``OUTLIER_SIGMA`` innovation standard deviations is a spike
  and not used, unless the next one agrees (then the plant really changed and the filter
  restarts from it); after commands the model cannot predict well a change is taken;
* **missing readings** — the filter predicts: the estimate stays with a growing variance, so
  a lost reading neither moves a valve nor wipes what is known.

:meth:`SignalFilter.settled_std` gives the σ a quiet estimate settles at; the controller's
gates (``Controller._gate_estimate``) never judge a deviation by less. The state is a plain
dict for Home Assistant.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import InletReading, ReadingFields

RELATIVE = ("flow_m3h", "dp_available_kpa", "valve_dp_kpa")
ABSOLUTE = ("supply_c", "return_c", "room_c")
SIGNALS = RELATIVE + ABSOLUTE
_SIGNAL_SET = frozenset(SIGNALS)
PRIOR_NOISE = {"relative": 0.02, "absolute": 0.3}  # σ before anything is learnt: 2 %, 0.3 K
NOISE_RANGE = {"relative": (0.002, 0.2), "absolute": (0.02, 5.0)}
DRIFT = {"relative": 0.003, "absolute": 0.3}  # σ of the true value's walk per quiet step
DRIFT_LAG = 8  # a flow's drift chain gives a sample once it spans this many steps (walk_sample)…
DRIFT_CHAIN_MAX = 16  # … and runs on up to this many (a longer chain tells far more, walk_sample)
DRIFT_FLOOR = 0.001  # the learnt flow drift never below 0.1 %/step (valves, rooms, §3.0.7-1)…
DRIFT_MAX = 0.05  # … nor above 5 %/step
DRIFT_PRIOR_SAMPLES = 20.0  # the prior DRIFT counts like this many samples of the network's
DRIFT_MEMORY = 500.0  # the learnt drift's memory: the last ~500 samples of the network
PREDICTION_SHARE = 1.0  # a predicted change is uncertain by its own size (model errors)…
PREDICTION_FLOOR = 0.1  # … and by at least 10 %: a model can be that wrong about any inlet
LEARN_WEIGHT_MIN = 0.05  # the noise estimate's memory: about 20 quiet cycles
OUTLIER_SIGMA = 4.0
GATE_NOISE_RATIO_MAX = 1.5  # gates judge by σ widened by pooled ÷ own noise at most this much…
GATE_LIKE_METER = 0.5  # … for a meter learnt at least this share of the pooled noise
POOL_WEIGHT = 5.0  # the network's pooled noise level counts like this many own samples
DP_JUMP = 3.0  # ΔP goes with Q² and is what others' valves shift most: thrice the flow's jump
LEARN_JUMP_SHARE = 0.25  # noise is learnt only while others' moves add < ¼ of a reading's variance
_OWN_MAX = 1.0 / LEARN_WEIGHT_MIN  # own samples the noise level counts at most
_KIND = {True: "relative", False: "absolute"}  # SignalFilter.kind without a property call
_FIELDS = ReadingFields(*SIGNALS)
_FLOAT_MAX = sys.float_info.max
_NO_VALUES: tuple[None, ...] = (None,) * len(SIGNALS)  # a lost reading, every signal
# what predict() adds to a temperature's variance without a move: (DRIFT · 1)² + (0 · 1)²
_ABSOLUTE_WALK_VAR = (DRIFT["absolute"] * 1.0) ** 2 + 0.0


@dataclass(slots=True)  # 6 filters per inlet, 143,000 at 23k inlets: slots read faster
class SignalFilter:
    """A scalar Kalman filter with a learned measurement-noise level."""

    relative: bool
    value: float | None = None
    var: float = 0.0  # variance of the estimate (in the signal's unit²)
    noise: float | None = None  # learned σ (a share for relative signals, else the unit)
    learnt: int = 0
    outliers: int = 0
    age: int = 0  # steps since the last used reading
    pooled: float | None = None  # the same signal's noise over the network (set each cycle)
    jumped: float = 0.0  # variance the last time update added for commands (not drift)
    previous: float | None = None  # the last used reading, carried through known moves
    drift: float | None = None  # the network's learnt relative drift (flow; set each cycle)
    anchor: float | None = (
        None  # a reading up to DRIFT_CHAIN_MAX steps back, carried like previous…
    )
    span: int = 0  # … the steps since it…
    anchor_var: float = 0.0  # … and the relative variance the moves it was carried through add
    chain_sum: float = 0.0  # the chain's readings since the anchor (its own included), summed…
    chain_sq: float = 0.0  # … their squares…
    chain_pairs: float = 0.0  # … and its successive differences squared (all carried alike)
    walk: float | None = None  # this cycle's drift sample (relative²/step) for DriftLearner…
    walk_weight: float = 0.0  # … and what it tells, in samples of a DRIFT_LAG chain (chain_weight)

    @property
    def kind(self) -> str:
        """``relative`` or ``absolute`` (which priors and ranges apply)."""
        return _KIND[self.relative]

    def sigma(self) -> float:
        """σ of one reading, a share or an absolute value.

        A few samples say little about a variance (five give ±60 %), and an underestimate
        makes noise look significant: the own estimate is shrunk toward the network's
        pooled level of the same signal (meters of one network are alike), which counts like
        ``POOL_WEIGHT`` samples; before any pooled level, toward the prior.
        """
        pooled, noise = self.pooled, self.noise  # (locals: this runs ~4× per filter a cycle)
        prior = pooled if pooled is not None else PRIOR_NOISE[_KIND[self.relative]]
        if noise is None:
            return prior
        own = min(float(self.learnt), _OWN_MAX)
        return math.sqrt((own * noise**2 + POOL_WEIGHT * prior**2) / (own + POOL_WEIGHT))

    def gate_ratio(self) -> float:
        """How much wider than its own σ the estimate is judged, by the spike gate here and the
        controller's significance gates (``Controller._gate_estimate``, §8.2.5): the network's
        pooled noise over the meter's own (:meth:`sigma`), within 1…``GATE_NOISE_RATIO_MAX``,
        where the meter's learnt ``noise`` is at least ``GATE_LIKE_METER`` of the pooled level;
        else 1. (:class:`~.estimator_bank.EstimatorBank` hands every reading beyond its plain
        gate to this filter, so the rule lives here alone.)

        A filter weighs its readings by its meter's own learnt noise. Where a run of readings
        lay close together that level is learnt low, and the estimate claims a σ too narrow for
        what it averaged. District120 at 2 % noise, seed 2: B075 learnt 1.45 % against the
        network's 1.95 %, its filter said ±0.78 % while seven readings lay +2.2 % above the
        truth on average, so a true +3.3 % sat 4.8 σ above its goal and was cut below the band
        (§8.2.4). gen60 seed 18: an estimate 2.3 % off whose σ said 0.8 % rejected as a spike
        the reading that would have corrected it. So the gates judge by σ widened by this ratio.

        Only a meter learnt *a little* quieter than the network is taken for one that drew a
        quiet run (twenty samples of a variance scatter about ±30 %); one far quieter really is:
        a noise-free plant learns the floor, 0.2 %, while the pooled level still carries its
        prior (1.0–1.3 % on estate12), and its estimates' σ, a move's jump included, widened
        by that stopped the corrections a stuck valve's neighbours needed. The cap bounds the
        widening for the same reason.
        """
        pooled, noise = self.pooled, self.noise
        if pooled is None or noise is None or noise < GATE_LIKE_METER * pooled:
            return 1.0
        return min(max(pooled / self.sigma(), 1.0), GATE_NOISE_RATIO_MAX)

    def _scale(self, value: float) -> float:
        """Converts a relative σ to the signal's unit at ``value``."""
        return max(abs(value), 1e-9) if self.relative else 1.0

    def reading_var(self, value: float) -> float:
        """Variance of one reading at ``value``."""
        scale = max(abs(value), 1e-9) if self.relative else 1.0  # _scale, inline (hot)
        return (self.sigma() * scale) ** 2

    def predict(
        self,
        jump: float = 0.0,
        expected: float | None = None,
        factor: tuple[float, float] | None = None,
    ) -> None:
        """Time update: the walk's drift, plus ``jump`` (relative σ) after a command.

        ``expected`` is where a model predicts the value after the commands (the plan's
        flow): the estimate moves there, uncertain by a share of the predicted change.
        ``factor`` ``(f, σ)`` is the change the known commands make relative to the present
        value (the pump's speed ratio, the own valve's resistance ratio), uncertain by the
        relative σ: see :meth:`_predict_change`.
        """
        value = self.value
        if value is None:
            return
        if factor is not None and math.isfinite(factor[0]) and factor[0] > 0:
            self._predict_change(factor, expected)
            return
        if expected is not None and math.isfinite(expected) and expected > 0:
            change = abs(expected - value) / self._scale(value)
            self.value = value = expected
            self.previous = self.anchor = None  # the plan's absolute flow: readings say nothing
            jump = math.hypot(jump, max(PREDICTION_SHARE * change, PREDICTION_FLOOR))
        relative = self.relative
        scale = max(abs(value), 1e-9) if relative else 1.0  # _scale, inline (hot)
        walk = self.drift  # walk_std, inline (six filters per inlet a cycle)
        drift = (walk if walk is not None and relative else DRIFT[_KIND[relative]]) * scale
        jumped = self.jumped = (jump * scale) ** 2
        self.var += drift**2 + jumped
        self.anchor_var += jump * jump
        self.age += 1

    def _predict_change(self, factor: tuple[float, float], expected: float | None) -> None:
        """Move-aware time update: the estimate carried through a known move.

        A command's effect relative to the present flow is known far better than the
        flow itself: a pump at s'/s scales every flow by that ratio (affinity laws), a
        valve moved alone changes its inlet's flow by √(R/R') at the offered pressure.
        So the estimate is carried as x·f, uncertain by f's own σ — it keeps what it
        averaged, and its noise keeps being learnt across moves (a prediction that sure
        adds little to ν²: the learn gate in :meth:`update` stays open). Restarting at
        the plan's absolute flow (σ ≥ 10 %) after every move made every estimate one
        reading: on a network where some valve moves each cycle the noise was never
        learnt, and a 0.1 % pump change wiped every estimate (estate12 at 2 % noise: a
        3.8 σ reading then re-planned the network and cut a building below its band).
        The plan's absolute prediction, when there is one, is fused in as a second
        opinion with its own (much larger) uncertainty.
        """
        assert self.value is not None
        f, sigma = factor
        value = self.value * f
        var = self.var * f * f + (sigma * value) * (sigma * value)  # inf, never OverflowError
        if not (math.isfinite(value) and math.isfinite(var)):
            self.restart()  # a factor beyond reason: the next reading is taken as it is
            return
        if expected is not None and math.isfinite(expected) and expected > 0:
            change = abs(expected - value) / self._scale(value)
            var_plan = (max(PREDICTION_SHARE * change, PREDICTION_FLOOR) * self._scale(value)) ** 2
            value, var = (
                (value * var_plan + expected * var) / (var + var_plan),
                var * var_plan / (var + var_plan),
            )
        drift = self.walk_std() * self._scale(value)
        self.jumped = max(var - self.var * f * f, 0.0)
        self.value, self.var = value, var + drift**2
        if self.previous is not None:
            self.previous *= f
        if self.anchor is not None:
            self._carry_chain(f)
            self.anchor_var += sigma * sigma
        self.age += 1

    def _carry_chain(self, ratio: float) -> None:
        """The drift chain's readings carried by a known ratio (a move, a recalibration)."""
        if self.anchor is not None:
            self.anchor *= ratio
        self.chain_sum *= ratio
        ratio2 = ratio * ratio
        self.chain_sq *= ratio2
        self.chain_pairs *= ratio2

    def rescale(self, ratio: float) -> None:
        """The meter's calibration changed by ``ratio`` (a bias correction starts, changes or
        ends): the estimate, its variance and the last reading move with it, so neither the
        filter nor the noise learnt from reading pairs takes the step for the plant's."""
        if self.value is not None:
            self.value *= ratio
        self.var *= ratio * ratio
        if self.previous is not None:
            self.previous *= ratio
        self._carry_chain(ratio)

    def restart(self) -> None:
        """Forget the estimate (the next reading is taken as it is); the noise stays learnt."""
        self.value, self.var, self.outliers, self.previous = None, 0.0, 0, None
        self.anchor = None

    def walk_std(self) -> float:
        """σ of the true value's walk per step: the network's learnt flow drift where it is
        set (:class:`DriftLearner`), else the prior ``DRIFT``."""
        drift = self.drift
        return drift if drift is not None and self.relative else DRIFT[_KIND[self.relative]]

    def update(self, reading: float | None, quiet: bool, learn: bool | None = None) -> None:
        """Measurement update; ``quiet``: nothing was commanded, so the noise can be learnt.

        ``learn`` (default: ``quiet``) learns the noise although others moved: the prior
        variance then holds their coupling, and E[ν²] = P⁻ + R holds only as far as that
        coupling guess is right. It is a rough upper bound (σ of 5 % for a third of the
        flow moved, where a flow really shifts far less): subtracted from ν², it made R come
        out far too low (estate12, 2 % meters: 0.5 % after two such cycles; noise then looked
        significant and valves moved). So the noise is learnt only while the coupling adds
        less than ``LEARN_JUMP_SHARE`` of a reading's variance.
        """
        learn = quiet if learn is None else learn
        jumped, self.jumped = self.jumped, 0.0
        self.walk, self.walk_weight = None, 0.0
        if reading is None or not math.isfinite(reading):
            return
        value = self.value
        if value is None:
            self.value, self.var, self.age = reading, self.reading_var(reading), 0
            self.previous = reading
            self._start_chain(reading)
            return
        # reading_var(value), inline: 143,000 filters a cycle at 23k inlets; the same sums
        relative = self.relative
        scale = max(abs(value), 1e-9) if relative else 1.0
        r = (self.sigma() * scale) ** 2
        innovation = reading - value
        var = self.var
        s = var + r
        # The prediction is sure (quiet, or carried through a known move that adds little
        # variance): a reading beyond the gate is a spike, whatever was commanded. Taken
        # in such a cycle, a 3× spike was learnt as noise and widened every gate after it.
        sure = quiet or (learn and jumped <= LEARN_JUMP_SHARE * r)
        pair = self._pair(reading) if sure and relative else None  # pairs: relative only
        if sure and innovation**2 > OUTLIER_SIGMA**2 * s * self.gate_ratio() ** 2:
            # Learnt from, clipped at the gate: were outliers left out, a noise level learnt
            # too low would call ever more readings outliers and never grow again.
            if pair is not None:
                self._learn_sample(min(pair, OUTLIER_SIGMA**2 * r / self._scale(reading) ** 2))
            else:
                self._learn(math.copysign(OUTLIER_SIGMA * math.sqrt(s), innovation), self.var)
            self.outliers += 1
            if self.outliers < 2:
                return  # a spike, once: not used
            self.value, self.var, self.outliers, self.age = reading, r, 0, 0
            self.previous = reading
            self._start_chain(reading)
            return
        self.outliers = 0
        if relative:
            self._walk_sample(reading, pair)
        else:  # an absolute signal keeps no drift chain, its anchor only (no sums: hot path)
            self.anchor, self.span, self.anchor_var = reading, 0, 0.0
        self.previous = reading
        if sure and learn:
            if pair is not None:
                self._learn_sample(pair)
            else:
                self._learn(innovation, var)
            r = (self.sigma() * scale) ** 2  # the value is unchanged: the same scale
            s = var + r
        gain = var / s
        self.value = value + gain * innovation
        self.var = var * (1.0 - gain)
        self.age = 0

    def _pair(self, reading: float) -> float | None:
        """Half the squared difference of two successive readings (relative²), or None.

        For a relative signal (flow, ΔP) the noise is learnt from pairs of readings one cycle
        apart, the earlier one carried through the known moves between them: E[(y₁ − f·y₀)²]
        = 2R + the plant's true change. Covariance matching (ν² − P⁻) subtracts the filter's
        own *assumed* prediction variance — the 0.3 %-per-step drift, the carried move's
        30 % — and where the plant changes less than assumed it learnt R too low (1 % meters
        at 0.6–0.9 % after 12 steps, 2 % meters at 1.4–1.8 %: per-step traces), so noise
        looked significant and in-band valves were trimmed back and forth. A pair assumes
        nothing: the plant's real drift only adds to it (a safe overestimate).
        """
        if not self.relative or self.previous is None or self.age != 1:
            return None
        scale = max(abs(reading), 1e-9)
        return 0.5 * ((reading - self.previous) / scale) ** 2

    def _walk_sample(self, reading: float, pair: float | None) -> None:
        """A sample of the true flow's drift per step from a chain of successive readings.

        Over a chain of n successive readings (the earlier carried through the known moves
        between them) the scatter about their mean grows with the walk, E[Σ(y − ȳ)²] =
        (n − 1)R + Q(n² − 1)/6, and the successive differences give E[Σd²] = (n − 1)(2R + Q);
        so (Σ(y − ȳ)² − Σd²/2)·6/((n − 1)(n − 2)) is a sample of the walk's variance Q per
        step that needs no meter noise R (covariance matching leans on the learnt R, whose
        own error is as large as Q). It uses every reading of the chain. Only chains of sure
        cycles with a pair each step count (:meth:`_pair`: quiet, or a known move carried); a
        lost reading, a spike or an unsure move ends the chain. A carried move's error would
        add to the scatter as drift; its assumed variance is not subtracted (an assumed
        20–30 % of the change is an upper bound: subtracted, a steady plant learnt a negative
        drift and a 0.3 %/step walk 0.1 %), so a chain ends while the moves' assumed
        variance stays below what the floor adds over it.

        On a steady plant the sample scatters far more than the floor's Q: its σ is
        6R/((n − 1)√(n − 2)) (:func:`chain_weight`), 0.28 R at nine readings — 28 × the
        0.1 %/step floor's variance at 1 % meters. Cut at nine readings, a network of 8–30
        inlets had 24–80 such samples after a 24-step run, and the drift stayed 0.10–0.29
        %/step (bench_pump, 6 Dec: the 0.3 % prior counting 20 samples, and the samples'
        mean ±4e-6 where the floor is 1e-6; unbiased, 0 ± 1e-16 at 0 % noise, moves
        included), which set every estimate's σ and the pump loop's margin (issue 9 pump
        goal). A chain now runs on to ``DRIFT_CHAIN_MAX`` steps — 17 readings tell 8.6 × what
        nine do, twice as much per step. Its sample still comes at ``DRIFT_LAG`` steps (the
        drift is learnt as soon as before: a chain of 17 only, households1200 kept the 0.3 %
        prior until step 17 and its pump loop did not act by step 24) and counts as one; the
        chain then goes on, and where it ends — at ``DRIFT_CHAIN_MAX`` steps, or broken after
        more than ``DRIFT_LAG`` — the whole chain's sample adds what it tells beyond that
        first one (``walk_weight``, :func:`chain_weight` less one).
        """
        previous = self.previous
        if pair is None or self.anchor is None or previous is None or not self.relative:
            self._end_chain()
            self._start_chain(reading)
            return
        if self.anchor_var > (DRIFT_LAG - 1) * DRIFT_FLOOR**2:
            self._end_chain()
            self._start_chain(reading)
            return
        self.span += 1
        self.chain_sum += reading
        self.chain_sq += reading * reading
        self.chain_pairs += (reading - previous) ** 2
        if self.span == DRIFT_LAG:
            self._chain_sample(1.0)  # the early sample; the chain runs on
        elif self.span >= DRIFT_CHAIN_MAX:
            self._end_chain()
            self._start_chain(reading)

    def _end_chain(self) -> None:
        """The whole chain's sample, where it ran on past its early one (``DRIFT_LAG``)."""
        if self.anchor is not None and self.span > DRIFT_LAG:
            self._chain_sample(chain_weight(self.span + 1) - 1.0)

    def _chain_sample(self, weight: float) -> None:
        """The chain's sample of the walk per step (``walk``), counting ``weight`` samples of
        a ``DRIFT_LAG`` chain (``walk_weight``); none where its readings cannot give one."""
        n = self.span + 1
        mean = self.chain_sum / n
        if mean <= 0.0:  # a stopped flow read as 0 (low-flow cut-off): no relative walk
            return
        scatter = self.chain_sq - self.chain_sum * mean
        scale = (n - 1) * (n - 2) * mean * mean
        if not scale > 0.0:  # a mean so small its square underflows (a flow of 1e-200 m³/h)
            return
        self.walk = (scatter - 0.5 * self.chain_pairs) * 6.0 / scale
        self.walk_weight = weight

    def _start_chain(self, reading: float) -> None:
        """A new drift chain from ``reading`` (its anchor)."""
        self.anchor, self.span, self.anchor_var = reading, 0, 0.0
        self.chain_sum, self.chain_sq, self.chain_pairs = reading, reading * reading, 0.0

    def _learn(self, innovation: float, prior_var: float) -> None:
        """Covariance matching: E[ν²] = P⁻ + R, so R ≈ mean of ν² − P⁻."""
        scale = max(abs(self.value or 0.0), 1e-9) if self.relative else 1.0  # _scale, inline
        # ν² − P⁻ is unbiased for R even where it is negative (clipping each sample at zero
        # would bias R up); a level from few samples is shrunk toward the pooled one (sigma).
        self._learn_sample((innovation**2 - prior_var) / scale**2)

    def _learn_sample(self, sample: float) -> None:
        """One unbiased sample of R (relative² or unit²) into the learnt noise level."""
        old = self.noise**2 if self.noise is not None else 0.0
        self.learnt += 1
        weight = max(1.0 / self.learnt, LEARN_WEIGHT_MIN)  # the first sample replaces nothing
        lo, hi = NOISE_RANGE[_KIND[self.relative]]
        self.noise = min(max(math.sqrt(max(old + weight * (sample - old), 0.0)), lo), hi)

    def settled_std(
        self, share: float = 1.0, drift: float | None = None, noise: float | None = None
    ) -> float:
        """σ the estimate settles at between moves (relative or absolute, like ``sigma``).

        The Kalman filter's steady state for the learnt reading noise R, the walk's drift q
        and a reading in ``share`` of the cycles (information R/share per cycle):
        P⁻ = (q + √(q² + 4qR))/2, P = P⁻R/(P⁻ + R). It is the uncertainty a quiet inlet's
        flow is known to, without the jumps right after a command. ``drift`` replaces the
        walk's σ (default: the filter's own, :meth:`walk_std`), ``noise`` a reading's
        (default: :meth:`sigma`).
        """
        r = (self.sigma() if noise is None else noise) ** 2 / min(max(share, 0.05), 1.0)
        q = (self.walk_std() if drift is None else drift) ** 2
        prior = 0.5 * (q + math.sqrt(q * q + 4.0 * q * r))
        return math.sqrt(prior * r / (prior + r))

    def std(self) -> float | None:
        """Standard error of the estimate (None before the first reading)."""
        return None if self.value is None else math.sqrt(max(self.var, 0.0))


@dataclass
class DriftLearner:
    """The network's flow drift per step, learnt from its flow filters' walk samples.

    How far a quiet inlet's true flow walks between cycles decides how many readings its
    estimate may average (:meth:`SignalFilter.settled_std`): assumed at 0.3 %/step, every
    estimate stayed ±0.5 % at 1 % meters, and the pump loop (``Controller._pump_trim``)
    could not bring any flow nearer its set flow than the worst inlet's 2 σ bound. Learnt
    from the readings instead (:meth:`SignalFilter._walk_sample`, pooled over the network:
    one inlet's few samples say nothing about a variance that small), it falls where the
    plant is steady and rises where thermostatic valves or rooms make flows wander
    (§3.0.7-1). The prior ``DRIFT`` counts like ``DRIFT_PRIOR_SAMPLES`` samples; the level
    stays within ``DRIFT_FLOOR``…``DRIFT_MAX`` (a floor: the simulator's flows do not move
    between commands, a real plant's do).
    """

    mean: float = DRIFT["relative"] ** 2  # Q, relative² per step (unbiased, may dip below 0)
    samples: float = 0.0

    def learn(self, sample: float, weight: float = 1.0) -> None:
        """One sample of Q into the running mean, counting ``weight`` samples of a
        ``DRIFT_LAG`` chain (:func:`chain_weight`; memory ``DRIFT_MEMORY`` such samples)."""
        if not (math.isfinite(sample) and math.isfinite(weight) and weight > 0):
            return
        self.samples += weight
        step = max(weight / (self.samples + DRIFT_PRIOR_SAMPLES), weight / DRIFT_MEMORY)
        self.mean += min(step, 1.0) * (sample - self.mean)

    def sigma(self) -> float:
        """The learnt drift's σ per step (relative), within its floor and ceiling."""
        return min(max(math.sqrt(max(self.mean, 0.0)), DRIFT_FLOOR), DRIFT_MAX)

    def to_list(self) -> list[float]:
        """JSON-ready state."""
        return [self.mean, self.samples]

    @classmethod
    def from_list(cls, raw: Any) -> DriftLearner:
        """Read back :meth:`to_list`; anything else starts from the prior."""
        if isinstance(raw, list) and len(raw) == 2 and all(_number(v) for v in raw):
            mean, samples = float(raw[0]), float(raw[1])
            if abs(mean) < 1.0 and samples >= 0:
                return cls(mean, samples)
        return cls()


@dataclass
class InletEstimator:
    """Every filtered signal of one inlet."""

    filters: dict[str, SignalFilter] = field(
        default_factory=lambda: {name: SignalFilter(name in RELATIVE) for name in SIGNALS}
    )

    def step(
        self,
        reading: InletReading | None,
        moved: bool,
        jump: float,
        expected_flow: float | None = None,
        untouched: bool | None = None,
        factor: tuple[float, float] | None = None,
    ) -> None:
        """One cycle: predict, then take the reading.

        ``moved``: the inlet's valve was commanded (its flow and ΔP may have jumped);
        ``jump``: relative σ every flow and ΔP may have changed by (pump, other valves);
        ``expected_flow``: the flow the plan predicts after the commands (None: unknown);
        ``untouched``: no command changed this inlet's flow directly (its valve, building,
        households, the pump), so its noise is learnt although others moved — on a big or
        noisy network some valve moves in nearly every cycle, and a noise level never
        learnt (the 2 % prior for a 5 % meter) makes noise look significant;
        ``factor``: ``(f, σ)``, the flow's change the known commands predict relative to
        the present flow (:meth:`SignalFilter._predict_change`): the flow estimate is
        carried through the move, and its noise learnt while that prediction is sure.
        """
        quiet = not moved and jump == 0.0
        learn = quiet or bool(untouched)
        # every signal's reading in one call (was one ``get`` per filter: 143,000 at 23k);
        # the filters are kept in SIGNALS' order (the default and from_dict build them so)
        values = reading_values(reading)
        for (name, filt), value in zip(self.filters.items(), values, strict=True):
            filter_step(filt, name, value, moved, jump, expected_flow, quiet, learn, factor)

    def value(self, name: str) -> float | None:
        """The estimate of one signal (None before any reading)."""
        return self.filters[name].value

    def std(self, name: str) -> float | None:
        """Its standard error."""
        return self.filters[name].std()

    def age(self, name: str) -> int:
        """Steps since the signal's last used reading."""
        return self.filters[name].age

    def reading(self, opening: float | None, estimated: tuple[str, ...] = ()) -> InletReading:
        """The estimates as a reading (what the model and the band are computed from);
        ``estimated``: the fields this cycle's reading had from a model, not an instrument."""
        f = self.filters
        return reading_of([f[name].value for name in SIGNALS], opening, estimated)

    def to_dict(self) -> dict[str, list[float | int | None]]:
        """Compact JSON-ready state.

        Per signal with an estimate ``[value, var, noise, learnt, outliers, age, previous]``:
        HA stores it for every inlet of a network, so no field names are repeated. A flow or
        ΔP filter inside a drift chain (:meth:`SignalFilter._walk_sample`) adds ``[anchor,
        span, anchor_var, chain_sum, chain_sq, chain_pairs]``: without them every chain
        started again after an HA restart, and the drift (§3.0.7-1) got no sample for
        ``DRIFT_LAG`` cycles — at a restart every cycle or so, never one.
        """
        out: dict[str, list[float | int | None]] = {}
        for name, f in self.filters.items():
            if f.value is None:
                continue
            row: list[float | int | None] = [
                f.value,
                f.var,
                f.noise,
                f.learnt,
                f.outliers,
                f.age,
                f.previous,
            ]
            if f.relative and f.anchor is not None:
                row += [f.anchor, f.span, f.anchor_var, f.chain_sum, f.chain_sq, f.chain_pairs]
            out[name] = row
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InletEstimator:
        """Read back :meth:`to_dict`; a corrupt signal starts afresh.

        Each filter is built once (a restart of a 23,870-inlet network restores 143,000).
        A state stored before the last reading was kept (six fields) restores without it; one
        without the drift chain (seven), or with the chain's ends only (ten, stored before
        the chain's sums), starts a new chain at its next reading.
        """
        if not isinstance(data, Mapping):
            return cls()
        get = data.get
        filters = {}
        for name, relative in _RESTORE_ORDER:  # SIGNALS' order; other names ignored
            raw = get(name)
            filt = _restored(raw, relative) if isinstance(raw, list) else None
            filters[name] = SignalFilter(relative) if filt is None else filt
        return cls(filters)


def reading_of(
    values: Sequence[float | None], opening: float | None, estimated: tuple[str, ...]
) -> InletReading:
    """The estimates as a reading, from every signal's estimate in ``SIGNALS``' order (one
    :class:`InletEstimator`, or one row of :class:`~.estimator_bank.EstimatorBank`)."""
    flow, dp, valve_dp, supply, ret, room = values
    return InletReading(
        flow_m3h=flow,
        supply_c=supply,
        return_c=ret,
        room_c=room,
        opening=opening,
        dp_available_kpa=dp,
        valve_dp_kpa=valve_dp,
        estimated=estimated,
    )


def reading_values(reading: InletReading | None) -> Sequence[float | None]:
    """Every signal's usable reading in ``SIGNALS``' order (None: lost, flagged, not finite)."""
    return _NO_VALUES if reading is None else reading.values(_FIELDS)


def filter_step(
    filt: SignalFilter,
    name: str,
    value: float | None,
    moved: bool,
    jump: float,
    expected_flow: float | None,
    quiet: bool,
    learn: bool,
    factor: tuple[float, float] | None,
) -> None:
    """One filter's part of :meth:`InletEstimator.step` (the scalar reference; the array
    step, :class:`~.estimator_bank.EstimatorBank`, runs it on its rare paths)."""
    if not filt.relative:  # a temperature (ABSOLUTE): predict(), inline (hot)
        if filt.value is not None:  # the prior walk, no jump (as predict() adds)
            filt.jumped = 0.0
            filt.var += _ABSOLUTE_WALK_VAR
            filt.age += 1
    elif name == "flow_m3h" and factor is not None:
        filt.predict(jump, expected_flow, factor)
        filt.update(value, quiet, True)
        return
    elif name == "flow_m3h" and expected_flow is not None:
        filt.predict(jump, expected_flow)
    elif moved:
        filt.restart()  # a moved valve's ΔP may change by any factor: start afresh
    else:
        filt.predict(jump if name == "flow_m3h" else DP_JUMP * jump)
    filt.update(value, quiet, learn)


_RESTORE_ORDER = tuple((name, name in RELATIVE) for name in SIGNALS)
_STORED_LENGTHS = frozenset((6, 7, 10, 13))


def _restored(raw: list[Any], relative: bool) -> SignalFilter | None:
    """One filter of :meth:`InletEstimator.from_dict`, or None where ``raw`` cannot be one
    (then it starts afresh). The counts checked inline for the ints JSON gives back (143,000
    filters at a restart of a 23,870-inlet network); the same checks as :func:`_counts`."""
    size = len(raw)
    if size not in _STORED_LENGTHS or not _numbers(raw):
        return None
    value, var, noise, learnt, outliers, age = raw[:6]
    if value is None or var is None or var < 0 or (noise is not None and noise <= 0):
        return None
    for count in (learnt, outliers, age):
        if type(count) is not int and not _counts(count):
            return None
        if count < 0:
            return None
    previous = raw[6] if size >= 7 else None
    filt = SignalFilter(
        relative,
        float(value),
        float(var),
        noise,
        int(learnt),
        int(outliers),
        int(age),
        previous=None if previous is None else float(previous),
    )
    if size == 13:
        _restore_chain(filt, raw[7:])
    return filt


def _restore_chain(filt: SignalFilter, raw: list[Any]) -> None:
    """Puts a stored drift chain ``[anchor, span, anchor_var, chain_sum, chain_sq,
    chain_pairs]`` back; one that cannot be a chain's (a missing value, a span outside
    0…DRIFT_CHAIN_MAX − 1, a negative variance or sum of squares) is dropped: the filter then
    starts a new chain at its next reading, as after a lost one."""
    if None in raw:  # (numbers only: _numbers checked them)
        return
    anchor, span, anchor_var, total, squares, pairs = raw
    if anchor_var < 0 or squares < 0 or pairs < 0:
        return
    if span != int(span) or not 0 <= span < DRIFT_CHAIN_MAX:
        return
    filt.anchor, filt.span, filt.anchor_var = float(anchor), int(span), float(anchor_var)
    filt.chain_sum, filt.chain_sq, filt.chain_pairs = float(total), float(squares), float(pairs)


def chain_weight(readings: int) -> float:
    """What a drift chain of ``readings`` successive readings tells about the walk, in samples
    of a ``DRIFT_LAG`` chain: the inverse of its sample's variance on a steady plant,
    36R²/((n − 1)²(n − 2)) (:meth:`SignalFilter._walk_sample`; exact for white meter noise),
    over a ``DRIFT_LAG`` + 1 reading chain's. 1 at nine readings, 8.6 at seventeen."""
    n, lag = readings, DRIFT_LAG + 1
    return (n - 1) ** 2 * (n - 2) / ((lag - 1) ** 2 * (lag - 2))


def _counts(*values: Any) -> bool:
    """Whether each value can be a filter's count: a whole number ≥ 0 (already a finite
    number or None by :func:`_numbers`). A missing (None), negative or fractional count
    drops that one filter; ``int(None)`` raised TypeError, and the controller's restore
    then dropped every inlet's learning for one damaged field."""
    return all(v is not None and v >= 0 and v == int(v) for v in values)


def _numbers(values: list[Any]) -> bool:
    """Whether every value that is not None is a :func:`_number` (floats and ints checked
    inline: a restart of a 23,870-inlet network checks 500,000 values, a third of them the
    filters' counts)."""
    for value in values:
        if value is None:
            continue
        kind = type(value)
        if kind is float:
            if value - value != 0.0:  # inf or NaN
                return False
        elif kind is int:  # (not a bool: its type is bool)
            if not -_FLOAT_MAX <= value <= _FLOAT_MAX:  # a float's range, as isfinite takes it
                return False
        elif not _number(value):
            return False
    return True


def _number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (not a bool, not text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -_FLOAT_MAX <= value <= _FLOAT_MAX  # isfinite raised beyond a float's range
    return isinstance(value, float) and math.isfinite(value)
