"""The simulated plant: a network stepped through time under an outdoor-temperature profile.

Every demo, controller test, benchmark and the gateway's virtual plant drive this one class.
Hydraulics are re-solved only when a setting changes (a warm-started Newton of a few
iterations); temperatures and heat every step; each heated room integrates
``C·dT/dt = Q_emitter + gains − UA·(T − T_out)`` semi-implicitly (the emitter's dependence on
room temperature is linearised), which stays stable and accurate for one-hour steps.
Measurements are exact: noise, dropouts and communication faults belong to whoever reads
the state; valve faults (stuck, blocked) belong to the plant and are injected here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .hydraulics import HydraulicModel, HydraulicResult
from .model import Network
from .thermal import ThermalModel, ThermalResult


@dataclass
class PumpState:
    """Duty point of the substation's circulation pump."""

    flow_m3h: float
    head_m: float
    power_w: float
    speed: float


@dataclass
class InletState:
    """What a perfect set of instruments would read at one inlet."""

    flow_m3h: float
    design_flow_m3h: float
    supply_c: float
    return_c: float
    room_c: float
    heat_w: float
    opening: float
    dp_available_kpa: float
    valve_dp_kpa: float


@dataclass
class PlantState:
    """The whole plant at one instant."""

    time_s: float
    outdoor_c: float
    supply_c: float
    return_c: float
    pump: PumpState
    inlets: dict[str, InletState] = field(default_factory=dict)


