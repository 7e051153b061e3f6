"""Device plausibility over cycles: faults no single reading shows (§5.3.8-2, §5.3.8-4).

Data cleaning (:mod:`.cleaning`) judges each cycle alone; three faults of real plants only
show as a pattern over cycles, and each is a named finding here (an equipment-fault alarm,
:mod:`.alarms`):

* ``sensors_swapped`` — an inlet's (or the substation's) return reads warmer than its
  supply by more than :data:`SWAP_MARGIN_K` for :data:`SWAP_CYCLES` cycles in a row: the
  two sensors are swapped or one is faulty (§5.3.8-2 abnormal parameters). While it stands
  neither temperature is used for regulation (the reading flags them).
* ``meter_frozen`` — a flow meter repeats its value to the last digit for a run of cycles
  that its own history makes improbable (a dead transmitter that still answers). A meter
  is judged only where the controller's estimator learnt a noise level of at least
  :data:`FROZEN_MIN_NOISE` and the meter itself changed in :data:`FROZEN_MIN_CHANGES`
  quiet cycles (a noiseless or very quiet meter may repeat); the run needed
  comes from the meter's own share of exact repeats in quiet cycles before it (nothing
  moved: a noiseless plant at rest repeats every value, a regulating one never) and from
  its resolution (a coarse meter that often repeats needs a long run), so the chance of
  accusing a healthy meter in one run is below :data:`FROZEN_FALSE_RATE`. A meter whose
  plant never rested before it froze (PI regulating every cycle: no quiet cycle, no learnt
  noise) is judged by what a live meter cannot do: repeat its value to the last digit
  although its own valve (its building's, or the pump) was moved in between —
  :data:`FROZEN_MOVED_REPEATS` such repeats in a run of :data:`FROZEN_MIN_RUN` name a
  meter whose readings are continuous (no resolution step) and whose noise level is at
  least :data:`FROZEN_MIN_NOISE`. So the rule does not depend on which controller
  regulates. While it stands its flow is not used for regulation.
* ``flow_meter_dead`` — a flow meter reads no flow (0 or below) while every other witness
  of the inlet says water flows, in :data:`DEAD_CYCLES` readings in a row after the first
  (from the first such witnessed reading its flow is distrusted and no ``flow_low`` raised
  for it: :attr:`Plausibility.disowned`): its return stands above what stagnant water would
  still hold (:func:`_return_says`: a stopped inlet's return sensor cools toward the room
  over minutes, time constant :data:`STAGNANT_TAU_S`, so the first reading of no flow can
  never be told from a stop that just happened), its heat meter counts at least
  :data:`DEAD_HEAT` of the last flow read, and its valve is not shut. At least one of the
  return and the heat meter must be read, and none may say it stopped: a real stop stays
  the ``flow_low`` safety alarm (§5.3.8-1); a dead meter is an equipment fault naming the
  inlet (§5.3.7, §3.0.7-1), and while it stands its flow is not used for regulation. The
  return says "stopped" only as far below the midway as "flows" is above it (within its
  noise it says nothing), and a named meter stays named in a cycle where no witness tells
  either way: one cause, one alarm.
* ``pump_not_following`` — the pump's read-back speed is off its last command by more than
  the controller's follow tolerance for :data:`PUMP_OFF_CYCLES` cycles in a row (§5.3.8-4,
  command against feedback; a worn pump, a drive limit or wrong scaling).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from .control.base import InletReading, Measurements, band_chance, usable
from .control.controller import PUMP_FOLLOW_TOLERANCE, PUMP_SHORT_CYCLES
from .control.estimation import PRIOR_NOISE
from .control.estimator_bank import InletEstimator, SignalFilter
from .diagnosis import Finding, is_count, is_number
from .meters import SUBSTATION
from .model import WATER_CP, WATER_DENSITY, Device, Network
from .registers import Register, Span

SWAP_CYCLES = 3  # cycles in a row with the return warmer than the supply
SWAP_MARGIN_K = 2.0  # … by this much: 0.3 K sensors at zero flow differ by ≈0.4 K
FROZEN_MIN_NOISE = 0.005  # learnt meter noise (share) below which repeats are no evidence
FROZEN_MIN_RUN = 4  # repeats in a row, at least (2 h at 30-min cycles)
FROZEN_MIN_CHANGES = 2  # quiet cycles in which the meter changed: it showed noise of its own
FROZEN_NOISE_DOUBT = 2.0  # a noise level learnt from a few dozen cycles may be this far high
FROZEN_FALSE_RATE = 1e-4  # chance a healthy meter repeats for the run that accuses it
FROZEN_POOL_WEIGHT = 4.0  # the other meters' repeat share counts like this many own pairs
FROZEN_MOVED_REPEATS = 2  # repeats across a move of the inlet's own flow that name a live meter
# A flow witness (the valve's Kv(opening)·√ΔP, the heat meter's power ÷ ΔT) that moved by
# more than this share between two readings the meter repeated says the water moved …
FROZEN_WITNESS_MIN = 0.002
FROZEN_WITNESS_Z = 5.0  # … and by more than this many σ of its changes at rest (quiet cycles)
FROZEN_WITNESS_PRIOR = 0.01  # σ of a witness's change at rest before the data says (share) …
FROZEN_WITNESS_WEIGHT = 1.0  # … worth one change (every quiet cycle brings one per inlet)
# … and judged only once its changes at rest measured its noise this many times: against the
# prior alone, estate12's heat witness's first change at rest (ln −0.092, real scatter 5–6.5 %)
# named a noiseless live meter frozen; with 2–4 measured, 5 σ of so few still passed its
# scatter (test_a_noiseless_meter_among_noisy_ones_is_not_frozen at 2 %, seed 5)
FROZEN_WITNESS_LEARNT = 8
# a witness that jumps by more than this (ln: ×1.65) is a broken register, not moving water
# (0 °C return, a 1e9 supply: test_garbage_registers_page_no_safety_alarm_…)
FROZEN_WITNESS_MAX = 0.5
# the heat witness is the power over a span of the heat meter's register (:mod:`.registers`),
# taken only where the register's quantisation leaves it within this share (σ): a whole-kWh
# register over 30-s cycles (≈40 %) would teach the witness's noise its own steps
FROZEN_WITNESS_QUANT = 0.05
# valves carrying this share of the network's design flow moved: every inlet's flow moved
# (hydraulic coupling), far beyond a continuous meter's last digit (:func:`coupled`)
COUPLED_SHARE = 0.02
STEPS_KEPT = 16  # changes a meter's resolution is judged from
STEP_DIVISORS = 10  # … the smallest of which may be up to this many steps of it
PUMP_OFF_CYCLES = PUMP_SHORT_CYCLES  # the controller's own rule for a pump short of command
# no-flow readings in a row the witnesses contradict, after a first that none can (a stop
# that just happened), that name the meter — at its third zero: two garbage zeros in a row
# at 5 % garbage reads hit gen10x8's 90 inlets about once a day (bench_robust "absurd
# values 5%"); each such reading is distrusted from the first (:attr:`disowned`)
DEAD_CYCLES = 2
# the return stands this share of the way from what stagnant water would still hold to the
# flowing lift: it flows (long after a stop: half its lift over the room)
DEAD_HOLD = 0.5
# time constant of a return sensor in stagnant water cooling toward the room (pipe, sensor
# well, insulation: of order 5–20 min on real inlets); the slow end, so a stop that cools
# up to twice as slowly still never reads as flow (:func:`_return_says`)
STAGNANT_TAU_S = 1200.0
CYCLE_DEFAULT_S = 1800.0  # plant time per cycle where readings carry none (§4.3.4: ≤30 min)
DEAD_Z = 2.0  # the return stands this many σ of its sensor's noise above that bound, too
DEAD_PEERS = 2  # flowing inlets whose median return lift stands for a meter dead from its start
DEAD_LIFT_K = 4.0  # a return lifted less than this over the room tells nothing
DEAD_HEAT = 0.25  # the heat meter counted at least this share of the last flow read
DEAD_SHUT = 0.05  # a valve read below this opening is shut: no flow is what it says
DEAD_MIN_DT_K = 2.0  # below this supply/return difference the heat meter tells nothing
DEAD_KEPT = 4  # returns of flowing cycles the lift is judged from
ROOM_DEFAULT_C = 20.0  # where no room temperature is read
PRIOR_RETURN_K = PRIOR_NOISE["absolute"]  # a return sensor's σ where no estimator has learnt
KINDS = ("sensors_swapped", "meter_frozen", "pump_not_following", "flow_meter_dead")
_TEMPS = frozenset({"supply_c", "return_c"})
_FLOW = frozenset({"flow_m3h"})


@dataclass
class _Meter:
    """One flow meter's history of exact repeats."""

    last: float | None = None
    pairs: int = 0  # consecutive readings of quiet cycles compared (before the run)
    repeats: int = 0  # … of which repeated exactly
    run: int = 0  # exact repeats in a row now
    run_quiet: int = 0  # … of them in quiet cycles
    noise: float | None = None  # learnt noise when the run began
    run_moved: int = 0  # … of them although the inlet's flow was commanded to change
    since: float = 0.0  # when the run began
    steps: list[float] = field(default_factory=list)  # the last changes seen (sizes)
    witnesses: dict[str, float] = field(default_factory=dict)  # ln(flow) each witness gave
    run_witnessed: int = 0  # repeats of the run across which a witness saw the flow move
    run_clock: float | None = None  # plant time of the run's first repeat (heat witness)

    @property
    def quantum(self) -> float | None:
        """The meter's resolution, where its readings show one: every change seen a whole
        multiple of the smallest or of a whole fraction of it, up to :data:`STEP_DIVISORS`
        (a continuous meter's changes never are). A quiet meter of a regulating plant may
        change only by several steps at a time: changes of 0.02 and 0.03 m³/h were taken
        for a continuous meter's, and its repeats at rest for a frozen one's.

        Kept with the changes it was found from (not a field: never stored or compared):
        a repeating meter asks it up to five times a cycle, and a continuous one tries all
        ten divisors each time (speed at 23k inlets, issue 10)."""
        key = tuple(self.steps)
        memo = self.__dict__.get("_quantum")
        if memo is not None and memo[0] == key:
            kept: float | None = memo[1]
            return kept
        found = _quantum(key)
        self.__dict__["_quantum"] = (key, found)
        return found

    def needed(self, pool: float | None = None) -> int | None:
        """Repeats in a row that accuse this meter (None: not judged, or it may repeat).

        The chance of one exact repeat is the larger of the meter's own share of repeats
        (Laplace: never 0) and what its noise and resolution give at worst (the value in
        the middle of a step, the noise :data:`FROZEN_NOISE_DOUBT` × below the learnt
        level less its resolution's share, :meth:`true_noise`): a coarse meter repeats often.
        A meter that changed in one quiet cycle only (the plant rested once before it
        froze: PI regulating) has its share shrunk toward ``pool``, the other meters'
        share of repeats in quiet cycles, worth
        :data:`FROZEN_POOL_WEIGHT` pairs of its own (the meters of one network are alike,
        as the estimator's noise level assumes); with none of its own, it is not judged so.
        A meter that changed in every quiet cycle it was compared in (no repeat of its own)
        is shrunk toward ``pool`` too, instead of Laplace's uniform prior: four changes at rest
        and 1 % noise gave a repeat chance of 1/6 and six repeats before a name, where the
        network's meters repeat at rest about 1 in 50 (a frozen meter named at step 12, not
        10: 17e's trace, 19j). One with repeats of its own keeps Laplace's share (a noiseless
        or coarse meter repeats at rest: the pool of noisy meters is not its prior; §5.3.8-2).
        """
        changes = self.pairs - self.repeats
        noise = self.true_noise()
        if noise is None or noise < FROZEN_MIN_NOISE:
            return None
        if changes >= FROZEN_MIN_CHANGES and self.repeats == 0 and pool is not None:
            share = (FROZEN_POOL_WEIGHT * pool) / (self.pairs + FROZEN_POOL_WEIGHT)
        elif changes >= FROZEN_MIN_CHANGES:
            share = (self.repeats + 1) / (self.pairs + 2)
        elif pool is not None and (changes >= 1 or self._moved_continuous()):
            share = (self.repeats + FROZEN_POOL_WEIGHT * pool) / (self.pairs + FROZEN_POOL_WEIGHT)
        else:
            return None
        quantum = self.quantum
        if quantum is not None and self.last:
            sigma = noise * abs(self.last) / FROZEN_NOISE_DOUBT
            share = max(share, _repeat_chance(quantum / sigma))
        if share >= 1.0 - 1e-9:
            return None
        return max(FROZEN_MIN_RUN, math.ceil(math.log(FROZEN_FALSE_RATE) / math.log(share)))

    def true_noise(self) -> float | None:
        """The learnt noise level less what the meter's resolution adds to it (Sheppard's
        correction, σ² − q²/12, as a share of the last value): readings rounded to steps of
        q scatter by q/√12 more than the water does, so the learnt σ of a quantised meter
        does not bound its true noise from below — taken as the noise, it made long runs of
        repeats at rest look improbable. None: nothing learnt; 0: the learnt level is no
        more than the rounding (the meter's own noise is unknown, below its resolution)."""
        if self.noise is None:
            return None
        quantum = self.quantum
        if quantum is None or not self.last:
            return self.noise
        variance = self.noise**2 - (quantum / abs(self.last)) ** 2 / 12.0
        return math.sqrt(variance) if variance > 0.0 else 0.0

    def shows(self, moved: float) -> bool:
        """Whether a live meter would have shown a flow change of share ``moved``: it has
        changed before (it is not stuck by design) and the change is two steps of its
        resolution or more, where its readings show one (its noise may round it back)."""
        if moved <= 0.0 or not self.steps or self.last is None:
            return False
        quantum = self.quantum
        return quantum is None or moved * abs(self.last) > 2.0 * quantum

    def _moved_continuous(self) -> bool:
        """The run holds a repeat across a move of its own flow, and the meter's changes
        show no resolution step: a live continuous meter could do that only beside a valve
        that did not follow. With no quiet cycle of its own before (PI moved every
        cycle until it froze, then the plant rested: gen2-tiny), the other meters' share of
        quiet repeats is its prior. A noiseless meter at rest repeats too, but never across
        a move of its own flow (test_a_noiseless_meter_among_noisy_ones_is_not_frozen)."""
        return (
            self.run_moved >= 1 and len(self.steps) >= FROZEN_MIN_CHANGES and self.quantum is None
        )

    def needed_moved(self, noise: float | None) -> int | None:
        """Repeats in a row that accuse this meter on repeats across moves of its own flow
        (None: not so judged). A continuous meter (changes seen, no resolution step in
        them) with noise ``noise`` (the run's learnt level, else the estimator's now) cannot
        repeat to the last digit when its flow was made to change; a coarse one can (a
        small move within one step), a noiseless one can only beside a valve that did not
        follow its command."""
        if self.run_moved < FROZEN_MOVED_REPEATS or len(self.steps) < FROZEN_MIN_CHANGES:
            return None
        if self.quantum is not None or noise is None or noise < FROZEN_MIN_NOISE:
            return None
        return FROZEN_MIN_RUN


