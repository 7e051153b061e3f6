"""Control targets (§4.1.1): setpoint, measured value and a normalised error per inlet.

Both controllers steer on one number per inlet: the *error*, positive when the inlet needs
more water. It is normalised so one gain fits every target:

* **flow** — ``ln(Q*/Q)``: a relative error, symmetric for too much and too little;
* **return** — ``(T_set − T_return)/ΔT_design``: a return colder than its setpoint means the
  water stays too long in the building, so the inlet needs more flow;
* **mean** — the same on the mean supply/return temperature, over half the design ΔT;
* **room** — ``(T_set − T_room)/ROOM_SCALE_K``.

Setpoints come from the static model in :mod:`.setpoints` (§3.0.6): weather-dependent for
temperatures, design flow times the manual weight (§5.3.6-5) for flow. Every reading goes
through :meth:`InletReading.get`, so a missing, flagged or implausible value gives no error
at all (None) and the inlet is held, never guessed (§3.0.7-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model import Network
from .base import MAX_FLOW_RATIO, InletReading, Measurements, plausible_temperature, usable
from .setpoints import setpoint

ROOM_SCALE_K = 30.0  # rooms answer over many hours: 1 K off moves the flow ~3 % per step
MIN_FLOW_SHARE = 0.01  # a zero reading is taken as 1 % of setpoint: "open up", not −∞


@dataclass
class TargetError:
    """What one inlet should have, what it has, and the normalised error."""

    target: str
    setpoint: float
    measured: float
    error: float


def inlet_setpoint(
    network: Network,
    inlet_id: str,
    target: str,
    measurements: Measurements,
    weight: float,
    aim: float,
) -> float | None:
    """The static model's setpoint for one inlet (flow already placed in the band by ``aim``)."""
    reading = measurements.inlets.get(inlet_id) or InletReading()
    supply = None
    if not measurements.substation_flagged:
        supply = plausible_temperature(usable(measurements.supply_c))
    value = setpoint(
        network,
        inlet_id,
        target,
        outdoor_c=usable(measurements.outdoor_c),
        supply_c=supply,
        weight=weight,
        inlet_supply_c=plausible_temperature(reading.get("supply_c")),
    )
    if value is None:
        return None
    return value * aim if target == "flow" else value


def measured_value(
    network: Network, inlet_id: str, target: str, reading: InletReading
) -> float | None:
    """The inlet's reading in its target's unit; None when it cannot be trusted."""
    if target == "flow":
        flow = reading.get("flow_m3h")
        design = network.inlets[inlet_id].design_flow_m3h
        if flow is None or flow < 0 or flow > MAX_FLOW_RATIO * design:
            return None  # negative or absurd flow: a meter fault, not the plant
        return flow
    if target == "room":
        return plausible_temperature(reading.get("room_c"))
    ret = plausible_temperature(reading.get("return_c"))
    if target == "return" or ret is None:
        return ret
    sup = plausible_temperature(reading.get("supply_c"))
    return None if sup is None else 0.5 * (sup + ret)


def target_error(
    network: Network,
    inlet_id: str,
    target: str,
    measurements: Measurements,
    weight: float,
    aim: float,
) -> TargetError | None:
    """Setpoint, measurement and normalised error of one inlet, or None (hold)."""
    reading = measurements.inlets.get(inlet_id)
    if reading is None:
        return None
    wanted = inlet_setpoint(network, inlet_id, target, measurements, weight, aim)
    got = measured_value(network, inlet_id, target, reading)
    if wanted is None or got is None:
        return None
    inlet = network.inlets[inlet_id]
    if target == "flow":
        if wanted <= 0:
            return None
        error = math.log(wanted / max(got, MIN_FLOW_SHARE * wanted))
    elif target == "room":
        error = (wanted - got) / ROOM_SCALE_K
    elif target == "return":
        error = (wanted - got) / inlet.design_dt_k
    else:
        error = (wanted - got) / (0.5 * inlet.design_dt_k)
    return TargetError(target, wanted, got, error)
