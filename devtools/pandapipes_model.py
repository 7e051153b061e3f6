"""Build a pandapipes (0.16, test-only) model of a heatbalance network — the solver's oracle.

Same pipes (``create_pipe_from_parameters`` with ``inner_diameter_mm`` and ``k_mm``), same
fluid (a constant fluid with heatbalance's density and viscosity), same topology (supply and
return junctions per node, a building supply junction for buildings with households). Each
inlet is a ``heat_exchanger`` whose loss coefficient ζ reproduces the inlet's quadratic
resistance, because pandapipes has no Kv curve (FACTS.md):

* valves, nozzles and plain circuits: ζ from ``Device.kv(opening)`` and ``internal_dp_kpa``
  read off the network here — independent of heatbalance's solution, so the cross-check
  tests the whole hydraulic balance, not just the pipes;
* self-operated flow and ΔP valves: ζ from the Kv heatbalance found they regulated to (a
  regulator *is* an operating-point resistance; pandapipes checks the network around it);
* distributed pumps: a pandapipes ``pump`` with the same quadratic curve, in series.

The substation is either ``pump="curve"`` — the pump curve as a pandapipes pump, the heat
exchanger as a ζ, an ``ext_grid`` holding the return header — so pandapipes finds the duty
point itself; or ``pump="lift"`` — ``create_circ_pump_const_pressure`` with the supply
pressure and lift heatbalance found (needed when the thermal side is compared, since the
circulation pump also sets the supply temperature). With a ``ThermalResult`` the inlets take
out the heat heatbalance computed and the pipes lose heat to the ground: one section per
pipe (0.16 computes the exponential decay exactly) and each element's own outlet temperature
(``t_outlet_k``) — no private return junctions (FACTS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandapipes as pp
from pandapipes.properties.fluids import create_constant_fluid

from custom_components.heatbalance.engine.hydraulics import (
    CLOSED_KV_FRACTION,
    DISTRIBUTED_PUMP_SHUTOFF,
    KINEMATIC_VISCOSITY,
    HydraulicResult,
)
from custom_components.heatbalance.engine.model import (
    GRAVITY,
    WATER_CP,
    WATER_DENSITY,
    Inlet,
    Network,
)

BRANCH_DIAMETER_MM = 100.0  # any diameter: ζ is chosen to match the resistance at it
K = 273.15
RHO_G = WATER_DENSITY * GRAVITY
PIPEFLOW_OPTIONS = {
    "friction_model": "colebrook",
    "max_iter_hyd": 100,  # FACTS.md: the default 10 fails on a 10-building net
    "max_iter_colebrook": 100,
    "tolerance_colebrook": 1e-10,  # default 1e-4 on λ is ~0.5 % of λ
    "tol_p": 1e-7,
    "tol_m": 1e-7,
}


@dataclass
class PandapipesModel:
    """The pandapipes net and where each heatbalance element went."""

    net: pp.pandapipesNet
    inlet_element: dict[str, int]  # inlet id → heat_exchanger index
    return_junction: int  # substation return junction
    supply_junctions: dict[str, int] = field(default_factory=dict)  # node id → junction
    return_junctions: dict[str, int] = field(default_factory=dict)
    pump_element: tuple[str, int] = ("circ_pump_pressure", 0)  # table, index


def build(
    network: Network,
    hyd: HydraulicResult,
    th: object | None = None,
    *,
    pump: Literal["lift", "curve"] = "lift",
) -> PandapipesModel:
    """The pandapipes equivalent of ``network`` at heatbalance's operating point ``hyd``.

    ``th`` is an optional ``ThermalResult`` (heat per inlet, network supply temperature).
    """
    net = pp.create_empty_network(fluid=None)
    net["fluid"] = create_constant_fluid(
        name="water-60C",
        fluid_type="liquid",
        density=WATER_DENSITY,
        viscosity=KINEMATIC_VISCOSITY * WATER_DENSITY,
        heat_capacity=WATER_CP,
        compressibility=1.0,
        der_compressibility=0.0,
    )
    t0 = (getattr(th, "network_supply_c", None) or network.design.supply_c) + K
    sup, ret = _junctions(net, network, t0)
    _pipes(net, network, sup, ret, heat=th is not None)
    elements = _inlets(net, network, hyd, th, sup, ret, t0)
    pump_element = _substation(net, network, hyd, sup, ret, t0, pump)
    sub = network.substation.node
    return PandapipesModel(
        net=net,
        inlet_element=elements,
        return_junction=ret[sub],
        supply_junctions=sup,
        return_junctions=ret,
        pump_element=pump_element,
    )


def _junctions(net: pp.pandapipesNet, network: Network, t0: float) -> tuple[dict, dict]:
    """Supply and return junction of every node, at the node's height."""
    ids = list(network.nodes)
    z = [network.nodes[n].elevation_m for n in ids]
    s = pp.create_junctions(net, len(ids), pn_bar=5.0, tfluid_k=t0, height_m=z)
    r = pp.create_junctions(net, len(ids), pn_bar=3.0, tfluid_k=t0 - 15, height_m=z)
    return dict(zip(ids, map(int, s), strict=True)), dict(zip(ids, map(int, r), strict=True))


