"""One control cycle off the event loop: clean → evaluate → compute commands → record.

Pure Python on top of the engine (no Home Assistant): the coordinator acquires, runs
:func:`run_cycle` in the executor, then dispatches and raises alarms. Everything
algorithmic is the engine's; this module only wires readings to engine calls and collects
what the entities show.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .engine.control.flow_balance import (
    InletMeasurement,
    balance_step,
    pump_speed_step,
    reachable_level,
)
from .engine.control.safety import SafetyLimits
from .engine.model import WATER_CP, WATER_DENSITY, Network
from .plant import Acquisition, Reading
from .settings import InletConfig, Settings

SUCCESS_WINDOW = 48  # cycles (a day at 30 min) for the §6.0.6 first-attempt success rate
FLOW_AIM = {"primary": 1.025, "intermediate": 1.025, "advanced": 1.025}
# §8.2.2–8.2.4 flow bands: actual / set flow − 1
FLOW_BANDS = {"primary": (-0.10, 0.15), "intermediate": (-0.05, 0.10), "advanced": (0.0, 0.05)}


@dataclass
class InletResult:
    """What the entities of one inlet show after a cycle."""

    reading: Reading
    heat_kw: float | None
    energy_kwh: float
    setpoint: float | None  # target value in the target's unit (§5.3.5-2 set value)
    actual: float | None
    deviation: float | None  # actual − setpoint (K), or % of set flow
    in_band: bool | None
    command: float | None  # opening sent (auto) or proposed (manual), 0…1
    success_rate: float | None
    success_samples: int = 0
    households: dict[str, float] | None = None


@dataclass
class CycleResult:
    """A whole network after one cycle."""

    time_s: float
    outdoor_c: float | None
    supply_c: float
    return_c: float
    pump_flow_m3h: float
    pump_power_w: float
    pump_speed: float
    inlets: dict[str, InletResult]
    share_in_band: float | None
    spread: float | None
    imbalance_ratio: float | None
    balanced: bool
    success_rate: float | None
    commands: dict[str, float] = field(default_factory=dict)
    pump_command: float | None = None
    forecast_kw: float | None = None

    @property
    def heat_kw(self) -> float:
        """Heat delivered to all managed inlets."""
        return sum(r.heat_kw or 0.0 for r in self.inlets.values())


@dataclass
class CycleMemory:
    """What a cycle carries to the next (persisted by the coordinator)."""

    energy_kwh: dict[str, float] = field(default_factory=dict)
    transmissions: dict[str, deque[tuple[int, int]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for the Store."""
        return {
            "energy_kwh": self.energy_kwh,
            "transmissions": {k: list(v) for k, v in self.transmissions.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CycleMemory:
        """Read back what :meth:`as_dict` wrote (unknown keys ignored)."""
        return cls(
            energy_kwh={k: float(v) for k, v in data.get("energy_kwh", {}).items()},
            transmissions={
                k: deque((tuple(x) for x in v), maxlen=SUCCESS_WINDOW)  # type: ignore[misc]
                for k, v in data.get("transmissions", {}).items()
            },
        )


def limits_of(settings: Settings) -> SafetyLimits:
    """The engine's safety limits from the operator's thresholds (§5.3.6-3)."""
    return SafetyLimits(
        min_opening=settings.min_opening_pct / 100.0,
        max_opening=settings.max_opening_pct / 100.0,
        max_step=settings.max_step_pct / 100.0,
    )


def weight_of(network: Network, cfg: InletConfig) -> float:
    """The inlet's §5.3.6-5 weight: the operator's, else the network file's."""
    return cfg.weight if cfg.weight is not None else network.inlets[cfg.inlet_id].weight


def set_flow(network: Network, cfg: InletConfig) -> float:
    """Set flow of an inlet: design flow × weight, shifted by the operator's offset (%)."""
    inlet = network.inlets[cfg.inlet_id]
    return inlet.design_flow_m3h * weight_of(network, cfg) * (1.0 + cfg.setpoint_offset / 100.0)


def run_cycle(
    network: Network,
    settings: Settings,
    inlets: dict[str, InletConfig],
    acq: Acquisition,
    memory: CycleMemory,
    pump_speed: float,
) -> CycleResult:
    """Evaluate the acquired state and compute the next commands (executor)."""
    limits = limits_of(settings)
    results: dict[str, InletResult] = {}
    measured: dict[str, InletMeasurement] = {}
    targets: dict[str, float] = {}
    lo, hi = FLOW_BANDS[settings.level]
    for iid, cfg in inlets.items():
        reading = acq.inlets[iid]
        heat_kw = _heat_kw(reading)
        energy = memory.energy_kwh.get(iid, 0.0) + (heat_kw or 0.0) * acq.dt_s / 3600.0
        memory.energy_kwh[iid] = energy
        history = memory.transmissions.setdefault(iid, deque(maxlen=SUCCESS_WINDOW))
        if reading.attempted:
            history.append((reading.attempted, reading.received))
        sent = sum(a for a, _ in history)
        setpoint = set_flow(network, cfg)
        actual = reading.flow_m3h
        ratio = None if actual is None or setpoint <= 0 else actual / setpoint - 1.0
        results[iid] = InletResult(
            reading=reading,
            heat_kw=heat_kw,
            energy_kwh=energy,
            setpoint=setpoint,
            actual=actual,
            deviation=None if ratio is None else ratio * 100.0,
            in_band=None if ratio is None else lo <= ratio <= hi,
            command=None,
            success_rate=sum(r for _, r in history) / sent * 100.0 if sent else None,
            success_samples=len(history),
            households=_households(network, iid, acq),
        )
        measured[iid] = InletMeasurement(
            reading.flow_m3h, reading.opening, reading.dp_available_kpa, reading.valve_dp_kpa
        )
        targets[iid] = setpoint * FLOW_AIM[settings.level]
    devices = {iid: network.inlets[iid].device for iid in inlets}
    controlled = {iid: d for iid, d in devices.items() if inlets[iid].auto}
    commands = balance_step(controlled, measured, targets, limits)
    for iid, opening in commands.items():
        results[iid].command = opening
    level = reachable_level(controlled, measured, targets, limits)
    pump = pump_speed_step(network.substation.pump, pump_speed, level)
    return _network_result(acq, results, commands, pump)


def _heat_kw(r: Reading) -> float | None:
    """Heat delivered: ρ·c·Q·(supply − return)."""
    if r.flow_m3h is None or r.supply_c is None or r.return_c is None:
        return None
    return WATER_DENSITY * WATER_CP * r.flow_m3h / 3600.0 * (r.supply_c - r.return_c) / 1000.0


def _households(network: Network, iid: str, acq: Acquisition) -> dict[str, float] | None:
    """Aggregates of a building's households from the plant (no device per household)."""
    kids = [k.id for k in network.children(iid) if k.id in acq.plant.inlets]
    if not kids:
        return None
    states = [acq.plant.inlets[k] for k in kids]
    rooms = [s.room_c for s in states]
    ratios = [s.flow_m3h / s.design_flow_m3h for s in states if s.design_flow_m3h > 0]
    return {
        "count": float(len(kids)),
        "room_min_c": min(rooms),
        "room_max_c": max(rooms),
        "flow_ratio_min": min(ratios) * 100.0 if ratios else math.nan,
        "flow_ratio_max": max(ratios) * 100.0 if ratios else math.nan,
    }


def _network_result(
    acq: Acquisition,
    results: dict[str, InletResult],
    commands: dict[str, float],
    pump: float,
) -> CycleResult:
    """Network indicators over the managed inlets."""
    bands = [r.in_band for r in results.values() if r.in_band is not None]
    ratios = [r.deviation for r in results.values() if r.deviation is not None]
    returns = [r.reading.return_c for r in results.values() if r.reading.return_c is not None]
    sent = [r.success_rate for r in results.values() if r.success_rate is not None]
    share = sum(bands) / len(bands) * 100.0 if bands else None
    plant = acq.plant
    return CycleResult(
        time_s=acq.time_s,
        outdoor_c=acq.outdoor_c,
        supply_c=plant.supply_c,
        return_c=plant.return_c,
        pump_flow_m3h=plant.pump.flow_m3h,
        pump_power_w=plant.pump.power_w,
        pump_speed=plant.pump.speed,
        inlets=results,
        share_in_band=share,
        spread=max(returns) - min(returns) if returns else None,
        imbalance_ratio=(max(ratios) - min(ratios)) / 100.0 if ratios else None,
        balanced=share == 100.0,
        success_rate=sum(sent) / len(sent) if sent else None,
        commands=commands,
        pump_command=pump,
    )
