"""The integration's side of one control cycle: settings and readings in, entity values out.

Pure Python on top of the engine (no Home Assistant): the coordinator acquires, runs
:func:`run_cycle` in the executor, then dispatches and publishes the alarms. The cycle
itself — clean → evaluate → estimate + control → diagnose → forecast → alarm rules — is the
engine's :class:`~.engine.loop.ControlLoop`, the same the CLI and the benchmarks run; this
module translates the entry's options and inlet subentries into its configuration and
collects what the entities show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .const import LINK_WIRELESS, SOURCE_SIMULATOR
from .engine.alarms import AlarmSettings, Condition
from .engine.control.base import ControllerConfig, InletReading, Measurements
from .engine.control.safety import SafetyLimits
from .engine.diagnosis import Finding
from .engine.energy import EnergyCounters, NetworkEnergy
from .engine.evaluation import BalanceStateMachine, Evaluation, flow_deviation_pct
from .engine.loop import ControlLoop, HeatSum, LoopConfig
from .engine.model import WEIGHT_RANGE, Network
from .engine.plausibility import distrusted
from .engine.simulator import Ranges, ranges
from .memory_release import release
from .reading import Acquisition, Reading
from .settings import ENGINE_TARGETS, LIMIT_OPTIONS, InletConfig, Settings

ENGINE_ALGORITHMS = {"traditional": "traditional", "ai": "model"}
LEARNED = (
    "controller",
    "diagnoser",
    "forecaster",
    "transmissions",
    "energy_kwh",
    "design_loads",  # two days of metered heat: a restart must not blank the repair for 48 h
    "plausibility",  # a frozen meter's repeat run (§5.3.8-2) must not start again from zero
    "asked",  # the §8.2.5 hold's asked runs: a restart must not put off leaving the hold
    "openings",  # last cycle's valve feedback: a move by hand while HA was down is flagged
    "sent",  # … and what was sent since: judged as sent after the restart, not by hand
    "supply_margins",  # supply_low_for_flow's window: a restart must not put it off 8 cycles
)  # the loop's stored state (CycleMemory)
NETWORK_ENERGY = "network_energy"  # CycleMemory's own counter, beside the loop's state
LOAD_SOURCE = "load_source"  # … and what the forecaster learnt from
INLETS_LOAD = "inlets"  # the load as the inlets' heat (no substation heat meter)


@dataclass
class InletResult:
    """What the entities of one inlet show after a cycle."""

    reading: Reading
    heat_kw: float | None
    energy_kwh: float  # the engine's counter (engine/energy.py), published as it is
    setpoint: float | None  # target value in the target's unit (§5.3.5-2 set value)
    actual: float | None
    deviation: float | None  # actual − setpoint (K), or % of set flow
    # the level's band verdict (§8.2.2–§8.2.4) on the engine's estimate: what is shown
    # (None: no estimate stands in for the readings); the readings' verdict beside it
    in_band: bool | None
    command: float | None  # opening sent (auto) or proposed (manual), 0…1
    success_rate: float | None
    households: Ranges | None = None  # a building's households, from the plant
    flow_deviation: float | None = None  # % of set flow, whatever the target
    # values read but not trusted, with the reasons: cleaning's verdicts and the meter
    # checks' (a frozen or dead meter, a swapped pair); never shown as measured (issue 10)
    flagged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    filled: dict[str, float] = field(default_factory=dict)  # shown as estimated (estimates.py)
    open_loop: str | None = None  # why planned without a flow reading (Commands.open_loop)
    in_band_readings: bool | None = None  # the verdict on this cycle's readings (issue 9)
    estimate_deviation: float | None = None  # the estimate's deviation (as ``deviation``) …
    uncertainty: float | None = None  # … and its ±2 σ (estimate_verdict.py)


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
    share_in_band: float | None  # %, judged on the estimates (``estimate_evaluation``)
    spread: float | None
    flow_deviation_spread: float | None  # max − min of the inlets' flow deviations (of set flow)
    balanced: bool
    success_rate: float | None
    commands: dict[str, float] = field(default_factory=dict)  # the loop's Dispatch: sent
    pump_command: float | None = None  # now, or held (a manual proposal, a balanced network)
    held: str | None = None  # why not sent (engine.loop MANUAL/BALANCED, REPLANNED…); None: sent
    # a manual proposal the operator confirmed: sent, nothing left to confirm; the set values
    # (``InletResult.command``, ``pump_command``) show what went out until the next cycle
    confirmed: bool = False
    sent: dict[str, float] = field(default_factory=dict)  # openings that reached their valve …
    pump_sent: float | None = None  # … and the pump's speed that went out (the coordinator's)
    pump_estimated: bool = False  # a real pump's speed assumed, not read back from its drive
    # network figures that are the network model's, not an instrument's (a real plant's
    # substation temperatures, pump flow without its meter, pump power, a speed not read
    # back, a weather file's outdoor temperature): CycleResult field names (issue 10 item 3)
    modelled: frozenset[str] = frozenset()
    forecast_kw: float | None = None
    evaluation: Evaluation | None = None  # on the readings …
    estimate_evaluation: Evaluation | None = None  # … and on the estimates: shown (issue 9)
    share_in_band_readings: float | None = None  # %, judged on the readings, beside it
    findings: list[Finding] = field(default_factory=list)  # device diagnosis (§5.3.7)
    limited: dict[str, list[str]] = field(default_factory=dict)  # safety limits that acted
    conditions: list[Condition] = field(default_factory=list)  # the engine's alarm rules
    # managed inlets without a trusted heat figure: their heat from the engine's values, or
    # None (``LoopResult.heat_estimate_kw``), and the network's sum of both over the inlets
    # the load counts (a building and its households once: ``LoopResult.heat_sum``)
    heat_estimates: dict[str, float | None] = field(default_factory=dict)
    heat_sum: HeatSum = field(default_factory=HeatSum)
    station_heat: bool = False  # a real plant's substation heat meter is mapped …
    # the forecaster's load source changed this cycle (old, new): its model was reset
    load_source_changed: tuple[str, str] | None = None
    substation_heat_kw: float | None = None  # … and read this cycle (kW)

    @property
    def proposes(self) -> bool:
        """Whether this result holds a proposal still to confirm (manual mode, §5.3.6-6):
        valve openings or a pump speed not sent. In automatic mode ``commands`` are what
        was sent; the caller knows the mode."""
        return not self.confirmed and (bool(self.commands) or self.pump_command is not None)

    @property
    def heat_kw(self) -> float:
        """Heat delivered to the managed inlets with a trusted reading (a lower bound where
        :attr:`heat_missing` is above 0)."""
        return self.heat_sum.measured_kw

    @property
    def heat_missing(self) -> int:
        """Inlets whose heat no trusted reading gives this cycle (a meter lost, rejected,
        frozen or dead): :attr:`heat_kw` under-reports by theirs, so the network heat power
        is then no measurement (issue 10 item 3)."""
        return self.heat_sum.missing

    def heat_estimate(self) -> tuple[float, int]:
        """The network heat with the missing inlets' heat from the engine's values (a
        predicted or planned flow, a predicted temperature), and how many inlets are still
        left out (no estimate either)."""
        heat = self.heat_sum
        return heat.measured_kw + heat.estimated_kw, heat.left_out

    def network_heat(self) -> NetworkHeat:
        """The network's heat power as every display shows it (sensor, archive, export):
        the substation heat meter's reading where one is mapped (the whole network, pipe
        losses included); else the inlets' sum while every inlet has a trusted figure;
        else (or the meter lost) the estimate, flagged, with the inlets it leaves out — an
        under-reported sum is never shown as measured (issue 10 item 3)."""
        if self.station_heat and self.substation_heat_kw is not None:
            return NetworkHeat(self.substation_heat_kw, metered=True)
        if not self.station_heat and not self.heat_missing:
            return NetworkHeat(self.heat_kw)
        total, left_out = self.heat_estimate()
        return NetworkHeat(total, estimated=True, left_out=left_out)


@dataclass(frozen=True)
class NetworkHeat:
    """The network's heat power (kW) and how it was obtained."""

    kw: float
    estimated: bool = False  # not a measurement: inlets' heat filled in by the engine
    left_out: int = 0  # inlets with neither a trusted heat figure nor an estimate
    metered: bool = False  # the substation heat meter's reading


