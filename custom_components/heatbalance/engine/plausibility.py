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
* ``pump_not_following`` — the pump's read-back speed is off its last command by more than
  the controller's follow tolerance for :data:`PUMP_OFF_CYCLES` cycles in a row (§5.3.8-4,
  command against feedback; a worn pump, a drive limit or wrong scaling).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .control.base import InletReading, Measurements, band_chance, usable
from .control.controller import PUMP_FOLLOW_TOLERANCE, PUMP_SHORT_CYCLES
from .control.estimation import InletEstimator, SignalFilter
from .diagnosis import Finding
from .meters import SUBSTATION

SWAP_CYCLES = 3  # cycles in a row with the return warmer than the supply
SWAP_MARGIN_K = 2.0  # … by this much: 0.3 K sensors at zero flow differ by ≈0.4 K
FROZEN_MIN_NOISE = 0.005  # learnt meter noise (share) below which repeats are no evidence
FROZEN_MIN_RUN = 4  # repeats in a row, at least (2 h at 30-min cycles)
FROZEN_MIN_CHANGES = 2  # quiet cycles in which the meter changed: it showed noise of its own
FROZEN_NOISE_DOUBT = 2.0  # a noise level learnt from a few dozen cycles may be this far high
FROZEN_FALSE_RATE = 1e-4  # chance a healthy meter repeats for the run that accuses it
FROZEN_POOL_WEIGHT = 4.0  # the other meters' repeat share counts like this many own pairs
FROZEN_MOVED_REPEATS = 2  # repeats across a move of the inlet's own flow that name a live meter
STEPS_KEPT = 16  # changes a meter's resolution is judged from
PUMP_OFF_CYCLES = PUMP_SHORT_CYCLES  # the controller's own rule for a pump short of command
KINDS = ("sensors_swapped", "meter_frozen", "pump_not_following")
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

    @property
    def quantum(self) -> float | None:
        """The meter's resolution, where its readings show one: every change seen a whole
        multiple of the smallest (a continuous meter's changes never are)."""
        if not self.steps:
            return None
        q = min(self.steps)
        whole = all(abs(x / q - round(x / q)) < 1e-6 for x in self.steps)
        return q if whole else None

    def needed(self, pool: float | None = None) -> int | None:
        """Repeats in a row that accuse this meter (None: not judged, or it may repeat).

        The chance of one exact repeat is the larger of the meter's own share of repeats
        (Laplace: never 0) and what its noise and resolution give at worst (the value in
        the middle of a step, the noise :data:`FROZEN_NOISE_DOUBT` × below the learnt
        level): a coarse meter repeats often. A meter that changed in one quiet cycle only
        (the plant rested once before it froze: PI regulating) has its share shrunk toward
        ``pool``, the other meters' share of repeats in quiet cycles, worth
        :data:`FROZEN_POOL_WEIGHT` pairs of its own (the meters of one network are alike,
        as the estimator's noise level assumes); with none of its own, it is not judged so.
        """
        changes = self.pairs - self.repeats
        if self.noise is None or self.noise < FROZEN_MIN_NOISE:
            return None
        if changes >= FROZEN_MIN_CHANGES:
            share = (self.repeats + 1) / (self.pairs + 2)
        elif changes >= 1 and pool is not None:
            share = (self.repeats + FROZEN_POOL_WEIGHT * pool) / (self.pairs + FROZEN_POOL_WEIGHT)
        else:
            return None
        quantum = self.quantum
        if quantum is not None and self.last:
            sigma = self.noise * abs(self.last) / FROZEN_NOISE_DOUBT
            share = max(share, _repeat_chance(quantum / sigma))
        if share >= 1.0 - 1e-9:
            return None
        return max(FROZEN_MIN_RUN, math.ceil(math.log(FROZEN_FALSE_RATE) / math.log(share)))

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


def _meter(data: Mapping[str, Any]) -> _Meter:
    """A stored :class:`_Meter` (numbers checked: a damaged one raises)."""

    def number(key: str) -> float | None:
        value = data[key]
        return None if value is None else float(value)

    return _Meter(
        last=number("last"),
        pairs=int(data["pairs"]),
        repeats=int(data["repeats"]),
        run=int(data["run"]),
        run_quiet=int(data["run_quiet"]),
        noise=number("noise"),
        run_moved=int(data.get("run_moved", 0)),  # a state stored before it existed: none
        since=float(data["since"]),
        steps=[float(x) for x in data["steps"]][-STEPS_KEPT:],
    )


def _need(m: _Meter, meter: SignalFilter | None, pool: float | None) -> int | None:
    """Repeats in a row that accuse ``m`` now: on its quiet-cycle history (shrunk toward
    ``pool``, the other meters') or on repeats across moves of its own flow, whichever
    needs fewer (None: neither judges it)."""
    if m.noise is None and meter is not None and meter.learnt:
        m.noise = meter.sigma()  # none learnt when the run began (PI moved every cycle)
    needs = [n for n in (m.needed(pool), m.needed_moved(m.noise)) if n is not None]
    return min(needs) if needs else None