class Simulator:
    """Time stepping of a network; the controls are the valve openings and the pump speed."""

    def __init__(self, network: Network, outdoor_c: float = -5.0, seed: int = 0) -> None:
        self.network = copy.deepcopy(network)
        self.rng = np.random.default_rng(seed)
        self.model = HydraulicModel(self.network)
        self.ids = self.model.inlet_ids
        self.thermal = ThermalModel(self.network, self.ids)
        self._index = {iid: k for k, iid in enumerate(self.ids)}
        self.time_s = 0.0
        self.outdoor_c = outdoor_c
        self.openings = self.model.openings()
        self.pump_speed = self.network.substation.pump.speed
        self.setpoints = np.full(len(self.ids), np.nan)
        self.kv_factor = np.ones(len(self.ids))
        self.stuck = np.full(len(self.ids), np.nan)
        inlets = [self.network.inlets[i] for i in self.ids]
        self.ua = np.array([i.envelope.ua_w_k for i in inlets])
        self.capacity = np.array([i.envelope.heat_capacity_kj_k * 1000.0 for i in inlets])
        self.gains = np.array([i.envelope.internal_gains_w for i in inlets])
        self.room_c = np.array([i.room_setpoint_c for i in inlets])
        self._hyd: HydraulicResult | None = None
        self._thermal: ThermalResult | None = None
        self._settle_rooms()

    # --- controls -------------------------------------------------------------------------
    def set_opening(self, inlet_id: str, opening: float) -> None:
        """Command a valve (or electric ejector) position, clamped to the device's limits."""
        k = self._index[inlet_id]
        device = self.network.inlets[inlet_id].device
        if not np.isnan(self.stuck[k]) or not np.isfinite(opening):
            return
        value = float(np.clip(opening, device.min_opening, device.max_opening))
        if value != self.openings[k]:
            self.openings[k] = value
            self._hyd = None

    def set_setpoint(self, inlet_id: str, value: float) -> None:
        """Set a self-operated flow (m³/h) or ΔP (kPa) valve's setpoint."""
        self.setpoints[self._index[inlet_id]] = value
        self._hyd = None

    def set_pump_speed(self, speed: float) -> None:
        """Command the substation pump's relative speed, clamped to its VFD limits."""
        pump = self.network.substation.pump
        value = float(np.clip(speed, pump.min_speed, pump.max_speed))
        if value != self.pump_speed:
            self.pump_speed = value
            self._hyd = None

    def set_outdoor(self, t_c: float) -> None:
        """Set the outdoor temperature for the next steps."""
        sub = self.network.substation
        if sub.supply_temperature_c(t_c) != sub.supply_temperature_c(self.outdoor_c):
            self._thermal = None  # only the heating curve makes water temperatures depend on it
        self.outdoor_c = float(t_c)

    def inject_fault(self, inlet_id: str, kind: str, at: float = 0.3, factor: float = 0.3) -> None:
        """Break a valve: ``"stuck"`` at an opening, or ``"blockage"`` scaling its Kv."""
        k = self._index[inlet_id]
        if kind == "stuck":
            self.openings[k] = at
            self.stuck[k] = at
        elif kind == "blockage":
            self.kv_factor[k] = factor
        else:
            raise ValueError(f"unknown fault {kind!r}; use 'stuck' or 'blockage'")
        self._hyd = None

    # --- stepping -------------------------------------------------------------------------
    def hydraulics(self) -> HydraulicResult:
        """The current steady hydraulic state (solved when a setting changed)."""
        if self._hyd is None:
            self._hyd = self.model.solve(
                self.openings,
                self.pump_speed,
                warm_start=self._last_hyd,
                kv_factor=self.kv_factor,
                setpoints=self.setpoints,
            )
            self._last_hyd: HydraulicResult | None = self._hyd
            self._thermal = None
        return self._hyd

    def step(self, dt_s: float) -> PlantState:
        """Advance ``dt_s`` seconds with the current controls and return the new state."""
        thermal = self._thermal_now()
        # Semi-implicit room update: Q(T) ≈ Q0 − s·(T − T0), exact exponential in between.
        s = thermal.emitter_sensitivity_w_k
        loss = self.ua + s
        t_eq = (thermal.heat_w + s * self.room_c + self.gains + self.ua * self.outdoor_c) / loss
        decay = np.exp(-loss * dt_s / self.capacity)
        self.room_c = t_eq + (self.room_c - t_eq) * decay
        self.time_s += dt_s
        self._thermal = None
        return self.state()

    def state(self) -> PlantState:
        """The current state without advancing time."""
        hyd = self.hydraulics()
        th = self._thermal_now()
        inlets = {
            iid: InletState(
                flow_m3h=float(hyd.inlet_flow_m3h[k]),
                design_flow_m3h=self.network.inlets[iid].design_flow_m3h,
                supply_c=float(th.supply_c[k]),
                return_c=float(th.return_c[k]),
                room_c=self._room_of(iid),
                heat_w=float(th.heat_w[k]),
                opening=float(self.openings[k]),
                dp_available_kpa=float(hyd.dp_available_kpa[k]),
                valve_dp_kpa=float(hyd.valve_dp_kpa[k]),
            )
            for k, iid in enumerate(self.ids)
        }
        return PlantState(
            time_s=self.time_s,
            outdoor_c=self.outdoor_c,
            supply_c=th.network_supply_c,
            return_c=th.network_return_c,
            pump=PumpState(hyd.pump_flow_m3h, hyd.pump_head_m, hyd.pump_power_w, hyd.pump_speed),
            inlets=inlets,
        )

    # --- internals ------------------------------------------------------------------------
    _last_hyd: HydraulicResult | None = None

    def _thermal_now(self) -> ThermalResult:
        """Temperatures for the current flows, rooms and outdoor temperature."""
        hyd = self.hydraulics()
        if self._thermal is None:
            supply = self.network.substation.supply_temperature_c(self.outdoor_c)
            self._thermal = self.thermal.solve(hyd, supply_c=supply, room_c=self.room_c)
        return self._thermal

    def _room_of(self, inlet_id: str) -> float:
        """Room temperature of an inlet; a building with households reports their mean."""
        k = self._index[inlet_id]
        kids = self.thermal.children.get(k)
        if kids is not None:
            return float(np.mean(self.room_c[kids]))
        return float(self.room_c[k])

    def _settle_rooms(self) -> None:
        """Start every room at its steady state for the initial settings."""
        for _ in range(60):
            th = self._thermal_now()
            target = self.outdoor_c + (th.heat_w + self.gains) / self.ua
            if np.max(np.abs(target - self.room_c)) < 1e-4:
                break
            self.room_c = 0.5 * self.room_c + 0.5 * target
            self._thermal = None


def outdoor_profile(days: int = 150, seed: int = 0, *, coldest_c: float = -9.0) -> np.ndarray:
    """Hourly outdoor temperatures of a northern-China heating season (mid-Nov to mid-Apr).

    A seasonal cosine from about +3 °C to ``coldest_c`` in mid-January, a daily cycle of
    ±3 K (coldest before sunrise) and weather fronts as a slow random walk (seeded).
    """
    hours = np.arange(days * 24)
    season = np.cos(2 * np.pi * (hours / 24 - days / 2) / (2 * days))
    base = 3.0 + (coldest_c - 3.0) * season
    daily = -3.0 * np.cos(2 * np.pi * (hours % 24 - 3) / 24)
    rng = np.random.default_rng(seed)
    fronts = np.zeros(len(hours))
    for k in range(1, len(hours)):  # AR(1) with a two-day memory, σ ≈ 3 K
        fronts[k] = fronts[k - 1] * np.exp(-1 / 48) + rng.normal(
            0.0, 3.0 * np.sqrt(1 - np.exp(-2 / 48))
        )
    return base + daily + fronts