@dataclass
class _Flowing:
    """What an inlet's other witnesses said while its flow meter read water flowing."""

    flow: float | None = None  # the last flow read above 0
    returns: list[float] = field(default_factory=list)  # returns of those cycles (°C)
    register: Register = field(default_factory=Register)  # the heat meter's (spans)
    stop_kwh: float | None = None  # the register at the first reading since no flow …
    stop_heat_s: float | None = None  # … and when
    dead: int = 0  # no-flow readings in a row the witnesses contradicted
    since: float = 0.0  # when that run began
    stop_s: float | None = None  # the first reading of no flow in a row (None: flowing)


def _real(value: Any) -> float:
    """A stored number (:func:`.diagnosis.is_number`: finite, not a bool nor a string); a
    damaged one raises ValueError (``float`` took "nan" and True)."""
    if not is_number(value):  # OverflowError for a huge int: a restore error too
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _size(value: Any) -> float:
    """A stored sum of squares or a step size: a finite number ≥ 0 (a damaged one raises:
    a negative one gave √ of a negative in :meth:`Plausibility._witnessed`)."""
    number = _real(value)
    if number < 0.0:
        raise ValueError(f"negative: {value!r}")
    return number


def _change(value: Any) -> float:
    """A stored change of a meter's reading: a finite number > 0, as only a change is kept
    (a damaged one raises: a 0 made :attr:`_Meter.quantum` divide by zero)."""
    number = _size(value)
    if number == 0.0:
        raise ValueError("a change of 0")
    return number