def _repeat_chance(steps: float) -> float:
    """Chance that two readings (normal noise, σ = 1/``steps`` of the resolution) of a
    value in the middle of a step round to the same step: Σ pᵢ²."""
    if steps > 50.0:
        return 0.0
    total, i = 0.0, 0
    while True:
        lo, hi = (i - 0.5) * steps, (i + 0.5) * steps
        p = band_chance(0.0, 1.0, lo, hi)
        total += p * p * (1 if i == 0 else 2)
        if lo > 8.0:
            return total
        i += 1


class Plausibility:
    """The checks' state across cycles; kept over a restart (:meth:`as_dict`): a frozen
    meter's repeat history takes days of quiet cycles to learn, and a fault that began
    before Home Assistant stopped must not start counting again."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.swapped: dict[str, tuple[int, float]] = {}  # inlet → (cycles in a row, since)
        self.meters: dict[str, _Meter] = {}
        self.pump_off: tuple[int, float] = (0, 0.0)
        self._quiet_pairs = (0, 0)  # Σ pairs, Σ repeats of quiet cycles over the meters

    def as_dict(self) -> dict[str, Any]:
        """The state as JSON-ready data (the loop's Store entry)."""
        return {
            "swapped": {iid: list(run) for iid, run in self.swapped.items()},
            "meters": {iid: asdict(m) for iid, m in self.meters.items()},
            "pump_off": list(self.pump_off),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plausibility:
        """Read back :meth:`as_dict`; raises KeyError, TypeError or ValueError when damaged."""
        out = cls()
        out.swapped = {str(i): (int(n), float(t)) for i, (n, t) in data["swapped"].items()}
        out.meters = {str(i): _meter(m) for i, m in data["meters"].items()}
        count, since = data["pump_off"]
        out.pump_off = (int(count), float(since))
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

    def update(
        self,
        raw: Measurements,
        estimators: dict[str, InletEstimator],
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
            if value is None:
                continue  # a gap neither breaks nor extends a run
            flt = estimators.get(iid)
            meter = flt.filters["flow_m3h"] if flt is not None else None
            found += self._frozen(iid, value, meter, (quiet, iid in touched), now)
        found += self._pump(usable(raw.pump_speed), sent_speed, now)
        return found

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
    ) -> list[Finding]:
        """``cycle``: (nothing was moved, this inlet's flow was moved) since the last readings."""
        quiet, moved = cycle
        m = self.meters.get(iid)
        if m is None:  # (setdefault built a _Meter per inlet and cycle only to drop it)
            m = self.meters[iid] = _Meter()
        if m.last is not None and value == m.last and value > 0.0:
            if m.run == 0:
                # the level shrunk toward the network's meters: a few samples say little
                noise = meter.sigma() if meter is not None and meter.learnt else None
                m.noise, m.since = noise, now
            m.run += 1
            m.run_quiet += quiet
            m.run_moved += moved
        else:
            if m.last is not None:
                if value != m.last:
                    m.steps = [*m.steps[-(STEPS_KEPT - 1) :], abs(value - m.last)]
                need = _need(m, meter, self._pool(m)) if m.run else None
                if not m.run or need is None or m.run < need:  # a frozen run is no history
                    m.pairs += m.run_quiet + quiet
                    m.repeats += m.run_quiet
            m.run, m.run_quiet, m.run_moved, m.last = 0, 0, 0, value
        need = _need(m, meter, self._pool(m)) if m.run else None
        if need is None or m.run < need:
            return []
        why = f"its learnt noise is {m.noise:.1%}" if m.noise is not None else "its noise unlearnt"
        if m.run_moved:
            why += f", its flow moved {m.run_moved} times"
        text = (
            f"{iid}: flow meter reads {value:g} m³/h unchanged for {m.run} cycles while "
            f"{why}: frozen (§5.3.8-2)"
        )
        return [Finding(iid, "meter_frozen", "warning", text, m.since)]

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


def untrusted(meas: Measurements, findings: list[Finding]) -> Measurements:
    """``meas`` with the values the findings distrust flagged (§3.0.7-1: regulation does
    without them): a swapped pair's temperatures, a frozen meter's flow."""
    marks: dict[str, frozenset[str]] = {}
    station = False
    for f in findings:
        if f.kind == "sensors_swapped":
            station |= f.inlet_id == SUBSTATION
            marks[f.inlet_id] = marks.get(f.inlet_id, frozenset()) | _TEMPS
        elif f.kind == "meter_frozen":
            marks[f.inlet_id] = marks.get(f.inlet_id, frozenset()) | _FLOW
    if not marks:
        return meas
    inlets = dict(meas.inlets)
    for iid, names in marks.items():
        reading: InletReading | None = inlets.get(iid)
        if reading is not None:
            inlets[iid] = replace(reading, flagged=frozenset(reading.flagged) | names)
    out = replace(meas, inlets=inlets)
    if station:
        out.supply_c = out.return_c = None
    return out
