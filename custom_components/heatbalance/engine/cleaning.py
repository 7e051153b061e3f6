"""Data cleaning: every reading checked, every value flagged (§3.0.7-1).

Advanced regulation needs "online data identification with a sound data-cleaning method and
technology that keeps data complete and reliable" (§3.0.7-1). A controller that acts on a
frozen meter or a spike moves valves for nothing; one that acts on a guessed value breaks the
fail-safe rule. So the cleaner never invents a value for control: it passes values that survive
every check as ``ok`` and flags the rest with a reason code; a short gap is filled by holding
the last good value (flagged ``filled``, useful to forecasting and logs, still untrusted for
control), a longer one stays missing.

Checks, per signal in this order (:meth:`Cleaner._check`, all signals of a cycle at once):

* :func:`parse_value` — None, NaN, ±inf, text and booleans are not readings;
* range — a value outside its physical range is a broken sensor (§5.3.8-2 limits);
* rate — faster than the plant can change (water temperatures, rooms);
* :func:`is_stuck` — unchanged for K samples when it should move (after a commanded change,
  or always for a signal known to be noisy);
* spike — Hampel filter: further than n·1.4826·MAD from the rolling median;
  two consecutive outliers that agree are a step of the plant, not a spike;
* a collapse — a flow below ``drop_share`` of its last good value while the Hampel window
  is too short to judge (it restarts whenever a valve moves): a meter's lone 0.0 is a spike,
  the second low reading in a row is the plant's new level (a valve shut, a real blockage);
* :func:`return_below_supply`, :func:`flows_add_up`, :func:`heat_matches` — physical
  consistency: return not above supply, building flows summing to the substation flow (and
  households to their building), Q = ρ·V̇·cp·ΔT against the heat meter.

:class:`Cleaner` keeps a short history per signal and runs them in that order;
:func:`for_network` configures it for a network's signals (``"B001.flow_m3h"``,
``"substation.supply_c"``, …) and :func:`clean_measurements` applies it to the controllers'
:class:`~.control.base.Measurements`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import numpy as np

from .control.base import Measurements
from .model import WATER_CP, WATER_DENSITY, Network


class Flag(StrEnum):
    """Why a value is (or is not) trusted."""

    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"  # NaN, ±inf, text, booleans
    OUT_OF_RANGE = "out_of_range"
    RATE_OF_CHANGE = "rate_of_change"
    SPIKE = "spike"
    STUCK = "stuck"
    RETURN_ABOVE_SUPPLY = "return_above_supply"
    FLOW_SUM = "flow_sum_mismatch"
    HEAT_MISMATCH = "heat_mismatch"
    FILLED = "filled"  # last good value held over a short gap
    GAP = "gap_too_long"


# Flags after which the value itself is not kept (the others keep the measured value).
REJECTING: frozenset[Flag] = frozenset(
    {Flag.MISSING, Flag.INVALID, Flag.OUT_OF_RANGE, Flag.RATE_OF_CHANGE, Flag.SPIKE}
)
HAMPEL_SCALE = 1.4826  # MAD → standard deviation for normally distributed noise
STEP_OUTLIERS = 3  # this many outliers in a row are a step of the plant, not spikes
_OK = (Flag.OK.value,)  # the flags of a trusted value
_SUM_ONLY = (Flag.FLOW_SUM.value,)  # … of a value that only failed its group's sum
# named in a reading's ``flagged`` beside ``flow_m3h`` when the flow failed only the sum
# check: controllers do without it, the meter check (meters.py) still judges it over cycles
OFF_SUM = "flow_m3h_off_sum"
_NO_FLAGS: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class SignalSpec:
    """How one signal is checked.

    ``max_rate`` is in units per second (None: no limit, e.g. a flow that jumps when a valve
    moves). ``spike_floor`` is the smallest departure from the rolling median that can be a
    spike, so a noiseless steady signal does not make every tiny change one; ``spike_share``
    raises that floor to a share of the rolling median (meter noise scales with the reading).
    A signal with ``always_moves`` (a live meter with noise) is stuck after ``stuck_samples``
    equal values; any signal is stuck if it stays put for ``stuck_samples`` samples after
    :meth:`Cleaner.expect_change`. ``max_gap_s`` is the longest gap bridged by holding.
    """

    low: float = -1e12
    high: float = 1e12
    max_rate: float | None = None
    spike_floor: float = 0.0
    spike_share: float = 0.0
    hampel_window: int = 7
    hampel_min: int = 5
    hampel_sigmas: float = 3.0
    stuck_samples: int = 3
    stuck_tolerance: float = 0.0
    always_moves: bool = False
    max_gap_s: float = 3600.0
    drop_share: float = 0.0  # a value below this share of the last good one: a collapse


@dataclass(frozen=True)
class Consistency:
    """Physical relations between signals (§3.0.7-1 "data identification").

    ``pairs``: (supply, return) signals; ``sums``: (total, parts) flows; ``heat``: (flow m³/h,
    supply °C, return °C, heat meter kW) per inlet. Tolerances: ``temperature_k`` (return may
    exceed supply by this much: sensor accuracy, no-flow equalisation), ``flow_share`` and
    ``heat_share`` (relative; meters of class 2–3 per GB/T 32224 plus time skew).
    """

    pairs: tuple[tuple[str, str], ...] = ()
    sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    heat: tuple[tuple[str, str, str, str], ...] = ()
    temperature_k: float = 0.3
    flow_share: float = 0.05
    heat_share: float = 0.10


@dataclass(frozen=True)
class CleanResult:
    """One sample after cleaning: a value and its flags for every signal.

    ``values`` hold the measured value when trusted or only consistency-flagged, the held
    value when ``filled``, else None. ``flags[name]`` is ``("ok",)`` or the reasons.
    """

    time_s: float
    values: dict[str, float | None]
    flags: dict[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()

    def ok(self, name: str) -> bool:
        """Whether ``name`` passed every check (the only values a controller may use)."""
        return self.flags.get(name) == _OK

    @property
    def rejected(self) -> frozenset[str]:
        """Signals not to be trusted this cycle."""
        return frozenset(n for n in self.flags if not self.ok(n))


# --- pure checks ------------------------------------------------------------------------------
def parse_value(raw: Any) -> tuple[float | None, Flag | None]:
    """A reading as a finite float, or None and why not (never raises)."""
    if raw is None:
        return None, Flag.MISSING
    if isinstance(raw, bool):
        return None, Flag.INVALID
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        return None, Flag.INVALID
    if not math.isfinite(value):
        return None, Flag.INVALID
    return value, None


def is_stuck(values: Sequence[float], samples: int, tolerance: float = 0.0) -> bool:
    """Whether the last ``samples`` values all lie within ``tolerance`` of the first of them."""
    if samples < 2 or len(values) < samples:
        return False
    tail = values[-samples:]
    return all(abs(v - tail[0]) <= tolerance for v in tail)


def return_below_supply(supply_c: float, return_c: float, tolerance_k: float = 0.3) -> bool:
    """A heated circuit gives heat away: its return is not warmer than its supply."""
    return return_c <= supply_c + tolerance_k


def flows_add_up(total: float, parts: Iterable[float], share: float = 0.05) -> bool:
    """Mass balance: branch flows sum to the feeding flow within ``share`` of it."""
    return abs(sum(parts) - total) <= share * max(abs(total), 1e-9)


def heat_flow_kw(flow_m3h: float, supply_c: float, return_c: float) -> float:
    """Q = ρ·V̇·cp·ΔT in kW."""
    return WATER_DENSITY * flow_m3h / 3600.0 * WATER_CP * (supply_c - return_c) / 1000.0


def heat_matches(
    flow_m3h: float, supply_c: float, return_c: float, heat_kw: float, share: float = 0.10
) -> bool:
    """The heat meter agrees with its own flow and temperature sensors within ``share``."""
    computed = heat_flow_kw(flow_m3h, supply_c, return_c)
    scale = max(abs(heat_kw), abs(computed), 1e-6)
    return abs(computed - heat_kw) <= share * scale


# --- the stateful cleaner ---------------------------------------------------------------------
# Flag codes of the per-signal state arrays: at most one check fails per signal and cycle (a
# failed check returns, and a consistency check only judges signals that passed theirs), and a
# rejected value adds how it was filled.
_CHECK_FLAGS: tuple[Flag | None, ...] = (
    None,
    Flag.MISSING,
    Flag.INVALID,
    Flag.OUT_OF_RANGE,
    Flag.RATE_OF_CHANGE,
    Flag.SPIKE,
    Flag.STUCK,
    Flag.RETURN_ABOVE_SUPPLY,
    Flag.FLOW_SUM,
    Flag.HEAT_MISMATCH,
)
_CODE = {flag: code for code, flag in enumerate(_CHECK_FLAGS) if flag is not None}
_REJECTING_CODES = sorted(_CODE[f] for f in REJECTING)
_FILLS: tuple[Flag | None, ...] = (None, Flag.FILLED, Flag.GAP)
# the flags tuple of every (check, fill) pair, shared: 95,000 signals at 23k inlets
_TUPLES: tuple[tuple[str, ...], ...] = tuple(
    tuple(f.value for f in (check, fill) if f is not None) or _OK
    for check in _CHECK_FLAGS
    for fill in _FILLS
)


class _SignalState:
    """What the cleaner remembers of every signal, one array per quantity, one row per signal.

    Per signal: the Hampel window (a ring of its last good values, NaN where empty; a
    median does not care for order), the last good value and its time, the consecutive
    rejected spikes (count and last value), the value when a change was commanded and the
    samples unchanged since (NaN: none). Its spec's parameters are arrays beside them, so one
    cycle's checks run over all signals at once instead of per signal in Python.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: dict[str, int] = {}
        self.specs: list[SignalSpec] = []
        self.recent: dict[int, deque[float]] = {}  # only signals that must always move
        self._alloc(0)

    def _alloc(self, n: int) -> None:
        """Arrays for ``n`` rows: the spec's parameters and a fresh state."""
        self.window = np.full((n, self.width), np.nan)
        self.count = np.zeros(n, dtype=np.int64)
        self.pos = np.zeros(n, dtype=np.int64)
        self.last_good = np.full(n, np.nan)
        self.last_good_s = np.full(n, np.nan)
        self.out_count = np.zeros(n, dtype=np.int64)
        self.out_last = np.full(n, np.nan)
        self.dropped = np.zeros(n, dtype=bool)  # last value a lone collapse (kept over moves)
        self.change_ref = np.full(n, np.nan)
        self.unchanged = np.zeros(n, dtype=np.int64)
        # parameters read once per distinct spec (a network's temperatures share theirs)
        distinct = list({id(s): s for s in self.specs}.values())
        where = {id(s): k for k, s in enumerate(distinct)}
        index = np.array([where[id(s)] for s in self.specs], dtype=np.int64)

        def param(name: str) -> np.ndarray:
            values = [getattr(s, name) for s in distinct]
            return np.array([np.nan if v is None else v for v in values], dtype=float)[index]

        self.low, self.high, self.max_rate = param("low"), param("high"), param("max_rate")
        self.spike_floor, self.spike_share = param("spike_floor"), param("spike_share")
        self.sigmas, self.hampel_min = param("hampel_sigmas"), param("hampel_min")
        self.stuck_samples, self.stuck_tol = param("stuck_samples"), param("stuck_tolerance")
        self.max_gap_s, self.drop_share = param("max_gap_s"), param("drop_share")
        self.length = np.maximum(param("hampel_window"), 1).astype(np.int64)
        self.always = param("always_moves").astype(bool)

    def add(self, names: Iterable[str], spec_of: Any) -> None:
        """Rows for new signals, each with a fresh state."""
        old = len(self.specs)
        new = [n for n in dict.fromkeys(names) if n not in self.rows]
        if not new:
            return
        self.rows.update(zip(new, range(old, old + len(new)), strict=True))
        self.specs += map(spec_of, new)
        self.width = max(self.width, *(max(s.hampel_window, 1) for s in self.specs[old:]))
        kept = {
            k: getattr(self, k)
            for k in (
                "window",
                "count",
                "pos",
                "last_good",
                "last_good_s",
                "out_count",
                "out_last",
                "dropped",
                "change_ref",
                "unchanged",
            )
        }
        self._alloc(len(self.specs))
        for key, values in kept.items():
            target = getattr(self, key)
            if values.ndim == 2:
                target[:old, : values.shape[1]] = values
            else:
                target[:old] = values

    def of(self, names: Sequence[str], spec_of: Any) -> np.ndarray:
        """The rows of ``names`` (rows made for names seen first)."""
        get = self.rows.get
        rows = [get(n, -1) for n in names]
        if -1 in rows:
            self.add([n for n, r in zip(names, rows, strict=True) if r < 0], spec_of)
            rows = [self.rows[n] for n in names]
        return np.array(rows, dtype=np.int64)

    def reset(self, rows: np.ndarray) -> None:
        """Forget the rows' histories (as if never seen)."""
        self.clear_window(rows)
        self.last_good[rows] = self.last_good_s[rows] = np.nan
        self.dropped[rows] = False
        self.change_ref[rows] = np.nan
        self.unchanged[rows] = 0
        for row in rows.tolist():
            self.recent.pop(row, None)

    def clear_window(self, rows: np.ndarray) -> None:
        """Empty the rows' Hampel windows and their outlier runs."""
        self.window[rows] = np.nan
        self.count[rows] = self.pos[rows] = 0
        self.out_count[rows] = 0
        self.out_last[rows] = np.nan

    def append(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Append one value to each row's window (the oldest drops out when it is full)."""
        length = self.length[rows]
        self.window[rows, self.pos[rows]] = values
        self.pos[rows] = (self.pos[rows] + 1) % length
        self.count[rows] = np.minimum(self.count[rows] + 1, length)

    def medians(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Median and median absolute deviation of each row's window (≥ 1 value each),
        as ``statistics.median`` takes them (the mean of the middle two of an even count)."""
        window = self.window[rows]
        count = self.count[rows]
        index = np.arange(len(rows))
        lo, hi = (count - 1) // 2, count // 2

        def median(values: np.ndarray) -> np.ndarray:
            ordered = np.sort(values, axis=1)  # NaN (empty slots) sort last
            a, b = ordered[index, lo], ordered[index, hi]
            return np.where(lo == hi, a, (a + b) / 2)

        centre = median(window)
        return centre, median(np.abs(window - centre[:, None]))


class Cleaner:
    """Cleans one sample per call, keeping a short history per signal (§3.0.7-1).

    ``specs`` name the expected signals (a missing one is flagged ``missing``); a signal not
    named gets ``default``. ``consistency`` declares the physical relations to check. The
    history is held per signal in arrays (:class:`_SignalState`): a network of 23,000
    inlets has 95,000 signals, and per-signal Python objects cost most of a cycle.
    """

    def __init__(
        self,
        specs: Mapping[str, SignalSpec] | None = None,
        *,
        default: SignalSpec | None = None,
        consistency: Consistency | None = None,
    ) -> None:
        # fixed here: the state arrays hold each spec's parameters
        self.specs: Mapping[str, SignalSpec] = MappingProxyType(dict(specs or {}))
        self.default = default or SignalSpec()
        self.consistency = consistency or Consistency()
        self._state = _SignalState(max(self.default.hampel_window, 1))
        self._inlet_names = _inlet_names(self.specs)
        self._rows_of: dict[str, tuple[int, ...] | None] = {}  # :meth:`_inlet_rows`
        self._jumps: tuple[tuple[str, ...] | None, np.ndarray] = (None, np.zeros(0, np.int64))
        c = self.consistency
        named = [n for rel in (*c.pairs, *c.heat) for n in rel]
        named += [n for total, parts in c.sums for n in (total, *parts)]
        self._state.add([*self.specs, *named], self.spec)
        self._spec_rows = np.arange(len(self.specs), dtype=np.int64)
        pairs = [n for pair in c.pairs for n in pair]
        self._pairs_apart = len(set(pairs)) == len(pairs)  # then one pass over all pairs
        self._pair_rows = self._state.of(pairs, self.spec).reshape(-1, 2)

    def forget(self, prefix: str) -> None:
        """Drop the histories of the signals named ``prefix…`` (their device changed)."""
        rows = [r for n, r in self._state.rows.items() if n.startswith(prefix)]
        self._state.reset(np.array(rows, dtype=np.int64))

    def inlet_signals(self, iid: str) -> tuple[tuple[str, str], ...]:
        """(field, signal name) of an inlet's signals cleaned from its reading (flow,
        temperatures), made once per inlet, not per cycle; a specified signal's name is the
        specs' own string (:func:`_inlet_names`)."""
        names = self._inlet_names.get(iid)
        if names is None:
            names = self._inlet_names[iid] = tuple((n, f"{iid}.{n}") for n in _INLET_FIELDS)
        return names

    def _inlet_rows(self, iid: str) -> tuple[int, ...] | None:
        """The specs' rows of an inlet's signals in :data:`_INLET_FIELDS`' order, or None
        if one is not a specified signal (then :meth:`aligned` gives None). Made once per
        inlet: a name's row never changes (rows are only added, after the specs' own), so
        neither does the answer — 143,000 look-ups a cycle at 23,870 inlets before."""
        if iid in self._rows_of:
            return self._rows_of[iid]
        rows, size = self._state.rows, len(self.specs)
        ks = tuple(rows.get(signal, -1) for _, signal in self.inlet_signals(iid))
        at = ks if all(0 <= k < size for k in ks) else None
        self._rows_of[iid] = at
        return at

    def spec(self, name: str) -> SignalSpec:
        """The checks applied to ``name``."""
        return self.specs.get(name, self.default)

    def last_good(self, name: str) -> tuple[float | None, float | None]:
        """The last value of ``name`` that passed its checks, and its time (None: none)."""
        row = self._state.rows.get(name)
        if row is None:
            return None, None
        value, time_s = float(self._state.last_good[row]), float(self._state.last_good_s[row])
        return (None, None) if math.isnan(value) else (value, time_s)

    def expect_change(self, *names: str, must_move: bool = True) -> None:
        """A control acted on these signals' plant (valve, pump): a jump is no spike.

        With ``must_move``, a signal that then stays put for ``stuck_samples`` samples is
        stuck (a frozen meter, or a valve that did not follow: diagnosis tells which).
        """
        self._expect_rows(self._state.of(names, self.spec), must_move)

    def expect_jumps(self, inlets: Iterable[str]) -> None:
        """:meth:`expect_change` (not ``must_move``) of every signal a valve move anywhere
        may change at once (hydraulic coupling: the inlets' :data:`_JUMPS`, the substation's
        flow and return). Their rows are kept for the same inlets: a dispatch at 23,870
        inlets named and looked up 119,000 signals."""
        key = tuple(inlets)
        if self._jumps[0] != key:
            names = [s for i in key for n, s in self.inlet_signals(i) if n in _JUMP_SET]
            names += [f"{SUBSTATION}.flow_m3h", f"{SUBSTATION}.return_c"]
            self._jumps = (key, self._state.of(names, self.spec))
        self._expect_rows(self._jumps[1], must_move=False)

    def _expect_rows(self, rows: np.ndarray, must_move: bool) -> None:
        st = self._state
        st.clear_window(rows)
        if must_move:  # a repeated command keeps counting
            fresh = rows[np.isnan(st.change_ref[rows])]
            st.change_ref[fresh] = st.last_good[fresh]
            st.unchanged[fresh] = 0

    def clean(self, sample: Any, time_s: float) -> CleanResult:
        """Check every signal of ``sample`` (a mapping name → raw value) at ``time_s``."""
        now = parse_value(time_s)[0]
        if now is None:
            raise ValueError(f"time_s must be a finite number of seconds, got {time_s!r}")
        raw = sample if isinstance(sample, Mapping) else {}
        if raw.keys() <= self.specs.keys():  # the usual sample: no signal beyond the specs
            names = list(self.specs)
            rows = self._spec_rows  # the specs' rows come first, in their order
        else:
            names = list(dict.fromkeys([*self.specs, *(str(k) for k in raw)]))
            rows = self._state.of(names, self.spec)
        value, code = _parsed(raw, names)
        return self._cleaned(names, rows, value, code, now)

    def clean_aligned(self, found: list[Any], time_s: float) -> CleanResult:
        """:meth:`clean` of a sample given as its raw values in the specs' order
        (:data:`ABSENT` where the sample has none): what :func:`clean_measurements` builds
        from the readings without a dict of every signal. The same checks, the same result."""
        now = parse_value(time_s)[0]
        if now is None:
            raise ValueError(f"time_s must be a finite number of seconds, got {time_s!r}")
        value, code = _parsed_found(found)
        return self._cleaned(list(self.specs), self._spec_rows, value, code, now)

    def aligned(
        self, measurements: Measurements, heat_kw: Mapping[str, Any] | None
    ) -> list[Any] | None:
        """The raw values :func:`sample_of` would give, in the specs' order (:data:`ABSENT`
        where it gives none), or None if it would name a signal beyond the specs (then
        :meth:`clean` makes rows for it). Later signals of the same name win, as in the dict."""
        rows = self._state.rows
        found: list[Any] = [ABSENT] * len(self.specs)
        for iid, reading in measurements.inlets.items():
            at = self._inlet_rows(iid)
            if at is None:
                return None
            try:
                values = _FIELDS_OF(reading)  # one C call for the inlet's six fields
            except AttributeError:  # not an InletReading: a field it lacks is None
                values = tuple(getattr(reading, name, None) for name in _INLET_FIELDS)
            for k, value in zip(at, values, strict=True):
                found[k] = value
        station = [(f"{iid}.heat_kw", v) for iid, v in (heat_kw or {}).items()]
        station += [(f"{SUBSTATION}.{n}", getattr(measurements, a)) for a, n in _STATION]
        station.append(("outdoor_c", measurements.outdoor_c))
        for signal, value in station:
            k = rows.get(signal, -1)
            if k < 0 or k >= len(found):
                return None
            found[k] = value
        return found

    def _cleaned(
        self, names: list[str], rows: np.ndarray, value: np.ndarray, code: np.ndarray, now: float
    ) -> CleanResult:
        """The checks on parsed values (``rows``: their signals' state rows)."""
        self._check(rows, value, code, now)
        notes = self._physics(rows, value, code)
        fill = self._fill(rows, value, code, now)
        out: list[float | None] = value.tolist()
        for k in np.flatnonzero(np.isnan(value)).tolist():
            out[k] = None  # NaN: no value
        flags = [_TUPLES[k] for k in (code * len(_FILLS) + fill).tolist()]
        return CleanResult(
            time_s=now,
            values=dict(zip(names, out, strict=True)),
            flags=dict(zip(names, flags, strict=True)),
            notes=tuple(notes),
        )

    def _check(self, rows: np.ndarray, value: np.ndarray, code: np.ndarray, now: float) -> None:
        """Single-signal checks, in order (range, rate, spike, stuck); the values that pass
        go into the history. ``code`` gets the failed check of each signal."""
        st = self._state
        ok = code == 0
        bad = ok & ~((st.low[rows] <= value) & (value <= st.high[rows]))  # range
        code[bad] = _CODE[Flag.OUT_OF_RANGE]
        ok &= ~bad
        # rate against the last good value, where a limit and a later time exist
        last, last_s, max_rate = st.last_good[rows], st.last_good_s[rows], st.max_rate[rows]
        judged = ok & ~np.isnan(max_rate) & ~np.isnan(last) & (now > last_s)
        k = np.flatnonzero(judged)
        too_fast = np.abs(value[k] - last[k]) / (now - last_s[k]) > max_rate[k]
        code[k[too_fast]] = _CODE[Flag.RATE_OF_CHANGE]
        ok[k[too_fast]] = False
        hampel = st.count[rows] >= st.hampel_min[rows]
        k = np.flatnonzero(ok & hampel)
        spikes = self._spikes(rows[k], value[k])
        code[k[spikes]] = _CODE[Flag.SPIKE]
        ok[k[spikes]] = False
        k = np.flatnonzero(ok & ~hampel & (st.drop_share[rows] > 0))
        drops = self._drops(rows[k], value[k])
        code[k[drops]] = _CODE[Flag.SPIKE]
        ok[k[drops]] = False
        k = np.flatnonzero(ok)
        code[k[self._stuck(rows[k], value[k])]] = _CODE[Flag.STUCK]
        st.append(rows[k], value[k])
        st.last_good[rows[k]] = value[k]
        st.last_good_s[rows[k]] = now

    def _spikes(self, rows: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Hampel on the rolling windows; outliers that persist are a step of the plant.

        A spike is isolated. A second outlier close to the first (within the window's own
        threshold), or a third in a row, means the plant moved: the window restarts there
        instead of rejecting the new level for ever.
        """
        st = self._state
        spike = np.zeros(len(rows), dtype=bool)
        empty = st.count[rows] == 0  # nothing to compare with (a window of minimum 0)
        st.out_count[rows[empty]] = 0
        k = np.flatnonzero(~empty)
        r, v = rows[k], value[k]
        if not len(r):
            return spike
        centre, mad = st.medians(r)
        floor = np.maximum(st.spike_floor[r], st.spike_share[r] * np.abs(centre))
        threshold = np.maximum(st.sigmas[r] * HAMPEL_SCALE * mad, floor)
        outlier = np.abs(v - centre) > threshold
        st.out_count[r[~outlier]] = 0
        runs = st.out_count[r]
        near = (runs > 0) & (np.abs(v - st.out_last[r]) <= threshold)
        step = outlier & (near | (runs >= STEP_OUTLIERS - 1))
        st.clear_window(r[step])
        isolated = outlier & ~step
        st.out_last[r[isolated]] = v[isolated]
        st.out_count[r[isolated]] += 1
        spike[k[isolated]] = True
        return spike

    def _drops(self, rows: np.ndarray, value: np.ndarray) -> np.ndarray:
        """A lone collapse where the window is too short for Hampel (§3.0.7-1).

        Every valve move restarts the flows' windows (coupling), so for ``hampel_min``
        cycles after one a meter's lone 0.0 would pass and page a blockage. A value below
        ``drop_share`` of a material last good value is a spike once; the next low one is
        the plant's new level and is taken.
        """
        st = self._state
        last = st.last_good[rows]
        low = (value < st.drop_share[rows] * last) & (last > st.spike_floor[rows])
        lone: np.ndarray = low & ~st.dropped[rows]
        st.dropped[rows] = lone
        return lone

    def _stuck(self, rows: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Unchanged for ``stuck_samples`` samples when it should have moved."""
        st = self._state
        ref = st.change_ref[rows]
        watched = ~np.isnan(ref)
        same = watched & (np.abs(value - ref) <= st.stuck_tol[rows])
        st.unchanged[rows[same]] += 1
        stuck: np.ndarray = same & (st.unchanged[rows] >= st.stuck_samples[rows])
        moved = rows[watched & ~same]
        st.change_ref[moved] = np.nan
        st.unchanged[moved] = 0
        for k in np.flatnonzero(st.always[rows]).tolist():
            row, v = int(rows[k]), float(value[k])
            recent = st.recent.setdefault(row, deque(maxlen=16))
            spec = st.specs[row]
            if not stuck[k]:
                stuck[k] = is_stuck([*recent, v], spec.stuck_samples, spec.stuck_tolerance)
            recent.append(v)
        return stuck

    def _physics(self, rows: np.ndarray, value: np.ndarray, code: np.ndarray) -> list[str]:
        """Consistency between signals that passed their own checks; flags the suspects."""
        c = self.consistency
        notes: list[str] = []
        at = np.full(len(self._state.specs), -1, dtype=np.int64)
        at[rows] = np.arange(len(rows))
        if self._pairs_apart:  # no signal in two pairs: all pairs at once
            s, r = at[self._pair_rows[:, 0]], at[self._pair_rows[:, 1]]
            both = (s >= 0) & (r >= 0)
            s, r = s[both], r[both]
            both = (code[s] == 0) & (code[r] == 0)
            s, r = s[both], r[both]
            warm = ~(value[r] <= value[s] + c.temperature_k)  # return_below_supply
            code[s[warm]] = code[r[warm]] = _CODE[Flag.RETURN_ABOVE_SUPPLY]
        values, codes, where, rows_of = value.tolist(), code.tolist(), at.tolist(), self._state.rows

        def good(name: str) -> float | None:
            k = where[rows_of[name]]
            return values[k] if k >= 0 and codes[k] == 0 else None

        def flag(name: str, why: Flag) -> None:
            k = where[rows_of[name]]
            code[k] = codes[k] = _CODE[why]

        for supply, ret in () if self._pairs_apart else c.pairs:
            s_, r_ = good(supply), good(ret)
            if (
                s_ is not None
                and r_ is not None
                and not return_below_supply(s_, r_, c.temperature_k)
            ):
                flag(supply, Flag.RETURN_ABOVE_SUPPLY)
                flag(ret, Flag.RETURN_ABOVE_SUPPLY)
        for total, parts in c.sums:
            t, ps = good(total), [good(p) for p in parts]
            if t is None or any(p is None for p in ps):
                continue
            if not flows_add_up(t, [p for p in ps if p is not None], c.flow_share):
                flag(total, Flag.FLOW_SUM)
                notes.append(f"{Flag.FLOW_SUM.value}: {total}")
        for flow, supply, ret, heat in c.heat:
            q, s_, r_, h = good(flow), good(supply), good(ret), good(heat)
            if q is None or s_ is None or r_ is None or h is None:
                continue
            if not heat_matches(q, s_, r_, h, c.heat_share):
                flag(heat, Flag.HEAT_MISMATCH)
                notes.append(f"{Flag.HEAT_MISMATCH.value}: {heat}")
        return notes

    def _fill(
        self, rows: np.ndarray, value: np.ndarray, code: np.ndarray, now: float
    ) -> np.ndarray:
        """Hold the last good value over a short gap; a longer gap stays missing.

        Rejected values are replaced in ``value`` (NaN: none); returns the fill code."""
        st = self._state
        fill = np.zeros(len(rows), dtype=np.int64)
        k = np.flatnonzero(np.isin(code, _REJECTING_CODES))
        r = rows[k]
        last, last_s = st.last_good[r], st.last_good_s[r]
        held = ~np.isnan(last) & ~np.isnan(last_s) & ~(now - last_s > st.max_gap_s[r])
        fill[k] = np.where(held, _FILLS.index(Flag.FILLED), _FILLS.index(Flag.GAP))
        value[k] = np.where(held, last, np.nan)
        return fill


def _inlet_names(specs: Mapping[str, Any]) -> dict[str, tuple[tuple[str, str], ...]]:
    """(field, signal name) per inlet of the specified inlet signals, each name the very
    string object the specs hold: a sample keyed by them is looked up in the specs and by
    them (143,000 signals at 23,870 inlets, three times a cycle) by identity, without
    comparing equal strings (half the time of those look-ups, the same keys)."""
    known: dict[str, dict[str, str]] = {}
    for signal in specs:
        iid, _, name = signal.rpartition(".")
        if name in _INLET_FIELD_SET:
            known.setdefault(iid, {})[name] = signal
    return {
        iid: tuple((n, names.get(n) or f"{iid}.{n}") for n in _INLET_FIELDS)
        for iid, names in known.items()
    }


ABSENT: Any = object()  # a signal the sample does not name (parsed like None: missing)


def _parsed(raw: Mapping[Any, Any], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The sample's values of ``names`` as floats (NaN: none) and the parse flag codes."""
    get, absent = raw.get, ABSENT
    found = [get(n, absent) for n in names]
    if absent in found and not all(type(k) is str for k in raw):  # keys that are no text
        found = [_lookup(raw, n) if f is absent else f for n, f in zip(names, found, strict=True)]
    return _parsed_found(found)


def _parsed_found(found: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Raw values (:data:`ABSENT`: not in the sample) as floats (NaN: none) and the parse
    flag codes."""
    absent = ABSENT
    value = np.array([f if type(f) is float else np.nan for f in found], dtype=float)
    code = np.zeros(len(found), dtype=np.int64)
    for k in np.flatnonzero(~np.isfinite(value)).tolist():
        item = found[k]
        parsed, why = parse_value(None if item is absent else item)
        if parsed is None:
            code[k] = _CODE[why or Flag.MISSING]
        else:
            value[k] = parsed
    return value, code


def _replaced(reading: Any, changes: dict[str, Any]) -> Any:
    """``dataclasses.replace(reading, **changes)`` without its per-field ``__init__`` call
    (thousands of readings a cycle); readings have no ``__post_init__`` nor slots."""
    if hasattr(reading, "__post_init__") or not hasattr(reading, "__dict__"):
        return replace(reading, **changes)
    copy = object.__new__(type(reading))
    copy.__dict__.update(reading.__dict__)
    copy.__dict__.update(changes)
    return copy


def _lookup(raw: Mapping[Any, Any], name: str) -> Any:
    """The raw value of ``name`` (keys may be non-strings in garbage input)."""
    if name in raw:
        return raw[name]
    for key, value in raw.items():
        if str(key) == name:
            return value
    return None


# --- a network's signals ----------------------------------------------------------------------
SUBSTATION = "substation"
WATER_RANGE_C = (0.0, 150.0)
ROOM_RANGE_C = (0.0, 40.0)
OUTDOOR_RANGE_C = (-50.0, 50.0)
WATER_RATE_K_S = 1.0 / 60.0  # 1 K per minute: faster is a sensor fault, not the plant
ROOM_RATE_K_S = 5.0 / 3600.0  # 5 K per hour: a room's time constant is many hours
MAX_FLOW_RATIO = 10.0
SPIKE_FLOW_SHARE = 0.15  # a meter's noise is a few % of its reading: 15 % is no noise
# a flow falling below a quarter of its last good value in one cycle: a step of at most
# max_step on its own valve (§5.3.6-3) and coupling move a flow far less
DROP_FLOW_SHARE = 0.25
MAX_DP_HEADS = 3.0  # ΔP readings up to 3× the pump's shutoff head are physical (a margin)
KPA_PER_M = 9.80665  # kPa per metre of water column
PRESSURE_FLOOR_KPA = 2.0  # smallest ΔP move a spike or a collapse is judged on
STUCK_FLOW_SHARE = 1e-4  # a commanded move changes flow by far more; meters resolve it


def for_network(
    network: Network, *, max_gap_s: float = 3600.0, heat_meters: bool = False
) -> Cleaner:
    """A cleaner for every signal of ``network``'s inlets and substation.

    With ``heat_meters`` every inlet is expected to report ``<id>.heat_kw`` (§4.1.2), checked
    against Q = ρ·V̇·cp·ΔT of its own sensors; without, heat meters are not expected.
    """
    water = SignalSpec(
        *WATER_RANGE_C,
        WATER_RATE_K_S,
        spike_floor=3.0,
        max_gap_s=max_gap_s,
        drop_share=DROP_FLOW_SHARE,  # 60 °C water read at 0 °C: a register, not the plant
    )
    room = SignalSpec(*ROOM_RANGE_C, ROOM_RATE_K_S, spike_floor=1.5, max_gap_s=max_gap_s)
    # a differential pressure no pump of this substation can make is a broken transmitter
    top_kpa = MAX_DP_HEADS * network.substation.pump.shutoff_head_m * KPA_PER_M
    pressure = SignalSpec(
        0.0,
        top_kpa,
        spike_floor=PRESSURE_FLOOR_KPA,  # a household's few kPa are material too
        spike_share=SPIKE_FLOW_SHARE,
        max_gap_s=max_gap_s,
        drop_share=DROP_FLOW_SHARE,
    )
    specs: dict[str, SignalSpec] = {}
    pairs, heat, sums = [], [], []
    kids = network.children_by_parent()
    for iid, inlet in network.inlets.items():
        design = inlet.design_flow_m3h
        specs[f"{iid}.flow_m3h"] = SignalSpec(
            0.0,
            MAX_FLOW_RATIO * design,
            spike_floor=0.1 * design,
            spike_share=SPIKE_FLOW_SHARE,
            stuck_tolerance=STUCK_FLOW_SHARE * design,
            max_gap_s=max_gap_s,
            drop_share=DROP_FLOW_SHARE,
        )
        specs[f"{iid}.supply_c"] = specs[f"{iid}.return_c"] = water
        specs[f"{iid}.room_c"] = room
        specs[f"{iid}.dp_available_kpa"] = specs[f"{iid}.valve_dp_kpa"] = pressure
        if heat_meters:
            load = inlet.design_load_kw
            specs[f"{iid}.heat_kw"] = SignalSpec(
                0.0,
                MAX_FLOW_RATIO * load,
                spike_floor=0.1 * load,
                spike_share=SPIKE_FLOW_SHARE,
                max_gap_s=max_gap_s,
            )
            meter = (f"{iid}.flow_m3h", f"{iid}.supply_c", f"{iid}.return_c", f"{iid}.heat_kw")
            heat.append(meter)
        pairs.append((f"{iid}.supply_c", f"{iid}.return_c"))
        children = [c.id for c in kids.get(iid, ())]
        if children:
            sums.append((f"{iid}.flow_m3h", tuple(f"{c}.flow_m3h" for c in children)))
    pump = network.substation.pump.design_flow_m3h
    specs[f"{SUBSTATION}.flow_m3h"] = SignalSpec(
        0.0,
        MAX_FLOW_RATIO * pump,
        spike_floor=0.1 * pump,
        spike_share=SPIKE_FLOW_SHARE,
        max_gap_s=max_gap_s,
    )
    specs[f"{SUBSTATION}.supply_c"] = specs[f"{SUBSTATION}.return_c"] = water
    specs["outdoor_c"] = SignalSpec(*OUTDOOR_RANGE_C, spike_floor=5.0, max_gap_s=max_gap_s)
    pairs.append((f"{SUBSTATION}.supply_c", f"{SUBSTATION}.return_c"))
    top = tuple(f"{i.id}.flow_m3h" for i in network.inlets.values() if i.parent is None)
    sums.append((f"{SUBSTATION}.flow_m3h", top))
    consistency = Consistency(pairs=tuple(pairs), sums=tuple(sums), heat=tuple(heat))
    return Cleaner(specs, consistency=consistency)


def expect_commands(
    cleaner: Cleaner,
    network: Network,
    moved: Iterable[str] | Mapping[str, float],
    since: Mapping[str, float] | None = None,
) -> None:
    """Tell ``cleaner`` that valves of ``moved`` inlets (or the pump) were commanded.

    Valves are hydraulically coupled: one move changes every flow and, through them, the
    return temperatures, so every inlet's flow and temperatures may jump; only the moved
    inlets' own flows must move — and only where the move is big enough for its flow to
    show it: with ``moved`` as new openings and ``since`` the ones before, a trim below
    :data:`MATERIAL_MOVE` of the stroke may leave an exact or coarse meter's value
    unchanged, and a healthy meter would be flagged stuck for as long as the plant rests.
    """
    targets = moved if isinstance(moved, Mapping) else dict.fromkeys(moved)
    cleaner.expect_jumps(network.inlets)  # rows kept: no 119,000 names looked up
    names = cleaner.inlet_signals
    before = since or {}

    def material(iid: str) -> bool:
        new, old = targets[iid], before.get(iid)
        return new is None or old is None or abs(new - old) >= MATERIAL_MOVE

    cleaner.expect_change(
        *(names(i)[0][1] for i in targets if i in network.inlets and material(i))  # flow
    )


MATERIAL_MOVE = 0.02  # share of the stroke below which a valve's flow need not show a move
_INLET_FIELDS = ("flow_m3h", "supply_c", "return_c", "room_c", "dp_available_kpa", "valve_dp_kpa")
_INLET_FIELD_SET = frozenset(_INLET_FIELDS)
# what a valve move anywhere may change at once (hydraulic coupling)
_JUMPS = ("flow_m3h", "supply_c", "return_c", "dp_available_kpa", "valve_dp_kpa")
_JUMP_SET = frozenset(_JUMPS)  # (the inlet fields but the room: _INLET_FIELDS' order)
_SUBSTATION_FIELDS = {"supply_c": "supply_c", "return_c": "return_c", "pump_flow_m3h": "flow_m3h"}
_STATION = tuple(_SUBSTATION_FIELDS.items())


def sample_of(
    measurements: Measurements,
    heat_kw: Mapping[str, Any] | None = None,
    names: Callable[[str], tuple[tuple[str, str], ...]] | None = None,
) -> dict[str, Any]:
    """The signals of a :class:`Measurements` (plus heat meters in kW, if read) by name.

    ``names`` (:meth:`Cleaner.inlet_signals`) gives an inlet's (field, signal name) pairs
    made once, not 143,000 names formatted a cycle at 23,870 inlets (the same keys)."""
    sample: dict[str, Any] = {}
    for iid, reading in measurements.inlets.items():
        if names is None:
            for name in _INLET_FIELDS:
                sample[f"{iid}.{name}"] = getattr(reading, name, None)
        else:
            for name, signal in names(iid):
                sample[signal] = getattr(reading, name, None)
    for iid, value in (heat_kw or {}).items():
        sample[f"{iid}.heat_kw"] = value
    for attr, name in _SUBSTATION_FIELDS.items():
        sample[f"{SUBSTATION}.{name}"] = getattr(measurements, attr)
    sample["outdoor_c"] = measurements.outdoor_c
    return sample


_FIELDS_OF = attrgetter(*_INLET_FIELDS)
_ALL_FLOAT = (float,) * len(_INLET_FIELDS)


def _floats(reading: Any) -> bool:
    """Whether the cleaned fields of ``reading`` are all floats (a trusted float is cleaned
    to itself; an int would become a float). One C call per reading, not a generator."""
    try:
        return tuple(map(type, _FIELDS_OF(reading))) == _ALL_FLOAT
    except AttributeError:  # not an InletReading: a field it lacks is None, not a float
        return False


def _odd_inlets(flags: Mapping[str, tuple[str, ...]]) -> set[str]:
    """Inlets with an inlet field's signal (``iid.field``) not flagged ``ok``: the others'
    readings are trusted as read. One pass over the flags instead of six look-ups per
    inlet (143,000 at 23,870 inlets)."""
    odd: set[str] = set()
    for signal, flag in flags.items():
        if flag is not _OK and flag != _OK:
            iid, _, name = signal.rpartition(".")
            if name in _INLET_FIELD_SET:
                odd.add(iid)
    return odd


def clean_measurements(
    cleaner: Cleaner, measurements: Measurements, heat_kw: Mapping[str, Any] | None = None
) -> tuple[Measurements, CleanResult]:
    """Clean a cycle's :class:`Measurements` for the controllers.

    Inlet values that are not ``ok`` are named in the reading's ``flagged`` set (so
    ``InletReading.get`` treats them as missing: controllers hold, §3.0.7-1); substation and
    outdoor values that are not ``ok`` become None. Cleaned values replace raw ones.
    """
    if measurements.time_s is None:
        raise ValueError("measurements need time_s: rate and gap checks run on time")
    found = cleaner.aligned(measurements, heat_kw)  # the usual sample, without its dict
    if found is not None:
        result = cleaner.clean_aligned(found, measurements.time_s)
    else:
        sample = sample_of(measurements, heat_kw, cleaner.inlet_signals)
        result = cleaner.clean(sample, measurements.time_s)
    inlets = {}
    value_of, flags_of = result.values.get, result.flags.get
    odd = _odd_inlets(result.flags)  # every inlet's signals are in the result (the sample)
    for iid, reading in measurements.inlets.items():
        flagged = reading.flagged
        if iid not in odd and type(flagged) is frozenset and _floats(reading):
            inlets[iid] = reading  # every value trusted as read: the cleaned reading is it
            continue
        names = cleaner.inlet_signals(iid)
        bad = [n for n, s in names if flags_of(s) != _OK]
        changes: dict[str, Any] = {n: value_of(s) for n, s in names}
        off_sum = [OFF_SUM for n, s in names if n == "flow_m3h" and flags_of(s) == _SUM_ONLY]
        changes["flagged"] = frozenset(flagged).union(bad, off_sum)
        inlets[iid] = _replaced(reading, changes)

    def trusted(name: str) -> float | None:
        return result.values.get(name) if result.ok(name) else None

    # The substation's flow feeds only the meter check (meters.py), whose mass balance
    # judges this very consistency over cycles and names the meter (§3.0.7-1): a reading
    # off the inlets' sum by more than ``flow_share`` in one cycle stays flagged for the
    # data quality, but reaches the check — dropped, an 8 % biased meter was never named.
    station_flow = f"{SUBSTATION}.flow_m3h"
    summed = result.flags.get(station_flow) == (Flag.FLOW_SUM.value,)
    cleaned_m = replace(
        measurements,
        inlets=inlets,
        supply_c=trusted(f"{SUBSTATION}.supply_c"),
        return_c=trusted(f"{SUBSTATION}.return_c"),
        pump_flow_m3h=result.values.get(station_flow) if summed else trusted(station_flow),
        outdoor_c=trusted("outdoor_c"),
    )
    return cleaned_m, result
