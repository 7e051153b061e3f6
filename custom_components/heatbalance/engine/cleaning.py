"""Data cleaning: every reading checked, every value flagged (§3.0.7-1).

Advanced regulation needs "online data identification with a sound data-cleaning method and
technology that keeps data complete and reliable" (§3.0.7-1). A controller that acts on a
frozen meter or a spike moves valves for nothing; one that acts on a guessed value breaks the
fail-safe rule. So the cleaner never invents a value for control: it passes values that survive
every check as ``ok`` and flags the rest with a reason code; a short gap is filled by holding
the last good value (flagged ``filled``, useful to forecasting and logs, still untrusted for
control), a longer one stays missing.

Checks, each a pure function testable alone:

* :func:`parse_value` — None, NaN, ±inf, text and booleans are not readings;
* :func:`in_range` — a value outside its physical range is a broken sensor (§5.3.8-2 limits);
* :func:`rate_ok` — faster than the plant can change (water temperatures, rooms);
* :func:`is_stuck` — unchanged for K samples when it should move (after a commanded change,
  or always for a signal known to be noisy);
* :func:`hampel_spike` — Hampel filter: further than n·1.4826·MAD from the rolling median;
  two consecutive outliers that agree are a step of the plant, not a spike;
* :func:`return_below_supply`, :func:`flows_add_up`, :func:`heat_matches` — physical
  consistency: return not above supply, building flows summing to the substation flow (and
  households to their building), Q = ρ·V̇·cp·ΔT against the heat meter;
* :func:`interpolate_gaps` — linear interpolation of a stored series over gaps up to a limit.

:class:`Cleaner` keeps a short history per signal and runs them in that order;
:func:`for_network` configures it for a network's signals (``"B001.flow_m3h"``,
``"substation.supply_c"``, …) and :func:`clean_measurements` applies it to the controllers'
:class:`~.control.base.Measurements`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from statistics import median
from typing import Any

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
    INTERPOLATED = "interpolated"


# Flags after which the value itself is not kept (the others keep the measured value).
REJECTING: frozenset[Flag] = frozenset(
    {Flag.MISSING, Flag.INVALID, Flag.OUT_OF_RANGE, Flag.RATE_OF_CHANGE, Flag.SPIKE}
)
HAMPEL_SCALE = 1.4826  # MAD → standard deviation for normally distributed noise
STEP_OUTLIERS = 3  # this many outliers in a row are a step of the plant, not spikes
_OK = (Flag.OK.value,)  # the flags of a trusted value
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


def in_range(value: float, low: float, high: float) -> bool:
    """Whether ``value`` is physically possible for the signal (edges included)."""
    return low <= value <= high


def rate_ok(
    previous: float | None,
    previous_s: float | None,
    value: float,
    time_s: float,
    max_rate: float | None,
) -> bool:
    """Whether the change since the last good value is possible (units per second).

    Without a previous good value, or without a limit, there is nothing to compare.
    """
    if max_rate is None or previous is None or previous_s is None or time_s <= previous_s:
        return True
    return abs(value - previous) / (time_s - previous_s) <= max_rate


def is_stuck(values: Sequence[float], samples: int, tolerance: float = 0.0) -> bool:
    """Whether the last ``samples`` values all lie within ``tolerance`` of the first of them."""
    if samples < 2 or len(values) < samples:
        return False
    tail = values[-samples:]
    return all(abs(v - tail[0]) <= tolerance for v in tail)


def hampel_spike(
    window: Sequence[float], value: float, n_sigmas: float = 3.0, floor: float = 0.0
) -> bool:
    """Hampel test: ``value`` further than n·1.4826·MAD (at least ``floor``) from the median."""
    if not window:
        return False
    return abs(value - median(window)) > max(n_sigmas * HAMPEL_SCALE * _mad(window), floor)


def _mad(window: Sequence[float]) -> float:
    """Median absolute deviation from the median."""
    centre = median(window)
    return median(abs(x - centre) for x in window)


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


def interpolate_gaps(
    times_s: Sequence[float], values: Sequence[Any], max_gap_s: float
) -> tuple[list[float | None], list[str]]:
    """Fill missing values of a stored series linearly between good neighbours.

    A gap is bridged only if its good neighbours are at most ``max_gap_s`` apart; longer gaps
    stay None (flag ``gap_too_long``). Returns the values and one flag per sample.
    """
    parsed = [parse_value(v) for v in values]
    out: list[float | None] = [v for v, _ in parsed]
    flags = [Flag.OK.value if why is None else why.value for _, why in parsed]
    good = [(k, v) for k, v in enumerate(out) if v is not None]
    for k, (value, _) in enumerate(parsed):
        if value is not None:
            continue
        before = max(((g, v) for g, v in good if g < k), default=None)
        after = min(((g, v) for g, v in good if g > k), default=None)
        if before is None or after is None or times_s[after[0]] - times_s[before[0]] > max_gap_s:
            flags[k] = Flag.GAP.value
            continue
        (k0, v0), (k1, v1) = before, after
        frac = (times_s[k] - times_s[k0]) / (times_s[k1] - times_s[k0])
        out[k] = v0 + (v1 - v0) * frac
        flags[k] = Flag.INTERPOLATED.value
    return out, flags


# --- the stateful cleaner ---------------------------------------------------------------------
@dataclass
class _History:
    """What the cleaner remembers of one signal."""

    window: deque[float]
    last_good: float | None = None
    last_good_s: float | None = None
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=16))
    outliers: list[float] = field(default_factory=list)  # consecutive rejected spikes
    change_ref: float | None = None  # value when a change was commanded
    unchanged: int = 0


class Cleaner:
    """Cleans one sample per call, keeping a short history per signal (§3.0.7-1).

    ``specs`` name the expected signals (a missing one is flagged ``missing``); a signal not
    named gets ``default``. ``consistency`` declares the physical relations to check.
    """

    def __init__(
        self,
        specs: Mapping[str, SignalSpec] | None = None,
        *,
        default: SignalSpec | None = None,
        consistency: Consistency | None = None,
    ) -> None:
        self.specs = dict(specs or {})
        self.default = default or SignalSpec()
        self.consistency = consistency or Consistency()
        self._history: dict[str, _History] = {}

    def forget(self, prefix: str) -> None:
        """Drop the histories of the signals named ``prefix…`` (their device changed)."""
        for name in [n for n in self._history if n.startswith(prefix)]:
            del self._history[name]

    def spec(self, name: str) -> SignalSpec:
        """The checks applied to ``name``."""
        return self.specs.get(name, self.default)

    def expect_change(self, *names: str, must_move: bool = True) -> None:
        """A control acted on these signals' plant (valve, pump): a jump is no spike.

        With ``must_move``, a signal that then stays put for ``stuck_samples`` samples is
        stuck (a frozen meter, or a valve that did not follow: diagnosis tells which).
        """
        for name in names:
            hist = self._hist(name)
            hist.window.clear()
            hist.outliers.clear()
            if must_move and hist.change_ref is None:  # a repeated command keeps counting
                hist.change_ref = hist.last_good
                hist.unchanged = 0

    def clean(self, sample: Any, time_s: float) -> CleanResult:
        """Check every signal of ``sample`` (a mapping name → raw value) at ``time_s``."""
        now = parse_value(time_s)[0]
        if now is None:
            raise ValueError(f"time_s must be a finite number of seconds, got {time_s!r}")
        raw = sample if isinstance(sample, Mapping) else {}
        if raw.keys() <= self.specs.keys():  # the usual sample: no signal beyond the specs
            names = list(self.specs)
        else:
            names = list(dict.fromkeys([*self.specs, *(str(k) for k in raw)]))
        values: dict[str, float | None] = {}
        flags: dict[str, Sequence[Flag]] = {}
        for name in names:
            values[name], flags[name] = self._check(name, _lookup(raw, name), now)
        notes = self._physics(values, flags)
        out: dict[str, tuple[str, ...]] = {}
        for name in names:
            found = flags[name]
            if not found:  # the common case: one shared ("ok",)
                out[name] = _OK
                continue
            if not REJECTING.isdisjoint(found):
                found = [*found]
                values[name] = self._fill(name, now, found)
            out[name] = tuple(f.value for f in found)
        return CleanResult(time_s=now, values=values, flags=out, notes=tuple(notes))

    def _hist(self, name: str) -> _History:
        """The history of ``name``, created on first use."""
        if name not in self._history:
            window: deque[float] = deque(maxlen=max(self.spec(name).hampel_window, 1))
            self._history[name] = _History(window=window)
        return self._history[name]

    def _check(self, name: str, raw: Any, now: float) -> tuple[float | None, Sequence[Flag]]:
        """Single-signal checks; keep the value in the history when it passed them."""
        spec = self.specs.get(name, self.default)
        hist = self._history.get(name) or self._hist(name)
        if type(raw) is float and math.isfinite(raw):  # parse_value's common case, inline
            value = raw
        else:
            parsed, why = parse_value(raw)
            if parsed is None:
                return None, [why or Flag.MISSING]
            value = parsed
        flags: list[Flag] = []
        if not spec.low <= value <= spec.high:  # in_range
            return value, [Flag.OUT_OF_RANGE]
        if spec.max_rate is not None and not rate_ok(
            hist.last_good, hist.last_good_s, value, now, spec.max_rate
        ):
            flags.append(Flag.RATE_OF_CHANGE)
        if not flags and len(hist.window) >= spec.hampel_min and self._spike(spec, hist, value):
            flags.append(Flag.SPIKE)
        if flags:
            return value, flags
        if (hist.change_ref is not None or spec.always_moves) and self._stuck(spec, hist, value):
            flags.append(Flag.STUCK)
        hist.window.append(value)
        hist.recent.append(value)
        hist.last_good, hist.last_good_s = value, now
        return value, flags or _NO_FLAGS  # one shared empty: 95,000 signals at 23k inlets

    @staticmethod
    def _spike(spec: SignalSpec, hist: _History, value: float) -> bool:
        """Hampel on the rolling window; outliers that persist are a step of the plant.

        A spike is isolated. A second outlier close to the first (within the window's own
        threshold), or a third in a row, means the plant moved: the window restarts there
        instead of rejecting the new level for ever.
        """
        if len(hist.window) < spec.hampel_min:
            return False
        window = list(hist.window)
        if not window:  # hampel_spike: nothing to compare with
            hist.outliers.clear()
            return False
        centre = median(window)  # hampel_spike's test, the median and MAD taken once
        floor = max(spec.spike_floor, spec.spike_share * abs(centre))
        mad = median([abs(x - centre) for x in window])
        threshold = max(spec.hampel_sigmas * HAMPEL_SCALE * mad, floor)
        if not abs(value - centre) > threshold:
            hist.outliers.clear()
            return False
        near = bool(hist.outliers) and abs(value - hist.outliers[-1]) <= threshold
        if near or len(hist.outliers) >= STEP_OUTLIERS - 1:
            hist.window.clear()
            hist.outliers.clear()
            return False
        hist.outliers.append(value)
        return True

    @staticmethod
    def _stuck(spec: SignalSpec, hist: _History, value: float) -> bool:
        """Unchanged for ``stuck_samples`` samples when it should have moved."""
        if hist.change_ref is not None:
            if abs(value - hist.change_ref) <= spec.stuck_tolerance:
                hist.unchanged += 1
                if hist.unchanged >= spec.stuck_samples:
                    return True
            else:
                hist.change_ref = None
                hist.unchanged = 0
        if not spec.always_moves:
            return False
        return is_stuck([*hist.recent, value], spec.stuck_samples, spec.stuck_tolerance)

    def _physics(
        self, values: dict[str, float | None], flags: dict[str, Sequence[Flag]]
    ) -> list[str]:
        """Consistency between signals that passed their own checks; flags the suspects."""
        c = self.consistency
        notes: list[str] = []

        def good(name: str) -> float | None:
            return values.get(name) if name in flags and not flags[name] else None

        for supply, ret in c.pairs:
            s, r = good(supply), good(ret)
            if s is not None and r is not None and not return_below_supply(s, r, c.temperature_k):
                flags[supply] = [*flags[supply], Flag.RETURN_ABOVE_SUPPLY]
                flags[ret] = [*flags[ret], Flag.RETURN_ABOVE_SUPPLY]
        for total, parts in c.sums:
            t, ps = good(total), [good(p) for p in parts]
            if t is None or any(p is None for p in ps):
                continue
            if not flows_add_up(t, [p for p in ps if p is not None], c.flow_share):
                flags[total] = [*flags[total], Flag.FLOW_SUM]
                notes.append(f"{Flag.FLOW_SUM.value}: {total}")
        for flow, supply, ret, heat in c.heat:
            q, s, r, h = good(flow), good(supply), good(ret), good(heat)
            if q is None or s is None or r is None or h is None:
                continue
            if not heat_matches(q, s, r, h, c.heat_share):
                flags[heat] = [*flags[heat], Flag.HEAT_MISMATCH]
                notes.append(f"{Flag.HEAT_MISMATCH.value}: {heat}")
        return notes

    def _fill(self, name: str, now: float, flags: list[Flag]) -> float | None:
        """Hold the last good value over a short gap; a longer gap stays missing."""
        hist = self._hist(name)
        if hist.last_good is None or hist.last_good_s is None:
            flags.append(Flag.GAP)
            return None
        if now - hist.last_good_s > self.spec(name).max_gap_s:
            flags.append(Flag.GAP)
            return None
        flags.append(Flag.FILLED)
        return hist.last_good


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
STUCK_FLOW_SHARE = 1e-4  # a commanded move changes flow by far more; meters resolve it


def for_network(
    network: Network, *, max_gap_s: float = 3600.0, heat_meters: bool = False
) -> Cleaner:
    """A cleaner for every signal of ``network``'s inlets and substation.

    With ``heat_meters`` every inlet is expected to report ``<id>.heat_kw`` (§4.1.2), checked
    against Q = ρ·V̇·cp·ΔT of its own sensors; without, heat meters are not expected.
    """
    water = SignalSpec(*WATER_RANGE_C, WATER_RATE_K_S, spike_floor=3.0, max_gap_s=max_gap_s)
    room = SignalSpec(*ROOM_RANGE_C, ROOM_RATE_K_S, spike_floor=1.5, max_gap_s=max_gap_s)
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
        )
        specs[f"{iid}.supply_c"] = specs[f"{iid}.return_c"] = water
        specs[f"{iid}.room_c"] = room
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


def expect_commands(cleaner: Cleaner, network: Network, moved: Iterable[str]) -> None:
    """Tell ``cleaner`` that valves of ``moved`` inlets (or the pump) were commanded.

    Valves are hydraulically coupled: one move changes every flow and, through them, the
    return temperatures, so every inlet's flow and temperatures may jump; only the moved
    inlets' own flows must move.
    """
    moved = set(moved)
    jumps = [f"{i}.{n}" for i in network.inlets for n in ("flow_m3h", "supply_c", "return_c")]
    jumps += [f"{SUBSTATION}.flow_m3h", f"{SUBSTATION}.return_c"]
    cleaner.expect_change(*jumps, must_move=False)
    cleaner.expect_change(*(f"{i}.flow_m3h" for i in moved if i in network.inlets))


_INLET_FIELDS = ("flow_m3h", "supply_c", "return_c", "room_c")
_SUBSTATION_FIELDS = {"supply_c": "supply_c", "return_c": "return_c", "pump_flow_m3h": "flow_m3h"}


def sample_of(
    measurements: Measurements, heat_kw: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The signals of a :class:`Measurements` (plus heat meters in kW, if read) by name."""
    sample: dict[str, Any] = {}
    for iid, reading in measurements.inlets.items():
        for name in _INLET_FIELDS:
            sample[f"{iid}.{name}"] = getattr(reading, name, None)
    for iid, value in (heat_kw or {}).items():
        sample[f"{iid}.heat_kw"] = value
    for attr, name in _SUBSTATION_FIELDS.items():
        sample[f"{SUBSTATION}.{name}"] = getattr(measurements, attr)
    sample["outdoor_c"] = measurements.outdoor_c
    return sample


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
    result = cleaner.clean(sample_of(measurements, heat_kw), measurements.time_s)
    inlets = {}
    values, flags = result.values, result.flags
    for iid, reading in measurements.inlets.items():
        names = [(n, f"{iid}.{n}") for n in _INLET_FIELDS]
        changes: dict[str, Any] = {n: values.get(s) for n, s in names}
        bad = {n for n, s in names if flags.get(s) != _OK}
        changes["flagged"] = frozenset(reading.flagged) | bad
        inlets[iid] = _replaced(reading, changes)

    def trusted(name: str) -> float | None:
        return result.values.get(name) if result.ok(name) else None

    cleaned_m = replace(
        measurements,
        inlets=inlets,
        supply_c=trusted(f"{SUBSTATION}.supply_c"),
        return_c=trusted(f"{SUBSTATION}.return_c"),
        pump_flow_m3h=trusted(f"{SUBSTATION}.flow_m3h"),
        outdoor_c=trusted("outdoor_c"),
    )
    return cleaned_m, result
