"""Heat energy delivered to each inlet, counted over the cycles (kWh).

The inlets' heat meters (§4.1.2, GB/T 32224) count energy; where only flow and the two
temperatures reach the controller, the loop integrates the heat flow it computes each cycle
(``cleaning.heat_flow_kw``) over the cycle. One rule for every caller: Home Assistant's
energy sensors, the CLI and the benchmarks publish what :class:`EnergyCounters` holds and
never sum themselves. The counters only grow (HA's ``total_increasing``) and survive a
restart through :meth:`as_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


class EnergyCounters:
    """Per inlet, the heat delivered so far (kWh)."""

    def __init__(self, stored: Any = None) -> None:
        """Counters from :meth:`as_dict`; a damaged or negative value starts at zero."""
        self.kwh: dict[str, float] = {}
        if isinstance(stored, Mapping):
            for iid, value in stored.items():
                try:
                    number = float(value)
                except (TypeError, ValueError, OverflowError):
                    continue
                if math.isfinite(number) and number >= 0.0:
                    self.kwh[str(iid)] = number

    def add(
        self, heat_kw: Mapping[str, float | None], dt_s: float, inlets: Iterable[str]
    ) -> dict[str, float]:
        """Count one cycle of ``dt_s`` seconds for ``inlets``; their counters after it.

        An inlet without a heat figure this cycle (a reading lost) adds nothing, and a
        negative heat flow (return warmer than supply: a bad pair of sensors) is not
        subtracted — a meter's register never runs backwards.
        """
        hours = max(dt_s, 0.0) / 3600.0
        out: dict[str, float] = {}
        for iid in inlets:
            heat = heat_kw.get(iid)
            total = self.kwh.get(iid, 0.0)
            if heat is not None and math.isfinite(heat) and heat > 0.0:
                total += heat * hours
            self.kwh[iid] = out[iid] = total
        return out

    def as_dict(self) -> dict[str, float]:
        """JSON-ready counters, for the caller's store."""
        return dict(self.kwh)
