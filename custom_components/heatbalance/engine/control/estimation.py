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

:meth:`~.estimator_bank.SignalFilter.settled_std` gives the σ a quiet estimate settles at;
the controller's gates (``Controller._gate_estimate``) never judge a deviation by less. The
state is a plain dict for Home Assistant.

This module holds the filter's parameters, the network's drift learner and the Store
row's checks; the filter itself — its arithmetic once, as arrays over every inlet, and the
per-filter and per-inlet views the readers use — is :mod:`.estimator_bank`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .base import InletReading, ReadingFields

RELATIVE = ("flow_m3h", "dp_available_kpa", "valve_dp_kpa")
ABSOLUTE = ("supply_c", "return_c", "room_c")
SIGNALS = RELATIVE + ABSOLUTE
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
_FIELDS = ReadingFields(*SIGNALS)
_FLOAT_MAX = sys.float_info.max
_NO_VALUES: tuple[None, ...] = (None,) * len(SIGNALS)  # a lost reading, every signal


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


STORED_FIELDS = (
    "value", "var", "noise", "learnt", "outliers", "age", "previous",
    "anchor", "span", "anchor_var", "chain_sum", "chain_sq", "chain_pairs",
)  # fmt: skip  # a stored filter row's fields, the drift chain's last six
_STORED_LENGTHS = frozenset((6, 7, 10, 13))
_NO_CHAIN = (math.nan, 0, 0.0, 0.0, 0.0, 0.0)  # a filter with no drift chain running
_NAN = math.nan
_COUNT_MAX = 2**62  # a count the bank's int64 arrays hold (a larger one is a damaged Store)


def restored_row(raw: Any) -> tuple[float | int, ...] | None:
    """One stored filter's fields in ``STORED_FIELDS``' order (NaN for None), or None where
    ``raw`` cannot be one (then it starts afresh).

    A state stored before the last reading was kept (six fields) restores without it; one
    without the drift chain (seven), or with the chain's ends only (ten, stored before the
    chain's sums), starts a new chain at its next reading. The counts are checked inline for
    the ints JSON gives back (143,000 filters at a restart of a 23,870-inlet network); the
    same checks as :func:`_counts`.
    """
    if not isinstance(raw, list):
        return None
    size = len(raw)
    if size not in _STORED_LENGTHS or not _numbers(raw):
        return None
    value, var, noise, learnt, outliers, age = raw[:6]
    if value is None or var is None or var < 0 or (noise is not None and noise <= 0):
        return None
    for count in (learnt, outliers, age):
        if type(count) is not int and not _counts(count):
            return None
        if not 0 <= count <= _COUNT_MAX:
            return None
    previous = raw[6] if size >= 7 else None
    chain = _chain(raw[7:]) if size == 13 else None
    return (
        float(value),
        float(var),
        _NAN if noise is None else float(noise),
        int(learnt),
        int(outliers),
        int(age),
        _NAN if previous is None else float(previous),
        *(_NO_CHAIN if chain is None else chain),
    )


def _chain(raw: list[Any]) -> tuple[float | int, ...] | None:
    """A stored drift chain ``[anchor, span, anchor_var, chain_sum, chain_sq, chain_pairs]``,
    or None where it cannot be a chain's (a missing value, a span outside 0…DRIFT_CHAIN_MAX
    − 1, a negative variance or sum of squares): the filter then starts a new chain at its
    next reading, as after a lost one."""
    if None in raw:  # (numbers only: _numbers checked them)
        return None
    anchor, span, anchor_var, total, squares, pairs = raw
    if anchor_var < 0 or squares < 0 or pairs < 0:
        return None
    if span != int(span) or not 0 <= span < DRIFT_CHAIN_MAX:
        return None
    return float(anchor), int(span), float(anchor_var), float(total), float(squares), float(pairs)


def shrunk_var(own: Any, noise_sq: Any, prior_sq: Any) -> Any:
    """A reading's noise variance: the own learnt level (``own`` samples, at most 1 /
    ``LEARN_WEIGHT_MIN``) shrunk toward the network's pooled level or the prior, which counts
    like ``POOL_WEIGHT`` samples (numbers or arrays alike).

    A few samples say little about a variance (five give ±60 %), and an underestimate makes
    noise look significant; meters of one network are alike."""
    return (own * noise_sq + POOL_WEIGHT * prior_sq) / (own + POOL_WEIGHT)


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
