"""The simulated plant: a network stepped through time under an outdoor temperature.

Every demo, controller test, benchmark and the gateway's virtual plant drive this one class
(contract in docs/engine-contract.md, model in docs/thermal.md). Per step:

* hydraulics are re-solved only when a control changed (openings, pump speed, setpoints,
  faults), warm-started from the last solution; the thermal model keeps its factorised
  mixing matrices for as long as the flows stay;
* the substation supplies the heating-curve temperature for the current outdoor temperature
  (§3.0.6 static model), a fixed one, or the ``supply_c`` it was made with;
* every heated room integrates ``C·dT/dt = Q_emitter(T) + gains − UA·(T − T_out)``. The
  emitter's dependence on T is linearised at the step's start and the linear equation is
  integrated exactly (exponential), so any step length is stable (a step of days lands
  within a few hundredths of a kelvin of the equilibrium, and the next one on it); hour
  steps are accurate because rooms have time constants of many hours.

Measurements are exact: noise, dropouts and communication faults belong to whoever reads
the state. Valve faults (stuck, blocked) belong to the plant and are injected here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .hydraulics import HydraulicModel, HydraulicResult
from .model import Network
from .thermal import ThermalModel, ThermalResult

SEASON_DAYS = 150  # heating season of the synthetic profile: 1 November to 30 March
FAULT_KINDS = ("stuck", "blockage")
# below this share of its design flow an inlet's water stands: its return sensor cools slowly
STAGNANT_SHARE = 0.01
OutdoorProfile = Callable[[float], float] | Sequence[float] | np.ndarray
_SETTLE_TOL_K = 1e-7


@dataclass(slots=True)
class PumpState:
    """Duty point of the substation's circulation pump."""

    flow_m3h: float
    head_m: float
    power_w: float
    speed: float


@dataclass(slots=True)
class InletState:
    """What a perfect set of instruments would read at one inlet.

    ``heat_kwh`` counts up like the inlet's heat meter (§4.1.2); ``fault`` is the injected
    fault, the ground truth a diagnosis is scored against (never a measurement).
    """

    flow_m3h: float
    design_flow_m3h: float
    supply_c: float
    return_c: float
    room_c: float
    heat_w: float
    opening: float
    dp_available_kpa: float
    valve_dp_kpa: float
    heat_kwh: float = 0.0
    fault: str | None = None


@dataclass
class PlantState:
    """The whole plant at one instant (``supply_c``/``return_c`` at the substation)."""

    time_s: float
    outdoor_c: float
    supply_c: float
    return_c: float
    pump: PumpState
    inlets: dict[str, InletState] = field(default_factory=dict)
    heat_w: float = 0.0  # delivered to all buildings
    pipe_loss_w: float = 0.0
    heat_kwh: float = 0.0  # delivered since the start
    pump_kwh: float = 0.0  # electricity of the circulation pump since the start


@dataclass(frozen=True)
class Ranges:
    """Room temperatures and flow ratios (actual ÷ design flow) over some inlets: what an
    operator reads of a building's households (HA) or of a whole plant (``simulate``)."""

    count: int
    room_min_c: float
    room_mean_c: float
    room_max_c: float
    flow_ratio_min: float  # NaN when none of them has a design flow
    flow_ratio_max: float


def ranges(states: Iterable[InletState]) -> Ranges | None:
    """The ranges over ``states`` (None for no inlet); ratios of inlets with a design flow.
    Plain Python: HA asks it per building every cycle, over a few dozen households each."""
    states = list(states)
    if not states:
        return None
    rooms = [s.room_c for s in states]
    ratios = [s.flow_m3h / s.design_flow_m3h for s in states if s.design_flow_m3h > 0]
    return Ranges(
        count=len(states),
        room_min_c=min(rooms),
        room_mean_c=math.fsum(rooms) / len(rooms),
        room_max_c=max(rooms),
        flow_ratio_min=min(ratios, default=math.nan),
        flow_ratio_max=max(ratios, default=math.nan),
    )


