"""A heat meter's energy register read each cycle, as spans between its changes (§5.3.8-2).

A heat meter shows its energy on a register that counts whole steps (1 kWh on most
domestic meters, 0.1 kWh or 1 MWh on others). Read every 30 s, a small building's
register moves by 0, 1 or 2 kWh per cycle (estate12: 0.9–6 kWh per cycle), so one cycle's
difference is off by up to a step — ±20…110 % of the heat. Checks that compare one
cycle's difference with the flow meter (the meter check's heat balance, the frozen and
dead flow meter witnesses) are then blinded or misled.

The register's changes are its only exact moments: the reading that first shows a new value
was taken at most one cycle after the true energy crossed it. So the heat is taken over the
**span** from one change to the next, and each end is known within the smaller of one step
and the heat of the cycle it changed in: a uniform error, σ = width/√12 at each end. The
step is learnt from the readings (:meth:`Register.step`): the smallest change seen where
every change is a whole multiple of it; a register whose readings are not multiples of any
decimal resolution down to 10⁻⁶ kWh is continuous (step 0: the spans are the cycles and
their ends exact, as before).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .diagnosis import is_count, stored_number

RESOLUTIONS = tuple(10.0**k for k in range(3, -7, -1))  # 1 MWh … 1 mWh/1000: decimal steps
WHOLE_TOL = 1e-9  # a multiple of a decimal step, as far as a float can tell (relative)
STEPS_KEPT = 16  # the register's last changes its step is judged from
UNIFORM_SD = 1.0 / math.sqrt(12.0)  # σ of a uniform error over a width of 1


class Span(NamedTuple):
    """Heat between two changes of the register (kWh) and when they were first read; the
    error of the true energy at each end (σ, kWh)."""

    heat_kwh: float
    start_s: float
    end_s: float
    start_sd: float
    end_sd: float


def _optional(value: Any) -> float | None:
    """A stored number or None (:func:`.diagnosis.stored_number`: within ±1e100, as every
    stored number of the loop; an anchor of −1e308 restored made the next span's heat
    1e308 kWh); a damaged one raises ValueError."""
    return None if value is None else stored_number(value)


def _whole(value: float, unit: float) -> bool:
    """Whether ``value`` is a whole multiple of ``unit`` (to a float's own precision)."""
    ratio = value / unit
    return abs(ratio - round(ratio)) <= WHOLE_TOL * max(1.0, abs(ratio))


@dataclass
class Register:
    """What is remembered of one energy register between cycles."""

    kwh: float | None = None  # the last reading …
    time_s: float | None = None  # … and when
    anchor_kwh: float | None = None  # the value shown now, first read …
    anchor_s: float | None = None  # … at this time
    anchor_sd: float | None = None  # σ of the true energy then (None: a first reading)
    resolution: float = RESOLUTIONS[0]  # largest decimal step every reading is a multiple of
    steps: list[float] = field(default_factory=list)  # its last changes (kWh)

    def to_plain(self) -> list[float | None]:
        """The state as one short JSON list (one per inlet and check in the Store: 23k of
        them); the anchor left out where it is the last reading (a continuous register)."""
        head = [self.kwh, self.time_s, self.resolution, *self.steps]
        if self.anchor_kwh == self.kwh and self.anchor_s == self.time_s:
            return [len(self.steps), self.anchor_sd, *head]
        return [len(self.steps), self.anchor_sd, *head, self.anchor_kwh, self.anchor_s]

    @classmethod
    def from_plain(cls, data: Any) -> Register:
        """Read back :meth:`to_plain` (a dict: ``as_plain``; a state stored before: a fresh
        register); numbers checked by the loop's one rule (:func:`.diagnosis.is_number`,
        ``is_count``, as plausibility's restore): a damaged one raises ValueError. Before,
        ``float`` took NaN, True and text, and a resolution of −1 (a kept change of 0
        divided by zero in :meth:`step`) or 1e-320 (``round`` overflowed in ``_learn``)
        crashed a later cycle."""
        if isinstance(data, Mapping):
            data = [] if not data else cls._listed(data)
        if not isinstance(data, list):
            raise ValueError(f"not a stored register: {data!r}")
        if not data:
            return cls()
        try:
            return cls._checked(data)
        except OverflowError as err:  # an int beyond a float's range (is_number)
            raise ValueError(f"not a number in a stored register: {err}") from err

    @classmethod
    def _checked(cls, data: list[Any]) -> Register:
        count = data[0]
        if not is_count(count) or count > STEPS_KEPT or len(data) not in (5 + count, 7 + count):
            raise ValueError(f"a stored register's count: {count!r} of {len(data)}")
        values = [_optional(x) for x in data[1:]]
        anchor_sd, kwh, time_s, resolution = values[:4]
        steps = [x for x in values[4 : 4 + count] if x is not None and x > 0.0]
        rest = values[4 + count :]
        anchor_kwh, anchor_s = (rest[0], rest[1]) if rest else (kwh, time_s)
        if resolution is None or resolution not in (0.0, *RESOLUTIONS):
            raise ValueError(f"a stored register's resolution: {resolution!r}")
        if anchor_sd is not None and anchor_sd < 0.0:
            raise ValueError(f"a stored register's negative σ: {anchor_sd!r}")
        if len(steps) != count:  # a change is kept only when the register rose
            raise ValueError(f"a stored register's changes: {data[5 : 5 + count]!r}")
        return cls(kwh, time_s, anchor_kwh, anchor_s, anchor_sd, resolution, steps)

    @staticmethod
    def _listed(data: Mapping[str, Any]) -> list[Any]:
        steps = list(data.get("steps", []))
        return [
            len(steps),
            data.get("anchor_sd"),
            data.get("kwh"),
            data.get("time_s"),
            data.get("resolution", RESOLUTIONS[0]),
            *steps,
            data.get("anchor_kwh"),
            data.get("anchor_s"),
        ]

    def step(self) -> float:
        """The register's step (kWh; 0: continuous): the smallest change seen where every
        change kept is a whole multiple of it and either it is the readings' decimal
        resolution or the changes differ (one change repeated says only that it is a
        multiple of the step: 30 kWh every 30 min on a 1-kWh register); else the
        resolution."""
        if self.resolution == 0.0:
            return 0.0
        if self.steps:
            smallest = min(self.steps)
            whole = smallest >= self.resolution and all(_whole(s, smallest) for s in self.steps)
            if whole and (smallest == self.resolution or max(self.steps) > smallest * 1.5):
                return smallest
        return self.resolution

    def read(self, kwh: float, now: float) -> Span | None:
        """Take one reading; the span it closes (the register changed), else None. A
        register that went back (exchanged, reset) starts afresh from this reading."""
        self._learn(kwh)
        last, last_s = self.kwh, self.time_s
        self.kwh, self.time_s = kwh, now
        anchor, anchor_s = self.anchor_kwh, self.anchor_s
        if anchor is None or anchor_s is None or last is None or last_s is None:
            self.anchor_kwh, self.anchor_s, self.anchor_sd = kwh, now, None
            return None
        if now <= last_s or kwh < anchor:
            self.anchor_kwh, self.anchor_s, self.anchor_sd = kwh, now, None
            return None
        if kwh == anchor:
            return None
        if kwh > last and self.resolution > 0.0:  # (a continuous register has no step)
            self.steps = [*self.steps[-(STEPS_KEPT - 1) :], kwh - last]
        step = self.step()
        heat = kwh - anchor
        # it crossed within the last reading's interval: that interval's heat bounds the
        # error (a register moving less than a step per cycle is known better than a step)
        within = heat * (now - last_s) / (now - anchor_s)
        end_sd = min(step, within) * UNIFORM_SD
        start_sd = step * UNIFORM_SD if self.anchor_sd is None else self.anchor_sd
        self.anchor_kwh, self.anchor_s, self.anchor_sd = kwh, now, end_sd
        return Span(heat, anchor_s, now, start_sd, end_sd)

    def bounds(self, since_kwh: float) -> tuple[float, float]:
        """(least, most) heat counted since a reading of ``since_kwh`` up to the last one
        (kWh): each reading lies up to one step below the true energy."""
        counted = (self.kwh or 0.0) - since_kwh
        step = self.step()
        return max(counted - step, 0.0), counted + step

    def _learn(self, kwh: float) -> None:
        """Narrow the decimal resolution to one this reading is a multiple of."""
        while self.resolution > 0.0 and not _whole(kwh, self.resolution):
            finer = [r for r in RESOLUTIONS if r < self.resolution]
            self.resolution = finer[0] if finer else 0.0
