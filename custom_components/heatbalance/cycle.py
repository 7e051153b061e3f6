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

from .engine.cleaning import Cleaner, clean_measurements, for_network
from .engine.control.base import ControllerConfig, InletReading, Measurements
from .engine.control.controller import Controller, make_controller
from .engine.control.safety import SafetyLimits
from .engine.diagnosis import Diagnoser, Finding, InletObservation
from .engine.evaluation import Evaluation, evaluate
from .engine.forecast import LoadForecaster
from .engine.model import WATER_CP, WATER_DENSITY, Network
from .plant import Acquisition, Reading
from .settings import InletConfig, Settings

SUCCESS_WINDOW = 48  # cycles (a day at 30 min) for the §6.0.6 first-attempt success rate
# the options' names → the engine's (control/base.py, evaluation.py)
ENGINE_TARGETS = {
    "flow": "flow",
    "return_temperature": "return",
    "mean_temperature": "mean",
    "room_temperature": "room",
}
ENGINE_ALGORITHMS = {"traditional": "traditional", "ai": "model"}
WEIGHT_RANGE = (0.5, 2.0)  # §5.3.6-5, as the engine accepts it


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
    flow_deviation: float | None = None  # % of set flow, whatever the target
    flagged: dict[str, tuple[str, ...]] = field(default_factory=dict)  # cleaning's verdicts


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
    evaluation: Evaluation | None = None
    findings: list[Finding] = field(default_factory=list)  # device diagnosis (§5.3.7)

    @property
    def heat_kw(self) -> float:
        """Heat delivered to all managed inlets."""
        return sum(r.heat_kw or 0.0 for r in self.inlets.values())


@dataclass
class CycleMemory:
    """What a cycle carries to the next (persisted by the coordinator)."""

    energy_kwh: dict[str, float] = field(default_factory=dict)
    transmissions: dict[str, deque[tuple[int, int]]] = field(default_factory=dict)
    controller: Controller | None = None  # built on the first cycle, from controller_state
    controller_state: dict[str, Any] | None = None  # stored learning, until the network is known
    cleaner: Cleaner | None = None  # short signal histories (§3.0.7-1), not stored
    forecaster: LoadForecaster = field(default_factory=LoadForecaster)  # §3.0.7-2, stored
    diagnoser: Diagnoser = field(default_factory=Diagnoser)  # §3.0.7-5, stored

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for the Store.

        The controller's learned hydraulics (§5.3.6) and the diagnoser's Kv curves (§3.0.7-5)
        are kept, so a restart of Home Assistant does not start learning from nothing.
        """
        controller = self.controller.as_dict() if self.controller else self.controller_state
        return {
            "energy_kwh": self.energy_kwh,
            "transmissions": {k: list(v) for k, v in self.transmissions.items()},
            "forecaster": self.forecaster.as_dict(),
            "controller": controller,
            "diagnoser": self.diagnoser.as_dict(),
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
            forecaster=_forecaster(data.get("forecaster")),
            controller_state=c if isinstance(c := data.get("controller"), dict) else None,
            diagnoser=_diagnoser(data.get("diagnoser")),
        )


def _forecaster(data: Any) -> LoadForecaster:
    """The stored load model, or a fresh one when there is none or it is damaged."""
    try:
        return LoadForecaster.from_dict(data) if isinstance(data, dict) else LoadForecaster()
    except (KeyError, TypeError, ValueError):
        return LoadForecaster()


def _diagnoser(data: Any) -> Diagnoser:
    """The stored diagnosis state, or a fresh one when there is none or it is damaged."""
    try:
        return Diagnoser.from_dict(data) if isinstance(data, dict) else Diagnoser()
    except ValueError:
        return Diagnoser()


def _controller(network: Network, config: ControllerConfig, stored: Any) -> Controller:
    """The controller with its stored learning, or a fresh one when that does not fit the
    network any more (a damaged or foreign state is dropped, never half-loaded)."""
    if isinstance(stored, dict):
        try:
            return Controller.from_dict(network, stored)
        except (KeyError, TypeError, ValueError, IndexError):
            pass
    return make_controller(network, config)


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


def controller_config(
    network: Network, settings: Settings, inlets: dict[str, InletConfig]
) -> ControllerConfig:
    """The engine controller's configuration from the entry's options and inlets (§5.3.6)."""
    weights = {}
    for iid, cfg in inlets.items():
        design = network.inlets[iid].design_flow_m3h
        if design > 0:  # weight and setpoint offset both scale the set flow
            lo, hi = WEIGHT_RANGE
            weights[iid] = min(max(set_flow(network, cfg) / design, lo), hi)
    return ControllerConfig(
        algorithm=ENGINE_ALGORITHMS[settings.algorithm],
        target=ENGINE_TARGETS[settings.target],
        level=settings.level,
        auto=settings.auto,
        limits=limits_of(settings),
        manual_inlets=[iid for iid, cfg in inlets.items() if not cfg.auto],
        weights=weights,
    )


def measurements_of(
    inlets: dict[str, InletConfig], acq: Acquisition, pump_speed: float
) -> Measurements:
    """The engine's view of one acquisition: managed inlets, substation and pump."""
    plant = acq.plant
    return Measurements(
        inlets={
            iid: InletReading(
                flow_m3h=(r := acq.inlets[iid]).flow_m3h,
                supply_c=r.supply_c,
                return_c=r.return_c,
                room_c=r.room_c,
                opening=r.opening,
                dp_available_kpa=r.dp_available_kpa,
                valve_dp_kpa=r.valve_dp_kpa,
            )
            for iid in inlets
        },
        outdoor_c=acq.outdoor_c,
        supply_c=plant.supply_c,
        return_c=plant.return_c,
        pump_speed=pump_speed,
        pump_flow_m3h=plant.pump.flow_m3h,
        pump_head_m=plant.pump.head_m,
        time_s=acq.time_s,
    )