def _pipes(net: pp.pandapipesNet, network: Network, sup: dict, ret: dict, *, heat: bool) -> None:
    """Supply pipe from→to and return pipe to→from of every pipe pair."""
    pipes = network.pipes
    d = np.array([p.inner_diameter_mm for p in pipes] + [p.return_diameter_mm for p in pipes])
    loss = np.array([p.heat_loss_w_mk for p in pipes] * 2)
    pp.create_pipes_from_parameters(
        net,
        [sup[p.from_node] for p in pipes] + [ret[p.to_node] for p in pipes],
        [sup[p.to_node] for p in pipes] + [ret[p.from_node] for p in pipes],
        length_km=np.array([p.length_m for p in pipes] * 2) / 1000.0,
        inner_diameter_mm=d,
        k_mm=np.array([p.roughness_mm for p in pipes] * 2),
        loss_coefficient=np.array([p.zeta for p in pipes] * 2),
        sections=1,  # pandapipes 0.16 computes a pipe's temperature decay exactly
        u_w_per_m2k=loss / (math.pi * d / 1000.0) if heat else 0.0,
        text_k=network.ground_c + K,
    )


def _inlets(
    net: pp.pandapipesNet,
    network: Network,
    hyd: HydraulicResult,
    th: object | None,
    sup: dict,
    ret: dict,
    t0: float,
) -> dict[str, int]:
    """One heat exchanger per inlet (plus a pump in front of it for distributed pumps)."""
    parents = sorted({i.parent for i in network.inlets.values() if i.parent})
    z = [network.nodes[network.inlets[b].node].elevation_m for b in parents]
    made = pp.create_junctions(net, len(parents), pn_bar=4.0, tfluid_k=t0, height_m=z)
    building = dict(zip(parents, map(int, made), strict=True))
    heat_w = getattr(th, "heat_w", None)
    ids = hyd.inlet_ids
    starts, ends, heat, zetas = [], [], [], []
    for k, iid in enumerate(ids):
        inlet = network.inlets[iid]
        start = building[inlet.parent] if inlet.parent else sup[inlet.node]
        if inlet.device.type == "distributed_pump":
            start = _distributed_pump(net, network, inlet, start, t0)
        starts.append(start)
        ends.append(building.get(iid, ret[inlet.node]))
        heat.append(0.0 if iid in building or heat_w is None else float(heat_w[k]))
        zetas.append(zeta(inlet_resistance_kpa(inlet, float(hyd.valve_kv[k]))))
    made = pp.create_heat_exchangers(
        net, starts, ends, qext_w=heat, inner_diameter_mm=BRANCH_DIAMETER_MM, loss_coefficient=zetas
    )
    return dict(zip(ids, map(int, made), strict=True))


def inlet_resistance_kpa(inlet: Inlet, regulated_kv: float) -> float:
    """Quadratic resistance of an inlet's branch in kPa/(m³/h)², read off the model.

    ``regulated_kv`` is used only for self-operated valves (the Kv they regulated to).
    """
    dev = inlet.device
    qd = inlet.design_flow_m3h
    internal = inlet.internal_dp_kpa / qd**2 if inlet.internal_dp_kpa > 0 else 0.0
    if dev.type in ("flow_valve", "dp_valve"):
        kv = regulated_kv
    elif dev.kvs is not None and dev.type not in ("none", "distributed_pump"):
        kv = max(dev.kv(), CLOSED_KV_FRACTION * dev.kvs)
    else:
        return internal
    if dev.type.endswith("ejector"):
        internal = 0.0  # the ejector drives its own circuit; the network sees the nozzle
    return 100.0 / kv**2 + internal


def zeta(resistance_kpa: float) -> float:
    """Loss coefficient of the branch diameter for a resistance in kPa/(m³/h)².

    Δp = ζ·ρ·v²/2 with v = Q/A, and Δp = r·Q² (Q in m³/h, Δp in kPa).
    """
    area = math.pi * (BRANCH_DIAMETER_MM / 1000.0) ** 2 / 4.0
    r_si = resistance_kpa * 1000.0 * 3600.0**2  # Pa/(m³/s)²
    return r_si * 2.0 * area * area / WATER_DENSITY


