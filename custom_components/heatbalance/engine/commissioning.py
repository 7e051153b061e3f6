"""Commissioning calculations: device presettings and the commissioning record (§7.2.5, §7.2.6).

§7.2.5 asks, per device type, for the setting a fitter dials in on site: the opening of a
static balancing valve for the inlet's share of the network flow (from heating area or
design load), the flow of a self-operated flow valve, the ΔP of a self-operated ΔP valve from
the building-side resistance, the mixing ratio of an ejector, and the frequencies of the
source pump and of distributed user pumps. Valves are coupled through the pipes, so the
settings are computed for the whole network at once from the hydraulic model:

1. The balancing planner's ideal network (:class:`~.control.planner.HydraulicPlanner`: every
   heated circuit an *ideal flow regulator*, held at its target flow, no resistance of its
   own — one ideal network for commissioning and regulation) is solved at the pump's
   highest speed. Its inlet pressures are what each inlet is offered once every flow is on
   target; they no longer depend on any valve.
2. At fixed flows every offered pressure moves by the same ``ρ·g·H0·Δ(s²)`` when the pump
   speed changes (pipe drops stay, the shut-off head scales with s²). The inlet with the
   least *slack* (offered pressure minus what its circuit and its fully open device need)
   sets the lowest pump speed that still serves everyone: there its valve ends fully open.
   If even the highest speed cannot serve everyone, the manual weights (§5.3.6-5) decide who
   is served first and the rest share the shortfall by one factor — the planner's rule
   (:func:`~.control.planner.shortfall_factors`); with equal weights every target is scaled by
   the same factor (nobody starves alone).
3. Every device then drops the rest of its offered pressure: a valve gets the Kv for that
   drop (the characteristic inverted to an opening), a building that feeds households drops
   what its worst household does not need, a distributed pump gets the speed that lifts its
   circuit.

The presettings are checked by solving the real network with them applied; the record
carries the flows and pressures that solve predicts, which is what the fitter should measure.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from .control.flow_balance import opening_for_kv
from .control.planner import (
    IDEAL_KVS,
    KPA_PER_M,
    HydraulicPlanner,
    shortfall_factors,
)
from .control.planner import KV_TYPES as KV_DEVICES
from .hydraulics import HydraulicError, HydraulicModel, HydraulicResult
from .model import Inlet, Network

RECORD_FORMAT = "heatbalance.commissioning/1"
NOMINAL_FREQUENCY_HZ = 50.0  # mains frequency of a VFD at full speed
HANDWHEEL_TURNS = 4.0  # turns of a static balancing valve from closed to fully open
EJECTORS = frozenset({"manual_ejector", "electric_ejector"})
Basis = Literal["load", "area"]
_SCALE_STEPS = 30


class CommissioningError(ValueError):
    """The network cannot be commissioned as given (the message says why and where)."""


@dataclass
class InletSetting:
    """One inlet's line of the commissioning record.

    ``opening`` (0…1), ``kv`` and ``turns`` are for valves and ejector nozzles; ``setpoint``
    is m³/h for a self-operated flow valve and kPa for a ΔP valve; ``speed`` and
    ``frequency_hz`` for a distributed pump. ``expected_*`` come from solving the network
    with every presetting applied; ``measured_flow_m3h`` is left for the fitter (§7.2.5-1).
    """

    inlet_id: str
    name: str
    inlet_type: str
    parent: str | None
    device_type: str
    heating_area_m2: float
    design_load_kw: float
    design_flow_m3h: float
    target_flow_m3h: float
    opening: float | None = None
    kv: float | None = None
    turns: float | None = None
    setpoint: float | None = None
    setpoint_unit: str | None = None
    mixing_ratio: float | None = None
    speed: float | None = None
    frequency_hz: float | None = None
    expected_flow_m3h: float = 0.0
    expected_dp_available_kpa: float = 0.0
    expected_valve_dp_kpa: float = 0.0
    measured_flow_m3h: float | None = None
    note: str = ""

    @property
    def flow_deviation(self) -> float:
        """Expected flow over target, minus one."""
        if self.target_flow_m3h <= 0:
            return 0.0
        return self.expected_flow_m3h / self.target_flow_m3h - 1.0


@dataclass
class PumpSetting:
    """The substation circulation pump's commissioned duty point (§7.2.5-7)."""

    speed: float
    frequency_hz: float
    flow_m3h: float
    head_m: float
    power_w: float