def evaluation_of(
    network: Network, settings: Settings, inlets: dict[str, InletConfig], meas: Measurements
) -> Evaluation | None:
    """The engine's verdict (§8.2.2–§8.2.4); None where level and target do not go together."""
    target = ENGINE_TARGETS[settings.target]
    setpoints = {iid: set_flow(network, cfg) for iid, cfg in inlets.items()}
    try:
        return evaluate(
            network,
            meas,
            level=settings.level,
            target=target,
            setpoints=setpoints if target == "flow" else None,
            inlets=list(inlets),
        )
    except ValueError:  # room target below the advanced level (§4.1.1): a repair says so
        return None


def run_cycle(
    network: Network,
    settings: Settings,
    inlets: dict[str, InletConfig],
    acq: Acquisition,
    memory: CycleMemory,
    pump_speed: float,
    dispatched: dict[str, float] | None = None,
) -> CycleResult:
    """Evaluate the acquired state and compute the next commands (executor).

    ``dispatched`` are the openings sent last cycle, which device diagnosis compares with
    what the valves and flows did since.
    """
    if memory.cleaner is None:
        memory.cleaner = for_network(network, max_gap_s=2 * acq.dt_s)
    # §3.0.7-1: what cleaning does not trust is neither judged nor acted on
    meas, cleaned = clean_measurements(memory.cleaner, measurements_of(inlets, acq, pump_speed))
    ev = evaluation_of(network, settings, inlets, meas)
    results: dict[str, InletResult] = {}
    for iid, cfg in inlets.items():
        reading = acq.inlets[iid]
        heat_kw = _heat_kw(reading)
        energy = memory.energy_kwh.get(iid, 0.0) + (heat_kw or 0.0) * acq.dt_s / 3600.0
        memory.energy_kwh[iid] = energy
        history = memory.transmissions.setdefault(iid, deque(maxlen=SUCCESS_WINDOW))
        if reading.attempted:
            history.append((reading.attempted, reading.received))
        sent = sum(a for a, _ in history)
        rate = sum(r for _, r in history) / sent * 100.0 if sent else None
        samples = len(history)
        if reading.link_rate is not None:  # the gateway counts every Modbus request (§6.0.6)
            rate, samples = reading.link_rate
        judged = ev.inlets.get(iid) if ev else None
        results[iid] = InletResult(
            reading=reading,
            heat_kw=heat_kw,
            energy_kwh=energy,
            setpoint=judged.reference if judged else set_flow(network, cfg),
            actual=judged.value if judged else reading.flow_m3h,
            deviation=judged.deviation if judged else None,
            in_band=judged.in_band if judged else None,
            command=None,
            success_rate=rate,
            success_samples=samples,
            households=_households(network, iid, acq),
            flow_deviation=judged.flow_deviation_pct if judged else None,
            flagged=_flags_of(cleaned.flags, iid),
        )
    config = controller_config(network, settings, inlets)
    if memory.controller is None:
        memory.controller = _controller(network, config, memory.controller_state)
        memory.controller_state = None
    memory.controller.config = config
    cmds = memory.controller.step(meas)
    for iid, opening in cmds.proposed.items():
        if iid in results:
            results[iid].command = opening
    if settings.auto:
        commands, pump = dict(cmds.openings), cmds.pump_speed
    else:  # manual: shown; sent only when the operator asks (balance now)
        commands = {i: v for i, v in cmds.proposed.items() if i in inlets and inlets[i].auto}
        pump = cmds.proposed_pump_speed
    result = _network_result(acq, results, commands, pump, ev)
    result.forecast_kw = forecast_next_hour(memory.forecaster, acq, result.heat_kw)
    result.findings = diagnose(memory.diagnoser, meas, acq.time_s, dispatched or {})
    return result


