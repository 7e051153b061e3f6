"""Build a pandapipes model of a heatbalance network at a solved operating point.

pandapipes (test-only) is the independent oracle for the solver: the same pipes, the same
fluid (constant properties, as heatbalance uses), inlet branches as elements with a loss
coefficient ζ equal to the branch's quadratic resistance at the operating point (pandapipes
has no Kv curve, FACTS.md), heat taken out as heatbalance computed it, and the circulation
pump holding the supply pressure and lift heatbalance found. If both solvers are right,
pandapipes reproduces heatbalance's flows and temperatures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandapipes as pp
from pandapipes.properties.fluids import create_constant_fluid

from custom_components.heatbalance.engine.hydraulics import KINEMATIC_VISCOSITY, HydraulicResult
from custom_components.heatbalance.engine.model import WATER_CP, WATER_DENSITY, Network
from custom_components.heatbalance.engine.thermal import ThermalResult

SECTIONS = 20  # pandapipes applies a pipe's loss coefficient to each section
BRANCH_DIAMETER_MM = 100.0  # any diameter: ζ is chosen to match the resistance at it
K = 273.15


@dataclass
class PandapipesModel:
    """The pandapipes net and where each heatbalance element went."""

    net: pp.pandapipesNet
    inlet_element: dict[str, int]  # inlet id → heat_exchanger index
    return_junction: int  # substation return junction
    supply_junctions: dict[str, int] = field(default_factory=dict)  # node id → junction
    return_junctions: dict[str, int] = field(default_factory=dict)


def build(network: Network, hyd: HydraulicResult, th: ThermalResult) -> PandapipesModel:
    """The pandapipes equivalent of ``network`` at the operating point ``hyd``/``th``."""
    net = pp.create_empty_network(fluid=None)
    fluid = create_constant_fluid(
        name="water-60C",
        fluid_type="liquid",
        density=WATER_DENSITY,
        viscosity=KINEMATIC_VISCOSITY * WATER_DENSITY,
        heat_capacity=WATER_CP,
        compressibility=1.0,
        der_compressibility=0.0,
    )
    net["fluid"] = fluid
    t0 = th.network_supply_c + K
    sup, ret = {}, {}
    for nid, node in network.nodes.items():
        sup[nid] = pp.create_junction(net, pn_bar=5.0, tfluid_k=t0, height_m=node.elevation_m)
        ret[nid] = pp.create_junction(net, pn_bar=3.0, tfluid_k=t0 - 15, height_m=node.elevation_m)
    for pipe in network.pipes:
        for a, b, d in (
            (sup[pipe.from_node], sup[pipe.to_node], pipe.inner_diameter_mm),
            (ret[pipe.to_node], ret[pipe.from_node], pipe.return_diameter_mm),
        ):
            pp.create_pipe_from_parameters(
                net,
                a,
                b,
                length_km=pipe.length_m / 1000.0,
                inner_diameter_mm=d,
                k_mm=pipe.roughness_mm,
                loss_coefficient=pipe.zeta / SECTIONS,
                sections=SECTIONS,
                u_w_per_m2k=pipe.heat_loss_w_mk / (math.pi * d / 1000.0),
                text_k=network.ground_c + K,
            )
    building_node = {}
    for iid in network.inlets:
        if network.children(iid):
            building_node[iid] = pp.create_junction(net, pn_bar=4.0, tfluid_k=t0)
    index = {iid: k for k, iid in enumerate(hyd.inlet_ids)}
    elements = {}
    for iid, inlet in network.inlets.items():
        k = index[iid]
        q = hyd.inlet_flow_m3h[k] / 3600.0
        if iid in building_node:  # service connection: valve + service pipes, no heat
            drop = (
                hyd.valve_dp_kpa[k]
                + inlet.internal_dp_kpa * (hyd.inlet_flow_m3h[k] / inlet.design_flow_m3h) ** 2
            )
            a, b, heat = sup[inlet.node], building_node[iid], 0.0
        else:
            drop = hyd.dp_available_kpa[k]
            a = building_node[inlet.parent] if inlet.parent else sup[inlet.node]
            b, heat = ret[inlet.node], th.heat_w[k]
        elements[iid] = pp.create_heat_exchanger(
            net,
            a,
            b,
            qext_w=float(heat),
            inner_diameter_mm=BRANCH_DIAMETER_MM,
            loss_coefficient=_zeta(drop * 1000.0, q),
        )
    sub = network.substation.node
    s = hyd.node_ids.index(sub)
    pp.create_circ_pump_const_pressure(
        net,
        ret[sub],
        sup[sub],
        p_flow_bar=float(hyd.node_supply_kpa[s]) / 100.0,
        plift_bar=float(hyd.node_supply_kpa[s] - hyd.node_return_kpa[s]) / 100.0,
        t_flow_k=t0,
    )
    return PandapipesModel(
        net=net,
        inlet_element=elements,
        return_junction=ret[sub],
        supply_junctions=sup,
        return_junctions=ret,
    )


def run(model: PandapipesModel) -> None:
    """Hydraulics and heat, with the iteration limits FACTS.md says pandapipes needs."""
    pp.pipeflow(
        model.net,
        mode="sequential",
        friction_model="colebrook",
        max_iter_hyd=100,
        max_iter_thermal=100,
        tol_p=1e-6,
        tol_m=1e-6,
        tol_T=1e-6,
    )


def inlet_flows_m3h(model: PandapipesModel, inlet_ids: list[str]) -> np.ndarray:
    """Volume flow through each inlet's element."""
    res = model.net.res_heat_exchanger
    mdot = np.array([res.at[model.inlet_element[i], "mdot_from_kg_per_s"] for i in inlet_ids])
    return mdot / WATER_DENSITY * 3600.0


def inlet_supply_c(model: PandapipesModel, inlet_ids: list[str]) -> np.ndarray:
    """Water temperature entering each inlet."""
    res = model.net.res_heat_exchanger
    return np.array([res.at[model.inlet_element[i], "t_from_k"] for i in inlet_ids]) - K


def network_return_c(model: PandapipesModel) -> float:
    """Mixed return temperature arriving at the substation."""
    return float(model.net.res_junction.at[model.return_junction, "t_k"]) - K


def _zeta(drop_pa: float, q_m3s: float) -> float:
    """Loss coefficient giving ``drop_pa`` at ``q_m3s`` through the branch diameter."""
    area = math.pi * (BRANCH_DIAMETER_MM / 1000.0) ** 2 / 4.0
    velocity = max(q_m3s, 1e-12) / area
    return drop_pa / (WATER_DENSITY * velocity**2 / 2.0)


def run_hydraulics(model: PandapipesModel) -> None:
    """Hydraulics only, for timing against heatbalance's hydraulic solve."""
    pp.pipeflow(
        model.net,
        mode="hydraulics",
        friction_model="colebrook",
        max_iter_hyd=100,
        tol_p=1e-6,
        tol_m=1e-6,
    )
