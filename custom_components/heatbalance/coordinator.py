"""The balancing coordinator: one per network, in ``entry.runtime_data``.

Each update is one control cycle: acquire (from the simulated plant), evaluate the balance,
and in automatic mode compute and dispatch new valve openings and pump speed within the
safety limits (§5.3.6-3); manual mode computes the same proposal and shows it without moving
anything (§5.2.4-2, §5.3.6-6). The numpy work runs in the executor so the event loop never
waits on it. The demo plant advances ``simulated_minutes_per_update`` of plant time per
update, so a network visibly balances itself within minutes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CONF_SIM_MINUTES, DEFAULT_SIM_MINUTES, DEFAULT_UPDATE_INTERVAL, DOMAIN
from .engine.control.flow_balance import (
    InletMeasurement,
    balance_step,
    pump_speed_step,
    reachable_level,
)
from .engine.control.safety import SafetyLimits
from .engine.hydraulics import HydraulicError
from .engine.model import Network
from .engine.simulator import PlantState, Simulator

_LOGGER = logging.getLogger(__name__)

FLOW_MARGIN = 1.025  # aim inside the advanced band 0…+5 % (§8.2.4)
ADVANCED_FLOW_BAND = (0.0, 0.05)


@dataclass
class BalanceSnapshot:
    """What the entities show after one cycle."""

    plant: PlantState
    flow_ratio: dict[str, float]
    in_band: dict[str, bool]
    share_in_band: float
    return_spread_k: float
    energy_kwh: dict[str, float]
    proposed: dict[str, float] = field(default_factory=dict)


type HeatbalanceConfigEntry = ConfigEntry[HeatbalanceCoordinator]


class HeatbalanceCoordinator(DataUpdateCoordinator[BalanceSnapshot]):
    """Runs the control cycle of one secondary network."""

    config_entry: HeatbalanceConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: HeatbalanceConfigEntry, network: Network
    ) -> None:
        """Prepare the simulated plant; nothing is solved until the first refresh."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {network.name}",
            update_interval=DEFAULT_UPDATE_INTERVAL,
        )
        self.network = network
        self.simulator = Simulator(network)
        self.auto = True
        self.limits = SafetyLimits()
        self.sim_minutes = float(entry.options.get(CONF_SIM_MINUTES, DEFAULT_SIM_MINUTES))
        self._energy_kwh = dict.fromkeys(network.inlets, 0.0)
        self.top_level = [i for i in network.inlets.values() if i.parent is None]

    async def _async_update_data(self) -> BalanceSnapshot:
        """One control cycle, off the event loop."""
        try:
            return await self.hass.async_add_executor_job(self._cycle)
        except HydraulicError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="plant_unsolvable",
                translation_placeholders={"error": str(err)},
            ) from err

    def set_opening(self, inlet_id: str, opening: float) -> BalanceSnapshot:
        """Operator command from a valve entity, clamped to the safety limits (§5.3.6-3).

        Returns the plant as it stands right after the move (no time passes).
        """
        device = self.network.inlets[inlet_id].device
        lo = max(self.limits.min_opening, device.min_opening)
        hi = min(self.limits.max_opening, device.max_opening)
        self.simulator.set_opening(inlet_id, min(max(opening, lo), hi))
        return self._snapshot(self.simulator.state(), self.data.proposed)

    def _cycle(self) -> BalanceSnapshot:
        """Advance the plant, evaluate, and (auto mode) act."""
        dt = self.sim_minutes * 60.0
        plant = self.simulator.step(dt)
        for iid, state in plant.inlets.items():
            self._energy_kwh[iid] += state.heat_w * dt / 3.6e6
        measured = {
            iid: InletMeasurement(s.flow_m3h, s.opening, s.dp_available_kpa, s.valve_dp_kpa)
            for iid, s in plant.inlets.items()
        }
        targets = {i.id: i.design_flow_m3h * i.weight * FLOW_MARGIN for i in self.top_level}
        devices = {i.id: self.simulator.network.inlets[i.id].device for i in self.top_level}
        proposed = balance_step(devices, measured, targets, self.limits)
        if self.auto:
            for iid, opening in proposed.items():
                self.simulator.set_opening(iid, opening)
            level = reachable_level(devices, measured, targets, self.limits)
            pump = self.simulator.network.substation.pump
            self.simulator.set_pump_speed(pump_speed_step(pump, self.simulator.pump_speed, level))
        return self._snapshot(plant, proposed)

    def _snapshot(self, plant: PlantState, proposed: dict[str, float]) -> BalanceSnapshot:
        """Indicators of the advanced flow band (§8.2.4) over building-level inlets.

        The ratio is actual over set flow (design flow × the inlet's weight, §5.3.6-5).
        """
        ratio = {
            i.id: plant.inlets[i.id].flow_m3h / (i.design_flow_m3h * i.weight)
            for i in self.top_level
        }
        lo, hi = ADVANCED_FLOW_BAND
        in_band = {iid: 1 + lo <= r <= 1 + hi for iid, r in ratio.items()}
        returns = [plant.inlets[i.id].return_c for i in self.top_level]
        return BalanceSnapshot(
            plant=plant,
            flow_ratio=ratio,
            in_band=in_band,
            share_in_band=sum(in_band.values()) / max(len(in_band), 1),
            return_spread_k=max(returns) - min(returns) if returns else 0.0,
            energy_kwh=dict(self._energy_kwh),
            proposed=proposed,
        )