def _count(value: Any) -> int:
    """A stored count (:func:`.diagnosis.is_count`: a whole number 0…2⁵³); a damaged one
    raises: −1 stored as a witness's count divided by zero in :meth:`Plausibility._witnessed`,
    and ``int`` took 2.5, True and −1e9 without a word."""
    if not is_count(value):
        raise ValueError(f"not a count: {value!r}")
    return int(value)


def _number(data: Mapping[str, Any], key: str) -> float | None:
    """A stored optional number (a damaged one raises)."""
    value = data[key]
    return None if value is None else _real(value)


def _flowing_plain(state: _Flowing) -> dict[str, Any]:
    """``asdict`` of a :class:`_Flowing`, its register as a short list (23k of them)."""
    out = {k: v for k, v in vars(state).items() if k != "register"}
    out["returns"] = list(state.returns)
    out["register"] = state.register.to_plain()
    return out


def _flowing(data: Mapping[str, Any]) -> _Flowing:
    """A stored :class:`_Flowing` (numbers checked: a damaged one raises)."""
    return _Flowing(
        flow=_number(data, "flow"),
        returns=[_real(x) for x in data["returns"]][-DEAD_KEPT:],
        # a state stored before the register's spans (heat_kwh, time_s): a fresh one
        register=Register.from_plain(data.get("register", {})),
        stop_kwh=_number(data, "stop_kwh") if "stop_kwh" in data else None,
        stop_heat_s=_number(data, "stop_heat_s") if "stop_heat_s" in data else None,
        dead=_count(data["dead"]),
        since=_real(data["since"]),
        stop_s=_number(data, "stop_s") if "stop_s" in data else None,  # stored before it
    )


