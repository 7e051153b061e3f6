"""What a source delivers for one inlet in one cycle, and for the whole network.

The one source interface of the integration (issue 10): the simulated plant, HA entities and
the gateway each fill a :class:`Reading`, which *is* the engine's
:class:`~.engine.control.base.InletReading` (flow, temperatures, pressures, valve feedback,
battery, command answer, transmissions) plus where each value came from. Pure data: no Home
Assistant, no source; the sources (``plant``, ``gateway_source``) import this module and
never each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .engine.control.base import InletReading
from .engine.simulator import PlantState


@dataclass
class Reading(InletReading):
    """One inlet's acquisition in one cycle (None: not received)."""

    measured: tuple[str, ...] = ()  # fields a real instrument delivered (not the model)
    # ``estimated`` (the engine's field): what the network model filled in, shown as such


@dataclass
class Acquisition:
    """What one cycle acquired."""

    time_s: float
    dt_s: float
    outdoor_c: float | None
    plant: PlantState
    inlets: dict[str, Reading] = field(default_factory=dict)
    # the next 24 clock hours' outdoor temperature from the hour after time_s (forecasting)
    outdoor_forecast_c: list[float] | None = None
    # valves of the network without an inlet subentry (households aggregated in their
    # building): read from the simulated plant, and moved there, when the whole plant is
    # simulated; on a real plant only their assumed position (the model's) is known
    unmanaged: dict[str, Reading] = field(default_factory=dict)
    unmanaged_moved: bool = False
    pump_controlled: bool = True  # a pump command reaches the pump (simulated or mapped)
    pump_estimated: bool = False  # a real pump's speed not measured: the model's assumption
    gateways: dict[str, dict[str, Any]] = field(default_factory=dict)  # outboxes (§6.0.3)
    # a real plant's substation flow meter (None: not mapped or lost); the model's own pump
    # flow stands only for a simulated plant (meters.py balances the inlets against it)
    real_substation: bool = False
    substation_flow_m3h: float | None = None
    # a real plant's substation heat meter, its thermal power (None: not mapped or lost)
    substation_heat_kw: float | None = None
