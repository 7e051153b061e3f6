"""The static model: setpoints from outdoor temperature and design data (§3.0.6, §5.3.6-5).

Intermediate-level regulation "by a predefined static model" needs, for every inlet and
every control target (§4.1.1), a setpoint that follows the weather:

* **flow** — the design flow (design load over design ΔT); it does not depend on the
  weather under quality regulation (constant flow, supply temperature by heating curve);
* **return temperature** — the heating curve's return branch: at design flow the inlet's
  temperature drop is its design ΔT times the load fraction
  ``φ = (room setpoint − outdoor) / (design room − design outdoor)``, so the setpoint is the
  substation supply temperature minus ``ΔT_design·φ``. The substation's supply temperature
  is used, not the inlet's, as §4.1.1 says return targets ignore supply-pipe losses;
* **mean temperature** — the mean of the inlet's supply and that return setpoint
  (``supply − ΔT_design·φ/2``), which does account for the supply losses of a long network;
* **room temperature** — the inlet's room setpoint.

Manual weighting (§5.3.6-5) raises a special building's share: a weight ``w`` multiplies its
flow setpoint; the temperature setpoints follow from that flow (the same heat at ``w`` times
the flow drops ``1/w`` of the ΔT, so the return setpoint rises); a room setpoint rises by
:data:`ROOM_K_PER_WEIGHT` K per unit of weight above 1 (w = 1.1 → +1 K).
"""

from __future__ import annotations

from ..model import Inlet, Network

ROOM_K_PER_WEIGHT = 10.0
MAX_LOAD_FRACTION = 1.5  # colder than design: the curve is extrapolated this far, no further
MIN_RETURN_ABOVE_ROOM_K = 1.0  # a return setpoint at or below room temperature is unreachable


def load_fraction(network: Network, outdoor_c: float, room_c: float | None = None) -> float:
    """Share of the design heat load at ``outdoor_c`` (0 when no heating is needed)."""
    design = network.design
    room = design.room_c if room_c is None else room_c
    span = design.room_c - design.outdoor_c
    if span <= 0:
        return 1.0
    return min(max((room - outdoor_c) / span, 0.0), MAX_LOAD_FRACTION)


def flow_setpoint(inlet: Inlet, weight: float = 1.0) -> float:
    """Set flow of an inlet (m³/h): design flow times its weight."""
    return inlet.design_flow_m3h * weight


def return_setpoint(
    network: Network, inlet: Inlet, outdoor_c: float, supply_c: float, weight: float = 1.0
) -> float:
    """Return-temperature setpoint (°C) from the heating curve's return branch."""
    phi = load_fraction(network, outdoor_c, inlet.room_setpoint_c)
    value = supply_c - inlet.design_dt_k * phi / weight
    return max(value, inlet.room_setpoint_c + MIN_RETURN_ABOVE_ROOM_K)


def mean_setpoint(
    network: Network,
    inlet: Inlet,
    outdoor_c: float,
    supply_c: float,
    weight: float = 1.0,
    inlet_supply_c: float | None = None,
) -> float:
    """Mean supply/return temperature setpoint (°C) at the inlet."""
    drop = supply_c - return_setpoint(network, inlet, outdoor_c, supply_c, weight)
    here = supply_c if inlet_supply_c is None else inlet_supply_c
    return here - 0.5 * drop


def room_setpoint(inlet: Inlet, weight: float = 1.0) -> float:
    """Room-temperature setpoint (°C), raised for weighted buildings."""
    return inlet.room_setpoint_c + ROOM_K_PER_WEIGHT * (weight - 1.0)


def setpoint(
    network: Network,
    inlet_id: str,
    target: str,
    *,
    outdoor_c: float | None,
    supply_c: float | None,
    weight: float = 1.0,
    inlet_supply_c: float | None = None,
) -> float | None:
    """The static model's setpoint of one inlet in its target's unit; None without data."""
    inlet = network.inlets[inlet_id]
    if target == "flow":
        return flow_setpoint(inlet, weight)
    if target == "room":
        return room_setpoint(inlet, weight)
    if outdoor_c is None or supply_c is None:
        return None
    if target == "return":
        return return_setpoint(network, inlet, outdoor_c, supply_c, weight)
    if target == "mean":
        return mean_setpoint(network, inlet, outdoor_c, supply_c, weight, inlet_supply_c)
    raise ValueError(f"unknown target {target!r}")
