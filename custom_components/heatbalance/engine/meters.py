"""Meter consistency: is a flow meter or a heat meter lying? (§3.0.7-1, §3.0.7-5, §5.3.7-3)

A flow meter that reads 10 % high makes every controller starve its building by 10 % while
the band says "held". Two independent physical balances expose it:

* **heat balance per inlet** — the heat meter's energy over a cycle is ``Q = ṁ·c_p·ΔT``:
  the flow it implies, ``q_heat = (ΔE/Δt)/(ρ·c_p·ΔT)``, must match the flow meter. The
  ratio ``r = q_flow/q_heat − 1`` is 0 for a consistent pair (linear, so the noise of ΔT
  stays symmetric; a log-ratio's heavier low tail gave false alarms);
* **mass balance per group** — the substation's flow meter must equal the sum of the
  street-level inlets' flows, a building's flow meter the sum of its households'. The
  log-ratio ``d = ln(Σ children / parent)`` is 0 when every meter tells the truth;
* **the valve's own word** — with the valve's position and ΔP read, ``h = ln(flow ÷
  Kv(opening)·√(ΔP/100 kPa))`` is about the same at every inlet (the characteristic's
  common error); one inlet's ``h`` far from its neighbours' median (by more than their
  spread: learnt from them, shrunk toward :data:`VALVE_SPREAD_PRIOR`) is its flow meter or
  its valve;
* **the circuit's word** — with the inlet's available ΔP read too, the heated circuit behind
  the valve passes ``q_design·√(ΔP_circuit ÷ ΔP_design)`` (available less the valve's ΔP;
  each reading weighed by its own noise, which grows as the circuit's share of the ΔP
  falls, the transmitters' noise learnt from the cycles): a flow meter's bias moves
  ``ln(flow ÷ that)`` with the valve's residual, a valve off its characteristic does not.
  So a meter is told from a dirty valve without waiting for the heat balance, whose one
  cycle scatters ≈3.6 % at 1 % sensors (the return sensor's 0.47 K over ΔT ≈ 13 K);
* **the network model's word** — where the valve's position is read but not its ΔP (a plant
  behind Home Assistant entities), ``ln(flow ÷ the model's flow)`` at the read positions
  and pump speed plays the valve's part: the controller's forward solve of the network file,
  which uses no flow meter, so the meter under suspicion cannot pull its own witness.

A pair that disagrees (``|r|`` significantly above zero) has one liar; the valve and the
mass balance say which. A flow meter biased by ``b`` shifts ``r`` and ``h`` by ``b`` and
``d`` by about ``b·q_i/Σq``; a biased heat meter shifts only ``r``; a valve off its
characteristic only ``h``. The finding names the inlet and the meter (``flow_meter_bias`` or
``heat_meter_bias``; ``meter_disagreement`` when neither valve nor parent meter can tell them
apart). A group's mass balance failing while every pair agrees names the parent's meter
(``parent_meter_bias``: the substation or building meter, or an unmetered draw or leak).

The supply temperature is one water for every inlet: the network's supply less a small,
steady pipe loss. A single supply sensor's noise (0.6 K at 1 % of 60 °C) is most of ΔT's
(ΔT ≈ 15 K), so each inlet's supply is taken as the common supply of the cycle (the median
of the substation's and every inlet's reading) plus the inlet's offset from it. The offset
is an empirical-Bayes estimate from the first cycle: the inlet's own offsets (each with the
sensor's noise σ) weighed against the other inlets' median offset (scattering by τ, learnt
from all inlets net of their noise). Its remaining error, √(1/(n/σ² + 1/τ²)), is the same
in every cycle, so it is added to the standard error of every mean (it does not show in
successive differences).

Statistics, not thresholds on single readings: each series keeps its last
:data:`WINDOW` cycles; a pair ratio enters it less the cycle's median ratio over all inlets
(what they share: the common supply's error, a network-wide transient; no single meter's
bias); the noise level σ is learned from successive differences (a constant bias does not
enter them) and from the ratios' robust spread across the inlets in each cycle, with a prior
and a floor; a bias is diagnosed when the mean over the last n cycles (n = 4, 6, 12, 24, 48)
is both beyond ``0.7·ln(1 + threshold)`` and ``z`` standard errors from zero, its size taken
over the span that shows it best (a bias that began mid-run is not diluted by the sound
cycles before it); ``z`` (and the joint test's :data:`EVIDENCE`) grow with the number of
pairs tested beyond :data:`FAMILY`, so a large network is not more often falsely accused
than a small one (:func:`_family`). The noise is pooled over all inlets (every pair is
the same kind of instrument) and shrunk toward each pair's own, so it is known after two
cycles. Cycles in which the flow moved by more than :data:`TRANSIENT` (a valve stroke: the
heat meter integrated over two flows) count with the stroke's extra variance when the heat
meter or the valve moved with the flow (else it was a spike of the flow meter).
Where the valve speaks, a sequential generalised likelihood-ratio test over the last
n = 2, 3, 4, … cycles weighs "the flow meter is off by b" (``r`` and ``h`` both at b)
against each other explanation (nothing, the heat meter, the valve) and names the flow meter
when it wins by :data:`EVIDENCE` — set from healthy weeks beside a valve 12 % off its
characteristic (largest seen 5.2). The valve pins the bias' size, so the pair needs about 4
standard errors instead of 5, and the kind is known at once.
A finding clears when the last 12 cycles' mean falls below half the detection level. The
flow-or-heat-meter decision needs the two hypotheses 4 standard errors apart in the valve
residual or the mass balance; a small inlet without a valve witness behind a noisy
substation meter stays ``meter_disagreement`` until enough cycles have passed.

While a flow meter is diagnosed (``flow_meter_bias``, or a building's ``parent_meter_bias``:
its households' meters agree among themselves and with their heat meters, its own does
not), :meth:`MeterCheck.corrected` gives the controller the consistent flow — the reading
divided by the estimated bias — and flags it ``flow_m3h_corrected``, so the inlet is
regulated from signals that agree (§3.0.7-1). Under a ``meter_disagreement`` it is not known
which of the two meters lies; the controller then gets the geometric mean of the two flows,
which halves the worst error whichever it is (a 10 % bias leaves 5 %, not 10 %, either way).
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from .cleaning import OFF_SUM
from .control.base import InletReading, Measurements, usable
from .diagnosis import (
    RESTORE_ERRORS,
    STORED_MAX,
    Finding,
    all_numbers,
    all_stored_floats,
    stored_count,
    stored_number,
)
from .model import WATER_CP, WATER_DENSITY, Device, Network
from .plain import as_plain
from .registers import Register, Span
from .rowsums import python_sums, squares
from .series_table import DiffTable, SeriesTable

_LOGGER = logging.getLogger(__name__)
WINDOW = 48  # cycles kept per series (a day of 30-minute cycles)
WINDOWS = (4, 6, 12, 24, 48)  # recent spans tested (3 was too short: room transients)
TRANSIENT = 0.1  # a flow change beyond 10 % between cycles: the valve moved (a stroke)
STROKE_S = 120.0  # a valve's stroke, during which the flow is neither the old nor the new
STROKE_AGREE = 0.3  # in a stroke cycle the ratio moves less than this with the heat meter
MIN_DT_K = 2.0  # below this supply/return difference the heat balance says too little
# heat/flow pair noise assumed before the data says: 3.5–4 % measured at 1 % temperature noise
# (ΔT ≈ 10–15 K); the cross-section outweighs it from the first cycle (0.1 kept σ high a day)
PAIR_PRIOR = 0.05
BALANCE_PRIOR = 0.03  # mass-balance noise assumed before the data says (flow meters only)
PRIOR_WEIGHT = 4.0  # … worth that many cycle-to-cycle differences of all series together
POOL_WEIGHT = 6.0  # one series' own noise counts against the pooled one from this many cycles
SIGMA_FLOOR = 0.005  # no meter pair agrees better than 0.5 % cycle to cycle
# A pair value whose heat meter register's quantisation (:mod:`.registers`) is below this
# (relative σ) is steady enough to teach the pair noise and centre a cycle; a coarser one
# (a whole-kWh register over a 30-s cycle: ≈30 %) counts with its quantisation only
QUANT_PRECISE = 0.02
CENTRE_MIN = 5  # steady pair ratios in a cycle needed to take out what they share
CLEAR_SPAN = 12  # a finding clears when the last 12 cycles' mean is below half the level
SUPPLY_PRIOR_K = 1.0  # a supply sensor's noise assumed before the data says (K)
SPREAD_PRIOR_K = 0.2  # spread of the inlets' supply offsets (pipe losses) assumed before data
SPREAD_FLOOR_K = 0.05  # … never taken below this
# the network model's substation supply (a real plant behind Home Assistant reads none):
# off the water's temperature by this much before the data says (K; twice a sensor's
# prior: a supply curve and a weather figure, not a sensor in the water), worth
# PRIOR_WEIGHT cycles against what its gaps to the readings show; never trusted closer
# than the floor (:meth:`MeterCheck._with_model`)
MODEL_SUPPLY_PRIOR_K = 2.0
MODEL_SUPPLY_FLOOR_K = 0.1
# past heat balances are moved onto the newest supply offset once it is this far from the
# offset any of them stands on (K; 0.2 % of a 14 K heat balance: a cycle at 23k inlets
# spent 0.27 s CPU more moving 48 values each every cycle)
REBASE_K = 0.03
VALVE_PRIOR = 0.03  # noise of ln(flow ÷ valve-model flow) assumed before the data says
# the inlets' valve characteristics scatter by this much before the data says (Kv
# tolerances); worth PRIOR_WEIGHT inlets against the spread their residuals show
# (:meth:`MeterCheck._verdict`)
VALVE_SPREAD_PRIOR = 0.02
VALVE_SPREAD_FLOOR = 0.005  # … never taken below this (no instrument pair agrees better)
# the circuit behind the valve takes at least this share of the inlet's available ΔP for its
# ΔP to witness the flow: below it the difference of two transmitters is mostly noise (each
# value weighs by its own noise, :func:`_dp_gain`; 0.2 left a throttled inlet's series
# restarting most cycles on estate12, where its circuit took 17–22 % of the ΔP)
CIRCUIT_MIN_SHARE = 0.05
# a ΔP transmitter's relative noise assumed before the data says (cautious: 2 %), worth
# PRIOR_WEIGHT cycle-to-cycle differences (:meth:`MeterCheck._dp_noise_var`)
DP_PRIOR = 0.02
VALVE_WINDOWS = (2, 3, 4, 5, 6, 8, 12, 24, 48)  # spans of the joint test: every cycle early
EVIDENCE = 8.0  # log-LR naming a flow meter on the joint test (healthy weeks: ≤5.2)
# z and EVIDENCE hold for a network of this many pairs (healthy weeks on 8–120 inlets); more
# pairs tested each cycle need more evidence each (:func:`_family`)
FAMILY = 120
EXPLAIN_Z = 2.0  # a child's pair this many standard errors off may explain its parent's balance
SEPARATION = 4.0  # flow vs heat meter decided only when the hypotheses differ by 4 std. errors
WITNESSES = ("valve", "model", "circuit")  # the witness series' kinds (stored names)
KINDS = ("flow_meter_bias", "heat_meter_bias", "meter_disagreement", "parent_meter_bias")
SUBSTATION = "substation"


@dataclass
class _Series:
    """One ratio series: recent values and its successive differences (for the noise).

    A value's variance is ``σ² + extra``: ``extra`` is an error the noise σ does not
    describe (a valve stroke inside the cycle). Scaling σ with each cycle's 1/ΔT was tried:
    it named households falsely in a healthy week (their ratios carry a small steady
    transient error that the pooled σ of all inlets had covered).
    """

    values: list[float] = field(default_factory=list)
    diff_sq: float = 0.0
    diffs: int = 0
    extras: list[float] = field(default_factory=list)
    # per value (only once one is quantised, else empty): the σ its energy register's start
    # and end give it, and whether its start is the value before's end (:class:`_Quant`)
    quants: list[list[float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.extras) != len(self.values):  # a state stored before extras existed
            self.extras = [0.0] * len(self.values)
        if self.quants and len(self.quants) != len(self.values):
            self.quants = []  # damaged: taken as exact
        self.quants = [[float(a), float(b), float(bool(c))] for a, b, c in self.quants]

    def add(self, value: float, extra: float = 0.0, quant: _Quant | None = None) -> None:
        """Append a value; ``extra`` a variance σ does not describe (a stroke), ``quant``
        its register's quantisation (None: exact). A difference teaches σ only between
        steady values whose quantisation is small (:data:`QUANT_PRECISE`), less what
        that quantisation gives it."""
        if quant is not None and not self.quants and (quant.start or quant.end):
            self.quants = [[0.0, 0.0, 0.0] for _ in self.values]
        values = self.values
        if not self.quants:  # exact values (most series): no quantisation to weigh
            if values and extra == 0.0 and self.extras[-1] == 0.0:  # strokes not in σ
                self.diff_sq += (value - values[-1]) ** 2 - 0.0
                self.diffs += 1
            values.append(value)
            self.extras.append(extra)
            if len(values) > WINDOW:
                del values[:-WINDOW], self.extras[:-WINDOW]
            return
        now = [0.0, 0.0, 0.0] if quant is None else [quant.start, quant.end, float(quant.chained)]
        if values and extra == 0.0 and self.extras[-1] == 0.0:  # strokes not in σ
            expected = _quant_diff_var(self.quants[-1], now)
            if expected <= 2.0 * QUANT_PRECISE**2:
                self.diff_sq += (value - values[-1]) ** 2 - expected
                self.diffs += 1
        values.append(value)
        self.extras.append(extra)
        del values[:-WINDOW], self.extras[:-WINDOW]
        self.quants.append(now)
        del self.quants[:-WINDOW]

    def sigma(self, pooled_var: float) -> float:
        """Noise of one value: this series' own (var(Δ) = 2σ²) shrunk toward the
        pooled one, never below the pooled one — a series that happened to look quiet for a
        while must not make ordinary noise look like a bias (measured: that gave one false
        alarm a week).
        """
        var = (pooled_var * POOL_WEIGHT + self.diff_sq / 2.0) / (POOL_WEIGHT + self.diffs)
        return max(math.sqrt(max(var, pooled_var)), SIGMA_FLOOR)

    def bias(
        self, level: float, z: float, sigma: float, persistent: Callable[[int], float] | None = None
    ) -> tuple[float, int] | None:
        """(mean, span) of the recent span showing a bias most significantly, else None.

        The most significant: a bias that has lasted n cycles is seen best over about n
        (shorter spans have fewer cycles, longer ones dilute it with the cycles before it
        began — taking the longest significant span made a bias that began mid-run look
        half its size, and its inlet ended 4–5 % high after a −10 % meter was corrected).
        Each value weighs by its inverse variance (a cycle with a valve stroke counts
        less). ``persistent(n)`` is an error shared by the last n values (a learned
        offset's), which no span averages away.
        """
        found, best = None, 0.0
        for n, mean, var in self.spans(WINDOWS, sigma):
            shared = persistent(n) if persistent is not None else 0.0
            error = math.sqrt(var + shared**2)
            if abs(mean) >= level and abs(mean) >= z * error and abs(mean) >= best * error:
                found, best = (mean, n), abs(mean) / error
        return found

    def spans(self, ns: Iterable[int], sigma: float) -> list[tuple[int, float, float]]:
        """(n, inverse-variance mean, its variance) of the last n values for each n in
        ``ns`` (ascending) that the series is long enough for — in one pass backwards."""
        out: list[tuple[int, float, float]] = []
        wanted = [n for n in ns if n <= len(self.values)]
        if not wanted:
            return out
        if self.quants:
            return self._quant_spans(wanted, sigma)
        tail = zip(reversed(self.values[-wanted[-1] :]), reversed(self.extras), strict=False)
        total = weighted = 0.0
        for count, (value, extra) in enumerate(tail, start=1):
            w = 1.0 / (sigma**2 + extra)
            total += w
            weighted += w * value
            if count in wanted:
                out.append((count, weighted / total, 1.0 / total))
        return out

    def _quant_spans(self, wanted: list[int], sigma: float) -> list[tuple[int, float, float]]:
        """:meth:`spans` of quantised values: each value's register error is its end's less
        its start's, and where a value starts at the one before's end the two share that
        error — it cancels from their mean (a mean over n register spans of the same heat
        carries the two outer ends' error ÷ n, not ÷ √n). So each mean's variance adds
        Σ (weighted coefficient of each end)², summed backwards in one pass."""
        out: list[tuple[int, float, float]] = []
        n = wanted[-1]
        tail = zip(
            reversed(self.values[-n:]), reversed(self.extras), reversed(self.quants), strict=False
        )
        total = weighted = squares = 0.0
        newer: tuple[float, float] | None = None  # (weight × start σ, chained) of the newer
        for count, (value, extra, (start, end, chained)) in enumerate(tail, start=1):
            w = 1.0 / (sigma**2 + extra)
            total += w
            weighted += w * value
            if newer is not None and newer[1]:  # the newer's start is this value's end
                squares += (newer[0] - w * end) ** 2 - newer[0] ** 2
            else:
                squares += (w * end) ** 2
            squares += (w * start) ** 2
            newer = (w * start, chained)
            if count in wanted:
                out.append((count, weighted / total, 1.0 / total + squares / total**2))
        return out

    def weighted(self, n: int, sigma: float) -> tuple[float, float]:
        """Inverse-variance mean of the last n values and its variance."""
        return self.spans((n,), sigma)[0][1:]

    def recent_mean(self) -> float | None:
        """Mean of the last :data:`CLEAR_SPAN` values (a finding clears on it)."""
        tail = self.values[-CLEAR_SPAN:]
        return sum(tail) / len(tail) if tail else None


class _Quant(NamedTuple):
    """A pair value's register quantisation (:mod:`.registers`): the relative error σ its
    span's start and end give it, and whether its start is the value before's end."""

    start: float
    end: float
    chained: bool


_ACCRUED = ("heat", "weight", "time", "moved", "strokes", "stroke", "flow", "dt")


def _inlet_plain(state: _Inlet, tables: Mapping[str, Any]) -> dict[str, Any]:
    """``as_plain`` of an inlet's state (fast) with what the check's tables hold of it —
    its witness series and circuit gains, its supply ``offsets`` — in its record, as before
    they moved to :attr:`MeterCheck.witnesses`, :attr:`MeterCheck.circuit_gains` and
    :attr:`MeterCheck.offsets` (fields in the order the record had then); its register and
    accrual as short lists (an exact register's span closes every cycle: its accrual is
    then empty)."""
    out = as_plain(state)
    avail_log = out.pop("avail_log")
    out.update(tables)
    out["avail_log"] = avail_log
    out["offsets"] = out.pop("offsets")
    out["register"] = state.register.to_plain()
    acc = state.accrual
    fresh = acc.cycles == 0 and acc.ok
    out["accrual"] = [] if fresh else [*(getattr(acc, k) for k in _ACCRUED), acc.cycles, acc.ok]
    return out


def _accrual(data: Any) -> _Accrual:
    """A stored :class:`_Accrual` (numbers checked: a damaged one raises)."""
    out = _Accrual()
    if not data:
        return out
    if not isinstance(data, list) or len(data) != len(_ACCRUED) + 2:
        raise ValueError(f"not a stored accrual: {data!r}")
    for key, value in zip(_ACCRUED, _numbers(data[: len(_ACCRUED)]), strict=True):
        setattr(out, key, value)
    out.cycles, out.ok = stored_count(data[len(_ACCRUED)]), _flag(data[len(_ACCRUED) + 1])
    return out


def _steady(extra: float, quant: _Quant | None) -> bool:
    """A pair value with no stroke and a register fine enough (:data:`QUANT_PRECISE`) to
    centre a cycle and teach the pair noise."""
    return extra == 0.0 and (quant is None or math.hypot(quant.start, quant.end) <= QUANT_PRECISE)


def _quant_diff_var(before: list[float], now: list[float]) -> float:
    """Variance the register's quantisation gives the difference of two successive values
    (their shared end, if chained, counts once with both coefficients)."""
    if now[2]:
        return before[0] ** 2 + (before[1] + now[0]) ** 2 + now[1] ** 2
    return before[0] ** 2 + before[1] ** 2 + now[0] ** 2 + now[1] ** 2


def _log_ratio(num: float | None, den: float | None) -> float | None:
    """ln(num / den), or None unless both are positive and their ratio is a positive float.

    Readings a meter can send (subnormal, huge) make a quotient of two positive numbers
    underflow to 0 or overflow to inf; such a ratio carries no evidence.
    """
    if num is None or den is None or not (num > 0 and den > 0):
        return None
    ratio = num / den
    return math.log(ratio) if 0.0 < ratio < math.inf else None


def _pooled_var(
    series: Iterable[_Series], prior: float, cross: tuple[float, float] = (0.0, 0.0)
) -> float:
    """Noise variance shared by all series of a kind, with a cautious prior σ; ``cross``:
    (Σ variance·dof, Σ dof) seen across the series within cycles, pooled with the rest."""
    diff_sq = prior**2 * 2.0 * PRIOR_WEIGHT + 2.0 * cross[0]
    diffs = PRIOR_WEIGHT + cross[1]
    for s in series:
        diff_sq += s.diff_sq
        diffs += s.diffs
    return diff_sq / 2.0 / diffs


def _by_rows(new: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, values) arrays of a cycle's (row, value) pairs."""
    rows = np.fromiter((row for row, _ in new), dtype=np.intp, count=len(new))
    return rows, np.fromiter((value for _, value in new), dtype=float, count=len(new))


def _pooled_table(table: DiffTable, prior: float) -> float:
    """:func:`_pooled_var` of a table's rows (every inlet's series of a kind, in the
    inlets' order, as the loop over them added them)."""
    diff_sq, diffs = table.pooled(prior**2 * 2.0 * PRIOR_WEIGHT + 2.0 * 0.0)
    return diff_sq / 2.0 / (PRIOR_WEIGHT + 0.0 + diffs)


class _OffsetPrior(NamedTuple):
    """What the other inlets say of an inlet's supply offset: centre, spread², noise² (K²)."""

    centre: float
    spread_var: float
    noise_var: float


class _Balance(NamedTuple):
    """An inlet's parent's mass balance as the joint test's third witness: the balance's
    recent values (``ln(Σ children / parent)``), their noise σ, the inlet's share of the
    group's flow (its meter's bias b moves the balance by about share·b) and the largest
    significance any span of the balance shows (a bound that spares the test)."""

    values: list[float]
    sigma: float
    share: float
    reach: float


class _Circuit(NamedTuple):
    """An inlet's circuit witness (:meth:`MeterCheck._circuit_residual`): its residuals
    (oldest first), the neighbours' verdict on circuits, each value's ΔP-noise gain
    (:func:`_dp_gain`) and the ΔP transmitters' learnt relative noise²."""

    values: list[float]
    verdict: _Valve
    gains: list[float]
    dp_var: float


class _Valve(NamedTuple):
    """The valves' verdict on the flow meters: ln(flow ÷ Kv·√ΔP) is about the same at every
    inlet (``centre``, scattering by ``spread`` — characteristic tolerances) with a cycle
    noise² of ``noise_var``."""

    centre: float
    spread: float
    noise_var: float


class _Witness(NamedTuple):
    """An inlet's witness of its flow (:meth:`MeterCheck._witness`): its residuals (oldest
    first), its neighbours' verdict and whether it is the valve's (else the model's)."""

    values: list[float]
    verdict: _Valve
    valve: bool


@dataclass
class _Accrual:
    """What the flow meter and the temperatures say of the heat since the heat meter's
    register last changed (its open span, :mod:`.registers`): Σ flow·ΔT·Δt, Σ ΔT·Δt, Σ Δt
    and the cycles; the largest flow change no witness confirmed and the strokes' variance
    (:func:`_stroke_var`, each weighed by its cycle's share of the span); the last cycle's
    flow and ΔT. ``ok``: every cycle of the span was read (else it tells nothing)."""

    heat: float = 0.0
    weight: float = 0.0
    time: float = 0.0
    cycles: int = 0
    moved: float = 0.0
    strokes: float = 0.0  # Σ stroke variance·Δt²
    stroke: float = 0.0  # the last cycle's stroke variance
    flow: float = 0.0
    dt: float = 0.0
    ok: bool = True

    def add(self, flow: float, dt_k: float, dt_s: float, moved: float, confirmed: bool) -> None:
        self.heat += flow * dt_k * dt_s
        self.weight += dt_k * dt_s
        self.time += dt_s
        self.cycles += 1
        if not confirmed:
            self.moved = max(self.moved, moved)
        self.stroke = _stroke_var(moved, dt_s)
        self.strokes += self.stroke * dt_s**2
        self.flow, self.dt = flow, dt_k


@dataclass
class _Inlet:
    """What the check remembers of one inlet between cycles."""

    time_s: float | None = None
    register: Register = field(default_factory=Register)  # the heat meter's (spans)
    accrual: _Accrual = field(default_factory=_Accrual)  # the flow meter's over its span
    chained: bool = False  # the last span closed gave a pair value (the next starts there)
    flow_m3h: float | None = None
    ratio: _Series = field(default_factory=_Series)
    # (its supply offsets, reading − common supply: the check's table, MeterCheck.offsets)
    offset_sd: list[float] = field(default_factory=list)  # offset error behind each ratio (K)
    # the offset each ratio now stands on and its ΔT (K): older ratios are moved onto the
    # newest offset as it is learnt (:meth:`MeterCheck._rebase`)
    offset_at: list[float] = field(default_factory=list)
    dt_at: list[float] = field(default_factory=list)
    offset_gap: float = 0.0  # how far the offsets they stand on reach from the newest (K)
    pooled: bool = False  # ratios computed on the common supply (the series restarted then)
    dt_k: float | None = None  # ΔT of the last heat-balance value
    last_ratio: float | None = None  # the last cycle's ratio, taken or not (strokes, spikes)
    # (its witness series — valve, model, circuit — and the circuit's gains: rows of the
    # check's tables, MeterCheck.witnesses and MeterCheck.circuit_gains)
    avail_log: float | None = None  # ln(available ΔP) last read (its noise, :meth:`_dp_noise`)

    @property
    def heat_kwh(self) -> float | None:
        """The heat meter's register as last read (kWh)."""
        return self.register.kwh


class MeterCheck:
    """Flow meters against heat meters and against their parent's meter, over time."""

    def __init__(self, network: Network, *, threshold: float = 0.05, z: float = 5.0) -> None:
        if not (math.isfinite(threshold) and 0.0 < threshold < 1.0):
            raise ValueError(f"threshold must be within (0, 1), not {threshold!r}")
        if not (math.isfinite(z) and z > 0):
            raise ValueError(f"z must be above 0, not {z!r}")
        self.threshold = threshold
        self.z = z
        self.groups = _groups(network)
        self.parents = {kid: parent for parent, kids in self.groups.items() for kid in kids}
        self._totals: dict[str, float] = {}  # this cycle's Σ children of each complete group
        self._shares: dict[str, dict[str, float]] = {}  # each child's share, last complete
        self.valves: dict[str, Device] = {
            i.id: i.device for i in network.inlets.values() if i.device.actuated and i.device.kvs
        }
        parents = {i.parent for i in network.inlets.values() if i.parent}
        # (design flow, design ΔP) of each heated circuit behind a valve: a building with
        # households has none of its own (its ΔP feeds theirs)
        self.circuits: dict[str, tuple[float, float]] = {
            i.id: (i.design_flow_m3h, i.internal_dp_kpa)
            for i in network.inlets.values()
            if i.id in self.valves
            and i.id not in parents
            and i.internal_dp_kpa > 0
            and i.design_flow_m3h > 0
        }
        self.inlets: dict[str, _Inlet] = {}
        # each inlet's supply offsets (reading − common supply, K; the last WINDOW cycles'):
        # one matrix row per inlet (:mod:`.series_table`), not a list in its _Inlet
        self.offsets = SeriesTable(WINDOW)
        # each inlet's witness series (exact values: no stroke, no quantisation), one table
        # per kind, a row per inlet in the order of :attr:`inlets` in every table (the
        # pooled noise adds them up in that order, as the loop over the inlets did):
        # ln(flow ÷ the valve's Kv·√ΔP), ln(flow ÷ the network model's flow), ln(flow ÷ the
        # circuit's √ΔP flow)
        self.witnesses = {kind: DiffTable(WINDOW) for kind in WITNESSES}
        # per circuit value: how much more the two ΔP transmitters' noise weighs in it than
        # in the valve's residual, in units of one transmitter's relative noise²
        # (:func:`_dp_gain`); as long as the inlet's circuit series
        self.circuit_gains = SeriesTable(WINDOW)
        # this cycle's new witness values (row, value) per kind, the circuit rows restarted
        # and the new gains (row, gain): added after the inlets' pass (:meth:`_add_witnesses`)
        self._new: dict[str, list[tuple[int, float]]] = {kind: [] for kind in WITNESSES}
        self._restarted: list[int] = []
        self._gains: list[tuple[int, float]] = []
        self.balances: dict[str, _Series] = {}
        self.active: dict[str, tuple[str, float, float]] = {}  # id → (kind, bias, since)
        self.flow_odds: dict[str, float] = {}  # undecided pairs: log-odds "flow meter lies"
        self.factors: dict[str, float] = {}  # last applied flow correction per inlet (×)
        # this cycle's (ratio, extra, quantisation) per inlet
        self._pending: dict[str, tuple[float, float, _Quant | None]] = {}
        self.centres: list[float] = []  # the cycles' median ratios (what all inlets shared)
        self.cross: tuple[float, float] = (0.0, 0.0)  # Σ spread²·dof, Σ dof of the cycles
        # the same for the cycle-to-cycle change of ln(available ΔP): its transmitters' noise
        self.dp_cross: tuple[float, float] = (0.0, 0.0)
        self._dp_steps: list[float] = []  # this cycle's changes of ln(available ΔP)
        # the network model's supply offsets from the common supply (K, pipe losses), if told
        self.expected_offsets: dict[str, float] = {}
        # the supply readings' median less the model's substation supply, per cycle (K), where
        # the substation's supply is the model's estimate (:meth:`_with_model`)
        self.model_gaps: list[float] = []

    @property
    def level(self) -> float:
        """Smallest mean log-ratio taken for a bias (0.7 of the threshold's)."""
        return 0.7 * math.log1p(self.threshold)

    # --- the cycle -----------------------------------------------------------------------
    def update(
        self,
        meas: Measurements,
        predicted: Mapping[str, float] | None = None,
        losses: Mapping[str, float] | None = None,
    ) -> list[Finding]:
        """Feed one cycle's readings (needs ``time_s``); the findings active now.

        ``predicted``: per inlet, the flow the network model gives at the valves' read
        positions and the pump's speed — computed from no meter, so a biased one cannot pull
        it (the controller's forward solve). It is the witness where no valve ΔP is read
        (a plant behind Home Assistant entities reads flow, temperatures and position only).
        ``losses``: per inlet, the supply water's cooling from the substation to the inlet
        (K) the network model's pipes give at about the present flows; kept until told anew.
        """
        if losses is not None:
            self.expected_offsets = _expected_offsets(losses)
        now = usable(meas.time_s)
        if now is None:
            return self.findings()
        heat_flows: dict[str, float] = {}
        prior = self._offset_prior()
        readings = [r.get("supply_c") for r in meas.inlets.values()]
        common = self._common_supply(meas, prior.noise_var, readings)
        supplies = self._supplies(meas, readings, common, prior)
        inlets, rows = self.inlets, self.witnesses["valve"].rows
        flows: dict[str, float | None] = {}
        valve_last, model_last = self.witnesses["valve"].lasts(), self.witnesses["model"].lasts()
        self._forget_new()  # (none left by a cycle that raised half-way)
        for (iid, reading), supply in zip(meas.inlets.items(), supplies, strict=True):
            # the inlet's state and its judged flow looked up once for the three witnesses
            # (23,870 inlets a cycle at 23k)
            state = inlets.get(iid)
            if state is None:  # setdefault would build a new one every cycle
                state = inlets[iid] = _Inlet()
                self._track(iid)
            row = rows[iid]  # the inlet's row in every witness table
            last = valve_last[row] if row < len(valve_last) else None
            flow = flows[iid] = _meter_flow(reading)
            confirmed = self._valve_residual(iid, (row, last), state, reading, flow)
            expected = predicted.get(iid) if predicted is not None else None
            last = model_last[row] if row < len(model_last) else None
            confirmed = self._model_residual(iid, (row, last), reading, flow, expected) or confirmed
            q_heat = self._heat_flow(iid, state, reading, flow, now, supply, confirmed)
            if q_heat is not None:
                heat_flows[iid] = q_heat
        self._add_witnesses()
        self._add_ratios()
        self._dp_noise()
        self._balances(meas, flows)
        self._judge(meas, heat_flows, now)
        return self.findings()

    def _track(self, iid: str) -> None:
        """A row for a new inlet in every witness table (last: the tables' rows keep the
        order of :attr:`inlets`)."""
        for table in (*self.witnesses.values(), self.circuit_gains):
            table.row(iid)

    def _add_witnesses(self) -> None:
        """This cycle's witness values into their tables, one array step per kind (each
        as ``_Series.add`` added it to the inlet's list: 41,000 calls a cycle at 23k), and
        the circuit series restarted this cycle emptied first."""
        if self._restarted:
            restarted = np.array(self._restarted, dtype=np.intp)
            self.witnesses["circuit"].restart(restarted)
            self.circuit_gains.restart(restarted)
        for kind, new in self._new.items():
            if new:
                self.witnesses[kind].add(*_by_rows(new))
        if self._gains:
            self.circuit_gains.append(*_by_rows(self._gains))
        self._forget_new()

    def _forget_new(self) -> None:
        """No witness values waiting (a cycle's pass begins, or its values are in)."""
        self._new = {kind: [] for kind in WITNESSES}
        self._restarted, self._gains = [], []

    def _add_ratios(self) -> None:
        """This cycle's pair ratios into their series, less what they all share.

        Every inlet's heat balance uses the cycle's common supply, so its error (and any
        other error of the whole network's, a transient every building sees) moves every
        ratio alike: a healthy week scattered 2 % common against 3 % each inlet's own. The
        cycle's median ratio (over :data:`CENTRE_MIN` or more steady ones) is divided out —
        a biased meter is one inlet's, never the median. The steady ratios' robust spread
        about it (1.4826·MAD, a liar barely moves it) is a sample of the pair noise with
        n − 1 degrees of freedom each cycle: the noise level is known after two cycles,
        where successive differences alone needed a day.
        """
        pending, self._pending = self._pending, {}
        steady = sorted(r for r, extra, quant in pending.values() if _steady(extra, quant))
        shared = len(steady) >= CENTRE_MIN
        if shared:
            centre = _median(steady)
            self.centres.append(centre)
            del self.centres[:-WINDOW]
            spread = 1.4826 * _median(sorted(abs(r - centre) for r in steady))
            self.cross = (
                self.cross[0] + spread**2 * (len(steady) - 1),
                self.cross[1] + len(steady) - 1,
            )
        else:  # too few this cycle: what the network shared lately
            centre = _median(sorted(self.centres)) if self.centres else 0.0
        for iid, (ratio, extra, quant) in pending.items():
            # A steady ratio is centred on the others' median: its own would pull the
            # median its way (on loop8's 8 inlets a +10 % meter's pair lost 0.7 % so).
            own = _median_without(steady, ratio) if shared and _steady(extra, quant) else centre
            self.inlets[iid].ratio.add((1.0 + ratio) / (1.0 + own) - 1.0, extra, quant)

    def findings(self) -> list[Finding]:
        """Active findings, ordered by id."""
        out = []
        for key, (kind, bias, since) in sorted(self.active.items()):
            iid = key.removesuffix(":meter")  # a group's balance names its parent
            out.append(Finding(iid, kind, "warning", _message(iid, kind, bias), since))
        return out

    def corrected(self, meas: Measurements) -> Measurements:
        """``meas`` with a diagnosed flow meter's reading replaced by the consistent flow."""
        # A pair's bias is flow over heat (divide it out); a building's balance bias is its
        # households' sum over its own meter (multiply it in). The substation is not an inlet.
        # Undecided which of the pair lies: weighted by the balance's odds so far (½ without
        # any: the geometric mean, which halves the worst error).
        fixes = {
            iid: b if kind == "flow_meter_bias" else self.flow_share(iid) * b
            for iid, (kind, b, _) in self.active.items()
            if kind in ("flow_meter_bias", "meter_disagreement")
        }
        for key, (kind, d, _) in self.active.items():
            if kind == "parent_meter_bias" and key != f"{SUBSTATION}:meter":
                fixes[key.removesuffix(":meter")] = -d
        self.factors = {iid: math.exp(-bias) for iid, bias in fixes.items()}
        if not fixes:
            return meas
        inlets = dict(meas.inlets)
        for iid, bias in fixes.items():
            reading = inlets.get(iid)
            flow = reading.get("flow_m3h") if reading is not None else None
            if reading is None or flow is None:
                continue
            inlets[iid] = replace(
                reading,
                flow_m3h=flow * math.exp(-bias),
                flagged=reading.flagged | {"flow_m3h_corrected"},
            )
        return replace(meas, inlets=inlets)

    # --- heat balance per inlet ----------------------------------------------------------
    def _common_supply(
        self, meas: Measurements, noise_var: float, values: list[float | None] | None = None
    ) -> float | None:
        """The cycle's common supply temperature: the median of every supply reading; where
        the substation's supply is a model's estimate (``Measurements.estimated``), the
        readings' median with that estimate weighed in by its own uncertainty
        (:meth:`_with_model`), never counted as a reading. ``noise_var``: one supply
        sensor's noise² (K²); ``values``: each inlet's supply reading, if read already."""
        if values is None:
            values = [r.get("supply_c") for r in meas.inlets.values()]
        values = values[:]
        station = None if meas.substation_flagged else usable(meas.supply_c)
        model = station if "supply_c" in meas.estimated else None
        if model is None:
            values.append(station)
        present = sorted(v for v in values if v is not None)
        if model is not None and len(present) >= 2:
            return self._with_model(_median(present), len(present), model, noise_var)
        if len(present) < 3:
            return None  # too few to tell one sensor's noise from the water's temperature
        return _median(present)

    def _with_model(self, read: float, count: int, model: float, noise_var: float) -> float:
        """The readings' median ``read`` (of ``count`` supply readings) and the network
        model's substation supply, each weighed by the inverse of its variance.

        The model is no sensor: its supply follows a supply curve, not the water, and may
        stand off the water by a steady amount (another curve, pipe losses) and wander about
        it. Its gaps to the readings' median over the last :data:`WINDOW` cycles give both:
        their mean is the steady offset (taken out), their scatter net of the median's own
        noise the model's variance (shrunk toward :data:`MODEL_SUPPLY_PRIOR_K`, floored at
        :data:`MODEL_SUPPLY_FLOOR_K`). Counted as one reading of three, a model value that is
        the truth decided the median alone on a two-building network, and one off the water
        would have pulled every heat balance by its gap (gen2-pair's +10 % meter through HA
        named at 8 where the engine, reading a sensor, named at 6: issue 10).
        """
        read_var = noise_var * (1.0 if count < 3 else math.pi / 2.0) / count
        gaps = self.model_gaps
        gaps.append(read - model)
        del gaps[:-WINDOW]
        n = len(gaps)
        mean = sum(gaps) / n
        excess = sum((g - mean) ** 2 for g in gaps) - (n - 1) * read_var
        model_var = (MODEL_SUPPLY_PRIOR_K**2 * PRIOR_WEIGHT + excess) / (PRIOR_WEIGHT + n - 1)
        model_var = max(model_var, MODEL_SUPPLY_FLOOR_K**2)
        estimate_var = model_var + (model_var + read_var) / n  # the offset's mean is uncertain
        weight = read_var / (read_var + estimate_var)
        return read + weight * (model + mean - read)

    def _supplies(
        self,
        meas: Measurements,
        readings: list[float | None],
        common: float | None,
        prior: _OffsetPrior,
    ) -> list[tuple[float | None, float, float | None]]:
        """Each inlet's supply temperature, its offset's error and the offset (K; None where
        no common supply), in ``meas.inlets``' order (``readings``: their supply readings):
        common supply plus the inlet's offset from it, shrunk toward the other inlets' (see
        the module doc). Every read inlet's new offset goes into :attr:`offsets` at once and
        the sums are taken on its rows at once, each exactly as the per-inlet ``sum`` of its
        list gave it (23,870 inlets a cycle at 23k).

        Empirical Bayes: the inlets' offsets (pipe losses) scatter by τ around their median;
        one inlet's n offsets, each with the supply sensor's noise σ, weigh n/σ² against
        the others' 1/τ². So a young inlet borrows its neighbours' offset from the first
        cycle (its error τ, not its sensor's σ), and an old one its own. Where the network
        model's pipe losses are known, the offsets scatter by τ around what the model says
        for each inlet (:attr:`expected_offsets`) — what is left is the model's error, far
        less than the losses themselves (loop8's two far buildings sit 0.37 K under the
        others: τ ≈ 0.19 K from the offsets alone, a 1.3 % error of a 14 K heat balance).
        """
        out: list[tuple[float | None, float, float | None]] = [(r, 0.0, None) for r in readings]
        picked = [k for k, own in enumerate(readings) if own is not None]
        if common is None or not picked:
            return out
        keys = list(meas.inlets)
        table, expected = self.offsets, self.expected_offsets
        rows = np.fromiter((table.row(keys[k]) for k in picked), dtype=np.intp, count=len(picked))
        with np.errstate(over="ignore", invalid="ignore"):  # inf/nan as Python's floats give
            table.append(rows, np.array([readings[k] for k in picked], dtype=float) - common)
            centre = prior.centre + np.array([expected.get(keys[k], 0.0) for k in picked])
            precision = table.lengths[rows] / prior.noise_var + 1.0 / prior.spread_var
            offset = (table.sums(rows) / prior.noise_var + centre / prior.spread_var) / precision
            sd = np.sqrt(1.0 / precision)
            supply = common + offset
        triples = zip(supply.tolist(), sd.tolist(), offset.tolist(), strict=True)
        for k, values in zip(picked, triples, strict=True):
            out[k] = values
        return out

    def _persistent(self, state: _Inlet) -> Callable[[int], float]:
        """Ratio error shared by an inlet's last n values: their supply offsets' (see doc).

        The values moved onto the newest offset (:meth:`_rebase`) share its error alone;
        older ones (a state stored before) are bounded by the value whose offset was least
        certain. A value computed from the inlet's own reading (no common supply) has its
        noise in the differences.
        """

        at, gap = state.offset_at, state.offset_gap

        def shared(n: int) -> float:
            if not state.offset_sd or state.dt_k is None or state.dt_k <= 0:
                return 0.0
            if len(at) >= min(n, len(state.ratio.values)):  # within REBASE_K of the newest
                return math.hypot(state.offset_sd[-1], gap) / state.dt_k
            return max(state.offset_sd[-n:]) / state.dt_k

        return shared

    @staticmethod
    def _rebase(state: _Inlet, offset: float) -> None:
        """Move the inlet's past ratios onto its newest supply offset.

        A ratio is ``A·(ΔT)`` less 1 for the ΔT its offset gave then; an offset now
        known better by δ moves it by ``δ·(1 + r)/ΔT``. Each value then carries only the
        newest offset's error (and what is left below :data:`REBASE_K`), not the one it was
        computed with: the early cycles' poorer
        offsets (≈1.2 % of a 14 K heat balance, against ≈0.65 % after 20 cycles) kept a
        5 % meter within 4 standard errors however many cycles were averaged.
        """
        values, at, dts = state.ratio.values, state.offset_at, state.dt_at
        state.offset_gap = max(abs(offset - min(at)), abs(max(at) - offset)) if at else 0.0
        if state.offset_gap <= REBASE_K:
            return
        for i in range(1, min(len(values), len(at), len(dts)) + 1):
            delta = offset - at[-i]
            if delta:
                values[-i] += delta * (1.0 + values[-i]) / dts[-i]
                at[-i] = offset
        state.offset_gap = 0.0

    def _offset_prior(self) -> _OffsetPrior:
        """Where the inlets' supply offsets lie (median), how far apart (τ², net of each
        mean's own noise) and one reading's noise σ² (pooled around each inlet's own mean),
        from every inlet's offsets so far — one pass over them. With the model's expected
        offsets, centre and spread are of what the model leaves unexplained."""
        sq, count = SUPPLY_PRIOR_K**2 * PRIOR_WEIGHT, PRIOR_WEIGHT
        expected = self.expected_offsets
        table = self.offsets
        at, lengths_of = table.rows, table.lengths.tolist()
        held = [
            (iid, row)
            for iid in self.inlets
            if (row := at.get(iid)) is not None and lengths_of[row]
        ]
        if not held:
            return _OffsetPrior(0.0, SPREAD_PRIOR_K**2, sq / count)
        # every inlet's mean and squared deviations at once, each exactly as Python's `sum`
        # of its list and `d * d` give them (:mod:`.rowsums`; 23,870 rows of up to 48)
        cols, lengths = table.columns(np.array([row for _, row in held], dtype=np.intp))
        mean_col = python_sums(cols, lengths) / lengths
        for dev in python_sums(squares(cols - mean_col), lengths).tolist():
            sq += dev  # in the inlets' order, as the loop added them
        count += int(lengths.sum()) - len(held)
        noise_var = sq / count
        # what the model leaves of each inlet's mean
        means = mean_col - np.array([expected.get(iid, 0.0) for iid, _ in held])
        centre = _median(sorted(means.tolist()))
        excess = sum((squares(means - centre) - noise_var / lengths).tolist())
        spread = (SPREAD_PRIOR_K**2 * PRIOR_WEIGHT + excess) / (PRIOR_WEIGHT + len(held))
        return _OffsetPrior(centre, max(spread, SPREAD_FLOOR_K**2), noise_var)

    def _heat_flow(
        self,
        iid: str,
        state: _Inlet,
        reading: InletReading,
        flow: float | None,
        now: float,
        supplied: tuple[float | None, float, float | None],
        confirmed: bool = False,
    ) -> float | None:
        """Flow implied by the heat meter over the span its register closed this cycle (the
        last cycle where the register is exact, :mod:`.registers`); feeds the pair's series.
        The flow meter and ΔT are accrued over the same span, cycle by cycle.

        ``flow``: the inlet's :func:`_meter_flow`; ``supplied``: its :meth:`_supplies`;
        ``confirmed``: the valve's Kv·√ΔP moved with the flow reading (a stroke, not a spike).
        """
        energy = usable(getattr(reading, "heat_kwh", None))
        supply, offset_sd, offset = supplied
        ret = reading.get("return_c")
        change = _log_ratio(flow, state.flow_m3h)
        acc = state.accrual
        if state.time_s is not None and now > state.time_s:
            if (
                change is not None
                and supply is not None
                and ret is not None
                and supply - ret >= MIN_DT_K
            ):
                acc.add(flow, supply - ret, now - state.time_s, abs(change), confirmed)  # type: ignore[arg-type]
            else:
                acc.ok = False  # a cycle whose heat the flow meter cannot say
        state.time_s, state.flow_m3h = now, flow
        if energy is None:
            return None
        span = state.register.read(energy, now)
        if span is None:
            if state.register.anchor_s == now:  # a first reading, or the register went back
                state.accrual, state.chained = _Accrual(), False
            return None
        state.accrual = _Accrual()
        if not acc.ok or acc.cycles == 0:
            state.chained = False
            return None
        q_heat = self._span_value(iid, state, acc, span, (offset_sd, offset))
        state.chained = q_heat is not None
        return q_heat

    def _span_value(
        self,
        iid: str,
        state: _Inlet,
        acc: _Accrual,
        span: Span,
        supply: tuple[float, float | None],
    ) -> float | None:
        """The pair's value over one closed register span (flow implied by the heat meter,
        or None where the span's flow changed in a way the heat meter did not follow)."""
        seconds = span.end_s - span.start_s
        power_w = span.heat_kwh * 3.6e6 / seconds
        if acc.cycles == 1:  # one cycle (an exact register): its own readings
            flow, dt_k, extra = acc.flow, acc.dt, acc.stroke
        else:
            flow, dt_k = acc.heat / acc.weight, acc.weight / acc.time
            extra = acc.strokes / seconds**2
        q_heat = power_w / (WATER_DENSITY * WATER_CP * dt_k) * 3600.0
        # Linear, not log: ΔT enters linearly, so its noise stays symmetric (a log
        # ratio's heavier low tail gave false alarms on households with noisy sensors).
        offset_sd, offset = supply
        pooled = offset is not None
        if pooled and not state.pooled:
            # Values on the own sensor are noisier: their differences would keep the
            # noise estimate high for days. The series starts again on the new basis.
            state.ratio, state.offset_sd, state.pooled = _Series(), [], True
            state.offset_at, state.dt_at = [], []
            state.chained = False
        ratio = flow / q_heat - 1.0
        last, state.last_ratio = state.last_ratio, ratio
        if not _counts(last, ratio, acc.moved):
            return None
        quant = None
        if span.start_sd or span.end_sd:  # the register's step: each end's error, relative
            scale = (1.0 + ratio) / span.heat_kwh
            quant = _Quant(span.start_sd * scale, span.end_sd * scale, state.chained)
        self._pending[iid] = (ratio, extra, quant)
        state.dt_k = dt_k
        state.offset_sd.append(offset_sd)
        del state.offset_sd[:-WINDOW]
        if offset is not None:
            self._rebase(state, offset)
            state.offset_at.append(offset)
            state.dt_at.append(dt_k)
            del state.offset_at[:-WINDOW], state.dt_at[:-WINDOW]
        return q_heat

    # --- the valve's own word ------------------------------------------------------------
    def _valve_residual(
        self,
        iid: str,
        at: tuple[int, float | None],
        state: _Inlet,
        reading: InletReading,
        flow: float | None,
    ) -> bool:
        """ln(flow ÷ Kv(opening)·√(ΔP_valve/100 kPa)): what the flow meter reads over what
        the valve passes. A biased flow meter shifts it by its bias; a biased heat meter
        does not; a valve whose characteristic is off shifts it without the heat balance.
        Needs the valve's position and its ΔP; both are instantaneous like the flow, so a
        stroke costs nothing here.

        Returns whether it stayed within :data:`TRANSIENT` of the last cycle's: then a flow
        that moved was the valve's stroke, not a spike of the meter. ``flow``: the inlet's
        :func:`_meter_flow`; ``at``: the inlet's row in the witness tables and its valve
        series' newest value before this cycle (the value joins the table after the pass
        over the inlets, :meth:`_add_witnesses`).
        """
        device = self.valves.get(iid)
        if device is None:  # no valve to witness (before reading anything: 23,870 a cycle)
            return False
        opening, dp = reading.get("opening"), reading.get("valve_dp_kpa")
        if opening is None or dp is None or dp <= 0:
            return False
        residual = _log_ratio(flow, device.kv(opening) * math.sqrt(dp / 100.0))
        if residual is None:
            return False
        row, last = at
        self._new["valve"].append((row, residual))
        self._circuit_residual(state, (iid, row), reading, flow, dp)
        return last is not None and abs(residual - last) <= TRANSIENT

    def _circuit_residual(
        self,
        state: _Inlet,
        at: tuple[str, int],
        reading: InletReading,
        flow: float | None,
        dp: float,
    ) -> None:
        """ln(flow ÷ q_design·√(ΔP_circuit ÷ ΔP_design)): what the flow meter reads over
        what the heated circuit behind the valve passes at the ΔP it gets (available less
        the valve's, :class:`~.hydraulics.result.HydraulicResult`). A third witness of the
        flow, independent of the valve's characteristic and of the heat meter: a biased
        flow meter shifts it by its bias as it shifts the valve's residual; a valve off its
        characteristic moves the valve's residual only (the water really changed, so the
        circuit's ΔP agrees with the meter); a circuit changed (radiators closed, the file's
        ΔP wrong) only this one. So "the flow meter" and "the valve" are told apart by
        pressures and flow alone (about 1.3–2.5 % a cycle at 1 % transmitters), not only by
        the heat balance (3.6 %: its return sensor's noise over ΔT). Only where the circuit
        takes :data:`CIRCUIT_MIN_SHARE` of the available ΔP or more.

        The difference of two transmitters is noisier the smaller the circuit's share of the
        available ΔP: each value keeps its own weight (:func:`_dp_gain`), never a noise level
        pooled over circuits that take more (that named a sound meter beside a throttled
        dirty valve: a circuit with 15–20 % of the ΔP read with 6–13 % noise at 2 %).

        Called in each cycle the valve's residual is taken: a cycle without the circuit's
        starts its series afresh, so its recent values always stand beside the valve's and
        the pair's of the same cycles (old values from before a bias began contradicted
        it: named later, and corrected too far)."""
        iid, row = at  # the inlet and its row in the witness tables
        design = self.circuits.get(iid)
        if design is None:
            return
        avail = reading.get("dp_available_kpa")  # ``dp``: the valve's, read and above 0
        residual = None
        if avail is not None and avail > 0:
            self._dp_step(state, math.log(avail))
            circuit = avail - dp
            if circuit >= CIRCUIT_MIN_SHARE * avail:
                passed = design[0] * math.sqrt(circuit / design[1])
                residual = _log_ratio(flow, passed)
        if residual is None or avail is None:
            if self.witnesses["circuit"].lengths[row]:
                self._restarted.append(row)
            return
        self._new["circuit"].append((row, residual))
        self._gains.append((row, _dp_gain(avail, dp)))

    def _dp_step(self, state: _Inlet, log_avail: float) -> None:
        """Note this cycle's change of the inlet's ln(available ΔP) (its transmitter's noise,
        :meth:`_dp_noise`)."""
        if state.avail_log is not None:
            self._dp_steps.append(log_avail - state.avail_log)
        state.avail_log = log_avail

    def _dp_noise(self) -> None:
        """Learn the ΔP transmitters' noise from this cycle's changes of ln(available ΔP):
        their robust spread about the median change (what the pump or the season moved for
        every inlet drops out; a few valves that moved barely widen it) is a sample of twice
        the transmitter's relative noise², as the pair ratios' (:meth:`_add_ratios`). A
        valve stroke that moves many inlets' ΔP widens it: the circuit witness then weighs
        less, never more. A cycle whose median change is beyond :data:`TRANSIENT` is the
        network moving (the first cycles' openings: 5.5 % spread against ≈1 % after on
        estate12), not its transmitters: it says nothing of their noise."""
        steps, self._dp_steps = sorted(self._dp_steps), []
        if len(steps) < CENTRE_MIN:
            return
        centre = _median(steps)
        if abs(centre) > TRANSIENT:
            return
        spread = 1.4826 * _median(sorted(abs(d - centre) for d in steps))
        dof = len(steps) - 1
        self.dp_cross = (self.dp_cross[0] + spread**2 * dof, self.dp_cross[1] + dof)

    def _dp_noise_var(self) -> float:
        """One ΔP transmitter's relative noise² learnt so far, with :data:`DP_PRIOR`."""
        sq, dof = self.dp_cross
        return (DP_PRIOR**2 * PRIOR_WEIGHT + sq / 2.0) / (PRIOR_WEIGHT + dof)

    def _model_residual(
        self,
        iid: str,
        at: tuple[int, float | None],
        reading: InletReading,
        flow: float | None,
        expected: float | None,
    ) -> bool:
        """ln(flow ÷ the model's flow at the valve's read position): the valve's word where
        its ΔP is not read. The model's common error (pump curve, pipe scale) is the same
        at every inlet and drops out against the neighbours' median (:meth:`_verdict`); a
        drawing wrong in one branch widens their spread, so the witness weakens there but
        does not accuse. Returns whether it stayed within :data:`TRANSIENT` of the last
        cycle's (a stroke the model followed, not a spike of the meter). ``at``: the inlet's
        row and its model series' newest value before this cycle.
        """
        if expected is None or iid not in self.valves or reading.get("opening") is None:
            return False
        residual = _log_ratio(flow, expected)
        if residual is None:
            return False
        row, last = at
        self._new["model"].append((row, residual))
        return last is not None and abs(residual - last) <= TRANSIENT

    def _verdict(self, kind: str) -> _Valve | None:
        """Centre and spread of the inlets' witness residuals (median, MAD), None below
        three: one inlet far from its neighbours is the odd one, whatever the model's common
        error. ``kind`` picks the series: the valve's (ΔP read), the model's or the
        circuit's. Each inlet's mean is its row's ``sum`` over its length, bit for bit the
        ``sum`` of its list (:mod:`.series_table`; 23,870 rows of up to 48 at 23k)."""
        table = self.witnesses[kind]
        held = np.flatnonzero(table.lengths[: len(table.rows)])
        if len(held) < 3:
            return None
        means = sorted((table.sums(held) / table.lengths[held]).tolist())
        if len(means) < 3:
            return None
        centre = _median(means)
        mad = 1.4826 * _median(sorted(abs(m - centre) for m in means))
        # Empirical Bayes, as the supply offsets' spread (:meth:`_offset_prior`): the prior
        # worth PRIOR_WEIGHT inlets, each inlet's mean one sample of the scatter (the robust
        # spread, so a lying meter or a dirty valve does not widen it). A fixed 2 % floor
        # ignored what a dozen valves agreeing within 0.3 % for a day say, and left a 5 %
        # meter at 2.5 standard errors of the valve: never named as such.
        var = (VALVE_SPREAD_PRIOR**2 * PRIOR_WEIGHT + mad**2 * len(means)) / (
            PRIOR_WEIGHT + len(means)
        )
        noise_var = _pooled_table(table, VALVE_PRIOR)
        return _Valve(centre, max(math.sqrt(var), VALVE_SPREAD_FLOOR), noise_var)

    def _joint(
        self,
        state: _Inlet,
        sigma: float,
        persistent: Callable[[int], float],
        witness: _Witness | None,
        balance: _Balance | None = None,
        family: float = 0.0,
        circuit: _Circuit | None = None,
    ) -> tuple[float, int] | None:
        """(log-bias, span) of a flow meter named on the heat balance and the valve together
        (``witness``: the valve's series and verdict, or the model's, :func:`_witness`).

        Each span's pair mean ``p`` and valve residual ``h`` (off the neighbours' centre) are
        weighed: a biased flow meter shifts both by ``b``; a biased heat meter only ``p``; a
        valve off its characteristic only ``h``; a sound plant neither. The flow meter is
        named when its likelihood beats each other explanation's by :data:`EVIDENCE`
        (a generalised likelihood-ratio test, run over growing spans — sequential). The
        valve pins the size, so the pair needs only ≈4 standard errors, not 5.

        ``balance``: the parent's mass balance, moved by share·b under "flow meter" and by
        nothing under the others — or by anything under "the parent's meter" (with pair and
        valve sound, or, as a second fault beside the heat meter or the valve, at the
        price of :data:`EVIDENCE`). On a small network it adds what the pair lacks: loop8's
        +10 % building is 12.5 % of the flow, a 1.2 % shift against ≈1.1 % noise a cycle.

        ``family``: log-LR added to :data:`EVIDENCE` for the number of pairs tested
        (:func:`_family`).

        ``circuit``: the circuit's ΔP as a third witness (:class:`_Circuit`,
        :meth:`_circuit_residual`), with the valve only: a flow meter shifts it with the
        valve, a valve off its characteristic does not, so the valve is ruled out without
        waiting for the heat balance. It shares the flow meter's noise with the valve's
        residual (weighed as correlated, :func:`_flow_evidence_circuit`); its own ΔP noise
        is each value's (:func:`_circuit_noise`).
        """
        if witness is None or not state.ratio.values:
            return None
        evidence = EVIDENCE + family
        values, verdict = witness.values, witness.verdict
        if circuit is not None and (not witness.valve or not circuit.values):
            circuit = None
        # "Heat meter" explains a pair shift with valve, circuit and balance at zero, so the
        # flow meter can win only where their standard scores reach √(2·EVIDENCE) together;
        # no span's mean can be where no value is, and no span's error is below the
        # longest's (with the circuit: below the spread alone; most inlets stop here).
        reach = balance.reach**2 if balance is not None else 0.0
        off = max(max(values) - verdict.centre, verdict.centre - min(values))
        if circuit is None:
            bound = off**2 / _valve_var(verdict, len(values))
        else:
            cvals, cver = circuit.values, circuit.verdict
            off_c = max(max(cvals) - cver.centre, cver.centre - min(cvals))
            bound = (off / verdict.spread) ** 2 + (off_c / cver.spread) ** 2
        if bound + reach < 2.0 * evidence:
            return None
        valve_means = _span_means(values, verdict.centre)
        spans = {min(n, len(values)) for n in VALVE_WINDOWS if n <= len(state.ratio.values)}
        if circuit is None:
            score = max((valve_means[m] ** 2 / _valve_var(verdict, m) for m in spans), default=0.0)
        else:
            circuit_means = _span_means(circuit.values, circuit.verdict.centre)
            circuit_noise = _circuit_noise(circuit, verdict.noise_var)
            pairs = {
                (min(n, len(values)), min(n, len(circuit.values)))
                for n in VALVE_WINDOWS
                if n <= len(state.ratio.values)
            }
            score = max(
                (
                    _hc_score(
                        valve_means[mh],
                        circuit_means[mc],
                        _hc_cov(verdict, circuit.verdict, (mh, mc), circuit_noise[mc]),
                    )
                    for mh, mc in pairs
                ),
                default=0.0,
            )
        if score + reach < 2.0 * evidence:  # the same bound, span by span
            return None
        found, best = None, evidence  # the span with the most evidence (see _Series.bias)
        for n, mean, var in state.ratio.spans(VALVE_WINDOWS, sigma):
            p = math.log1p(max(mean, -0.9))
            sp = math.sqrt(var + persistent(n) ** 2) / (1.0 + max(mean, -0.9))
            m = min(n, len(values))
            h = valve_means[m]
            sh = math.sqrt(_valve_var(verdict, m))
            shift = None
            if balance is not None:
                k = min(n, len(balance.values))
                mean_b = sum(balance.values[-k:]) / k
                shift = (mean_b, balance.sigma / math.sqrt(k), balance.share)
            if circuit is None:
                bias, evidence = _flow_evidence(p, sp, h, sh, shift)
            else:
                mc = min(n, len(circuit.values))
                cov = _hc_cov(verdict, circuit.verdict, (m, mc), circuit_noise[mc])
                bias, evidence = _flow_evidence_circuit(p, sp, (h, circuit_means[mc]), cov, shift)
            if evidence >= best and abs(bias) >= self.level and p * bias > 0:
                found, best = (bias, n), evidence
        return found

    def _witness(self, iid: str, verdicts: tuple[_Valve | None, _Valve | None]) -> _Witness | None:
        """The inlet's independent witness of its flow and its neighbours' verdict: the valve
        (position and ΔP read) where it speaks, else the network model's flow, else none."""
        for kind, verdict in zip(("valve", "model"), verdicts, strict=True):
            values = self.witnesses[kind].get(iid)
            if values and verdict is not None:
                return _Witness(values, verdict, kind == "valve")
        return None

    # --- mass balance per group ----------------------------------------------------------
    def _balances(self, meas: Measurements, judged: Mapping[str, float | None]) -> None:
        """Children's flows against their parent's meter, for every complete group.
        ``judged``: this cycle's :func:`_meter_flow` of each inlet read (none: not read)."""
        self._totals = {}
        pump = None if meas.substation_flagged else usable(meas.pump_flow_m3h)
        for parent, kids in self.groups.items():
            total = pump if parent == SUBSTATION else judged.get(parent)
            flows = [judged.get(k) for k in kids]
            if total is None or total <= 0 or any(f is None for f in flows):
                continue
            children = sum(f for f in flows if f is not None)
            balance = _log_ratio(children, total)
            if balance is not None:
                self.balances.setdefault(parent, _Series()).add(balance)
                self._totals[parent] = children
                self._shares[parent] = {
                    k: f / children for k, f in zip(kids, flows, strict=True) if f is not None
                }

    def _balance_witness(
        self,
        iid: str,
        meas: Measurements,
        balance_var: float,
        known: dict[str, tuple[float, float]],
    ) -> _Balance | None:
        """The parent's balance as the joint test's witness of ``iid``'s flow meter, if the
        group was complete this cycle (``known``: σ and reach per parent, filled once)."""
        parent = self._parent_of(iid)
        total = self._totals.get(parent)
        series = self.balances.get(parent)
        mine = _flow(meas, iid)
        if total is None or series is None or not series.values or mine is None:
            return None
        if not 0.0 < mine < total:
            return None
        if parent not in known:
            sigma = series.sigma(balance_var)
            spans = series.spans(VALVE_WINDOWS, sigma)
            known[parent] = (sigma, max((abs(m) / math.sqrt(v) for _, m, v in spans), default=0.0))
        sigma, reach = known[parent]
        return _Balance(series.values, sigma, mine / total, reach)

    # --- verdicts ------------------------------------------------------------------------
    def _judge(self, meas: Measurements, heat_flows: dict[str, float], now: float) -> None:
        """Open, name or clear findings from the pairs and the balances."""
        blamed: set[str] = set()
        pair_var = _pooled_var((s.ratio for s in self.inlets.values()), PAIR_PRIOR, self.cross)
        balance_var = _pooled_var(self.balances.values(), BALANCE_PRIOR)
        verdicts = (self._verdict("valve"), self._verdict("model"))
        circuits = self._verdict("circuit")
        dp_var = self._dp_noise_var()
        groups: dict[str, tuple[float, float]] = {}
        family = _family(sum(1 for s in self.inlets.values() if s.ratio.values))
        z_pair = math.sqrt(self.z**2 + 2.0 * family)
        for iid, state in self.inlets.items():
            if not state.ratio.values:
                # No pair value (no heat meter read, or its series just restarted): the joint
                # test and the pair's bias both need one and nothing clears, so only a standing
                # finding still blames its group (speed: 23,100 households without heat
                # meters at 23k, each built its witnesses for nothing)
                if iid in self.active:
                    blamed.update((self._parent_of(iid), iid))
                continue
            sigma = state.ratio.sigma(pair_var)
            persistent = self._persistent(state)
            witness = self._witness(iid, verdicts)
            balance = self._balance_witness(iid, meas, balance_var, groups)
            circuit = None
            if circuits is not None:
                values = self.witnesses["circuit"].get(iid)
                circuit = _Circuit(values, circuits, self.circuit_gains.get(iid), dp_var)
            joint = self._joint(state, sigma, persistent, witness, balance, family, circuit)
            if joint is not None:
                self.flow_odds.pop(iid, None)
                blamed.update((self._parent_of(iid), iid))
                self._open(iid, "flow_meter_bias", joint[0], now)
                continue
            found = state.ratio.bias(self.level, z_pair, sigma, persistent)
            if found is None:
                mean = state.ratio.recent_mean()
                decided = len(state.ratio.values) >= WINDOWS[0]  # a restarted series: wait
                if (
                    iid in self.active
                    and decided
                    and (mean is None or abs(mean) < 0.5 * self.level)
                ):
                    del self.active[iid]
                if iid in self.active:  # still standing: it still explains its parent's
                    blamed.update((self._parent_of(iid), iid))
                continue
            bias, span = math.log1p(max(found[0], -0.9)), found[1]  # as a log-ratio
            valve_odds = _valve_odds(bias, span, witness)
            kind = self._which_meter(iid, bias, span, meas, balance_var)
            if abs(valve_odds) >= 0.5 * SEPARATION**2:  # the valve decides on its own
                kind = "flow_meter_bias" if valve_odds > 0 else "heat_meter_bias"
            elif kind == "meter_disagreement":  # it still weighs the correction
                self.flow_odds[iid] = self.flow_odds.get(iid, 0.0) + valve_odds
            blamed.update((self._parent_of(iid), iid))  # its parent's and its own group
            self._open(iid, kind, bias, now)
        # Buildings before the substation: a building's biased meter also shifts the
        # substation's balance, and is the one to blame.
        z_balance = math.sqrt(self.z**2 + 2.0 * _family(len(self.balances)))
        for parent in sorted(self.balances, key=lambda p: p == SUBSTATION):
            series = self.balances[parent]
            key = f"{parent}:meter"
            found = series.bias(self.level, z_balance, series.sigma(balance_var))
            if found is not None and self._child_explains(parent, found[0], pair_var):
                blamed.add(parent)  # wait for the child's own test (gen2-pair, 9b)
            if found is not None and parent not in blamed:
                old = self.active.get(key)
                self.active[key] = ("parent_meter_bias", found[0], old[2] if old else now)
                blamed.add(self._parent_of(parent))
            elif parent in blamed:
                self.active.pop(key, None)  # explained by the inlet found since
            elif key in self.active:
                mean = series.recent_mean()
                if found is None and (mean is None or abs(mean) < 0.5 * self.level):
                    del self.active[key]

    def _child_explains(self, parent: str, shift: float, pair_var: float) -> bool:
        """Whether one of the group's own pairs disagrees in the direction of its parent's
        balance (``shift``, log Σ children ÷ parent) beyond :data:`EXPLAIN_Z` standard
        errors over a recent span, and nearer the bias b its flow meter would need to move
        the balance so (share·b = shift, its share of the group's last complete flows) than
        to none: then the parent's meter is not named before that child's own test speaks.
        On gen2-pair (2 buildings, no valve witness: fewer than 3 inlets) a +10 % building
        meter moved the substation's balance by 6.8 % to significance a cycle before its
        pair's 4-cycle test could name it, and the substation's meter was alarmed (9 of 10
        seeds with 30 % of readings missing). A parent meter's own bias leaves its
        children's pairs at 0: it is named as before."""
        for kid in self.groups.get(parent, ()):
            state = self.inlets.get(kid)
            if state is None or len(state.ratio.values) < 2:
                continue
            persistent = self._persistent(state)
            # the bias that would move the balance so: share·b = shift
            needed = shift / max(self._shares.get(parent, {}).get(kid, 1.0), 1e-3)
            spans = (2, *WINDOWS, len(state.ratio.values))
            for n, mean, var in state.ratio.spans(sorted(set(spans)), state.ratio.sigma(pair_var)):
                error = math.sqrt(var + persistent(n) ** 2)
                off = math.log1p(max(mean, -0.9))
                if (
                    off * shift > 0
                    and abs(off) >= EXPLAIN_Z * error
                    and 2 * abs(off) >= abs(needed)
                ):
                    return True
        return False

    def _open(self, iid: str, kind: str, bias: float, now: float) -> None:
        """Record a finding; it keeps its start while its kind stays."""
        old = self.active.get(iid)
        self.active[iid] = (kind, bias, old[2] if old and old[0] == kind else now)

    def _which_meter(
        self, iid: str, bias: float, span: int, meas: Measurements, balance_var: float
    ) -> str:
        """Flow or heat meter: which hypothesis the parent's mass balance supports.

        Over the ``span`` cycles the pair has disagreed, the balance's mean shift is
        compared with the shift a biased flow meter would cause and with none (a biased heat
        meter). Too small an inlet for the balance's noise: undecided — but the balance's
        evidence so far still weighs the correction (:attr:`flow_odds`).
        """
        self.flow_odds.pop(iid, None)
        parent = self._parent_of(iid)
        series = self.balances.get(parent)
        kids = self.groups.get(parent, [])
        flows = [_flow(meas, k) for k in kids]
        if series is None or not series.values or any(f is None for f in flows):
            return "meter_disagreement"
        n = min(len(series.values), span)
        observed = sum(series.values[-n:]) / n
        mine = _flow(meas, iid) or 0.0
        total = sum(f for f in flows if f is not None)
        if total <= 0 or mine <= 0:
            return "meter_disagreement"
        # Σ with the flow meter's bias removed from this inlet, over Σ as read.
        shift = _log_ratio(total - mine + mine * math.exp(-bias), total)
        if shift is None:
            return "meter_disagreement"
        if_flow = -shift
        error = series.sigma(balance_var) / math.sqrt(n)
        if abs(if_flow) < SEPARATION * error:
            # log-likelihood ratio of "flow meter" (shift if_flow) against "heat meter" (none)
            self.flow_odds[iid] = (observed**2 - (observed - if_flow) ** 2) / (2.0 * error**2)
            return "meter_disagreement"  # this inlet is too small for the balance to tell
        return "flow_meter_bias" if abs(observed - if_flow) < abs(observed) else "heat_meter_bias"

    def pair_ratio(self, iid: str) -> float | None:
        """The inlet's recent flow ÷ heat-balance ratio less one, what every pair shared
        taken out (None: no heat balance yet). Read by the model's drawing learning
        (``ModelBased._learn_drawing``, 9w): a flow the heat meter does not confirm is not
        the drawing's error."""
        state = self.inlets.get(iid)
        return state.ratio.recent_mean() if state is not None else None

    def flow_share(self, iid: str) -> float:
        """Probability that a disagreeing pair's liar is the flow meter (½: no evidence).

        From the parent's mass balance (:meth:`_which_meter`), equal odds before it. The
        controller's flow is then ``reading·e^(−p·bias)``: the expected true flow, which
        moves from the two meters' geometric mean to the heat meter's as evidence grows.
        """
        log_odds = max(min(self.flow_odds.get(iid, 0.0), 30.0), -30.0)
        return 1.0 / (1.0 + math.exp(-log_odds))

    def _parent_of(self, iid: str) -> str:
        return self.parents.get(iid, SUBSTATION)

    # --- persistence ---------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state (series, last readings, active findings). The stored form is
        the one written before the supply offsets and the witness series were tables: each
        inlet's in its record."""
        inlets = self.inlets
        parts: dict[str, Mapping[str, Any]] = {
            kind: table.all_plain(inlets) for kind, table in self.witnesses.items()
        }
        parts |= {
            "circuit_gain": self.circuit_gains.all_lists(inlets),
            "offsets": self.offsets.all_lists(inlets),
        }
        return {
            "threshold": self.threshold,
            "z": self.z,
            "inlets": {
                iid: _inlet_plain(s, {name: part[iid] for name, part in parts.items()})
                for iid, s in inlets.items()
            },
            "balances": {p: as_plain(s) for p, s in self.balances.items()},
            "active": {k: list(v) for k, v in self.active.items()},
            "factors": dict(self.factors),
            "centres": list(self.centres),
            "cross": list(self.cross),
            "dp_cross": list(self.dp_cross),
            "model_gaps": list(self.model_gaps),
        }

    @classmethod
    def from_dict(cls, network: Network, data: Mapping[str, Any]) -> MeterCheck:
        """Restore :meth:`as_dict`, every stored number checked (:func:`.stored_number`).

        A damaged part restarts alone — one inlet's series, one parent's balance, one
        finding, one factor, the centres, a cross sum, the settings — and the rest of the
        learnt state is kept; the damaged parts are logged once. Before, ``_Series(**raw)``
        took NaN, ±inf, 1e308 (its square overflowed a later cycle), a negative count (a
        division by zero) and text, and one damaged number dropped the whole check.
        """
        damaged: list[str] = []
        try:
            out = cls(
                network, threshold=stored_number(data["threshold"]), z=stored_number(data["z"])
            )
        except RESTORE_ERRORS:
            out, damaged = cls(network), ["threshold/z"]
        restored: dict[str, _Stored] = {}
        keyed: tuple[tuple[str, Callable[[Any], Any], dict[str, Any]], ...] = (
            ("inlets", _inlet, restored),
            ("balances", _series, out.balances),
            ("active", _finding, out.active),
            ("factors", _factor, out.factors),
        )
        for name, read, into in keyed:
            stored = data.get(name, {})
            if not isinstance(stored, Mapping):
                damaged.append(name)
                continue
            for key, raw in stored.items():
                try:
                    into[str(key)] = read(raw)
                except RESTORE_ERRORS:
                    damaged.append(f"{name}.{key}")
        out._restore_tables(restored)
        for name, default, read in _WHOLE_PARTS:
            try:
                setattr(out, name, read(data.get(name, default)))
            except RESTORE_ERRORS:
                damaged.append(name)
        if damaged:
            _LOGGER.warning(
                "Stored meter check: %d damaged parts restarted, the rest restored: %s",
                len(damaged),
                ", ".join(damaged[:10]),
            )
        return out

    def _restore_tables(self, restored: Mapping[str, _Stored]) -> None:
        """The restored inlets and what their records hold for the tables: a row for every
        inlet in every witness table in the inlets' order (:meth:`_track`)."""
        self.inlets = {iid: stored.state for iid, stored in restored.items()}
        self.offsets.load({iid: stored.offsets for iid, stored in restored.items()})
        for kind, table in self.witnesses.items():
            table.load_series({iid: stored.series[kind] for iid, stored in restored.items()})
        # a circuit value's gain belongs to a value kept (``_circuit_residual`` kept them so)
        self.circuit_gains.load(
            {
                iid: stored.gains[len(stored.gains) - len(stored.series["circuit"][0]) :]
                if len(stored.gains) > len(stored.series["circuit"][0])
                else stored.gains
                for iid, stored in restored.items()
            }
        )


class _Stored(NamedTuple):
    """One inlet's stored record as read back: its state, supply offsets, witness series
    (values, diff_sq, diffs per kind) and circuit gains (the tables' parts)."""

    state: _Inlet
    offsets: list[float]
    series: dict[str, tuple[list[float], float, int]]
    gains: list[float]


def _stored_parts(fields: dict[str, Any]) -> _Stored:
    """:class:`_Stored` from an inlet's read fields (the tables' parts taken out of them).
    A witness series' extras and quantisation are dropped: every version wrote its values
    exact (zeros, none)."""
    offsets = fields.pop("offsets", [])
    gains = fields.pop("circuit_gain", [])
    series: dict[str, tuple[list[float], float, int]] = {}
    for kind in WITNESSES:
        kept = fields.pop(kind, None)
        series[kind] = ([], 0.0, 0) if kept is None else (kept.values, kept.diff_sq, kept.diffs)
    return _Stored(_Inlet(**fields), offsets, series, gains)


def _numbers(values: Any, low: float = -STORED_MAX) -> list[float]:
    """A stored list of numbers (:func:`.diagnosis.stored_number` each). A JSON list of plain
    floats is checked by :func:`.diagnosis.all_stored_floats`' C loops and copied; any other
    by :func:`.diagnosis.all_numbers` and converted (23k inlets × ≈13 lists at a restart)."""
    if not isinstance(values, list):
        raise ValueError(f"not a stored list of numbers: {values!r}")
    if all_stored_floats(values, low):
        return values[:]  # plain floats within the rule: what float() of each gives
    if not all_numbers(values):
        raise ValueError(f"not a stored list of numbers: {values!r}")
    if values and not (low <= min(values) and max(values) <= STORED_MAX):
        raise ValueError(f"a stored number out of range: {values!r}")
    return [float(v) for v in values]


def _flag(value: Any) -> bool:
    """A stored flag: JSON's true or false only."""
    if not isinstance(value, bool):
        raise ValueError(f"not a stored flag: {value!r}")
    return value


def _maybe(value: Any) -> float | None:
    """A stored optional number (None: not read yet)."""
    return None if value is None else stored_number(value)


_SERIES_KEYS = frozenset(("values", "diff_sq", "diffs", "extras", "quants"))


def _series(raw: Any) -> _Series:
    """A stored :class:`_Series`, every number checked (a damaged one raises)."""
    if not isinstance(raw, Mapping) or not set(raw) <= _SERIES_KEYS:
        raise ValueError(f"not a stored series: {raw!r}")
    quants = raw.get("quants", [])
    if not isinstance(quants, list):
        raise ValueError(f"a stored series' quantisation: {quants!r}")
    rows = [_numbers(q) for q in quants]
    if any(len(row) != 3 for row in rows):
        raise ValueError(f"a stored series' quantisation: {quants!r}")
    return _Series(
        values=_numbers(raw.get("values", [])),
        diff_sq=stored_number(raw.get("diff_sq", 0.0)),  # below 0 too: less the quantisation
        diffs=stored_count(raw.get("diffs", 0)),
        extras=_numbers(raw.get("extras", []), 0.0),
        quants=rows,
    )


# how each stored field of an inlet is read back (every field of :class:`_Inlet`)
_INLET_FIELDS: dict[str, Callable[[Any], Any]] = {
    "time_s": _maybe,
    "register": Register.from_plain,
    "accrual": _accrual,
    "chained": _flag,
    "flow_m3h": _maybe,
    "ratio": _series,
    "offsets": _numbers,
    "offset_sd": lambda raw: _numbers(raw, 0.0),
    "offset_at": _numbers,
    "dt_at": _numbers,
    "offset_gap": stored_number,
    "pooled": _flag,
    "dt_k": _maybe,
    "last_ratio": _maybe,
    "valve": _series,
    "model": _series,
    "circuit": _series,
    "circuit_gain": lambda raw: _numbers(raw, 0.0),
    "avail_log": _maybe,
}
_INLET_OLD = frozenset(("learnt", "heat_kwh"))  # stored before the offsets were shrunk, the
# register's spans: dropped (a span starts)


def _inlet(stored: Any) -> _Stored:
    """One inlet's stored state and the tables' parts, every field checked (a damaged one
    raises: the inlet restarts alone); ``ratio`` is always stored, the rest may predate
    their field. The common form is read at once (:func:`_plain_inlet`); anything else
    field by field."""
    plain = _plain_inlet(stored)
    if plain is not None:
        return plain
    if not isinstance(stored, Mapping) or "ratio" not in stored:
        raise ValueError("not a stored inlet")
    unknown = set(stored) - _INLET_FIELDS.keys() - _INLET_OLD
    if unknown:
        raise ValueError(f"a stored inlet's unknown fields: {sorted(unknown)}")
    fields = {k: read(stored[k]) for k, read in _INLET_FIELDS.items() if k in stored}
    return _stored_parts(fields)


_PLAIN_LISTS = ("offsets", "offset_at", "dt_at")  # numbers from -STORED_MAX
_PLAIN_POSITIVE = ("offset_sd", "circuit_gain")  # from 0
_PLAIN_MAYBE = ("time_s", "flow_m3h", "dt_k", "last_ratio", "avail_log")  # None or a number
_PLAIN_SERIES = ("ratio", "valve", "model", "circuit")


def _plain_inlet(stored: Any) -> _Stored | None:
    """:func:`_inlet`'s answer for a stored inlet in the form the check writes — a dict of
    its fields and JSON's plain floats — with every number
    checked in two C passes (:func:`.diagnosis.all_stored_floats` over all its lists and
    numbers at once) instead of ≈14 checks and ≈40 Python calls (issue 10, HA start: a
    23,870-inlet restart read them in ≈0.7 s CPU). The same values, copied as the field
    readers copy them; ``None`` for anything else (another form, a damaged number): the
    field-by-field reading then decides and names the damage."""
    if type(stored) is not dict or "ratio" not in stored or not stored.keys() <= _PLAIN_KEYS:
        return None
    low: list[Any] = []  # every number checked from -STORED_MAX
    positive: list[Any] = []  # from 0
    fields: dict[str, Any] = {}
    for name in _PLAIN_LISTS + _PLAIN_POSITIVE:
        if name in stored:
            values = stored[name]
            if type(values) is not list:
                return None
            (positive if name in _PLAIN_POSITIVE else low).extend(values)
            fields[name] = values[:]
    for name in _PLAIN_MAYBE:
        value = stored.get(name)
        if value is not None:
            if type(value) is not float:
                return None
            low.append(value)
        if name in stored:
            fields[name] = value
    if "offset_gap" in stored:
        gap = fields["offset_gap"] = stored["offset_gap"]
        if type(gap) is not float:
            return None
        low.append(gap)
    for name in ("chained", "pooled"):
        if name in stored:
            if type(flag := stored[name]) is not bool:
                return None
            fields[name] = flag
    for name in _PLAIN_SERIES:
        if name in stored:
            series = _plain_series(stored[name], low, positive)
            if series is None:
                return None
            fields[name] = series
    if not (all_stored_floats(low) and all_stored_floats(positive, 0.0)):
        return None
    if "register" in stored:
        fields["register"] = Register.from_plain(stored["register"])
    if "accrual" in stored:
        fields["accrual"] = _accrual(stored["accrual"])
    return _stored_parts(fields)


_PLAIN_KEYS = frozenset(_INLET_FIELDS)


def _plain_series(raw: Any, low: list[Any], positive: list[Any]) -> _Series | None:
    """A stored series in the form the check writes, its numbers added to ``low`` and
    ``positive`` for the caller's one check (:func:`_series` reads every other form)."""
    if type(raw) is not dict or not raw.keys() <= _SERIES_KEYS:
        return None
    quants = raw.get("quants", [])
    if type(quants) is not list:
        return None
    for row in quants:  # a quantised series' rows: three numbers each
        if type(row) is not list or len(row) != 3:
            return None
        low.extend(row)
    values, extras = raw.get("values", []), raw.get("extras", [])
    diff_sq, diffs = raw.get("diff_sq", 0.0), raw.get("diffs", 0)
    if type(values) is not list or type(extras) is not list or type(diff_sq) is not float:
        return None
    if type(diffs) is not int or not 0 <= diffs <= _COUNT_MAX:
        return None
    low.extend(values)
    low.append(diff_sq)
    positive.extend(extras)
    rows = [row[:] for row in quants]
    return _Series(values=values[:], diff_sq=diff_sq, diffs=diffs, extras=extras[:], quants=rows)


_COUNT_MAX = 2**53  # :func:`.diagnosis.is_count`'s bound


def _finding(raw: Any) -> tuple[str, float, float]:
    """A stored active finding (kind, bias, since)."""
    kind, bias, since = raw
    if kind not in KINDS:
        raise ValueError(f"not a finding's kind: {kind!r}")
    return str(kind), stored_number(bias), stored_number(since)


def _factor(raw: Any) -> float:
    """A stored flow correction (×): above 0 (the next one is divided by it)."""
    factor = stored_number(raw)
    if factor <= 0.0:
        raise ValueError(f"not a flow correction: {raw!r}")
    return factor


def _pair(raw: Any) -> tuple[float, float]:
    """A stored cross sum (Σ spread²·dof, Σ dof): two numbers ≥ 0."""
    sq, dof = _numbers(list(raw), 0.0)
    return sq, dof


# the check's parts kept whole: (name, default when not stored, reader)
_WHOLE_PARTS: tuple[tuple[str, Any, Callable[[Any], Any]], ...] = (
    ("centres", [], _numbers),
    ("cross", (0.0, 0.0), _pair),
    ("dp_cross", (0.0, 0.0), _pair),
    ("model_gaps", [], lambda raw: _kept_numbers(raw)[-WINDOW:]),
)


def _kept_numbers(raw: Any) -> list[float]:
    """A stored list whose values stand alone (the model's supply gaps): a damaged value
    is dropped, the others are kept."""
    if not isinstance(raw, list):
        raise ValueError(f"not a stored list: {raw!r}")
    kept: list[float] = []
    for value in raw:
        with contextlib.suppress(*RESTORE_ERRORS):
            kept.append(stored_number(value))
    return kept


HEAT_BALANCE_SIGNALS = frozenset({"flow", "heat", "supply", "return"})


def checks_fed(
    network: Network, delivered: Mapping[str, Iterable[str]], substation_metered: bool
) -> dict[str, list[str]]:
    """Which of :class:`MeterCheck`'s balances the signals feed, per inlet of ``delivered``
    (its signals: ``flow``, ``heat``, ``supply``, ``return``; an inlet not in it delivers
    nothing), as the check judges them (§3.0.7-1): ``heat_balance`` where the inlet's flow,
    heat meter and both temperatures are read; ``mass_balance`` where its flow is read and
    its group is complete — the parent's meter (the substation's when ``substation_metered``,
    else its building's flow) and every sibling's flow."""
    got = {iid: frozenset(signals) for iid, signals in delivered.items()}
    flows = {iid for iid, signals in got.items() if "flow" in signals}
    complete = {
        parent
        for parent, kids in _groups(network).items()
        if (substation_metered if parent == SUBSTATION else parent in flows)
        and flows.issuperset(kids)
    }
    out: dict[str, list[str]] = {}
    for iid, signals in got.items():
        parent = network.inlets[iid].parent or SUBSTATION
        out[iid] = ["heat_balance"] if signals >= HEAT_BALANCE_SIGNALS else []
        if iid in flows and parent in complete:
            out[iid].append("mass_balance")
    return out


def _groups(network: Network) -> dict[str, list[str]]:
    """Parent meter → inlets it feeds: the substation's street inlets, buildings' households."""
    groups: dict[str, list[str]] = {SUBSTATION: []}
    for inlet in network.inlets.values():
        groups.setdefault(inlet.parent or SUBSTATION, []).append(inlet.id)
    return {p: kids for p, kids in groups.items() if kids}


def _family(count: int) -> float:
    """Log-likelihood ratio every test needs beyond its own threshold when ``count`` series
    of a kind are tested each cycle (Bonferroni on a Gaussian tail, p ∝ e^(−z²/2)).

    A false diagnosis a week per *network* is what matters to an operator, and z = 5 was
    set where at most :data:`FAMILY` pairs were tested: households1200's 1,240 pairs named
    a sound household in a healthy week on a 5.3σ mean of 4 cycles — chance, at ten times
    the looks. ln(count ÷ FAMILY) more keeps the network's rate (z² + 2·that: 5.45 there,
    5.96 on 23,000 inlets); a smaller network keeps z (its rate then only falls).
    """
    return math.log(count / FAMILY) if count > FAMILY else 0.0


def _counts(last: float | None, ratio: float, moved: float) -> bool:
    """Whether a cycle's ratio is taken: always in a steady cycle; in one whose flow moved
    by more than :data:`TRANSIENT`, only when the heat meter moved with it (the ratio
    within :data:`STROKE_AGREE` of the last cycle's): a valve's stroke moves both meters, a
    spike of one meter (a flow reading three times too high once) moves only that one."""
    if moved <= TRANSIENT:
        return True
    return last is not None and abs(ratio - last) <= STROKE_AGREE


def _median(ordered: list[float]) -> float:
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def _expected_offsets(losses: Mapping[str, float]) -> dict[str, float]:
    """Each inlet's supply offset from the common supply the model's pipe losses predict.

    The common supply is the median of the substation's reading and the inlets' (the
    substation's loss is 0), so an inlet is expected that median loss above its own."""
    finite = {iid: loss for iid, loss in losses.items() if math.isfinite(loss)}
    if not finite:
        return {}
    centre = _median(sorted([0.0, *finite.values()]))
    return {iid: centre - loss for iid, loss in finite.items()}


def _median_without(ordered: list[float], value: float) -> float:
    """Median of ``ordered`` with one occurrence of ``value`` (which it holds) left out,
    without copying the list (a cycle of a 23k-inlet network asks it for every inlet)."""
    skip = bisect.bisect_left(ordered, value)
    m = len(ordered) - 1

    def at(k: int) -> float:
        return ordered[k if k < skip else k + 1]

    return at(m // 2) if m % 2 else 0.5 * (at(m // 2 - 1) + at(m // 2))


def _flow_evidence(
    p: float, sp: float, h: float, sh: float, balance: tuple[float, float, float] | None = None
) -> tuple[float, float]:
    """(b, log-likelihood ratio) of "the flow meter is off by b" (pair and valve both
    shifted by b) against the best other explanation: nothing (both 0), the heat meter
    (pair shifted, valve 0) or the valve (valve shifted, pair 0).

    ``balance`` = (mean, its standard error, the inlet's share of the group's flow): the
    parent's mass balance, shifted by share·b under "flow meter", by nothing under those
    three; "the parent's meter" (balance free, pair and valve 0) is one more explanation,
    and the parent's meter beside the heat meter, the valve or this flow meter a second
    fault at once, which costs :data:`EVIDENCE`."""
    wp, wh = 1.0 / sp**2, 1.0 / sh**2
    m, wb, share = 0.0, 0.0, 0.0
    if balance is not None:
        m, wb, share = balance[0], 1.0 / balance[1] ** 2, balance[2]
    b = (wp * p + wh * h + wb * share * m) / (wp + wh + wb * share**2)
    flow = -0.5 * (wp * (p - b) ** 2 + wh * (h - b) ** 2 + wb * (m - share * b) ** 2)
    nothing = -0.5 * (wp * p**2 + wh * h**2 + wb * m**2)
    heat, valve = -0.5 * (wh * h**2 + wb * m**2), -0.5 * (wp * p**2 + wb * m**2)
    others = [nothing, heat, valve]
    if balance is not None:
        parent = -0.5 * (wp * p**2 + wh * h**2)
        others += [parent, -0.5 * wh * h**2 - EVIDENCE, -0.5 * wp * p**2 - EVIDENCE]
        # … and the flow meter beside a parent's meter that is off too (a balance no
        # single meter explains must not hide a flow meter the pair and valve name)
        b2 = (wp * p + wh * h) / (wp + wh)
        beside = -0.5 * (wp * (p - b2) ** 2 + wh * (h - b2) ** 2) - EVIDENCE
        if beside > flow:
            b, flow = b2, beside
    return b, flow - max(others)


def _span_means(values: list[float], centre: float) -> dict[int, float]:
    """Mean of the last n values less ``centre``, for every n, in one pass backwards."""
    means, total = {}, 0.0
    for count, value in enumerate(reversed(values), start=1):
        total += value
        means[count] = total / count - centre
    return means


def _hc_cov(
    valve: _Valve, circuit: _Valve, spans: tuple[int, int], noise: float
) -> tuple[float, float, float]:
    """(Vh, Vc, C): variances of the valve's and the circuit's residual means over the last
    ``spans`` = (mh, mc) cycles and their covariance; ``noise``: the circuit mean's noise
    variance (:func:`_circuit_noise`). Both divide the same flow reading, so its noise is
    shared: at most the valve residual's whole noise (taken whole: it makes a shift of both
    together less surprising), over the longer span (nested spans share the shorter's
    cycles). The characteristics' and circuits' scatter is each their own."""
    mh, mc = spans
    shared = valve.noise_var / max(mh, mc)
    return _valve_var(valve, mh), circuit.spread**2 + noise, shared


def _dp_gain(avail: float, valve_dp: float) -> float:
    """How much more two ΔP transmitters' noise weighs in ln √(available − valve's ΔP) than
    one transmitter's in the valve's ln √ΔP, per unit of their relative noise².

    With relative noise σ on each, var ln(a − d) = σ²·(a² + d²)/(a − d)², so the circuit's
    residual carries ¼σ²·(a² + d²)/(a − d)², the valve's ¼σ²: the excess is
    ½σ²·a·d/(a − d)² — 0.6σ² where the circuit takes ⅔ of the ΔP, 10σ² where it takes a
    fifth (the difference of two readings of nearly the same size)."""
    return 0.5 * avail * valve_dp / (avail - valve_dp) ** 2


def _circuit_noise(circuit: _Circuit, valve_noise: float) -> dict[int, float]:
    """Noise variance of the circuit residual's mean over the last n values, for every n.

    Each value carries the valve residual's noise (the flow reading and a ΔP transmitter,
    ``valve_noise``) plus its own excess of ΔP noise (:func:`_dp_gain` × the transmitters'
    learnt noise²) — so a cycle in which the circuit took a small share of the ΔP says less.
    """
    out, total = {}, 0.0
    for count, gain in enumerate(reversed(circuit.gains), start=1):
        total += valve_noise + circuit.dp_var * gain
        out[count] = total / count**2
    for count in range(len(circuit.gains) + 1, len(circuit.values) + 1):
        total += valve_noise + circuit.dp_var * max(circuit.gains, default=1.0)
        out[count] = total / count**2  # values stored before their gains were: the worst
    return out


def _hc_score(h: float, c: float, cov: tuple[float, float, float]) -> float:
    """(h, c)ᵀ Σ⁻¹ (h, c) for Σ = ``cov`` (:func:`_hc_cov`)."""
    vh, vc, shared = cov
    return (vc * h * h - 2.0 * shared * h * c + vh * c * c) / (vh * vc - shared * shared)


def _flow_evidence_circuit(
    p: float,
    sp: float,
    hc: tuple[float, float],
    cov: tuple[float, float, float],
    balance: tuple[float, float, float] | None = None,
) -> tuple[float, float]:
    """:func:`_flow_evidence` with the circuit's residual ``c`` beside the valve's ``h``
    (``hc``; their covariance ``cov``, :func:`_hc_cov`): "the flow meter is off by b"
    shifts p, h and c by b (and the balance by share·b). Each single other fault moves its
    own witness alone: the heat meter p, the valve h, the circuit c, the parent's meter the
    balance; any two of them at once cost :data:`EVIDENCE` (a flow meter's signature
    needs at least two faults to fake it). The best other explanation is beaten by the
    returned log-likelihood ratio."""
    h, c = hc
    vh, vc, shared = cov
    det = vh * vc - shared * shared
    wp = 1.0 / sp**2
    m, wb, share = 0.0, 0.0, 0.0
    if balance is not None:
        m, wb, share = balance[0], 1.0 / balance[1] ** 2, balance[2]
    a = (vc - 2.0 * shared + vh) / det  # 1ᵀΣ⁻¹1
    t = (vc * h - shared * (h + c) + vh * c) / det  # 1ᵀΣ⁻¹(h, c)
    b = (wp * p + t + wb * share * m) / (wp + a + wb * share**2)
    q_p, q_hc, q_m = wp * p * p, _hc_score(h, c, cov), wb * m * m
    q_h, q_c = h * h / vh, c * c / vc  # what is left when the other one is explained
    fit = wp * (p - b) ** 2 + _hc_score(h - b, c - b, cov) + wb * (m - share * b) ** 2
    flow = -0.5 * fit
    others = [
        -0.5 * (q_p + q_hc + q_m),  # nothing
        -0.5 * (q_hc + q_m),  # the heat meter
        -0.5 * (q_p + q_c + q_m),  # the valve
        -0.5 * (q_p + q_h + q_m),  # the circuit
        -0.5 * (q_c + q_m) - EVIDENCE,  # heat meter and valve
        -0.5 * (q_h + q_m) - EVIDENCE,  # heat meter and circuit
        -0.5 * (q_p + q_m) - EVIDENCE,  # valve and circuit
    ]
    if balance is not None:
        others += [
            -0.5 * (q_p + q_hc),  # the parent's meter
            -0.5 * q_hc - EVIDENCE,  # … and the heat meter
            -0.5 * (q_p + q_c) - EVIDENCE,  # … and the valve
            -0.5 * (q_p + q_h) - EVIDENCE,  # … and the circuit
        ]
        # … and the flow meter beside a parent's meter that is off too
        b2 = (wp * p + t) / (wp + a)
        beside = -0.5 * (wp * (p - b2) ** 2 + _hc_score(h - b2, c - b2, cov)) - EVIDENCE
        if beside > flow:
            b, flow = b2, beside
    return b, flow - max(others)


def _valve_var(verdict: _Valve, n: int) -> float:
    """Variance of an inlet's witness mean over n cycles against its neighbours' centre:
    the characteristics' scatter plus the cycles' noise."""
    return verdict.spread**2 + verdict.noise_var / n


def _valve_odds(bias: float, span: int, witness: _Witness | None) -> float:
    """Log-likelihood ratio of "flow meter" (the witness' residual at the pair's bias)
    against "heat meter" (at zero) for a disagreeing pair; 0 without a witness. Decisive at
    ±SEPARATION²/2 (the hypotheses that many standard errors apart), else it weighs the
    correction beside the mass balance's odds (:meth:`MeterCheck.flow_share`)."""
    if witness is None:
        return 0.0
    recent, verdict = witness.values[-span:], witness.verdict
    h = sum(recent) / len(recent) - verdict.centre
    var = _valve_var(verdict, len(recent))
    return (h**2 - (h - bias) ** 2) / (2.0 * var)


def _stroke_var(moved: float, dt_s: float) -> float:
    """Variance a valve stroke adds to one cycle's heat-balance ratio.

    The counter integrated the old flow, a ramp over the stroke and the new flow, while
    the flow reading is the new one: an error of about half the stroke's share of the
    cycle times the flow's change. Below :data:`TRANSIENT` the flow did not really move.
    """
    if moved <= TRANSIENT:
        return 0.0
    # (a change beyond e^20 is a garbage reading: its variance is as good as infinite)
    return (0.5 * min(STROKE_S / dt_s, 1.0) * math.expm1(min(moved, 20.0))) ** 2


def _meter_flow(reading: InletReading) -> float | None:
    """The flow the check judges: the usable reading, or one the cleaning flagged only for
    not adding up with its group in this cycle (:data:`~.cleaning.OFF_SUM`) — that is this
    check's question, over cycles; dropped, a building meter 10 % off its households' sum
    was never named through the loop (CLI ``balance``, HA)."""
    flow = reading.get("flow_m3h")
    if flow is None and OFF_SUM in reading.flagged:
        flow = usable(reading.flow_m3h)
    return flow


def _flow(meas: Measurements, iid: str) -> float | None:
    reading = meas.inlets.get(iid)
    return _meter_flow(reading) if reading is not None else None


def _message(iid: str, kind: str, bias: float) -> str:
    pct = 100.0 * math.expm1(bias)
    if kind == "flow_meter_bias":
        return f"inlet {iid}: flow meter reads {pct:+.1f} % against heat meter and mass balance"
    if kind == "heat_meter_bias":
        # the heat balance also rests on the inlet's supply/return sensors: an offset of
        # either looks the same (a return sensor +1 K was named so in scratch runs)
        return (
            f"inlet {iid}: heat meter (or its supply/return sensor) reads {-pct:+.1f} % "
            "against flow meter and mass balance"
        )
    if kind == "parent_meter_bias":
        return f"{iid}: meter reads {-pct:+.1f} % against the sum of the flows it feeds (leak?)"
    return f"inlet {iid}: flow and heat meter disagree by {pct:+.1f} %"
