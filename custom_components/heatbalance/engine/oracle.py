"""References a balancing controller is measured against: the oracle and "big flow, small ΔT".

*Oracle* — exact balancing with full knowledge of the plant: every flow equals its set flow
(design flow times the manual weight, §5.3.6-5, exactly as :mod:`.evaluation` judges it) and
the worst-placed circuit's valve is fully open, which sets the lowest pump head
that serves everyone (the commissioning calculation of :mod:`.commissioning`, applied to the
simulated plant). No controller can use less pump power for the same flows; its
return-temperature spread is the residual that balanced flows leave (buildings differ).

*Big flow, small ΔT* (大流量小温差, §3.0.1 explanation) — the practice the standard wants to
end: every valve left open and the pump speeded up (or replaced by a bigger one) until the
worst-served building gets its design flow. Buildings near the substation then overflow and
overheat, and the pump draws far more than it needs.

Both are steady states of the real :class:`~.simulator.Simulator` with rooms settled, at the
same outdoor and supply temperature as the run they are compared with.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .commissioning import KV_DEVICES, apply_presettings, presettings
from .evaluation import evaluate
from .hydraulics import HydraulicModel
from .model import Network
from .simulator import PlantState, Simulator

MAX_BIG_FLOW_SPEED = 3.0  # a pump three times as fast is a different pump: search no further
_BISECTIONS = 40


@dataclass
class Reference:
    """A steady state to compare a controller with.

    ``overheating_w`` is the heat lost through rooms kept above their setpoint,
    Σ UA·max(0, T_room − T_set); ``beyond_pump`` says the speed exceeds the installed pump's
    maximum (big flow: the operator fitted a bigger pump).
    """

    name: str
    pump_power_w: float
    pump_speed: float
    pump_flow_m3h: float
    pump_head_m: float
    spread_k: float
    min_flow_ratio: float
    max_flow_ratio: float
    heat_w: float
    overheating_w: float
    beyond_pump: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, rounded."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def oracle(
    network: Network,
    *,
    outdoor_c: float | None = None,
    supply_c: float | None = None,
    level: str = "advanced",
    weights: Mapping[str, float] | None = None,
) -> Reference:
    """Exact balance at set flows and the lowest pump head (commissioning presettings).

    Set flows are design flow × manual weight (§5.3.6-5): the network file's weights, or
    ``weights`` where the operator set them. A building feeding households carries what
    its households draw (commissioning sums them), so weight the households to favour it.
    """
    settled = apply_presettings(network, presettings(weighted(network, weights)))
    return steady_reference("oracle", settled, outdoor_c=outdoor_c, supply_c=supply_c, level=level)


def weighted(network: Network, weights: Mapping[str, float] | None = None) -> Network:
    """A copy whose design loads are scaled by each inlet's weight (for target flows only).

    Only the presettings are computed on it: scaling the load at the same design ΔT
    scales the design flow, which is the flow commissioning aims at; the circuit's stated
    drop at design flow is scaled by the weight squared, so its resistance stays the plant's.
    The weight itself stays on the copy: when the pump cannot serve every set flow it decides
    who is served first (§5.3.6-5, the planner's rule). The plant that is then simulated is
    the unchanged network with those presettings.
    """
    out = copy.deepcopy(network)
    for iid, inlet in out.inlets.items():
        weight = float((weights or {}).get(iid, inlet.weight))
        inlet.design_load_kw *= weight
        inlet.internal_dp_kpa *= weight**2
        inlet.weight = weight
    return out


def big_flow(
    network: Network,
    *,
    outdoor_c: float | None = None,
    supply_c: float | None = None,
    level: str = "advanced",
) -> Reference:
    """All valves open, pump speed raised until the worst building gets its design flow."""
    opened = copy.deepcopy(network)
    for inlet in opened.inlets.values():
        if inlet.device.type in KV_DEVICES:
            inlet.device.opening = inlet.device.max_opening
    speed = big_flow_speed(opened)
    pump = opened.substation.pump
    beyond = speed > pump.max_speed
    pump.max_speed = max(pump.max_speed, speed)
    pump.speed = speed
    ref = steady_reference("big_flow", opened, outdoor_c=outdoor_c, supply_c=supply_c, level=level)
    ref.beyond_pump = beyond
    return ref


def big_flow_speed(network: Network) -> float:
    """Lowest pump speed at which every inlet gets at least its design flow as set now."""
    model = HydraulicModel(network)
    design = np.array([network.inlets[i].design_flow_m3h for i in model.inlet_ids])

    def worst(speed: float) -> float:
        return float(np.min(model.solve(pump_speed=speed).inlet_flow_m3h / design))

    low, high = network.substation.pump.min_speed, MAX_BIG_FLOW_SPEED
    if worst(low) >= 1.0:
        return low
    if worst(high) < 1.0:
        return high
    for _ in range(_BISECTIONS):
        mid = 0.5 * (low + high)
        if worst(mid) >= 1.0:
            high = mid
        else:
            low = mid
    return high


def steady_reference(
    name: str,
    network: Network,
    *,
    outdoor_c: float | None = None,
    supply_c: float | None = None,
    level: str = "advanced",
) -> Reference:
    """The settled plant of ``network`` as set (rooms at their steady temperatures)."""
    outdoor = network.design.outdoor_c if outdoor_c is None else outdoor_c
    sim = Simulator(network, outdoor_c=outdoor, supply_c=supply_c)
    return reference_from_state(name, network, sim.state(), level=level)


def reference_from_state(
    name: str, network: Network, state: PlantState, *, level: str = "advanced"
) -> Reference:
    """A :class:`Reference` from one plant state (spread over the level's inlets, §8.2.2)."""
    ratios = [s.flow_m3h / s.design_flow_m3h for s in state.inlets.values()]
    spread = evaluate(network, state, level=level, target="return").return_spread_k
    return Reference(
        name=name,
        pump_power_w=state.pump.power_w,
        pump_speed=state.pump.speed,
        pump_flow_m3h=state.pump.flow_m3h,
        pump_head_m=state.pump.head_m,
        spread_k=float(spread if spread is not None else 0.0),
        min_flow_ratio=float(min(ratios)),
        max_flow_ratio=float(max(ratios)),
        heat_w=state.heat_w,
        overheating_w=overheating_w(network, state),
    )


def overheating_w(network: Network, state: PlantState) -> float:
    """Heat lost through rooms above their setpoint: Σ UA·max(0, T_room − T_set) (W)."""
    total = 0.0
    for inlet in network.terminal_inlets():
        room = state.inlets[inlet.id].room_c
        total += inlet.envelope.ua_w_k * max(0.0, room - inlet.room_setpoint_c)
    return total