def diagnose(
    diagnoser: Diagnoser, meas: Measurements, time_s: float, sent: dict[str, float]
) -> list[Finding]:
    """The engine's device diagnosis on this cycle's cleaned readings (§3.0.7-5, §5.3.7)."""
    observations = {
        iid: InletObservation(
            command=sent.get(iid),
            feedback=r.opening,
            flow_m3h=r.get("flow_m3h"),
            dp_kpa=r.get("dp_available_kpa"),
        )
        for iid, r in meas.inlets.items()
    }
    return diagnoser.update(time_s, observations)


def forecast_next_hour(
    forecaster: LoadForecaster, acq: Acquisition, heat_kw: float
) -> float | None:
    """Learn from this cycle's load; forecast the next clock hour's (§3.0.7-2, kW).

    None until the model has seen enough hours (the engine's ``min_hours``) or without an
    outdoor temperature: a forecast without weather would be a guess.
    """
    if acq.outdoor_c is None:
        return None
    forecaster.observe(acq.time_s, acq.outdoor_c, heat_kw)
    if acq.outdoor_forecast_c is None:
        return None
    start = (acq.time_s // 3600.0 + 1.0) * 3600.0
    loads = forecaster.forecast(start, acq.outdoor_forecast_c)
    return None if loads is None else float(loads[0])


def _flags_of(flags: dict[str, tuple[str, ...]], iid: str) -> dict[str, tuple[str, ...]]:
    """The inlet's signals cleaning did not trust, with the reasons (for diagnostics)."""
    prefix = f"{iid}."
    return {
        name.removeprefix(prefix): why
        for name, why in flags.items()
        if name.startswith(prefix) and why not in {("ok",), ("missing",)}
    }


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
    pump: float | None,
    ev: Evaluation | None,
) -> CycleResult:
    """Network indicators: the engine's verdict, and spreads over the managed inlets."""
    flows = [r.flow_deviation for r in results.values() if r.flow_deviation is not None]
    sent = [r.success_rate for r in results.values() if r.success_rate is not None]
    share = ev.share_in_band if ev else None
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
        share_in_band=None if share is None else share * 100.0,
        spread=ev.return_spread_k if ev else None,
        imbalance_ratio=(max(flows) - min(flows)) / 100.0 if flows else None,
        balanced=bool(ev and ev.in_band),
        success_rate=sum(sent) / len(sent) if sent else None,
        commands=commands,
        pump_command=pump,
        evaluation=ev,
    )
