"""Every inlet's signal filters as arrays: one step of the whole network in numpy.

At 23,870 inlets a cycle updates 143,000 scalar Kalman filters (:mod:`.estimation`); one
Python call per filter cost 0.5–0.75 s CPU of a 2.6 s cycle (issue 10's ≤2 s goal at
23k). :class:`EstimatorBank` keeps each :class:`~.estimation.SignalFilter` field as an
``(inlets, signals)`` array and runs :meth:`SignalFilter.predict`/:meth:`~SignalFilter.update`
as elementwise array operations, the same sums in the same order, so every field comes
out bit for bit as the scalar filter's (``tests/engine/test_estimator_bank.py``). The
rare paths (a spike, a factor beyond reason, the plan's absolute flow without a factor)
run the scalar filter itself on that one element. ``x ** 2`` is ``np.power`` with an
array exponent: Python's float power is libm's ``pow``, which differs from ``x * x`` in
about one value of 1,200; numpy's scalar ``** 2`` is ``x * x``.

The bank is a mapping ``inlet id → InletEstimator`` whose filters are views on the arrays
(:class:`BankedFilter`): every reader (controller, plausibility, loop, benchmarks) reads
and writes them as before. The Store layout is the scalar one (:meth:`InletEstimator.to_dict`).
``None`` is stored as NaN (a filter never holds a NaN: readings are screened finite).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from .estimation import (
    DP_JUMP,
    DRIFT,
    DRIFT_CHAIN_MAX,
    DRIFT_FLOOR,
    DRIFT_LAG,
    LEARN_JUMP_SHARE,
    LEARN_WEIGHT_MIN,
    NOISE_RANGE,
    OUTLIER_SIGMA,
    POOL_WEIGHT,
    PREDICTION_FLOOR,
    PREDICTION_SHARE,
    PRIOR_NOISE,
    RELATIVE,
    SIGNALS,
    InletEstimator,
    SignalFilter,
    chain_weight,
    filter_step,
)

Array = np.ndarray[Any, Any]
_OPTIONAL = ("value", "noise", "pooled", "previous", "drift", "anchor", "walk")  # None: NaN
_INTS = ("learnt", "outliers", "age", "span")
_FLOATS = ("var", "jumped", "anchor_var", "chain_sum", "chain_sq", "chain_pairs", "walk_weight")
FIELDS = _OPTIONAL + _INTS + _FLOATS  # every SignalFilter slot but ``relative`` (per column)
_FLOW = SIGNALS.index("flow_m3h")
_COLUMNS = {name: j for j, name in enumerate(SIGNALS)}
_REL = np.array([name in RELATIVE for name in SIGNALS])
_KIND = ["relative" if rel else "absolute" for rel in _REL.tolist()]
_PRIOR = np.array([PRIOR_NOISE[k] for k in _KIND])
_DRIFT = np.array([DRIFT[k] for k in _KIND])
_LO = np.array([NOISE_RANGE[k][0] for k in _KIND])
_HI = np.array([NOISE_RANGE[k][1] for k in _KIND])
_DP_JUMP = np.array([1.0 if j == _FLOW else DP_JUMP for j in range(len(SIGNALS))])
_OWN_MAX = 1.0 / LEARN_WEIGHT_MIN
_GATE = OUTLIER_SIGMA**2
_CHAIN_LIMIT = (DRIFT_LAG - 1) * DRIFT_FLOOR**2
_ABSOLUTE_WALK = (DRIFT["absolute"] * 1.0) ** 2 + 0.0  # as InletEstimator.step adds it
# what a chain ended at ``span`` tells beyond its early sample (_end_chain's weight)
_END_WEIGHT = np.array([chain_weight(span + 1) - 1.0 for span in range(DRIFT_CHAIN_MAX + 1)])
_NAN = math.nan


def _sq(x: Array) -> Array:
    """``x ** 2`` as Python's float power gives it (libm ``pow``, not ``x * x``)."""
    out: Array = np.power(x, np.full(np.shape(x), 2.0))
    return out


def _none(value: float) -> float | None:
    return None if math.isnan(value) else value


