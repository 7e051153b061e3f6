"""The network file's design loads checked against the heat the meters count (§3.0.7, §8.2.4).

Flow targets are the design flows, so a design load that is wrong in the file is balanced
*to*: the flow band holds, but the building gets the wrong heat and its return temperature
stays off its setpoint (design loads ±30 %: ±1.9 K, the advanced band never held) — and
nothing the controller can see says why. What the file claims can be checked against what
the building takes: a building's heat loss is its envelope's ``UA·(T_room − T_out)``, and
the file's design load is that loss at the design conditions, so over days

    measured heat ÷ (design load × (T_room − T_out) ÷ (T_room,design − T_out,design))

is the building's real load over the file's. Both sides are summed over
:data:`MIN_HOURS` at least (heating-up, the rooms' heat capacity and the meters' noise
average out) with a memory of about :data:`MEMORY_HOURS`; the room temperature is the one
read at the inlet, else its setpoint. A ratio off by more than :data:`LOAD_TOLERANCE` either
way is a ``design_load`` warning naming the inlet: the operator should check its load in
the network file (the regulation is not wrong, its target is).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .control.base import InletReading, Measurements
from .diagnosis import Finding
from .model import Network

KIND = "design_load"
MIN_HOURS = 48.0  # heat counted before a verdict (two days)
MEMORY_HOURS = 168.0  # sums forget with this time constant (a week): a corrected file clears
LOAD_TOLERANCE = 0.2  # measured ÷ design load beyond 1.2 or below 1/1.2: the file looks wrong
MIN_INDOOR_OUTDOOR_K = 5.0  # below this the building hardly heats: nothing to compare
# the hours' weight after MIN_HOURS of counting, with the forgetting
MIN_WEIGHT = MEMORY_HOURS * (1.0 - math.exp(-MIN_HOURS / MEMORY_HOURS))
CLEAR_SHARE = 0.5  # a finding clears once the ratio is back within half the tolerance


@dataclass
class _Sums:
    """Heat counted at one inlet (kWh) and the hours of design conditions it met — what
    1 kW of design load predicts for the same hours (kWh/kW). Kept apart from the load,
    so a corrected network file is judged by its own loads from the next cycle on, not
    after a week of forgetting the old ones."""

    measured: float = 0.0
    load_hours: float = 0.0
    hours: float = 0.0


class DesignLoadCheck:
    """Design loads against metered heat, per inlet, over days (a warning finding)."""

    def __init__(self, network: Network, state: Mapping[str, Any] | None = None) -> None:
        self.network = network
        self.sums: dict[str, _Sums] = {}
        self.flagged: dict[str, float] = {}  # inlet → ratio when named
        self._since: dict[str, float] = {}
        if state:
            self._load(state)

    def update(
        self,
        meas: Measurements,
        heat_kw: Callable[[InletReading], float | None],
        hours: float,
    ) -> list[Finding]:
        """Count one cycle of ``hours``; the findings active now."""
        design = self.network.design
        span = design.room_c - design.outdoor_c
        outdoor = meas.outdoor_c
        usable = outdoor is not None and math.isfinite(outdoor) and span > 0 and hours > 0
        keep = math.exp(-hours / MEMORY_HOURS) if hours > 0 else 1.0
        for iid, reading in meas.inlets.items():
            inlet = self.network.inlets.get(iid)
            if inlet is None or inlet.design_load_kw <= 0 or not usable:
                continue
            heat = heat_kw(reading)
            room = reading.get("room_c")
            room = inlet.room_setpoint_c if room is None else room
            lift = room - float(outdoor)  # type: ignore[arg-type]
            if heat is None or not math.isfinite(heat) or lift < MIN_INDOOR_OUTDOOR_K:
                continue
            sums = self.sums.setdefault(iid, _Sums())
            sums.measured = keep * sums.measured + heat * hours
            sums.load_hours = keep * sums.load_hours + lift / span * hours
            sums.hours = keep * sums.hours + hours
            self._judge(iid, sums, meas.time_s)
        return self.findings()

    def ratio(self, iid: str) -> float | None:
        """Measured heat over the design load's prediction at ``iid`` (None: not enough)."""
        sums = self.sums.get(iid)
        inlet = self.network.inlets.get(iid)
        if inlet is None or sums is None or sums.hours < MIN_WEIGHT - 1e-9:
            return None
        expected = inlet.design_load_kw * sums.load_hours
        return sums.measured / expected if expected > 0 else None

    def _judge(self, iid: str, sums: _Sums, time_s: float | None) -> None:
        ratio = self.ratio(iid)
        if ratio is None or ratio <= 0:
            return
        off = abs(math.log(ratio))
        if off > math.log1p(LOAD_TOLERANCE):
            self.flagged[iid] = ratio
            self._since.setdefault(iid, time_s or 0.0)
        elif iid in self.flagged and off < math.log1p(CLEAR_SHARE * LOAD_TOLERANCE):
            del self.flagged[iid]
            self._since.pop(iid, None)
        elif iid in self.flagged:
            self.flagged[iid] = ratio

    def findings(self) -> list[Finding]:
        """One warning per inlet whose metered heat disagrees with its design load."""
        out = []
        for iid, ratio in sorted(self.flagged.items()):
            load = self.network.inlets[iid].design_load_kw
            message = (
                f"inlet {iid}: the heat it takes is {ratio:.0%} of what its design load "
                f"({load:g} kW) predicts over the last days: check its load in the network "
                "file (§3.0.7; its flow target follows that load, §8.2.4)"
            )
            out.append(Finding(iid, KIND, "warning", message, self._since.get(iid, 0.0)))
        return out

    # --- persistence ---------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            # measured kWh, kWh per kW of design load, hours (before: kWh the load predicted)
            "load_sums": {i: [s.measured, s.load_hours, s.hours] for i, s in self.sums.items()},
            "flagged": dict(self.flagged),
            "since": dict(self._since),
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        """Read back :meth:`as_dict`; damaged entries are dropped, never raised."""
        for iid, raw in dict(state.get("load_sums", {})).items():
            try:
                measured, load_hours, hours = (float(v) for v in raw)
            except (TypeError, ValueError):
                continue
            if iid in self.network.inlets and all(
                math.isfinite(v) and v >= 0 for v in (measured, load_hours, hours)
            ):
                self.sums[iid] = _Sums(measured, load_hours, hours)
        for name, target in (("flagged", self.flagged), ("since", self._since)):
            for iid, value in dict(state.get(name, {})).items():
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    continue
                if iid in self.network.inlets and math.isfinite(number):
                    target[iid] = number