def _curve_bar(shutoff_m: float, k_m_per_m3h2: float, speed: float) -> list[float]:
    """pandapipes pump polynomial (bar over m³/h, highest power first) of H = H0·s² − k·Q²."""
    return [-k_m_per_m3h2 * RHO_G / 1e5, 0.0, shutoff_m * speed**2 * RHO_G / 1e5]


def _distributed_pump(
    net: pp.pandapipesNet, network: Network, inlet: Inlet, start: int, t0: float
) -> int:
    """A pump with the inlet pump's curve from ``start`` to a new junction (returned)."""
    dev = inlet.device
    head = float(dev.pump_head_m)  # type: ignore[arg-type]
    flow = float(dev.pump_flow_m3h)  # type: ignore[arg-type]
    shutoff = DISTRIBUTED_PUMP_SHUTOFF * head
    k = (shutoff - head) / flow**2
    z = network.nodes[inlet.node].elevation_m
    mid = pp.create_junction(net, pn_bar=4.0, tfluid_k=t0, height_m=z)
    pp.create_pump_from_parameters(
        net, start, mid, f"pump-{inlet.id}", poly_coefficents=_curve_bar(shutoff, k, dev.speed)
    )
    return mid


def _substation(
    net: pp.pandapipesNet,
    network: Network,
    hyd: HydraulicResult,
    sup: dict,
    ret: dict,
    t0: float,
    mode: str,
) -> tuple[str, int]:
    """The pump and heat exchanger between return and supply header."""
    sub = network.substation
    node = sub.node
    s = hyd.node_ids.index(node)
    if mode == "lift":
        index = pp.create_circ_pump_const_pressure(
            net,
            ret[node],
            sup[node],
            p_flow_bar=float(hyd.node_supply_kpa[s]) / 100.0,
            plift_bar=float(hyd.node_supply_kpa[s] - hyd.node_return_kpa[s]) / 100.0,
            t_flow_k=t0,
        )
        return "circ_pump_pressure", int(index)
    pump = sub.pump
    pp.create_ext_grid(net, ret[node], p_bar=sub.static_pressure_kpa / 100.0, t_k=t0 - 15)
    z = network.nodes[node].elevation_m
    mid = pp.create_junction(net, pn_bar=5.0, tfluid_k=t0, height_m=z)
    index = pp.create_pump_from_parameters(
        net,
        ret[node],
        mid,
        "substation-pump",
        poly_coefficents=_curve_bar(pump.shutoff_head_m, pump.curve_k, hyd.pump_speed),
    )
    hx = sub.hx_dp_kpa / pump.design_flow_m3h**2
    pp.create_heat_exchanger(
        net,
        mid,
        sup[node],
        qext_w=0.0,
        inner_diameter_mm=BRANCH_DIAMETER_MM,
        loss_coefficient=zeta(hx),
    )
    return "pump", int(index)


def run(model: PandapipesModel) -> None:
    """Hydraulics and heat, with the iteration limits FACTS.md says pandapipes needs."""
    pp.pipeflow(model.net, mode="sequential", max_iter_thermal=100, tol_T=1e-6, **PIPEFLOW_OPTIONS)


def run_hydraulics(model: PandapipesModel) -> None:
    """Hydraulics only (the cross-check of flows, and the benchmark's timing)."""
    pp.pipeflow(model.net, mode="hydraulics", **PIPEFLOW_OPTIONS)


def inlet_flows_m3h(model: PandapipesModel, inlet_ids: list[str]) -> np.ndarray:
    """Volume flow through each inlet's element."""
    res = model.net.res_heat_exchanger
    mdot = np.array([res.at[model.inlet_element[i], "mdot_from_kg_per_s"] for i in inlet_ids])
    return mdot / WATER_DENSITY * 3600.0


def pump_flow_m3h(model: PandapipesModel) -> float:
    """Flow through the substation pump."""
    table, index = model.pump_element
    return float(model.net[f"res_{table}"].at[index, "mdot_from_kg_per_s"]) / WATER_DENSITY * 3600


def inlet_return_c(model: PandapipesModel, inlet_ids: list[str]) -> np.ndarray:
    """Water temperature leaving each inlet's element, before it mixes at the node."""
    res = model.net.res_heat_exchanger
    return np.array([res.at[model.inlet_element[i], "t_outlet_k"] for i in inlet_ids]) - K


def inlet_supply_c(model: PandapipesModel, inlet_ids: list[str]) -> np.ndarray:
    """Water temperature entering each inlet."""
    res = model.net.res_heat_exchanger
    return np.array([res.at[model.inlet_element[i], "t_from_k"] for i in inlet_ids]) - K


def network_return_c(model: PandapipesModel) -> float:
    """Mixed return temperature arriving at the substation."""
    return float(model.net.res_junction.at[model.return_junction, "t_k"]) - K