class Simulator:
    """Time stepping of a network; the controls are valve openings, setpoints, pump speeds.

    The simulator works on its own copy of ``network``. ``outdoor`` may be a profile (a
    function of hours since the start, or hourly values) that then drives the outdoor
    temperature; ``supply_c`` fixes the substation supply temperature.
    """

    def __init__(
        self,
        network: Network,
        outdoor_c: float = -5.0,
        seed: int = 0,
        *,
        outdoor: OutdoorProfile | None = None,
        supply_c: float | None = None,
        stagnant_tau_s: float | None = None,
    ) -> None:
        self.network = network.copy()
        self.rng = np.random.default_rng(seed)  # for callers that add noise to the state
        self.model = HydraulicModel(self.network)
        self.ids: list[str] = self.model.inlet_ids
        self.thermal = ThermalModel(self.network, self.ids)
        self._index = {iid: k for k, iid in enumerate(self.ids)}
        self.time_s = 0.0
        self.outdoor_c = _finite(outdoor_c, "outdoor temperature")
        self._profile: Callable[[float], float] | None = None
        self._supply_override = None if supply_c is None else _finite(supply_c, "supply")
        self._init_controls()
        self._init_rooms()
        self._hyd: HydraulicResult | None = None
        self._last_hyd: HydraulicResult | None = None
        self._thermal: ThermalResult | None = None
        self._init_sensors(stagnant_tau_s)
        if outdoor is not None:
            self.set_outdoor_profile(outdoor)
        self._settle_rooms()

    def _init_controls(self) -> None:
        """Controls start where the network file left the devices."""
        pump = self.network.substation.pump
        devices = [self.network.inlets[i].device for i in self.ids]
        self.openings = self.model.openings()
        self.pump_speed = float(np.clip(pump.speed, pump.min_speed, pump.max_speed))
        self.setpoints = np.full(len(self.ids), np.nan)  # NaN: the device's own setpoint
        self.inlet_speeds = np.array([d.speed for d in devices], dtype=float)
        self.kv_factor = np.ones(len(self.ids))
        self.stuck = np.full(len(self.ids), np.nan)
        self._circuit_base: dict[int, float] = {}  # the file's circuit resistance, if scaled

    def _init_rooms(self) -> None:
        """Envelope constants and heat meters of every inlet."""
        inlets = [self.network.inlets[i] for i in self.ids]
        self.ua = np.array([i.envelope.ua_w_k for i in inlets])
        self.capacity = np.array([i.envelope.heat_capacity_kj_k * 1000.0 for i in inlets])
        self.gains = np.array([i.envelope.internal_gains_w for i in inlets])
        self.room_c = np.array([i.room_setpoint_c for i in inlets])
        self.design_flow = np.array([i.design_flow_m3h for i in inlets])
        self.heated = ~self.thermal.has_children  # inlets with a room of their own
        self.heat_j = np.zeros(len(self.ids))
        self.pump_j = 0.0

    def _init_sensors(self, stagnant_tau_s: float | None) -> None:
        """Return sensors of stagnant water (:meth:`_return_sensors`); None: they read the
        steady return at once, as every benchmark assumes."""
        if stagnant_tau_s is not None and not _finite(stagnant_tau_s, "stagnant tau") > 0:
            raise ValueError(f"stagnant time constant must be above zero, not {stagnant_tau_s:g}")
        self.stagnant_tau_s = stagnant_tau_s
        self._sensor_return: np.ndarray | None = None  # what the sensors read last
        self._sensor_still: np.ndarray | None = None  # … and where the water stood then
        self._sensor_dt = 0.0  # plant time since then

    # --- controls -------------------------------------------------------------------------
    def set_opening(self, inlet_id: str, opening: float) -> None:
        """Command a valve (or electric ejector) position 0…1, clamped to the device limits.

        A stuck valve ignores the command, as the real one would. Plain float arithmetic,
        not numpy's scalar calls: a households network's dispatch sets thousands a cycle
        (≈5 µs each → ≈1.5 µs; the same clip, the limits being validated 0 ≤ min ≤ max ≤ 1).
        """
        k = self._k(inlet_id)
        value = _finite(opening, f"opening of {inlet_id}")
        if not math.isnan(self.stuck[k]):
            return
        device = self.network.inlets[inlet_id].device
        value = min(max(value, device.min_opening, 0.0), device.max_opening, 1.0)
        if value != self.openings[k]:
            self.openings[k] = value
            self._hyd = None

    def set_setpoint(self, inlet_id: str, value: float | None) -> None:
        """Set a self-operated flow (m³/h) or ΔP (kPa) valve's setpoint; None: its own."""
        k = self._k(inlet_id)
        kind = self.network.inlets[inlet_id].device.type
        if kind not in ("flow_valve", "dp_valve"):
            raise ValueError(f"inlet {inlet_id}: a {kind} has no setpoint")
        if value is not None and not _finite(value, f"setpoint of {inlet_id}") > 0:
            raise ValueError(f"inlet {inlet_id}: setpoint must be above zero")
        self.setpoints[k] = np.nan if value is None else float(value)
        self._hyd = None

    def set_pump_speed(self, speed: float) -> None:
        """Command the substation pump's relative speed, clamped to its VFD limits."""
        pump = self.network.substation.pump
        value = float(np.clip(_finite(speed, "pump speed"), pump.min_speed, pump.max_speed))
        if value != self.pump_speed:
            self.pump_speed = value
            self._hyd = None

    def set_outdoor(self, t_c: float) -> None:
        """Hold the outdoor temperature at ``t_c`` (and stop following a profile)."""
        self._profile = None
        self._change_outdoor(_finite(t_c, "outdoor temperature"))

    def set_outdoor_profile(self, profile: OutdoorProfile | None) -> None:
        """Follow ``profile`` from now on: f(hours since start) → °C, or hourly values.

        Hourly values are interpolated linearly and held at their last value after the end.
        """
        self._profile = None if profile is None else profile_function(profile)
        if self._profile is not None:
            self._change_outdoor(self._outdoor_at(self.time_s))

    def inject_fault(
        self, inlet_id: str, kind: str, at: float | None = None, factor: float = 0.3
    ) -> None:
        """Break an inlet's valve (§5.3.7): ``"stuck"`` or ``"blockage"``.

        ``stuck``: the valve stays at ``at`` (default: where it is) and ignores commands.
        ``blockage``: a clogged strainer or valve, its Kv times ``factor`` (0 < factor ≤ 1).
        """
        k = self._k(inlet_id)
        if kind == "stuck":
            position = self.openings[k] if at is None else _finite(at, "stuck position")
            if not 0.0 <= position <= 1.0:
                raise ValueError(f"stuck position must be within 0…1, not {position:g}")
            self.openings[k] = position
            self.stuck[k] = position
        elif kind == "blockage":
            if not 0.0 < _finite(factor, "blockage factor") <= 1.0:
                raise ValueError(f"blockage factor must be within (0, 1], not {factor:g}")
            self.kv_factor[k] = factor
        else:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        self._hyd = None

    def set_circuit(self, inlet_id: str, factor: float) -> None:
        """Scale the resistance of an inlet's heated circuit (risers, emitters) by ``factor``
        from the network file's: residents closing their radiator valves (> 1), opening them
        again (1). The inlet takes less water at the same valve opening and ΔP — a building
        whose demand fell, not a faulty valve."""
        if not _finite(factor, "circuit factor") > 0.0:
            raise ValueError(f"circuit factor must be above zero, not {factor:g}")
        k = self._k(inlet_id)
        base = self._circuit_base.setdefault(k, float(self.model.devices.a_int[k]))
        self.model.devices.a_int[k] = base * factor
        self._hyd = None

    def clear_fault(self, inlet_id: str) -> None:
        """Repair an inlet: the valve follows commands again at its full Kv."""
        k = self._k(inlet_id)
        self.stuck[k] = np.nan
        self.kv_factor[k] = 1.0
        self._hyd = None

    def faults(self) -> dict[str, str]:
        """Injected faults by inlet id."""
        return {iid: kind for iid, kind in zip(self.ids, self._fault_kinds(), strict=True) if kind}

    # --- stepping -------------------------------------------------------------------------
    def hydraulics(self) -> HydraulicResult:
        """The current steady hydraulic state (solved again only when a control changed)."""
        if self._hyd is None:
            self._hyd = self.model.solve(
                self.openings,
                self.pump_speed,
                warm_start=self._last_hyd,
                kv_factor=self.kv_factor,
                setpoints=self.setpoints,
                inlet_speeds=self.inlet_speeds,
            )
            self._last_hyd = self._hyd
            self._thermal = None
        return self._hyd

    @property
    def last_hydraulics(self) -> HydraulicResult | None:
        """The last solved hydraulic state, never solving again: what the last acquisition saw
        (a view reads it between cycles without blocking on a solve after valves moved)."""
        return self._last_hyd

    def thermal_state(self) -> ThermalResult:
        """Temperatures and heat for the current flows, rooms and supply temperature."""
        hyd = self.hydraulics()
        if self._thermal is None:
            self._thermal = self.thermal.solve(
                hyd, supply_c=self.supply_temperature(), room_c=self.room_c
            )
        return self._thermal

    def supply_temperature(self) -> float:
        """Substation supply temperature now."""
        if self._supply_override is not None:
            return self._supply_override
        return self.network.substation.supply_temperature_c(self.outdoor_c)

    def advance(self, dt_s: float) -> None:
        """Advance ``dt_s`` seconds with the current controls (no state built: fast loops)."""
        dt = _finite(dt_s, "time step")
        if dt <= 0:
            raise ValueError(f"time step must be above zero, not {dt:g} s")
        hyd = self.hydraulics()
        heat, sens = self._emitters_now(hyd)
        outdoor = self._outdoor_at(self.time_s + dt / 2) if self._profile else self.outdoor_c
        conductance = self.ua + sens
        t_eq = (heat + sens * self.room_c + self.gains + self.ua * outdoor) / conductance
        tau = self.capacity / conductance
        decay = np.exp(-dt / tau)
        # Heat over the step of the linearised emitter: ∫Q dt = Q₀·dt − s·∫(T − T₀) dt.
        energy = heat * dt - sens * (t_eq - self.room_c) * (dt - tau * (1.0 - decay))
        self.heat_j += np.where(self.heated, energy, 0.0)
        self.room_c = np.where(self.heated, t_eq + (self.room_c - t_eq) * decay, self.room_c)
        self.pump_j += hyd.pump_power_w * dt
        self.time_s += dt
        self._sensor_dt += dt
        self._thermal = None
        if self._profile is not None:
            self._change_outdoor(self._outdoor_at(self.time_s))

    def step(self, dt_s: float) -> PlantState:
        """Advance ``dt_s`` seconds with the current controls and return the new state."""
        self.advance(dt_s)
        return self.state()

    def state(self) -> PlantState:
        """The current state without advancing time."""
        hyd = self.hydraulics()
        th = self.thermal_state()
        rooms = self._rooms()
        meters = self._meters_kwh()
        faults = self._fault_kinds()
        columns = zip(
            hyd.inlet_flow_m3h.tolist(),
            self.design_flow.tolist(),
            th.supply_c.tolist(),
            self._return_sensors(hyd, th.return_c).tolist(),
            rooms.tolist(),
            th.heat_w.tolist(),
            self.openings.tolist(),
            hyd.dp_available_kpa.tolist(),
            hyd.valve_dp_kpa.tolist(),
            meters.tolist(),
            faults,
            strict=True,
        )
        top = self.thermal.top_level
        return PlantState(
            time_s=self.time_s,
            outdoor_c=self.outdoor_c,
            supply_c=th.network_supply_c,
            return_c=th.network_return_c,
            pump=PumpState(hyd.pump_flow_m3h, hyd.pump_head_m, hyd.pump_power_w, hyd.pump_speed),
            inlets={iid: InletState(*row) for iid, row in zip(self.ids, columns, strict=True)},
            heat_w=float(th.heat_w[top].sum()),
            pipe_loss_w=th.pipe_loss_w,
            heat_kwh=float(self.heat_j.sum()) / 3.6e6,
            pump_kwh=self.pump_j / 3.6e6,
        )

    # --- internals ------------------------------------------------------------------------
    def _return_sensors(self, hyd: HydraulicResult, steady: np.ndarray) -> np.ndarray:
        """What the inlets' return sensors read, with ``stagnant_tau_s`` set: where the
        water stands (below :data:`STAGNANT_SHARE` of design flow) the sensor's well and
        pipe cool toward the steady (room) value exponentially from what they read last,
        over the plant time since; flowing water renews them within the step. Water found
        standing that flowed at the last read stopped just now (the hardest case for a
        check telling a stop from a dead meter): its sensor still reads the flowing return."""
        if self.stagnant_tau_s is None:
            return steady
        still = hyd.inlet_flow_m3h < STAGNANT_SHARE * self.design_flow
        prev, before = self._sensor_return, self._sensor_still
        if prev is not None and before is not None:
            decay = math.exp(-self._sensor_dt / self.stagnant_tau_s)
            held = np.where(before, steady + (prev - steady) * decay, prev)
            steady = np.where(still, held, steady)
        self._sensor_return, self._sensor_still, self._sensor_dt = steady, still, 0.0
        return steady

    def _k(self, inlet_id: str) -> int:
        """Index of an inlet, with a clear error for an unknown id."""
        try:
            return self._index[inlet_id]
        except KeyError:
            raise KeyError(f"no inlet {inlet_id!r} in network {self.network.name}") from None

    def _change_outdoor(self, t_c: float) -> None:
        """New outdoor temperature; water temperatures change only through a heating curve."""
        before = self.supply_temperature()
        self.outdoor_c = t_c
        if self.supply_temperature() != before:
            self._thermal = None

    def _outdoor_at(self, time_s: float) -> float:
        """Outdoor temperature of the profile at ``time_s``."""
        assert self._profile is not None
        return _finite(self._profile(time_s / 3600.0), "outdoor profile value")

    def _rooms(self) -> np.ndarray:
        """Room temperature per inlet; a building with households reports their mean."""
        parent = self.thermal.parent
        kids = parent >= 0
        if not kids.any():
            return self.room_c.copy()
        n = len(self.ids)
        total = np.bincount(parent[kids], weights=self.room_c[kids], minlength=n)
        count = np.bincount(parent[kids], minlength=n)
        return np.where(self.heated, self.room_c, total / np.maximum(count, 1))

    def _meters_kwh(self) -> np.ndarray:
        """Heat-meter readings; a building with households counts what they took."""
        parent = self.thermal.parent
        kids = parent >= 0
        meters = self.heat_j.copy()
        if kids.any():
            sums = np.bincount(parent[kids], weights=self.heat_j[kids], minlength=len(self.ids))
            meters = np.where(self.heated, meters, sums)
        return meters / 3.6e6

    def _fault_kinds(self) -> list[str | None]:
        """Injected fault per inlet (None where healthy)."""
        kinds: list[str | None] = [None] * len(self.ids)
        for k in np.flatnonzero(self.kv_factor != 1.0).tolist():
            kinds[k] = "blockage"
        for k in np.flatnonzero(~np.isnan(self.stuck)).tolist():
            kinds[k] = "stuck"
        return kinds

    def _emitters_now(self, hyd: HydraulicResult) -> tuple[np.ndarray, np.ndarray]:
        """Heat and −dQ/dT_room of every heated room now (values elsewhere are unused).

        Stepping needs only the emitters, not the return side: unless a state was read since
        the last step, only they are solved.
        """
        if self._thermal is not None:
            return self._thermal.heat_w, self._thermal.emitter_sensitivity_w_k
        tr = self.thermal.transport(hyd)
        t_supply = self.thermal.inlet_supply_c(hyd, self.supply_temperature())
        em = self.thermal.emitters(tr.inlet_flow, t_supply, self.room_c)
        return em.heat_w, em.sensitivity_w_k

    def _settle_rooms(self) -> None:
        """Start every room at its steady state: Q(T) + gains = UA·(T − T_out), by Newton."""
        hyd = self.hydraulics()
        tr = self.thermal.transport(hyd)
        t_supply = self.thermal.inlet_supply_c(hyd, self.supply_temperature())
        for _ in range(100):
            em = self.thermal.emitters(tr.inlet_flow, t_supply, self.room_c)
            surplus = em.heat_w + self.gains - self.ua * (self.room_c - self.outdoor_c)
            move = np.where(self.heated, surplus / (self.ua + em.sensitivity_w_k), 0.0)
            self.room_c = self.room_c + move
            if np.max(np.abs(move), initial=0.0) < _SETTLE_TOL_K:
                break
        self._thermal = None