@dataclass
class CommissioningRecord:
    """A commissioning record (§7.2.6): what was set, what should be measured, by whom.

    ``commissioned_by`` and ``witness`` are left for the people who sign it on site.
    """

    network: str
    date: str
    basis: str
    design_outdoor_c: float
    design_supply_c: float
    design_return_c: float
    pump: PumpSetting
    inlets: list[InletSetting]
    target_scale: float
    max_flow_deviation: float
    converged: bool
    notes: list[str] = field(default_factory=list)
    commissioned_by: str | None = None
    witness: str | None = None

    def inlet(self, inlet_id: str) -> InletSetting:
        """The line of one inlet (KeyError for an unknown id)."""
        for row in self.inlets:
            if row.inlet_id == inlet_id:
                return row
        raise KeyError(inlet_id)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with rounded figures (``format`` names the version)."""
        data = asdict(self)
        data = {"format": RECORD_FORMAT, **_rounded(data)}
        for row, setting in zip(data["inlets"], self.inlets, strict=True):
            row["flow_deviation"] = round(setting.flow_deviation, 5)
        return data


@dataclass
class _Plan:
    """Targets, speed and device drops of one plan (arrays aligned with the model's inlets)."""

    targets: np.ndarray  # m³/h
    scale: float  # the smallest share of its target flow any inlet is planned to get
    speed: float
    device_drop: np.ndarray  # kPa the device takes at target flow
    offered: np.ndarray  # kPa across the inlet link at target flow and ``speed``


def target_flows(network: Network, basis: Basis = "load") -> dict[str, float]:
    """Each inlet's target flow in m³/h (§7.2.5-1).

    ``load``: the design flow from design load and ΔT. ``area``: the network's design flow
    shared out by heating area — a building's share of the total, a household's share of its
    building's — as the standard prescribes for static valves when loads are not known.
    """
    if basis not in ("load", "area"):
        raise CommissioningError(f"unknown basis {basis!r}; use load or area")
    inlets = network.inlets
    if not inlets:
        raise CommissioningError(f"network {network.name!r} has no inlets to commission")
    if basis == "load":
        out = {}
        for iid, inlet in inlets.items():
            flow = _design_flow(inlet)
            if not flow > 0:
                raise CommissioningError(
                    f"inlet {iid}: design load {inlet.design_load_kw!r} kW and ΔT "
                    f"{inlet.design_dt_k!r} K give no design flow"
                )
            out[iid] = flow
        return out
    total = sum(_design_flow(i) for i in inlets.values() if i.parent is None)
    return _area_shares(network, None, total)


def commission(
    network: Network,
    basis: Basis = "load",
    *,
    date: dt.date | None = None,
    nominal_hz: float = NOMINAL_FREQUENCY_HZ,
    turns: float = HANDWHEEL_TURNS,
) -> CommissioningRecord:
    """Presettings of every device and of the pump, checked by a solve (§7.2.5, §7.2.6)."""
    planner, plan = _prepare(network, basis)
    model = planner.forward
    applied = apply_presettings(network, plan_settings(network, model, plan))
    result = _verify(applied)
    rows = [
        _row(network, applied, model, plan, result, k, nominal_hz, turns)
        for k in range(len(model.inlet_ids))
    ]
    return CommissioningRecord(
        network=network.name,
        date=(date or dt.datetime.now(dt.UTC).date()).isoformat(),
        basis=basis,
        design_outdoor_c=network.design.outdoor_c,
        design_supply_c=network.design.supply_c,
        design_return_c=network.design.return_c,
        pump=PumpSetting(
            speed=result.pump_speed,
            frequency_hz=result.pump_speed * nominal_hz,
            flow_m3h=result.pump_flow_m3h,
            head_m=result.pump_head_m,
            power_w=result.pump_power_w,
        ),
        inlets=rows,
        target_scale=plan.scale,
        max_flow_deviation=max((abs(r.flow_deviation) for r in rows), default=0.0),
        converged=result.converged,
        notes=_notes(network, plan, rows),
    )


@dataclass
class Presettings:
    """What commissioning sets: per-inlet device values and the pump speed."""

    pump_speed: float
    openings: dict[str, float] = field(default_factory=dict)
    setpoints: dict[str, float] = field(default_factory=dict)
    speeds: dict[str, float] = field(default_factory=dict)


def presettings(network: Network, basis: Basis = "load") -> Presettings:
    """Only the settings, for callers that apply them (the oracle, the simulator)."""
    planner, plan = _prepare(network, basis)
    return plan_settings(network, planner.forward, plan)


def _prepare(network: Network, basis: Basis) -> tuple[HydraulicPlanner, _Plan]:
    """The planner (its hydraulic model and ideal network) and the plan for the targets."""
    targets = target_flows(network, basis)
    try:
        planner = HydraulicPlanner(network)
    except HydraulicError as err:
        raise CommissioningError(str(err)) from err
    flows = np.array([targets[i] for i in planner.ids])
    return planner, _plan(network, planner, flows)


def _with_parent_sums(model: HydraulicModel, flows: np.ndarray) -> np.ndarray:
    """``flows`` with each building that feeds households carrying what they draw."""
    out = flows.copy()
    topo = model.topo
    for depth in range(int(topo.depth.max(initial=0)), 0, -1):
        for k in np.flatnonzero(topo.depth == depth):
            p = int(topo.parent[k])
            out[p] = out[topo.parent == p].sum()
    return out


def apply_presettings(network: Network, settings: Presettings) -> Network:
    """A copy of ``network`` with the presettings written into its devices and pump."""
    out = copy.deepcopy(network)
    out.substation.pump.speed = settings.pump_speed
    for iid, value in settings.openings.items():
        out.inlets[iid].device.opening = value
    for iid, value in settings.setpoints.items():
        out.inlets[iid].device.setpoint = value
    for iid, value in settings.speeds.items():
        out.inlets[iid].device.speed = value
    return out


def mixing_ratio(network: Network, inlet: Inlet) -> float:
    """Ejector mixing ratio ``u = (t1 − θ1)/(θ1 − θ2)`` at design (§7.2.5-4).

    ``t1`` is the network's design supply, ``θ1``/``θ2`` the building circuit's design supply
    and return: return water re-circulated per unit of network water, so that the mixed
    water reaches the building's own supply temperature. 0 when the building needs the
    network's full supply temperature.
    """
    t1 = network.design.supply_c
    theta1 = inlet.emitter.design_supply_c
    theta2 = inlet.emitter.design_return_c
    if not theta1 > theta2:
        raise CommissioningError(
            f"inlet {inlet.id}: emitter design supply {theta1} °C is not above return {theta2} °C"
        )
    return max(0.0, (t1 - theta1) / (theta1 - theta2))


# --- the plan -----------------------------------------------------------------------------------
def _plan(network: Network, planner: HydraulicPlanner, targets: np.ndarray) -> _Plan:
    """Lowest pump speed and every device's drop for ``targets`` (scaled down if need be)."""
    pump = network.substation.pump
    model = planner.forward
    targets = _with_parent_sums(model, targets)
    offered, slack = _offered_and_slack(network, planner, targets)
    scales = np.ones(len(targets))
    if slack.min() < -1e-9:
        scales = _allocate(network, planner, targets)
        targets = _with_parent_sums(model, targets * scales)
        offered, slack = _offered_and_slack(network, planner, targets)
    leaves = ~model.topo.is_parent
    scale = float(np.min(scales[leaves], initial=1.0))
    per_s2 = KPA_PER_M * pump.shutoff_head_m  # kPa of offered pressure per unit of s²
    wanted = pump.max_speed**2 - max(float(slack.min()), 0.0) / per_s2
    speed = min(max(math.sqrt(max(wanted, 0.0)), pump.min_speed), pump.max_speed)
    offered = offered + per_s2 * (speed**2 - pump.max_speed**2)
    drop = _device_drops(network, model, targets, offered)
    return _Plan(targets, scale, speed, drop, offered)


def _offered_and_slack(
    network: Network, planner: HydraulicPlanner, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pressure offered to each inlet link with all flows on target at the highest speed,
    and each terminal inlet's slack through its own device and its ancestors' (kPa).

    Parents (inlets that feed households) get an infinite slack: their households carry it.
    """
    model = planner.forward
    try:
        res = planner.ideal_result(targets, network.substation.pump.max_speed)
    except HydraulicError as err:
        raise CommissioningError(f"network {network.name!r}: {err}") from err
    offered = res.dp_available_kpa.copy()
    topo = model.topo
    device_need = _device_need_kpa(network, model, targets)
    slack = np.where(topo.is_parent, np.inf, offered - _circuit_kpa(model, targets) - device_need)
    # A household reaches the street through its building's device: that drop is its too.
    for k in np.flatnonzero(topo.parent >= 0):
        if not topo.is_parent[k]:
            slack[k] -= sum(device_need[a] for a in _chain(topo, int(k)))
    # Inlets the ideal model could not hold at target have no pressure to spare at all.
    short = res.inlet_flow_m3h < targets * (1.0 - 1e-6)
    slack = np.where(short & ~topo.is_parent, np.minimum(slack, -1.0), slack)
    return offered, slack


def _allocate(network: Network, planner: HydraulicPlanner, targets: np.ndarray) -> np.ndarray:
    """Each inlet's factor on its target when the pump cannot serve them all (§5.3.6-5).

    The planner's rule (:func:`shortfall_factors`): the lowest manual weight shares the
    shortfall first, by one common factor, unless that leaves it below ``PRIORITY_FLOOR``;
    then the next weight joins.
    A household's priority is its own weight (a building carries what they draw).
    """
    model = planner.forward
    leaves = ~model.topo.is_parent
    weights = np.array([float(network.inlets[i].weight) for i in planner.ids])
    factors = shortfall_factors(
        weights, leaves, lambda mask: _feasible_scale(network, planner, targets, mask)
    )
    if np.any(factors <= 0):
        raise CommissioningError(f"network {network.name!r}: the pump cannot move any flow")
    return factors


def _feasible_scale(
    network: Network, planner: HydraulicPlanner, targets: np.ndarray, mask: np.ndarray
) -> float:
    """Largest common factor of the ``mask`` targets (the others held) that the pump serves
    at its highest speed."""
    low, high = 0.0, 1.0
    for _ in range(_SCALE_STEPS):
        mid = 0.5 * (low + high)
        scaled = _with_parent_sums(planner.forward, targets * np.where(mask, mid, 1.0))
        _, slack = _offered_and_slack(network, planner, scaled)
        if slack.min() >= 0:
            low = mid
        else:
            high = mid
    return low


def _circuit_kpa(model: HydraulicModel, flows_m3h: np.ndarray) -> np.ndarray:
    """Drop of each inlet's heated circuit (without its device) at ``flows_m3h``."""
    q = flows_m3h / 3600.0
    return model.devices.a_int * q * q / 1000.0


def _device_need_kpa(network: Network, model: HydraulicModel, flows_m3h: np.ndarray) -> np.ndarray:
    """Pressure each device needs at its largest allowed setting to pass ``flows_m3h``.

    Negative for a distributed pump at full speed (it adds pressure).
    """
    dev = model.devices
    q = flows_m3h / 3600.0
    need = np.zeros(len(flows_m3h))
    for k, iid in enumerate(model.inlet_ids):
        device = network.inlets[iid].device
        if device.type in KV_DEVICES:
            kv = device.kv(device.max_opening)
            need[k] = 100.0 * (flows_m3h[k] / kv) ** 2 if kv > 0 else math.inf
        elif device.type in ("flow_valve", "dp_valve"):
            need[k] = 100.0 * (flows_m3h[k] / float(device.kvs or IDEAL_KVS)) ** 2
        elif device.type == "distributed_pump":
            need[k] = (dev.pump_a[k] * q[k] ** 2 - dev.pump_g[k]) / 1000.0
    return need


def _chain(topo: Any, k: int) -> list[int]:
    """Ancestors of inlet ``k``, nearest first."""
    out, p = [], int(topo.parent[k])
    while p >= 0:
        out.append(p)
        p = int(topo.parent[p])
    return out


def _device_drops(
    network: Network, model: HydraulicModel, targets: np.ndarray, offered: np.ndarray
) -> np.ndarray:
    """The drop each device takes at target flow (kPa), parents first.

    A parent drops what the neediest of its households does not need (ancestors above it
    already decided, those below it held at their largest setting), so that household's
    device ends at its largest setting; a terminal inlet's device drops what its circuit
    and its ancestors' devices leave of the pressure offered to it.
    """
    topo = model.topo
    circuit = _circuit_kpa(model, targets)
    need = _device_need_kpa(network, model, targets)
    drop = np.zeros(len(targets))
    terminals = [(int(h), _chain(topo, int(h))) for h in np.flatnonzero(~topo.is_parent)]
    for depth in range(int(topo.depth.max(initial=0))):
        spare: dict[int, float] = {}
        for h, chain in terminals:
            if len(chain) <= depth:
                continue
            k = chain[len(chain) - 1 - depth]  # the ancestor of h at this depth
            above = sum(drop[a] for a in chain[len(chain) - depth :])
            below = sum(need[a] for a in chain[: len(chain) - 1 - depth])
            left = offered[h] - circuit[h] - need[h] - above - below
            spare[k] = min(spare.get(k, math.inf), left)
        for k, value in spare.items():
            drop[k] = max(value, need[k])
    for h, chain in terminals:
        drop[h] = offered[h] - circuit[h] - sum(drop[a] for a in chain)
    return drop


def plan_settings(network: Network, model: HydraulicModel, plan: _Plan) -> Presettings:
    """Device values for the planned drops: openings, setpoints, pump speeds."""
    out = Presettings(pump_speed=plan.speed)
    dev = model.devices
    topo = model.topo
    for k, iid in enumerate(model.inlet_ids):
        device = network.inlets[iid].device
        flow = float(plan.targets[k])
        drop = float(plan.device_drop[k])
        if device.type in KV_DEVICES:
            kv = flow / math.sqrt(drop / 100.0) if drop > 0 else math.inf
            opening = opening_for_kv(device, kv)
            out.openings[iid] = min(max(opening, device.min_opening), device.max_opening)
        elif device.type == "flow_valve":
            out.setpoints[iid] = flow
        elif device.type == "dp_valve":
            out.setpoints[iid] = _dp_setpoint(model, plan, k)
        elif device.type == "distributed_pump":
            q = flow / 3600.0
            lift = (dev.pump_a[k] + (0.0 if topo.is_parent[k] else dev.a_int[k])) * q * q
            s2 = (lift - 1000.0 * (plan.offered[k] - _ancestor_drop(topo, plan, k))) / max(
                dev.pump_g[k], 1e-9
            )
            out.speeds[iid] = min(max(math.sqrt(max(s2, 0.0)), 0.0), 1.0)
    return out


def _ancestor_drop(topo: Any, plan: _Plan, k: int) -> float:
    """Sum of the drops of the devices of ``k``'s ancestors (kPa)."""
    return float(sum(plan.device_drop[a] for a in _chain(topo, k)))


def _dp_setpoint(model: HydraulicModel, plan: _Plan, k: int) -> float:
    """ΔP a self-operated ΔP valve holds across its circuit (§7.2.5-3).

    A plain building: its own circuit's drop at target flow. A building with households:
    the pressure between its supply node and the street return, which its households share.
    """
    topo = model.topo
    if not topo.is_parent[k]:
        return float(_circuit_kpa(model, plan.targets)[k])
    child = int(np.flatnonzero(topo.parent == k)[0])
    return float(plan.offered[child] - _ancestor_drop(topo, plan, child))


# --- verification and the record --------------------------------------------------------------
def _verify(network: Network) -> HydraulicResult:
    """Solve the network with the presettings applied."""
    try:
        return HydraulicModel(network).solve()
    except HydraulicError as err:
        raise CommissioningError(f"network {network.name!r} with presettings: {err}") from err


def _row(
    network: Network,
    applied: Network,
    model: HydraulicModel,
    plan: _Plan,
    res: HydraulicResult,
    k: int,
    nominal_hz: float,
    turns: float,
) -> InletSetting:
    """The record line of inlet ``k``."""
    iid = model.inlet_ids[k]
    inlet = network.inlets[iid]
    device = applied.inlets[iid].device
    row = InletSetting(
        inlet_id=iid,
        name=inlet.name,
        inlet_type=inlet.type,
        parent=inlet.parent,
        device_type=device.type,
        heating_area_m2=inlet.heating_area_m2,
        design_load_kw=inlet.design_load_kw,
        design_flow_m3h=_design_flow(inlet),
        target_flow_m3h=float(plan.targets[k]),
        expected_flow_m3h=float(res.inlet_flow_m3h[k]),
        expected_dp_available_kpa=float(res.dp_available_kpa[k]),
        expected_valve_dp_kpa=float(res.valve_dp_kpa[k]),
    )
    if device.type in KV_DEVICES:
        row.opening = device.opening
        row.kv = device.kv()
        if device.type == "static_valve":
            row.turns = device.opening * turns
    if device.type in EJECTORS:
        row.mixing_ratio = mixing_ratio(network, inlet)
    if device.type in ("flow_valve", "dp_valve"):
        row.setpoint = device.setpoint
        row.setpoint_unit = "m3/h" if device.type == "flow_valve" else "kPa"
    if device.type == "distributed_pump":
        row.speed = device.speed
        row.frequency_hz = device.speed * nominal_hz
    if device.type == "none":
        row.note = "no balancing device: flow not adjustable"
    return row


def _notes(network: Network, plan: _Plan, rows: list[InletSetting]) -> list[str]:
    """Network-level remarks for the record."""
    notes = []
    pump = network.substation.pump
    if plan.scale < 1.0:
        notes.append(
            f"the pump cannot serve every design flow even at full speed: all targets are "
            f"scaled to {plan.scale:.1%}"
        )
    if plan.speed <= pump.min_speed + 1e-12:
        notes.append("the pump runs at its minimum speed: valves throttle the surplus head")
    for row in rows:
        if row.device_type == "distributed_pump" and row.flow_deviation > 0.01:
            notes.append(
                f"{row.inlet_id}: the network alone pushes more than the target through the "
                "stopped distributed pump; lower the source pump or add a throttle"
            )
    worst = max(rows, key=lambda r: abs(r.flow_deviation))
    notes.append(f"largest expected flow deviation {worst.flow_deviation:+.2%} at {worst.inlet_id}")
    return notes


def _design_flow(inlet: Inlet) -> float:
    """Design flow of an inlet, 0 when load or ΔT are missing or absurd."""
    try:
        flow = inlet.design_flow_m3h
    except (TypeError, ZeroDivisionError):
        return 0.0
    return flow if math.isfinite(flow) and flow > 0 else 0.0


def _area_shares(network: Network, parent: str | None, total: float) -> dict[str, float]:
    """``total`` shared out by heating area among the inlets under ``parent``, recursively."""
    group = [i for i in network.inlets.values() if i.parent == parent]
    area = sum(max(i.heating_area_m2, 0.0) for i in group)
    if not area > 0:
        where = f"under {parent}" if parent else "on the street"
        raise CommissioningError(f"the inlets {where} have no heating area to share flow by")
    out: dict[str, float] = {}
    for inlet in group:
        out[inlet.id] = total * max(inlet.heating_area_m2, 0.0) / area
        if any(i.parent == inlet.id for i in network.inlets.values()):
            out.update(_area_shares(network, inlet.id, out[inlet.id]))
    return out


def _rounded(value: Any) -> Any:
    """Floats rounded to 5 significant decimals for the JSON record; inf/NaN become None."""
    if isinstance(value, float):
        return round(value, 5) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