@dataclass
class _Cycle:
    """What this cycle's readings say beyond one inlet's own, for the dead-meter check."""

    clock_s: float  # plant time now (:attr:`Plausibility.clock_s`)
    supply_c: float | None  # the substation's supply
    inlets: Mapping[str, InletReading]
    estimators: Mapping[str, InletEstimator]
    _peer: tuple[float | None] | None = None  # computed once, when first asked

    def return_noise_k(self, iid: str) -> float:
        """σ of one return reading of ``iid`` (K): the estimator's learnt level, shrunk
        toward the network's (its prior before anything is learnt)."""
        est = self.estimators.get(iid)
        return est.filters["return_c"].sigma() if est is not None else PRIOR_RETURN_K

    def peer_lift(self) -> float | None:
        """The median return lift over the room of the inlets reading flow now (None: fewer
        than :data:`DEAD_PEERS`): a flowing return on this network, for a meter dead from
        its first reading. Asked only then, at most once a cycle."""
        if self._peer is None:
            lifts = sorted(
                ret - _room(r)
                for r in self.inlets.values()
                if (flow := usable(r.flow_m3h)) is not None
                and flow > 0.0
                and (ret := usable(r.return_c)) is not None
            )
            n = len(lifts)
            mid = None if n < DEAD_PEERS else (lifts[(n - 1) // 2] + lifts[n // 2]) / 2
            self._peer = (mid,)
        return self._peer[0]


def _room(reading: InletReading) -> float:
    """The inlet's room temperature, else :data:`ROOM_DEFAULT_C`."""
    room = usable(reading.room_c)
    return ROOM_DEFAULT_C if room is None else room


def _return_says(
    iid: str, state: _Flowing, reading: InletReading, cycle: _Cycle
) -> str | bool | None:
    """What the return says of an inlet whose meter reads no flow: it flows (the text),
    stopped (False: :data:`DEAD_Z` σ below the midway, as far as "flows" is above it) or
    nothing (None: not read, too little lift to judge, or within its noise of the midway).

    Stagnant water cools toward the room with time constant :data:`STAGNANT_TAU_S`: its
    lift is at most ``start``·e^(−Δt/τ), Δt since the first reading of no flow in a row (a
    stop cannot have come later, so the first such reading never speaks for the meter) and
    ``start`` the lift it had while the meter read flow — for a meter dead from its first
    reading, the supply's (nothing is warmer). A flowing return keeps its own lift (else,
    dead from the start, the median of the inlets reading flow now). The water flows where
    the return stands :data:`DEAD_HOLD` of the way from the stagnant bound up to the
    flowing lift, and :data:`DEAD_Z` σ of its sensor's noise above that (in the first
    minutes the two differ by less than a noisy sensor's scatter: with 0.6 K return noise
    a real stop was named in 2 of 6 seeds without it). A stop cooling even twice as slowly
    stays below, at every Δt: e^(−x/2) ≤ ½ + ½·e^(−x). So with HA cycles of seconds a real
    stop stays ``flow_low``, and with 30-min cycles the rule is the old one (half the lift,
    plus the margin) from the second reading.
    """
    ret = usable(reading.return_c)
    if ret is None:
        return None
    room = _room(reading)
    flowing: float | None
    start: float | None
    if state.returns:
        flowing = start = sum(state.returns) / len(state.returns) - room
    else:
        supplies = [x for x in (usable(reading.supply_c), cycle.supply_c) if x is not None]
        flowing = cycle.peer_lift()
        start = max(supplies) - room if supplies else None
    if flowing is None or start is None or flowing < DEAD_LIFT_K:
        return None
    waited = max(cycle.clock_s - (cycle.clock_s if state.stop_s is None else state.stop_s), 0.0)
    stagnant = start * math.exp(-waited / STAGNANT_TAU_S)
    margin = DEAD_Z * cycle.return_noise_k(iid)
    midway = stagnant + DEAD_HOLD * max(flowing - stagnant, 0.0)
    if ret - room <= midway - margin:
        return False
    if ret - room <= midway + margin:
        # within its noise of the midway: no verdict. In the first minutes at HA's cycles of
        # seconds the two lifts differ by less than the sensor's scatter, and a flowing
        # return read one noise draw low stopped a named dead meter's finding beside a heat
        # meter that kept counting: ``flow_low`` raised again (15c, 10-s cycles)
        return None
    return (
        f"return {ret:.1f} °C {waited / 60.0:.0f} min after the first reading of no flow "
        f"(stagnant water: ≤{room + stagnant:.1f}, flowing ≈{room + flowing:.1f})"
    )


def _still_flows(
    iid: str, state: _Flowing, reading: InletReading, cycle: _Cycle
) -> list[str] | Literal[False] | None:
    """What says the inlet's water still flows although its meter reads none (False: a
    witness says it stopped; None: none says either). The return against what stagnant water
    would hold by now (:func:`_return_says`); the heat meter's counter over the last cycle
    at the cycle's ΔT against the last flow read. An open valve is no proof on its own (a
    blockage is an open valve), but a shut one explains the reading."""
    opening = usable(reading.opening)
    if opening is not None and opening < DEAD_SHUT:
        return False
    said: list[str] = []
    ret, supply = usable(reading.return_c), usable(reading.supply_c)
    says = _return_says(iid, state, reading, cycle)
    if says is False:
        return False
    if isinstance(says, str):
        said.append(says)
    energy = usable(reading.heat_kwh)
    now = cycle.clock_s
    start_kwh, start_s = state.stop_kwh, state.stop_heat_s
    if (
        energy is not None
        and start_kwh is not None
        and start_s is not None
        and now > start_s
        and state.flow
        and supply is not None
        and ret is not None
        and supply - ret >= DEAD_MIN_DT_K
    ):
        # the heat counted since the first reading of no flow, within a register step
        # each way (:mod:`.registers`): a whole-kWh register that has not moved for a few
        # 30-s cycles says the heat was below a step, not that the water stopped
        least, most = state.register.bounds(start_kwh)
        flows = [x * 3.6e6 / (now - start_s) / (WATER_DENSITY * WATER_CP * (supply - ret)) * 3600.0
                 for x in (least, most)]  # fmt: skip
        if flows[1] < DEAD_HEAT * state.flow:
            return False
        if flows[0] >= DEAD_HEAT * state.flow:
            said.append(f"heat meter {flows[0]:.2f} m³/h")
    return said or None


_WITNESS_DEFAULTS = {"witnesses": {}, "run_witnessed": 0, "run_clock": None}


def _meter_plain(m: _Meter) -> dict[str, Any]:
    """``asdict(m)`` less the witness fields at their defaults (outside a run: every live
    meter), which :func:`_meter` reads back as such — 1.7 MB less JSON at 23k inlets."""
    out = asdict(m)
    for key, default in _WITNESS_DEFAULTS.items():
        if out[key] == default:
            del out[key]
    return out


def _meter(data: Mapping[str, Any]) -> _Meter:
    """A stored :class:`_Meter` (numbers checked: a damaged one raises)."""
    return _Meter(
        last=_number(data, "last"),
        pairs=_count(data["pairs"]),
        repeats=_count(data["repeats"]),
        run=_count(data["run"]),
        run_quiet=_count(data["run_quiet"]),
        noise=_number(data, "noise"),
        run_moved=_count(data.get("run_moved", 0)),  # a state stored before it existed: none
        since=_real(data["since"]),
        steps=[_change(x) for x in data["steps"]][-STEPS_KEPT:],
        witnesses={str(k): _real(v) for k, v in dict(data.get("witnesses", {})).items()},
        run_witnessed=_count(data.get("run_witnessed", 0)),
        run_clock=_number(data, "run_clock") if "run_clock" in data else None,
    )


def _need(m: _Meter, meter: SignalFilter | None, pool: float | None) -> int | None:
    """Repeats in a row that accuse ``m`` now: on its quiet-cycle history (shrunk toward
    ``pool``, the other meters') or on repeats across moves of its own flow, whichever
    needs fewer (None: neither judges it)."""
    if m.noise is None and meter is not None and meter.learnt:
        m.noise = meter.sigma()  # none learnt when the run began (PI moved every cycle)
    needs = [n for n in (m.needed(pool), m.needed_moved(m.noise)) if n is not None]
    return min(needs) if needs else None


def _quantum(steps: tuple[float, ...]) -> float | None:
    """:attr:`_Meter.quantum` of these changes."""
    if not steps:
        return None
    low = min(steps)
    for k in range(1, STEP_DIVISORS + 1):
        q = low / k
        if all(abs(x / q - round(x / q)) < 1e-6 for x in steps):
            return q
    return None


def _repeat_chance(steps: float) -> float:
    """Chance per reading that a run of repeats goes on, for normal noise of σ = 1/``steps``
    of the resolution around a value in the middle of a step (the worst case): the chance
    a reading rounds to the value's own step, p₀. A run of n repeats has chance p₀ⁿ (every
    reading in that step), far more than the chance two readings coincide, Σ pᵢ², to the
    n-th: a 3.3 m³/h household meter at 0.01 m³/h steps and 0.1 % noise repeated for 28–56
    cycles at rest (p₀ = 0.87, Σ pᵢ² = 0.76) and was called frozen (15c). Beyond 50 steps
    per σ it is 1 (a meter far coarser than its noise repeats for certain at rest)."""
    if steps > 50.0:
        return 1.0
    return band_chance(0.0, 1.0, -0.5 * steps, 0.5 * steps)


class Plausibility:
    """The checks' state across cycles; kept over a restart (:meth:`as_dict`): a frozen
    meter's repeat history takes days of quiet cycles to learn, and a fault that began
    before Home Assistant stopped must not start counting again."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.swapped: dict[str, tuple[int, float]] = {}  # inlet → (cycles in a row, since)
        self.meters: dict[str, _Meter] = {}
        self.pump_off: tuple[int, float] = (0, 0.0)
        self.flowing: dict[str, _Flowing] = {}
        # this cycle's inlets whose reading of no flow their witnesses contradict: the
        # reading is the meter's fault, not the plant's (untrusted, the alarm rules)
        self.disowned: set[str] = set()
        self._quiet_pairs = (0, 0)  # Σ pairs, Σ repeats of quiet cycles over the meters
        # plant time: the readings' own, else counted in cycles of ``cycle_s`` (the loop's)
        self.clock_s = 0.0
        self.cycle_s = CYCLE_DEFAULT_S
        # the valves whose Kv(opening)·√ΔP witnesses their inlet's flow (the loop's network)
        self.valves: dict[str, Device] = {}
        # per witness kind: Σ squared log-changes and their count in quiet cycles (its noise)
        self.witness_noise: dict[str, tuple[float, int]] = {}
        self._spans: dict[str, Span] = {}  # this cycle's closed heat meter spans, per inlet

    def as_dict(self) -> dict[str, Any]:
        """The state as JSON-ready data (the loop's Store entry)."""
        return {
            "swapped": {iid: list(run) for iid, run in self.swapped.items()},
            "meters": {iid: _meter_plain(m) for iid, m in self.meters.items()},
            "pump_off": list(self.pump_off),
            "flowing": {iid: _flowing_plain(f) for iid, f in self.flowing.items()},
            "clock_s": self.clock_s,
            "witness_noise": {k: list(v) for k, v in self.witness_noise.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plausibility:
        """Read back :meth:`as_dict`; raises KeyError, TypeError or ValueError when damaged."""
        out = cls()
        out.swapped = {str(i): (_count(n), _real(t)) for i, (n, t) in data["swapped"].items()}
        out.meters = {str(i): _meter(m) for i, m in data["meters"].items()}
        count, since = data["pump_off"]
        out.pump_off = (_count(count), _real(since))
        # a state stored before the dead-meter check: nothing seen yet
        out.flowing = {str(i): _flowing(f) for i, f in data.get("flowing", {}).items()}
        out.clock_s = _real(data.get("clock_s", 0.0))  # stored before it: from the start
        out.witness_noise = {
            str(k): (_size(sq), _count(n)) for k, (sq, n) in data.get("witness_noise", {}).items()
        }
        return out

    def _pool(self, m: _Meter) -> float | None:
        """The other meters' share of exact repeats in quiet cycles (Laplace), None when
        they have none: the prior of a meter with little quiet history of its own."""
        pairs, repeats = self._quiet_pairs
        pairs, repeats = pairs - m.pairs, repeats - m.repeats
        return (repeats + 1) / (pairs + 2) if pairs > 0 else None

    def forget(self, iid: str) -> None:
        """The inlet's devices changed: what was seen of the old ones does not hold."""
        self.swapped.pop(iid, None)
        self.meters.pop(iid, None)
        self.flowing.pop(iid, None)

    def update(
        self,
        raw: Measurements,
        estimators: Mapping[str, InletEstimator],
        sent_speed: float | None,
        quiet: bool = False,
        touched: Collection[str] = (),
    ) -> list[Finding]:
        """This cycle's findings from the raw readings, the estimators' learnt flow noise
        (of the cycles before) and the pump speed last commanded (None: no pump command);
        ``quiet``: nothing was moved since the last readings, so a meter's changes are its
        own (only such cycles teach how often it repeats: a noiseless plant at rest repeats
        every value, a moving one never); ``touched``: the inlets whose flow a command sent
        since the last readings changed (own valve, building's or households', the pump's:
        every inlet) — a live meter cannot repeat there."""
        now = raw.time_s or 0.0
        found: list[Finding] = []
        self.disowned = set()
        self._spans = {}
        self.clock_s = raw.time_s if raw.time_s is not None else self.clock_s + self.cycle_s
        cycle = _Cycle(self.clock_s, usable(raw.supply_c), raw.inlets, estimators)
        pairs = [(iid, r.supply_c, r.return_c) for iid, r in raw.inlets.items()]
        pairs.append((SUBSTATION, raw.supply_c, raw.return_c))
        for iid, raw_supply, raw_return in pairs:
            supply, ret = usable(raw_supply), usable(raw_return)
            if supply is not None and ret is not None and ret > supply + SWAP_MARGIN_K:
                found += self._swap(iid, supply, ret, now)
            elif self.swapped:  # (_swap's "not warm", without a call per inlet)
                self.swapped.pop(iid, None)
        self._quiet_pairs = (
            sum(m.pairs for m in self.meters.values()),
            sum(m.repeats for m in self.meters.values()),
        )
        for iid, reading in raw.inlets.items():
            value = usable(reading.flow_m3h)
            found += self._dead(iid, reading, value, cycle, now)
            if value is None:
                continue  # a gap neither breaks nor extends a run
            flt = estimators.get(iid)
            meter = flt.filters["flow_m3h"] if flt is not None else None
            found += self._frozen(iid, value, meter, (quiet, iid in touched), now, reading)
        found += self._pump(usable(raw.pump_speed), sent_speed, now)
        return found

    def _witnessed(
        self, m: _Meter, reading: InletReading, iid: str, quiet: bool, now: float
    ) -> float:
        """The largest share by which a flow witness says the inlet's water moved since the
        last reading (0: none says so beyond its noise), and what the witnesses say now
        kept for the next (asked from a run's first repeat on: what they say of the water
        counts from its second). Witnesses: the valve's Kv(opening)·√ΔP (the valve law, no flow
        meter in it) and the heat meter's power ÷ (supply − return). In quiet cycles
        (nothing moved: the water stood still) their changes teach their noise, pooled
        over all inlets; a change counts beyond :data:`FROZEN_WITNESS_Z` σ of it and
        :data:`FROZEN_WITNESS_MIN`, not beyond :data:`FROZEN_WITNESS_MAX` (a broken
        register), only once :data:`FROZEN_WITNESS_LEARNT` changes at rest measured that σ
        (the prior is no measurement: a quiet live meter must not be called frozen for how
        it was set), and only where every witness read moved the same way."""
        now_says = self._witness_flows(m, reading, iid, now)
        moved, signs = 0.0, set()
        for kind, value in now_says.items():
            last = m.witnesses.get(kind)
            if last is None or abs(value - last) > FROZEN_WITNESS_MAX:
                continue
            change = abs(value - last)
            signs.add(value > last)
            sq, count = self.witness_noise.get(kind, (0.0, 0))
            if quiet:
                self.witness_noise[kind] = (sq + change * change, count + 1)
            if count < FROZEN_WITNESS_LEARNT:
                continue  # its noise not measured yet: it says nothing
            prior = FROZEN_WITNESS_PRIOR**2 * FROZEN_WITNESS_WEIGHT
            sigma = math.sqrt((prior + sq) / (FROZEN_WITNESS_WEIGHT + count))
            if change > max(FROZEN_WITNESS_MIN, FROZEN_WITNESS_Z * sigma):
                moved = max(moved, math.expm1(change))
        m.witnesses = now_says
        # witnesses that disagree on the direction: one of them is wrong, say nothing
        return moved if len(signs) == 1 else 0.0

    def _witness_flows(
        self, m: _Meter, reading: InletReading, iid: str, now: float
    ) -> dict[str, float]:
        """ln of each flow witness's figure this cycle (scale-free: only changes count)."""
        out: dict[str, float] = {}
        device = self.valves.get(iid)
        opening, dp = usable(reading.opening), usable(reading.valve_dp_kpa)
        if device is not None and opening is not None and dp is not None and dp > 0:
            kv = device.kv(opening)
            if kv > 0:
                out["valve"] = math.log(kv * math.sqrt(dp))
        span = self._spans.get(iid)
        supply, ret = usable(reading.supply_c), usable(reading.return_c)
        if (
            span is not None
            and m.run_clock is not None
            and span.start_s >= m.run_clock  # the water since the run's first repeat
            and math.hypot(span.start_sd, span.end_sd) <= FROZEN_WITNESS_QUANT * span.heat_kwh
            and supply is not None
            and ret is not None
            and supply - ret >= DEAD_MIN_DT_K
        ):
            seconds = span.end_s - span.start_s
            out["heat"] = math.log(span.heat_kwh / seconds / (supply - ret))
        return out

    def _swap(self, iid: str, supply: float | None, ret: float | None, now: float) -> list[Finding]:
        warm = supply is not None and ret is not None and ret > supply + SWAP_MARGIN_K
        if not warm:
            self.swapped.pop(iid, None)
            return []
        count, since = self.swapped.get(iid, (0, now))
        self.swapped[iid] = (count + 1, since)
        if count + 1 < SWAP_CYCLES:
            return []
        text = (
            f"{iid}: return {ret:.1f} °C above supply {supply:.1f} °C for {count + 1} cycles: "
            "temperature sensors swapped or faulty (§5.3.8-2)"
        )
        return [Finding(iid, "sensors_swapped", "warning", text, since)]

    def _frozen(
        self,
        iid: str,
        value: float,
        meter: SignalFilter | None,
        cycle: tuple[bool, bool],
        now: float,
        reading: InletReading | None = None,
    ) -> list[Finding]:
        """``cycle``: (nothing was moved, this inlet's flow was moved) since the last readings;
        ``reading``: the inlet's whole reading (its flow witnesses, :meth:`_witnessed`)."""
        quiet, moved = cycle
        m = self.meters.get(iid)
        if m is None:  # (setdefault built a _Meter per inlet and cycle only to drop it)
            m = self.meters[iid] = _Meter()
        repeat = m.last is not None and value == m.last and value > 0.0
        # the witnesses are asked only under a repeat (a live noisy meter never repeats:
        # asking every inlet every cycle cost 114 ms CPU and 3.4 MB of Store at 23k inlets)
        seen = self._witnessed(m, reading, iid, quiet, now) if reading and repeat else 0.0
        if repeat:
            if m.run == 0:
                # the level shrunk toward the network's meters: a few samples say little
                noise = meter.sigma() if meter is not None and meter.learnt else None
                m.noise, m.since, m.run_clock = noise, now, self.clock_s
            m.run += 1
            m.run_quiet += quiet
            m.run_moved += moved
            m.run_witnessed += m.shows(seen)
        else:
            if m.last is not None:
                if value != m.last:
                    m.steps = [*m.steps[-(STEPS_KEPT - 1) :], abs(value - m.last)]
                need = _need(m, meter, self._pool(m)) if m.run else None
                if not m.run or need is None or m.run < need:  # a frozen run is no history
                    m.pairs += m.run_quiet + quiet
                    m.repeats += m.run_quiet
            m.run, m.run_quiet, m.run_moved, m.run_witnessed, m.last = 0, 0, 0, 0, value
            m.witnesses, m.run_clock = {}, None
        need = _need(m, meter, self._pool(m)) if m.run else None
        if m.run_witnessed >= 1:  # a witness saw the water move under the repeat
            need = min(need, FROZEN_MIN_RUN) if need is not None else FROZEN_MIN_RUN
        if need is None or m.run < need:
            return []
        why = f"its learnt noise is {m.noise:.1%}" if m.noise is not None else "its noise unlearnt"
        if m.run_moved:
            why += f", its flow moved {m.run_moved} times"
        if m.run_witnessed:
            why += f", its valve ΔP or heat meter saw the flow change {m.run_witnessed} times"
        text = (
            f"{iid}: flow meter reads {value:g} m³/h unchanged for {m.run} cycles while "
            f"{why}: frozen (§5.3.8-2)"
        )
        return [Finding(iid, "meter_frozen", "warning", text, m.since)]

    def _dead(
        self, iid: str, reading: InletReading, value: float | None, cycle: _Cycle, now: float
    ) -> list[Finding]:
        """A flow meter reading no flow while the inlet's other witnesses say it flows
        (:func:`_still_flows`); what they said while it read flow is kept to judge by."""
        state = self.flowing.get(iid)
        if state is None:
            state = self.flowing[iid] = _Flowing()
        found: list[Finding] = []
        energy = usable(reading.heat_kwh)
        if energy is not None:
            span = state.register.read(energy, cycle.clock_s)
            if span is not None:
                self._spans[iid] = span
        if value is not None and value <= 0.0:
            first = state.stop_s is None  # a stop that just happened: nothing tells yet
            if first:
                state.stop_s = cycle.clock_s
            said = None if first else _still_flows(iid, state, reading, cycle)
            if state.stop_kwh is None and energy is not None:  # the heat counts from here
                state.stop_kwh, state.stop_heat_s = energy, cycle.clock_s
            named = state.dead >= DEAD_CYCLES
            if said is False or (said is None and not named):
                state.dead = 0
            else:
                # A named meter stays named while no witness says the water stopped: a
                # cycle in which none can tell (a noisy return near the midway, a register
                # that has not stepped) is no news, and un-naming it raised ``flow_low``
                # again for the same broken meter (§5.3.8-1 vs §5.3.7: one cause, one alarm)
                state.since = state.since if state.dead else now
                state.dead += said is not None
                self.disowned.add(iid)
                if state.dead >= DEAD_CYCLES:
                    minutes = (cycle.clock_s - (state.stop_s or 0.0)) / 60.0
                    why = (
                        f"{', '.join(said)} say water flows"
                        if said
                        else "its witnesses said water flows and none says it stopped"
                    )
                    text = (
                        f"{iid}: flow meter reads {value:g} m³/h for {minutes:.0f} min while "
                        f"{why}: meter faulty (§5.3.7, §3.0.7-1)"
                    )
                    found.append(Finding(iid, "flow_meter_dead", "warning", text, state.since))
        elif value is not None:  # a gap neither breaks nor extends a run
            state.dead, state.flow, state.stop_s = 0, value, None
            state.stop_kwh = state.stop_heat_s = None
            ret = usable(reading.return_c)
            if ret is not None:
                state.returns = [*state.returns[-(DEAD_KEPT - 1) :], ret]
        return found

    def _pump(self, read: float | None, sent: float | None, now: float) -> list[Finding]:
        if read is None or sent is None or abs(read - sent) <= PUMP_FOLLOW_TOLERANCE:
            self.pump_off = (0, now)
            return []
        count, since = self.pump_off
        self.pump_off = (count + 1, since if count else now)
        if count + 1 < PUMP_OFF_CYCLES:
            return []
        text = (
            f"pump runs at {read:.1%} of full speed, commanded {sent:.1%}, for {count + 1} "
            "cycles: not following its command (§5.3.8-4)"
        )
        return [Finding(SUBSTATION, "pump_not_following", "warning", text, self.pump_off[1])]


def valve_witnesses(network: Network) -> dict[str, Device]:
    """The valves whose characteristic witnesses their inlet's flow (``_witnessed``)."""
    return {
        iid: inlet.device
        for iid, inlet in network.inlets.items()
        if inlet.device.actuated and inlet.device.kvs
    }


def coupled(network: Network, moved: Collection[str]) -> bool:
    """Whether the valves ``moved`` since the last readings carry at least
    :data:`COUPLED_SHARE` of the top-level design flow: then every other inlet's flow moved
    too (the network's pressures shifted), so a continuous live meter cannot repeat its
    value to the last digit there. Under PI the frozen meter's own valve and the pump rest
    once its frozen value sits in band while others keep moving; without this the rule had
    no cycle a live meter could not repeat in (6 of 13 hidden shapes named)."""
    inlets = network.inlets
    total = sum(i.design_flow_m3h for i in inlets.values() if i.parent is None)
    share = sum(inlets[i].design_flow_m3h for i in moved if i in inlets)
    return total > 0 and share >= COUPLED_SHARE * total


def distrusted(
    findings: list[Finding], disowned: Collection[str] = ()
) -> dict[str, dict[str, str]]:
    """Per inlet, the read fields the findings distrust, each named by its finding: a
    swapped pair's temperatures, a frozen or dead meter's flow, and the flow of the
    ``disowned`` inlets (:attr:`Plausibility.disowned`). The one rule regulation
    (:func:`untrusted`) and the alarm rules (``ControlLoop._alarm_rules``: no process alarm
    on such a value, §3.0.7-1) both go by."""
    marks: dict[str, dict[str, str]] = {
        iid: dict.fromkeys(_FLOW, "flow_meter_dead") for iid in disowned
    }
    for f in findings:
        if f.kind == "sensors_swapped":
            fields = _TEMPS
        elif f.kind in ("meter_frozen", "flow_meter_dead"):
            fields = _FLOW
        else:
            continue
        marks.setdefault(f.inlet_id, {}).update(dict.fromkeys(fields, f.kind))
    return marks


def untrusted(
    meas: Measurements, findings: list[Finding], disowned: Collection[str] = ()
) -> Measurements:
    """``meas`` with the values the findings distrust flagged (§3.0.7-1: regulation does
    without them): :func:`distrusted`."""
    marks = distrusted(findings, disowned)
    if not marks:
        return meas
    station = SUBSTATION in marks and any(n in _TEMPS for n in marks[SUBSTATION])
    inlets = dict(meas.inlets)
    for iid, names in marks.items():
        reading: InletReading | None = inlets.get(iid)
        if reading is not None:
            inlets[iid] = replace(reading, flagged=frozenset(reading.flagged) | names.keys())
    out = replace(meas, inlets=inlets)
    if station:
        out.supply_c = out.return_c = None
    return out