def profile_function(profile: OutdoorProfile) -> Callable[[float], float]:
    """A function of hours since the start from a function or from hourly values."""
    if callable(profile):
        return profile
    values = np.asarray(profile, dtype=float)
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise ValueError("an outdoor profile needs one finite temperature per hour")
    hours = np.arange(len(values), dtype=float)
    return lambda h: float(np.interp(h, hours, values))


def outdoor_profile(
    days: int = SEASON_DAYS,
    seed: int = 0,
    *,
    coldest_c: float = -5.0,
    mild_c: float = 5.0,
    daily_k: float = 4.0,
    fronts_k: float = 3.0,
    cold_waves_per_month: float = 1.5,
) -> np.ndarray:
    """Hourly outdoor temperatures of a northern-China heating season (seeded).

    Shaped after a city like Taiyuan or Shenyang-south (design outdoor ≈ −9…−10 °C): the
    season runs from 1 November; daily means follow a half cosine from ``mild_c`` at the
    ends to ``coldest_c`` in mid-January; a daily cycle of ±``daily_k`` (coldest around
    3 h, warmest around 15 h); weather fronts as a random walk with a three-day memory and a
    spread of ``fronts_k``; and cold waves (寒潮) arriving at random, each 6–12 K colder
    within half a day and recovering over about three days.
    """
    if days < 1:
        raise ValueError("a profile needs at least one day")
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24, dtype=float)
    day = hours / 24.0
    mid = SEASON_DAYS / 2.0
    season = mild_c + (coldest_c - mild_c) * np.cos(np.pi * (day - mid) / SEASON_DAYS) ** 2
    daily = daily_k * np.cos(2.0 * np.pi * (hours % 24.0 - 15.0) / 24.0)
    total = (
        season
        + daily
        + _fronts(rng, len(hours), fronts_k)
        + _cold_waves(rng, len(hours), cold_waves_per_month)
    )
    return np.asarray(total, dtype=float)