@dataclass
class CycleMemory:
    """What a cycle carries to the next (persisted by the coordinator)."""

    loop: ControlLoop | None = None  # built on the first cycle, from loop_state
    loop_state: dict[str, Any] = field(default_factory=dict)  # stored learning, until then
    changed: set[str] = field(default_factory=set)  # inlets whose source changed (persistence)
    sources: dict[str, Any] = field(default_factory=dict)  # stored source keys (persistence)
    # the network heat energy sensor's counter: the heat power display's figure over time
    network_energy: NetworkEnergy = field(default_factory=NetworkEnergy)
    load_source: str | None = None  # what the forecaster learnt the load from (load_source)

    @property
    def energy_kwh(self) -> dict[str, float]:
        """The engine's energy counters per inlet (kWh), also before the first cycle."""
        if self.loop is not None:
            return self.loop.energy.kwh
        return EnergyCounters(self.loop_state.get("energy_kwh")).kwh

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for the Store.

        The controller's learned hydraulics (§5.3.6) and which meters and valves it ever
        heard from (``Controller.heard``: a lost meter is no never-read one), the diagnoser's
        Kv curves (§3.0.7-5),
        the load model (§3.0.7-2), the §6.0.6 transmission counts, the energy counters, the
        plausibility checks' runs (§5.3.8-2) and the design-load sums (§3.0.7) are kept, so
        a restart of Home Assistant does not start from nothing.
        """
        state = self.loop.as_dict() if self.loop else dict(self.loop_state)
        return state | {
            NETWORK_ENERGY: self.network_energy.as_dict(),
            LOAD_SOURCE: self.load_source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CycleMemory:
        """Read back what :meth:`as_dict` wrote (unknown keys ignored)."""
        return cls(
            loop_state={k: data[k] for k in LEARNED if isinstance(data.get(k), dict)},
            network_energy=NetworkEnergy(data.get(NETWORK_ENERGY)),
            load_source=source if isinstance(source := data.get(LOAD_SOURCE), str) else None,
        )


# CycleResult.held: planned under an algorithm, level or target the operator has changed
# since the cycle started; the new one's first cycle decides (the coordinator's)
REPLANNED = "replanned"
UNLOADING = "unloading"  # … or for an entry that began to unload while it ran
PLAN_SETTINGS = ("algorithm", "level", "target")  # what a plan is made by (§5.3.6-1, §3.0.4)
SET_FLOW_TUNABLES = ("weight", "setpoint_offset")  # … and an inlet's set flow (§5.3.6-5)


def replanned(
    started: Settings,
    now: Settings,
    inlets_started: Mapping[str, InletConfig] | None = None,
    inlets_now: Mapping[str, InletConfig] | None = None,
) -> bool:
    """Whether a cycle planned on ``started`` (and ``inlets_started``) is no plan of the
    settings ``now``: the operator chose another algorithm (PI ↔ model-based, §5.3.6-1),
    level (its band and presettings, §3.0.4) or regulation target (§4.1.1), or changed an
    inlet's weight or setpoint offset (its set flow, which the model-based plan shares a
    shortfall by, §5.3.6-5) while it ran. Its moves are not sent: an operator who changes
    them expects the new choice to decide the next move, not the old one to make it after
    the change."""
    return any(getattr(started, k) != getattr(now, k) for k in PLAN_SETTINGS) or _retuned(
        inlets_started or {}, inlets_now or {}
    )


def rejudged(
    started: Settings,
    now: Settings,
    inlets_started: Mapping[str, InletConfig],
    inlets_now: Mapping[str, InletConfig],
) -> bool:
    """Whether a cycle's alarm conditions were judged by thresholds the operator has changed
    since it started: an alarm threshold (§5.3.8-1), the minimum flow (the ``flow_low``
    rule's) or an inlet's set flow. The coordinator then holds that cycle's alarm update:
    an alarm raised by a threshold the operator had just loosened reached his phone and
    cleared a cycle later (or one he tightened waited a cycle to be judged anyway)."""
    return (
        alarm_settings(started, dict(inlets_started)) != alarm_settings(now, dict(inlets_now))
        or limits_of(started).min_flow_ratio != limits_of(now).min_flow_ratio
        or _retuned(inlets_started, inlets_now)
    )


def _retuned(started: Mapping[str, InletConfig], now: Mapping[str, InletConfig]) -> bool:
    """Whether an inlet's set-flow tunables differ between two versions of the inlets."""
    return any(
        getattr(cfg, k) != getattr(now[iid], k)
        for iid, cfg in started.items()
        if iid in now
        for k in SET_FLOW_TUNABLES
    )


def limits_of(settings: Settings) -> SafetyLimits:
    """The engine's safety limits from the operator's thresholds (§5.3.6-3), minimum flow
    included: the engine never closes a valve further while its inlet is at or below it;
    the pump's speed range and speed step as well (every option of
    :data:`.settings.LIMIT_OPTIONS`, whole)."""
    return SafetyLimits(
        **{limit: getattr(settings, pct) / 100.0 for pct, limit in LIMIT_OPTIONS.values()}
    )


def weight_of(network: Network, cfg: InletConfig) -> float:
    """The weight the operator set for the inlet (§5.3.6-5), else the network file's."""
    return cfg.weight if cfg.weight is not None else network.inlets[cfg.inlet_id].weight


def engine_weight(network: Network, cfg: InletConfig) -> float:
    """The one weight the engine regulates and judges the inlet by: the operator's weight
    shifted by the setpoint offset (%), both scale the set flow (``ControllerConfig.
    set_flow``), kept in the range the engine accepts."""
    lo, hi = WEIGHT_RANGE
    return min(max(weight_of(network, cfg) * (1.0 + cfg.setpoint_offset / 100.0), lo), hi)


def controller_config(
    network: Network,
    settings: Settings,
    inlets: dict[str, InletConfig],
    held: list[str] | None = None,
) -> ControllerConfig:
    """The engine controller's configuration from the entry's options and inlets (§5.3.6).

    ``held`` are inlets no command reaches (valves of a real plant without a mapping): the
    plan keeps them where they are, as it keeps an inlet switched to manual.
    """
    weights = {iid: engine_weight(network, cfg) for iid, cfg in inlets.items()}
    return ControllerConfig(
        algorithm=ENGINE_ALGORITHMS[settings.algorithm],
        target=ENGINE_TARGETS[settings.target],
        level=settings.level,
        auto=settings.auto,
        limits=limits_of(settings),
        manual_inlets=[iid for iid, cfg in inlets.items() if not cfg.auto] + list(held or ()),
        weights=weights,
        commissioned={
            iid: cfg.commissioned_opening
            for iid, cfg in inlets.items()
            if cfg.commissioned_opening is not None
        },
    )


def loop_config(
    network: Network, settings: Settings, inlets: dict[str, InletConfig], acq: Acquisition
) -> LoopConfig:
    """The engine loop's configuration: the managed inlets are judged at their set flows
    (the controller's weights: one set flow for plan, verdict, guard and alarm); what no
    command reaches (unmapped valves and the pump of a real plant) is planned as it stands.

    At the advanced level the verdict, shown and held (§8.2.5), covers the households too
    where they are regulated — a simulated plant reads and moves those without a subentry
    (``Acquisition.unmanaged_moved``) — as §8.2.4 and the benchmarks judge them: on the
    40 buildings alone households1200 was shown in band from cycle 12–13 while its
    households never held the band (PI, 2 % noise; issue 10, 24f/24h). Their alarms and
    heat stay their buildings' (no device of their own)."""
    held = [] if acq.unmanaged_moved else list(acq.unmanaged)
    control = controller_config(network, settings, inlets, held)
    control.pump_control = acq.pump_controlled  # never plan on a pump no command reaches
    verdict = None
    if settings.level == "advanced" and acq.unmanaged_moved:
        households = {iid for iid in acq.unmanaged if network.inlets[iid].type == "household"}
        if households:
            verdict = [iid for iid in network.inlets if iid in inlets or iid in households]
    return LoopConfig(
        controller=control,
        judged=list(inlets),
        verdict=verdict,
        alarms=alarm_settings(settings, inlets),
        station_heat=_station_heat(settings, acq),
    )


def _station_heat(settings: Settings, acq: Acquisition) -> bool:
    """Whether the network's heat is the substation heat meter's: one is mapped and the
    plant is real (a simulated plant's inlets are its own measurements; the entity is
    read only on a real plant)."""
    return bool(settings.substation_heat_meter) and acq.real_substation


def alarm_settings(settings: Settings, inlets: dict[str, InletConfig]) -> AlarmSettings:
    """The operator's alarm thresholds (§5.3.8-1) in the engine's terms."""
    return AlarmSettings(
        max_supply_c=settings.max_supply_c,
        min_return_c=settings.min_return_c,
        min_dp_kpa=settings.min_dp_kpa,
        feedback_tolerance_pct=settings.feedback_tolerance_pct,
        low_battery_pct=settings.low_battery_pct,
        wireless=frozenset(iid for iid, cfg in inlets.items() if cfg.link == LINK_WIRELESS),
        outdoor_required=bool(settings.outdoor_entity),
    )


# a real plant's substation figures that are the network model's (no sensor read)
MODELLED_SUBSTATION = ("supply_c", "return_c", "pump_head_m")


def measurements_of(
    inlets: dict[str, InletConfig], acq: Acquisition, pump_speed: float
) -> Measurements:
    """The engine's view of one acquisition: every inlet as its source read it, the
    substation and pump from the plant (its outdoor temperature may be the sensor's: None).

    On a real plant the substation flow is its meter's, or None, and the substation's
    supply and return temperatures and pump head are the network model's: handed over
    flagged estimated (``Measurements.estimated``), never as readings (issue 10 item 3).
    Handed over as read, the model's supply was one of the meter check's three supply
    values on a two-building network (gen2-pair's +10 % meter named at 8 through HA, at 6
    in the engine with a sensor); dropped, the check lost what the model knows (named later
    on three of six seeds, 13e)."""
    readings: dict[str, InletReading] = {iid: acq.inlets[iid] for iid in inlets}
    meas = Measurements.from_plant(acq.plant, readings | acq.unmanaged)
    meas.outdoor_c, meas.pump_speed = acq.outdoor_c, pump_speed
    if acq.real_substation:
        meas.pump_flow_m3h = acq.substation_flow_m3h
        meas.estimated = MODELLED_SUBSTATION
        meas.substation_heat_kw = acq.substation_heat_kw
    return meas


def run_cycle(
    network: Network,
    settings: Settings,
    inlets: dict[str, InletConfig],
    acq: Acquisition,
    memory: CycleMemory,
    pump_speed: float,
    dispatched: dict[str, float] | None = None,
    balance: BalanceStateMachine | None = None,
    clock_s: float | None = None,
    balance_now: bool = False,
) -> CycleResult:
    """Run the engine's control loop on the acquired state (executor).

    ``dispatched`` are the openings sent last cycle, which device diagnosis compares with
    what the valves and flows did since; ``balance`` the §8.2.5/§8.2.6 state machine, run
    on ``clock_s``; ``balance_now`` the operator's request to move now. What to send is the
    loop's answer (``CycleResult.commands``, sent unless ``CycleResult.held``).
    """
    config = loop_config(network, settings, inlets, acq)
    if memory.loop is None:
        stored = [memory.loop_state]  # its only holder: released a slice at a time
        memory.loop_state = {}
        memory.loop = ControlLoop(network, config, cycle_s=acq.dt_s, state=stored[0])
        release(stored)  # dropped at once: 0.3 s holding the GIL at 23k (memory_release)
    if memory.changed:  # learnt on other devices: void (§5.3.6-3, issue 10)
        memory.loop.sources_changed(memory.changed)
        memory.changed = set()
    memory.loop.configure(config)
    changed = _new_load_source(memory, load_source(settings, config))
    out = memory.loop.step(
        measurements_of(inlets, acq, pump_speed),
        dispatched=dispatched,
        outdoor_forecast_c=acq.outdoor_forecast_c,
        balance=balance,
        clock_s=clock_s,
        gateways=acq.gateways,
        dt_s=acq.dt_s,
        balance_now=balance_now,
    )
    ev, shown = out.evaluation, out.estimate_evaluation
    results: dict[str, InletResult] = {}
    kids = network.children_by_parent()  # once: per inlet it is O(n²) on 23k households
    flags = _flags_by_inlet(out.cleaning.flags)
    loop = memory.loop
    _add_distrusted(flags, distrusted(out.findings, loop.plausibility.disowned), acq.inlets)
    plant = acq.plant.inlets
    for iid, cfg in inlets.items():
        inlet, reading = network.inlets[iid], acq.inlets[iid]
        heat_kw = out.heat_kw.get(iid)
        rate, _ = out.success.get(iid, (None, 0))
        judged = ev.inlets.get(iid) if ev else None
        estimate = shown.inlets.get(iid) if shown else None
        results[iid] = InletResult(
            reading=reading,
            heat_kw=heat_kw,
            energy_kwh=out.energy_kwh.get(iid, 0.0),
            setpoint=judged.reference if judged else config.controller.set_flow(inlet),
            actual=judged.value if judged else reading.flow_m3h,
            deviation=judged.deviation if judged else None,
            in_band=estimate.in_band if estimate else None,
            command=out.commands.proposed.get(iid),
            success_rate=rate,
            households=ranges(plant[k.id] for k in kids.get(iid, ()) if k.id in plant),
            flow_deviation=judged.flow_deviation_pct if judged else None,
            flagged=flags.get(iid, {}),
            filled=loop.filled_in(
                iid, reading, out.commands.assumed, out.commands.open_loop, flags.get(iid, ())
            ),
            in_band_readings=judged.in_band if judged else None,
            estimate_deviation=estimate.deviation if estimate else None,
            uncertainty=estimate.uncertainty if estimate else None,
        )
        _households_modelled(results[iid], cfg)
        why = out.commands.open_loop.get(iid)
        if why is not None:
            _judged_on_plan(results[iid], why, ev, config.controller.set_flow(inlet))
    send = out.dispatch
    # §8.2.5: balanced on the flow estimates within their uncertainty, the verdict the
    # balance state runs on (ControlLoop._hold_verdict); share_in_band on the estimates too,
    # the readings' beside it. On raw readings at 1 % meter noise this flapped (logbook,
    # automations); at 2 % the readings' share never showed every inlet in band on
    # households1200 in 16 cycles while the plant held from step 1–6 (issue 9 item 1).
    balanced = out.balance_verdict is True
    result = _network_result(acq, results, dict(send.openings), send.pump_speed, ev, balanced)
    result.estimate_evaluation = shown
    result.share_in_band = _percent(shown.share_in_band if shown else None)
    result.share_in_band_readings = _percent(ev.share_in_band if ev else None)
    result.held = send.held
    result.pump_speed, result.pump_estimated = pump_speed, acq.pump_estimated  # as read back
    result.modelled = _modelled(acq, settings)
    if acq.real_substation and acq.substation_flow_m3h is not None:
        result.pump_flow_m3h = acq.substation_flow_m3h  # the substation's meter, not the model
    result.forecast_kw = out.forecast_kw
    result.findings = out.findings
    result.limited = dict(out.commands.limited)
    result.conditions = out.conditions
    result.heat_estimates = {i: v for i, v in out.heat_estimate_kw.items() if i in inlets}
    result.heat_sum = out.heat_sum
    result.station_heat = config.station_heat
    result.substation_heat_kw = acq.substation_heat_kw if config.station_heat else None
    result.load_source_changed = changed
    heat = result.network_heat()  # the heat power display's figure, counted over the cycle
    memory.network_energy.add(heat.kw, heat.estimated, acq.dt_s)
    return result


def load_source(settings: Settings, config: LoopConfig) -> str:
    """What the forecaster learns the network's load from (§3.0.7-2): the substation heat
    meter where one is mapped on a real plant (the whole network, pipe losses included),
    else the inlets' heat (``ControlLoop._load``)."""
    if not config.station_heat:
        return INLETS_LOAD
    return f"substation:{settings.substation_heat_meter}"


def _new_load_source(memory: CycleMemory, source: str) -> tuple[str, str] | None:
    """Reset the load model when its source changed since it learnt (mapped, unmapped or
    another meter, also while Home Assistant was down): a model taught the inlets' heat
    and then the substation's (losses in) would forecast neither. (old, new), or None."""
    old, memory.load_source = memory.load_source, source
    if old is None or old == source or memory.loop is None:
        return None  # the first cycle of this memory: nothing learnt from another source
    memory.loop.forget_load()
    return old, source


def _households_modelled(res: InletResult, cfg: InletConfig) -> None:
    """A real inlet's households are the network model's (no household is read on a real
    plant): their room temperatures are shown flagged estimated (issue 10 item 3)."""
    ranges_ = res.households
    if ranges_ is None or cfg.source == SOURCE_SIMULATOR:
        return
    for name in ("room_min_c", "room_max_c"):
        value = getattr(ranges_, name)
        if value is not None:
            res.filled[f"households_{name}"] = value


def _judged_on_plan(res: InletResult, why: str, ev: Evaluation | None, set_flow: float) -> None:
    """An inlet the engine plans without a flow reading (its meter never read, or lost for
    longer than its estimate stands in): its flow is the plan's, and its deviation and band
    verdict are taken on that flow — all flagged estimated (``filled``), never shown as
    measured nor as "no data" without a word (issue 10 item 3). The §8.2.5 verdict leaves
    such an inlet out (``ControlLoop._hold_verdict``); a flow-target band only (a
    temperature target's deviation is no flow's)."""
    res.open_loop = why
    flow = res.filled.get("flow_m3h")
    if flow is None or res.actual is not None or res.reading.flow_m3h is not None:
        return  # a rejected reading's prediction is shown beside it, not judged on
    deviation = flow_deviation_pct(flow, set_flow)
    if deviation is None:
        return
    res.flow_deviation = res.filled["flow_deviation"] = deviation
    the_band = ev.band if ev is not None else None
    if the_band is None or the_band.basis != "setpoint" or the_band.unit != "%":
        return
    res.actual = flow
    res.deviation = res.filled["deviation"] = deviation
    res.in_band = the_band.miss(deviation) == 0.0


def _flags_by_inlet(flags: dict[str, tuple[str, ...]]) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per inlet, the signals cleaning did not trust, with the reasons (for diagnostics);
    one pass over all signals (``<inlet>.<signal>``), not one per inlet; a name is split
    only when its flag is worth showing (143,000 names a cycle at 23,870 inlets)."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, why in flags.items():
        if why in _UNFLAGGED:
            continue
        iid, dot, signal = name.rpartition(".")
        if dot:
            if why[0] == "missing" and signal in _OPTIONAL:
                continue  # no transmitter at most inlets: the data check's (§4.3.2), not a flag
            out.setdefault(iid, {})[signal] = why
    return out


_UNFLAGGED = frozenset({("ok",), ("missing",)})


def _add_distrusted(
    flags: dict[str, dict[str, tuple[str, ...]]],
    marks: dict[str, dict[str, str]],
    raw: dict[str, Reading],
) -> None:
    """Add to cleaning's verdicts the read values the meter checks distrust (``marks``:
    ``plausibility.distrusted``, the one rule regulation and the alarm rules go by — a
    frozen or dead meter's flow, a swapped pair's temperatures), named by the finding, so
    no display shows them as measured. A value cleaning already rejected keeps its verdict;
    a value not read this cycle is no rejected reading."""
    for iid, names in marks.items():
        reading = raw.get(iid)
        if reading is None:
            continue  # the substation, or an inlet not managed here
        for name, kind in names.items():
            if getattr(reading, name, None) is not None:
                flags.setdefault(iid, {}).setdefault(name, (kind,))


def _modelled(acq: Acquisition, settings: Settings) -> frozenset[str]:
    """The network figures a real plant takes from the network model (issue 10 item 3): its
    substation temperatures, pump power and (without the substation's meter) pump flow;
    the pump speed its drive does not read back; without an outdoor sensor, the weather
    file's temperature. A simulated plant's figures are the plant's own."""
    out: set[str] = {"pump_speed"} if acq.pump_estimated else set()
    if acq.real_substation:
        out |= {"supply_c", "return_c", "pump_power_w"}
        if acq.substation_flow_m3h is None:
            out.add("pump_flow_m3h")
        if not settings.outdoor_entity:
            out.add("outdoor_c")
    return frozenset(out)


_OPTIONAL = frozenset({"dp_available_kpa", "valve_dp_kpa"})  # cleaned where read (cleaning.py)


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100.0


def _network_result(
    acq: Acquisition,
    results: dict[str, InletResult],
    commands: dict[str, float],
    pump: float | None,
    ev: Evaluation | None,
    balanced: bool,
) -> CycleResult:
    """Network indicators: the engine's verdict, and spreads over the managed inlets."""
    flows = [r.flow_deviation for r in results.values() if r.flow_deviation is not None]
    sent = [r.success_rate for r in results.values() if r.success_rate is not None]
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
        share_in_band=None,  # the caller's, on the estimates
        spread=ev.return_spread_k if ev else None,
        flow_deviation_spread=(max(flows) - min(flows)) / 100.0 if flows else None,
        balanced=balanced,
        success_rate=sum(sent) / len(sent) if sent else None,
        commands=commands,
        pump_command=pump,
        evaluation=ev,
    )