class BankedFilter(SignalFilter):
    """One filter of the bank: each field a view on its array element (read and written),
    every method the scalar filter's."""

    __slots__ = ("_bank", "_col", "_row")

    def __init__(self, bank: EstimatorBank, row: int, col: int) -> None:
        self._bank, self._row, self._col = bank, row, col
        self.relative = bool(_REL[col])


def _field(name: str) -> property:
    """The property of one field: NaN reads back as None, ints as ints."""
    optional = name in _OPTIONAL

    def get(self: BankedFilter) -> Any:
        value = self._bank.a[name].item(self._row, self._col)
        return None if optional and math.isnan(value) else value

    def put(self: BankedFilter, value: Any) -> None:
        self._bank.a[name][self._row, self._col] = _NAN if value is None else value

    return property(get, put)


for _name in FIELDS:
    setattr(BankedFilter, _name, _field(_name))


class EstimatorBank(MutableMapping[str, InletEstimator]):
    """Every inlet's :class:`InletEstimator`, its filters' fields held as arrays."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._views: dict[str, InletEstimator] = {}
        self._size = 0
        self.a: dict[str, Array] = {}  # field → (inlets, signals) array
        self._allocate(0)

    # --- the mapping ---------------------------------------------------------------------
    def _allocate(self, capacity: int) -> None:
        """Arrays for ``capacity`` inlets, the present rows kept."""
        shape = (capacity, len(SIGNALS))
        for name in FIELDS:
            fill = _NAN if name in _OPTIONAL else 0
            new = np.full(shape, fill, dtype=np.int64 if name in _INTS else np.float64)
            old = self.a.get(name)
            if old is not None:
                new[: self._size] = old[: self._size]
            self.a[name] = new
        self._capacity = capacity

    def row(self, iid: str) -> int:
        """The row of ``iid``, a fresh one (no estimate yet) where it has none."""
        row = self._rows.get(iid)
        if row is None:
            if self._size == self._capacity:
                self._allocate(max(2 * self._capacity, 64))
            row = self._rows[iid] = self._size
            self._size += 1
            self._views[iid] = InletEstimator(
                {name: BankedFilter(self, row, j) for j, name in enumerate(SIGNALS)}
            )
        return row

    def __getitem__(self, iid: str) -> InletEstimator:
        return self._views[iid]

    def get(  # type: ignore[override]
        self, iid: str, default: InletEstimator | None = None
    ) -> InletEstimator | None:
        """The inlet's view, else ``default`` (a dict look-up: the readers ask per inlet)."""
        return self._views.get(iid, default)

    def __contains__(self, iid: object) -> bool:
        return iid in self._views

    def setdefault(self, iid: str, default: InletEstimator | None = None) -> InletEstimator:
        """The banked view (a given ``default`` copied in first), as a dict's setdefault
        returns the stored value that later writes change."""
        if iid not in self._views:
            self[iid] = default if default is not None else InletEstimator()
        return self._views[iid]

    def __setitem__(self, iid: str, est: InletEstimator) -> None:
        """Copies ``est``'s filters into ``iid``'s row (the bank keeps its own view)."""
        if self._views.get(iid) is est:
            return
        row = self.row(iid)
        for j, name in enumerate(SIGNALS):
            filt = est.filters[name]
            for field in FIELDS:
                value = getattr(filt, field)
                self.a[field][row, j] = _NAN if value is None else value

    def __delitem__(self, iid: str) -> None:
        del self._views[iid]
        row = self._rows.pop(iid)
        for name in FIELDS:  # the row stays unused, blank
            self.a[name][row] = _NAN if name in _OPTIONAL else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)

    def rows(self, ids: Sequence[str]) -> Array:
        """The rows of ``ids`` in their order (fresh ones for new inlets)."""
        return np.array([self.row(iid) for iid in ids], dtype=np.intp)

    # --- the Store -----------------------------------------------------------------------
    def restore(self, stored: Mapping[str, InletEstimator]) -> None:
        """Copies many restored estimators in at once (a restart at 23k: 23,870)."""
        ids = list(stored)
        rows = self.rows(ids)
        filters = [stored[iid].filters for iid in ids]
        for j, name in enumerate(SIGNALS):
            column = [f[name] for f in filters]
            for field in FIELDS:
                values = [getattr(f, field) for f in column]
                if field in _OPTIONAL:
                    values = [_NAN if v is None else v for v in values]
                self.a[field][rows, j] = values

    def to_dicts(self) -> dict[str, dict[str, list[float | int | None]]]:
        """:meth:`InletEstimator.to_dict` of every inlet, from the arrays at once."""
        rows = np.array(list(self._rows.values()), dtype=np.intp)
        cols = {f: self.a[f][rows].tolist() for f in FIELDS}
        keep = ("value", "var", "noise", "learnt", "outliers", "age", "previous")
        chain = ("anchor", "span", "anchor_var", "chain_sum", "chain_sq", "chain_pairs")
        relative = _REL.tolist()
        out: dict[str, dict[str, list[float | int | None]]] = {}
        for k, iid in enumerate(self._rows):
            one: dict[str, list[float | int | None]] = {}
            for j, name in enumerate(SIGNALS):
                if cols["value"][k][j] != cols["value"][k][j]:
                    continue
                row = [_stored(f, cols[f][k][j]) for f in keep]
                if relative[j] and cols["anchor"][k][j] == cols["anchor"][k][j]:
                    row += [_stored(f, cols[f][k][j]) for f in chain]
                one[name] = row
            out[iid] = one
        return out

    # --- one cycle -----------------------------------------------------------------------
    def set_flow_drift(self, rows: Array, drift: float) -> None:
        """The network's learnt flow drift into every flow filter (``SignalFilter.drift``)."""
        self.a["drift"][rows, _FLOW] = drift

    def pool_noise(self, prior_samples: float, min_pooled: float) -> None:
        """``Controller._pool_noise`` over the arrays: per signal the sample-weighted mean
        noise variance over every filter that learnt one, summed in the inlets' order
        (``cumsum``, as a Python loop adds), shrunk toward the prior."""
        rows = np.array(list(self._rows.values()), dtype=np.intp)
        noise, learnt = self.a["noise"][rows], self.a["learnt"][rows]
        for j in range(len(SIGNALS)):
            has = ~np.isnan(noise[:, j]) & (learnt[:, j] > 0)
            weight = np.minimum(learnt[has, j].astype(np.float64), _OWN_MAX)
            n = float(np.cumsum(weight)[-1]) if weight.size else 0.0
            terms = weight * _sq(noise[has, j])
            total = float(np.cumsum(terms)[-1]) if terms.size else 0.0
            prior = float(_PRIOR[j])
            total += prior_samples * prior**2
            pooled = math.sqrt(total / (n + prior_samples)) if n >= min_pooled else None
            self.a["pooled"][rows, j] = _NAN if pooled is None else pooled

    def step(self, rows: Array, cycle: StepInputs) -> None:
        """:meth:`InletEstimator.step` of every inlet of ``rows`` at once."""
        # every row in order (the controller's case): one slice, else the rows gathered
        whole = len(rows) == self._size and np.array_equal(rows, np.arange(self._size))
        index: slice | Array = slice(0, self._size) if whole else rows
        state = {name: self.a[name][index].copy() for name in FIELDS}
        new, slow = _step_arrays(state, cycle)
        pre = {name: self.a[name] for name in FIELDS}  # not written yet: the stored state
        for i, j in zip(*np.nonzero(slow), strict=True):
            _scalar_step(pre, int(rows[i]), new, int(i), int(j), cycle)
        for name in FIELDS:
            self.a[name][index] = new[name]

    def walks(self, rows: Array) -> list[tuple[float, float]]:
        """This cycle's flow drift samples (``walk``, ``walk_weight``) in the rows' order."""
        walk, weight = self.a["walk"][rows, _FLOW], self.a["walk_weight"][rows, _FLOW]
        has = ~np.isnan(walk)
        return list(zip(walk[has].tolist(), weight[has].tolist(), strict=True))

    def flows(self, rows: Array) -> tuple[list[float | None], list[int]]:
        """Every row's flow estimate (None: none) and its age."""
        values = [_none(v) for v in self.a["value"][rows, _FLOW].tolist()]
        return values, self.a["age"][rows, _FLOW].tolist()

    def readings(self, rows: Array) -> list[list[float | None]]:
        """Every row's estimates in ``SIGNALS``' order (None: none)."""
        values = self.a["value"][rows]
        out: list[list[float | None]] = values.tolist()
        where, which = np.nonzero(np.isnan(values))  # a signal never read (a room sensor)
        for k, j in zip(where.tolist(), which.tolist(), strict=True):
            out[k][j] = None
        return out


