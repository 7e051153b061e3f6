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

from .diagnosis import RESTORE_ERRORS, is_count, stored_number


class EnergyCounters:
    """Per inlet, the heat delivered so far (kWh)."""

    def __init__(self, stored: Any = None) -> None:
        """Counters from :meth:`as_dict`; a damaged or negative value starts at zero."""
        self.kwh: dict[str, float] = {}
        if isinstance(stored, Mapping):
            for iid, value in stored.items():
                if (number := _counter(value)) is not None:
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


class NetworkEnergy:
    """The network's heat delivered so far (kWh): one cycle's network heat figure at a time,
    each building counted once, and how much of it the engine estimated.

    A caller adds the figure its heat power display shows (HA's ``CycleResult.network_heat``:
    the substation meter, the inlets' measured sum, or that sum with the missing inlets'
    heat estimated). A cycle whose figure is an estimate counts whole into
    :attr:`estimated_kwh` and :attr:`estimated_cycles` — the same line the power display
    and the archive's ``heat_estimated`` draw (issue 10 item 3) — so a total is never shown
    as metered while part of it was the engine's. Only grows (HA's ``total_increasing``).
    """

    def __init__(self, stored: Any = None) -> None:
        """From :meth:`as_dict`; a damaged part starts at zero."""
        data = stored if isinstance(stored, Mapping) else {}
        self.total_kwh = _counter(data.get("total_kwh")) or 0.0
        self.estimated_kwh = min(_counter(data.get("estimated_kwh")) or 0.0, self.total_kwh)
        cycles: Any = data.get("estimated_cycles")
        self.estimated_cycles = int(cycles) if is_count(cycles) else 0  # 2.5 was taken as 2

    def add(self, heat_kw: float | None, estimated: bool, dt_s: float) -> None:
        """Count one cycle of ``dt_s`` seconds at ``heat_kw`` (None, negative or not finite:
        nothing — a register never runs backwards)."""
        if estimated:
            self.estimated_cycles += 1
        if heat_kw is None or not math.isfinite(heat_kw) or heat_kw <= 0.0:
            return
        kwh = heat_kw * max(dt_s, 0.0) / 3600.0
        self.total_kwh += kwh
        if estimated:
            self.estimated_kwh += kwh

    def as_dict(self) -> dict[str, float]:
        """JSON-ready, for the caller's store."""
        return {
            "total_kwh": self.total_kwh,
            "estimated_kwh": self.estimated_kwh,
            "estimated_cycles": self.estimated_cycles,
        }


def _counter(value: Any) -> float | None:
    """A stored counter by the loop's one rule (:func:`.diagnosis.stored_number`, 0…1e100);
    None where damaged. ``float`` took text, True (1 kWh) and 1e308 kWh."""
    try:
        return stored_number(value, 0.0)
    except RESTORE_ERRORS:
        return None