def _fronts(rng: np.random.Generator, n: int, spread_k: float) -> np.ndarray:
    """AR(1) anomaly with a 72-hour memory and stationary standard deviation ``spread_k``."""
    keep = math.exp(-1.0 / 72.0)
    shocks = rng.normal(0.0, spread_k * math.sqrt(1.0 - keep * keep), n)
    out = np.empty(n)
    value = rng.normal(0.0, spread_k)
    for k in range(n):
        value = value * keep + shocks[k]
        out[k] = value
    return out


def _cold_waves(rng: np.random.Generator, n: int, per_month: float) -> np.ndarray:
    """Sudden drops of 6–12 K within 12 h that recover exponentially over ~3 days."""
    out = np.zeros(n)
    count = rng.poisson(per_month * n / (30.0 * 24.0))
    t = np.arange(n, dtype=float)
    for start, depth in zip(rng.uniform(0, n, count), rng.uniform(6.0, 12.0, count), strict=True):
        since = t - start
        onset = np.clip(since / 12.0, 0.0, 1.0)
        recovery = np.exp(-np.maximum(since - 12.0, 0.0) / 72.0)
        out -= depth * np.where(since >= 0, onset * recovery, 0.0)
    return out


def _finite(value: float, what: str) -> float:
    """``value`` as a float, or a ValueError naming ``what`` for NaN, inf or non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, not {value!r}")
    return number