def _stored(field: str, value: Any) -> Any:
    return None if field in _OPTIONAL and math.isnan(value) else value


class StepInputs:
    """One cycle's arguments of :meth:`InletEstimator.step` for every row, as lists (the
    scalar path takes them as given) and as arrays."""

    def __init__(
        self,
        readings: list[Sequence[float | None]],
        moved: list[bool],
        jump: float,
        expected: list[float | None],
        untouched: list[bool | None],
        factor: list[tuple[float, float] | None],
    ) -> None:
        self.readings, self.moved, self.jump = readings, moved, jump
        self.expected, self.untouched, self.factor = expected, untouched, factor


def _step_arrays(pre: dict[str, Array], cycle: StepInputs) -> tuple[dict[str, Array], Array]:
    """Every element's step as arrays (``pre`` updated in place), and the elements the
    scalar filter must redo."""
    n, width = pre["value"].shape
    with np.errstate(all="ignore"):
        return _StepMath(pre, cycle, n, width).run()


class _StepMath:
    """The array arithmetic of one :meth:`EstimatorBank.step` (see the scalar methods
    named in each part; the sums in their order)."""

    def __init__(self, pre: dict[str, Array], cycle: StepInputs, n: int, width: int) -> None:
        self.s = pre
        self.cycle, self.n, self.width = cycle, n, width
        shape = (n, width)
        self.read = np.array(cycle.readings, dtype=np.float64).reshape(shape)
        moved = np.array(cycle.moved, dtype=bool)
        quiet = ~moved & (cycle.jump == 0.0)
        untouched = np.array([bool(u) for u in cycle.untouched], dtype=bool)
        has_exp = np.array([e is not None for e in cycle.expected], dtype=bool)
        has_fac = np.array([f is not None for f in cycle.factor], dtype=bool)
        self.exp = np.array(cycle.expected, dtype=np.float64)
        factors = [f if f is not None else (_NAN, _NAN) for f in cycle.factor]
        fac = np.array(factors, dtype=np.float64).reshape(n, 2)
        self.fac_f, self.fac_s = fac[:, 0], fac[:, 1]
        col = np.zeros(width, dtype=bool)
        col[_FLOW] = True
        flow = np.broadcast_to(col, shape)
        rel = np.broadcast_to(_REL, shape)
        self.b_fac = flow & has_fac[:, None]
        self.b_exp = flow & ~has_fac[:, None] & has_exp[:, None]
        other = rel & ~self.b_fac & ~self.b_exp
        self.b_restart = other & moved[:, None]
        self.b_plain = other & ~moved[:, None]
        self.rel = rel
        self.quiet = np.broadcast_to(quiet[:, None], shape)
        learn = (quiet | untouched)[:, None] | self.b_fac  # a carried flow learns (step)
        self.learn = np.broadcast_to(learn, shape)
        self.slow = np.zeros(shape, dtype=bool)

    def run(self) -> tuple[dict[str, Array], Array]:
        has = ~np.isnan(self.s["value"])
        self._predict_absolute(has & ~self.rel)
        self._predict_plain(has & self.b_plain)
        self._predict_carried(has & self.b_fac)
        self.slow |= has & self.b_exp  # the plan's absolute flow: the scalar filter's
        self._restart(self.b_restart)
        self._update()
        return self.s, self.slow

    # --- predict -------------------------------------------------------------------------
    def _predict_absolute(self, m: Array) -> None:
        """A temperature's walk (InletEstimator.step's inline predict)."""
        s = self.s
        s["jumped"][m] = 0.0
        s["var"][m] = s["var"][m] + _ABSOLUTE_WALK
        s["age"][m] += 1

    def _predict_plain(self, m: Array) -> None:
        """SignalFilter.predict(jump) of a flow or ΔP (no plan flow, no factor)."""
        s = self.s
        jump = (self.cycle.jump * _DP_JUMP)[None, :].repeat(self.n, 0)[m]
        value = s["value"][m]
        scale = np.maximum(np.abs(value), 1e-9)
        walk = s["drift"][m]
        walk = np.where(np.isnan(walk), DRIFT["relative"], walk)
        drift = walk * scale
        jumped = _sq(jump * scale)
        s["jumped"][m] = jumped
        s["var"][m] = s["var"][m] + (_sq(drift) + jumped)
        s["anchor_var"][m] = s["anchor_var"][m] + jump * jump
        s["age"][m] += 1

    def _predict_carried(self, m: Array) -> None:
        """SignalFilter._predict_change: the flow carried through a known move."""
        s = self.s
        rows = np.nonzero(m)[0]
        f, sigma = self.fac_f[rows], self.fac_s[rows]
        valid = np.isfinite(f) & (f > 0)
        old_var = s["var"][m]
        value = s["value"][m] * f
        var = old_var * f * f + (sigma * value) * (sigma * value)
        bad = ~valid | ~(np.isfinite(value) & np.isfinite(var))
        expected = self.exp[rows]
        fuse = np.isfinite(expected) & (expected > 0)
        scale = np.maximum(np.abs(value), 1e-9)
        change = np.abs(expected - value) / scale
        var_plan = _sq(np.maximum(PREDICTION_SHARE * change, PREDICTION_FLOOR) * scale)
        value = np.where(fuse, (value * var_plan + expected * var) / (var + var_plan), value)
        var = np.where(fuse, var * var_plan / (var + var_plan), var)
        walk = s["drift"][m]
        walk = np.where(np.isnan(walk), DRIFT["relative"], walk)
        drift = walk * np.maximum(np.abs(value), 1e-9)
        s["jumped"][m] = np.maximum(var - old_var * f * f, 0.0)
        s["value"][m] = value
        s["var"][m] = var + _sq(drift)
        s["previous"][m] = s["previous"][m] * f
        chained = ~np.isnan(s["anchor"][m])
        ratio2 = f * f
        for name, by in (("anchor", f), ("chain_sum", f), ("chain_sq", ratio2)):
            s[name][m] = np.where(chained, s[name][m] * by, s[name][m])
        s["chain_pairs"][m] = np.where(chained, s["chain_pairs"][m] * ratio2, s["chain_pairs"][m])
        s["anchor_var"][m] = np.where(
            chained, s["anchor_var"][m] + sigma * sigma, s["anchor_var"][m]
        )
        s["age"][m] += 1
        where = np.zeros_like(m)
        where[m] = bad
        self.slow |= where

    def _restart(self, m: Array) -> None:
        """SignalFilter.restart (a moved valve's ΔP)."""
        s = self.s
        for name in ("value", "previous", "anchor"):
            s[name][m] = _NAN
        s["var"][m] = 0.0
        s["outliers"][m] = 0

    # --- update --------------------------------------------------------------------------
    def _sigma(self, m: Array) -> Array:
        """SignalFilter.sigma of the elements ``m``."""
        s = self.s
        prior = np.where(np.isnan(s["pooled"][m]), np.broadcast_to(_PRIOR, m.shape)[m], 0.0)
        prior = np.where(np.isnan(s["pooled"][m]), prior, s["pooled"][m])
        noise = s["noise"][m]
        own = np.minimum(s["learnt"][m].astype(np.float64), _OWN_MAX)
        shrunk = np.sqrt((own * _sq(noise) + POOL_WEIGHT * _sq(prior)) / (own + POOL_WEIGHT))
        return np.where(np.isnan(noise), prior, shrunk)

    def _update(self) -> None:
        """SignalFilter.update of every element (the spikes left to the scalar filter)."""
        s = self.s
        jumped = s["jumped"].copy()
        s["jumped"][:] = 0.0
        s["walk"][:] = _NAN
        s["walk_weight"][:] = 0.0
        read = self.read
        got = ~np.isnan(read) & ~self.slow
        fresh = got & np.isnan(s["value"])
        self._first(fresh)
        self._filter(got & ~fresh, jumped)

    def _first(self, m: Array) -> None:
        """The first reading taken as it is (update with no estimate)."""
        s, reading = self.s, self.read[m]
        scale = np.where(self.rel[m], np.maximum(np.abs(reading), 1e-9), 1.0)
        s["value"][m] = reading
        s["var"][m] = _sq(self._sigma(m) * scale)
        s["age"][m] = 0
        s["previous"][m] = reading
        self._start_chain(m, reading)

    def _start_chain(self, m: Array, reading: Array) -> None:
        s = self.s
        s["anchor"][m] = reading
        s["span"][m] = 0
        s["anchor_var"][m] = 0.0
        s["chain_sum"][m] = reading
        s["chain_sq"][m] = reading * reading
        s["chain_pairs"][m] = 0.0

    def _filter(self, m: Array, jumped_all: Array) -> None:
        """A reading into an estimate; the walk sample, the noise learnt."""
        s = self.s
        reading, value, var = self.read[m], s["value"][m], s["var"][m]
        rel = self.rel[m]
        scale = np.where(rel, np.maximum(np.abs(value), 1e-9), 1.0)
        r = _sq(self._sigma(m) * scale)
        innovation = reading - value
        total = var + r
        learn = self.learn[m]
        sure = self.quiet[m] | (learn & (jumped_all[m] <= LEARN_JUMP_SHARE * r))
        previous = s["previous"][m]
        has_pair = sure & rel & ~np.isnan(previous) & (s["age"][m] == 1)
        pair = np.where(
            has_pair, 0.5 * _sq((reading - previous) / np.maximum(np.abs(reading), 1e-9)), _NAN
        )
        # Beyond the plain gate: a spike, or one the scalar filter's gate (widened where the
        # meter was learnt a little quiet, SignalFilter.gate_ratio ≥ 1) takes; it decides.
        spike = sure & (_sq(innovation) > _GATE * total)
        where = np.zeros_like(m)
        where[m] = spike
        self.slow |= where
        ok = ~spike
        m = m.copy()
        m[m] = ok  # the spikes: the scalar filter's (redone from the stored state)
        reading, value, var, rel = reading[ok], value[ok], var[ok], rel[ok]
        scale, r, innovation, total = scale[ok], r[ok], innovation[ok], total[ok]
        sure, learn, previous, pair = sure[ok], learn[ok], previous[ok], pair[ok]
        s["outliers"][m] = 0
        self._walk_sample(m, rel, reading, previous, pair)
        s["previous"][m] = reading
        taught = sure & learn
        if taught.any():
            sample = np.where(np.isnan(pair), (_sq(innovation) - var) / _sq(scale), pair)
            sub = m.copy()
            sub[m] = taught
            self._learn_sample(sub, sample[taught])
            r = np.where(taught, 0.0, r)
            r[taught] = _sq(self._sigma(sub) * scale[taught])
            total = np.where(taught, var + r, total)
        gain = var / total
        s["value"][m] = value + gain * innovation
        s["var"][m] = var * (1.0 - gain)
        s["age"][m] = 0

    def _learn_sample(self, m: Array, sample: Array) -> None:
        """SignalFilter._learn_sample of the elements ``m``."""
        s = self.s
        noise = s["noise"][m]
        old = np.where(np.isnan(noise), 0.0, _sq(noise))
        learnt = s["learnt"][m] + 1
        s["learnt"][m] = learnt
        weight = np.maximum(1.0 / learnt.astype(np.float64), LEARN_WEIGHT_MIN)
        level = np.sqrt(np.maximum(old + weight * (sample - old), 0.0))
        lo, hi = np.broadcast_to(_LO, m.shape)[m], np.broadcast_to(_HI, m.shape)[m]
        s["noise"][m] = np.minimum(np.maximum(level, lo), hi)

    def _walk_sample(
        self, m: Array, rel: Array, reading: Array, previous: Array, pair: Array
    ) -> None:
        """SignalFilter._walk_sample (relative) and an absolute signal's anchor."""
        s = self.s
        absolute = m.copy()
        absolute[m] = ~rel
        s["anchor"][absolute] = reading[~rel]
        s["span"][absolute] = 0
        s["anchor_var"][absolute] = 0.0
        sub = m.copy()
        sub[m] = rel
        reading, previous, pair = reading[rel], previous[rel], pair[rel]
        anchor = s["anchor"][sub]
        broken = (
            np.isnan(pair)
            | np.isnan(anchor)
            | np.isnan(previous)
            | (s["anchor_var"][sub] > _CHAIN_LIMIT)
        )
        # a broken chain: its whole sample where it ran past the early one, then a new one
        span = s["span"][sub]
        ends = broken & ~np.isnan(anchor) & (span > DRIFT_LAG)
        self._chain_sample(_part(sub, ends), _END_WEIGHT[np.minimum(span[ends], DRIFT_CHAIN_MAX)])
        grow = _part(sub, ~broken)
        g_reading, g_previous = reading[~broken], previous[~broken]
        s["span"][grow] += 1
        s["chain_sum"][grow] = s["chain_sum"][grow] + g_reading
        s["chain_sq"][grow] = s["chain_sq"][grow] + g_reading * g_reading
        s["chain_pairs"][grow] = s["chain_pairs"][grow] + _sq(g_reading - g_previous)
        span = s["span"][grow]
        early = span == DRIFT_LAG
        self._chain_sample(_part(grow, early), np.ones(int(early.sum())))
        full = span >= DRIFT_CHAIN_MAX
        self._chain_sample(_part(grow, full), _END_WEIGHT[np.minimum(span[full], DRIFT_CHAIN_MAX)])
        restart = broken.copy()
        restart[~broken] = full
        self._start_chain(_part(sub, restart), reading[restart])

    def _chain_sample(self, m: Array, weight: Array) -> None:
        """SignalFilter._chain_sample of the elements ``m``."""
        s = self.s
        n = s["span"][m] + 1
        total = s["chain_sum"][m]
        mean = total / n.astype(np.float64)
        scatter = s["chain_sq"][m] - total * mean
        scale = ((n - 1) * (n - 2)).astype(np.float64) * mean * mean
        ok = (mean > 0.0) & (scale > 0.0)
        walk = (scatter - 0.5 * s["chain_pairs"][m]) * 6.0 / scale
        s["walk"][m] = np.where(ok, walk, s["walk"][m])
        s["walk_weight"][m] = np.where(ok, weight, s["walk_weight"][m])


def _part(m: Array, keep: Array) -> Array:
    """The elements of mask ``m`` that ``keep`` (a mask over ``m``'s True ones) keeps."""
    out = np.zeros_like(m)
    out[m] = keep
    return out


def _scalar_step(
    pre: dict[str, Array], row: int, new: dict[str, Array], i: int, j: int, cycle: StepInputs
) -> None:
    """One element's step by the scalar filter, from its stored state (``pre`` at ``row``;
    the rare paths), into ``new`` at ``i``."""
    filt = SignalFilter(bool(_REL[j]))
    for name in FIELDS:
        value = pre[name][row, j].item()
        setattr(filt, name, None if name in _OPTIONAL and math.isnan(value) else value)
    moved = cycle.moved[i]
    quiet = not moved and cycle.jump == 0.0
    learn = quiet or bool(cycle.untouched[i])
    filter_step(
        filt,
        SIGNALS[j],
        cycle.readings[i][j],
        moved,
        cycle.jump,
        cycle.expected[i],
        quiet,
        learn,
        cycle.factor[i],
    )
    for name in FIELDS:
        value = getattr(filt, name)
        new[name][i, j] = _NAN if value is None else value
