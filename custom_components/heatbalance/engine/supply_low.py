"""A supply that heats the rooms only with more water than the flow band allows (§4.1.1,
§8.2.3, §8.2.4, §5.3.8-3).

A fixed supply a few kelvin below what the load needs (a day 3 K colder than design at a
60 °C supply) can still heat the rooms — with more than the set flow. Then the flow band
(design flow × weight, §8.2.4-1) and the return band (the emitter's return at that supply,
§8.2.4-2) contradict: no flow inside the flow band gives a return inside the return band
while the rooms get their heat (``setpoints.SupplyCheck.flow_margin``: the supply's margin
above the lowest at which both can hold). No valve or pump mends that; the operator chooses
one target (§4.1.1) or raises the supply. ``supply_too_cold`` names the worse case, where no
flow at all heats the rooms.

On the design day the margin is only ≈1.3 K (advanced bands), about two σ of one supply
reading at 1 % noise. One cycle's reading therefore does not decide: the margin is judged
over the last :data:`WINDOW` cycles, and stands only where it is below zero beyond its
uncertainty (mean + ``Z``·σ/√n < 0, the controller's significance). The window survives a
restart (:meth:`SupplyLowWatch.as_dict`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from .control.setpoints import SupplyLow
from .evaluation import UNCERTAINTY_Z

WINDOW = 8  # cycles (4 h at 30 min): the fixed supply and the weather change slower
MAX_MARGIN_K = 200.0  # a stored margin beyond ±this is no plant's: a damaged store, dropped
Z = UNCERTAINTY_Z  # significance, as the controller judges a deviation


class SupplyLowWatch:
    """The last cycles' supply margins and the verdict on them."""

    def __init__(self, stored: Any = None) -> None:
        margins = stored.get("margins") if isinstance(stored, Mapping) else None
        margins = margins if isinstance(margins, list) else []
        kept = [
            float(m)
            for m in margins
            if isinstance(m, int | float) and not isinstance(m, bool) and abs(m) <= MAX_MARGIN_K
        ]
        self.margins: deque[float] = deque(kept[-WINDOW:], maxlen=WINDOW)

    def update(self, low: SupplyLow | None, read: bool) -> SupplyLow | None:
        """This cycle's finding, if the window shows the bands contradict.

        ``read``: the outdoor and supply readings were trusted this cycle (else the window
        waits, unchanged). ``low`` None with readings: the bands cannot contradict now (the
        supply follows its curve, is too cold for any flow, no heat is needed): the window
        starts afresh.
        """
        if not read:
            return None
        if low is None:
            self.margins.clear()
            return None
        self.margins.append(low.margin_k)
        if len(self.margins) < WINDOW:
            return None
        mean = sum(self.margins) / len(self.margins)
        sd = math.sqrt(sum((m - mean) * (m - mean) for m in self.margins) / (len(self.margins) - 1))
        return low if mean + Z * sd / math.sqrt(len(self.margins)) < 0.0 else None

    def as_dict(self) -> dict[str, list[float]]:
        """The window, for the loop's stored state (a dict: HA's Store keeps the loop's
        parts that are dicts, ``cycle.LEARNED``; a bare list was dropped on a restart)."""
        return {"margins": list(self.margins)}
