"""Seeded generator of realistic, unbalanced secondary networks.

A substation feeds a trunk; at every trunk node a branch line runs off with buildings along
it (optionally the trunk end is tied back to the substation, making a loop). Pipe diameters
are the smallest standard size that keeps the specific pressure loss at design flow within
250 Pa/m on branch lines (so ≈100–250 Pa/m) and 100 Pa/m on the trunk. Valves have standard
Kvs sized for 10–20 kPa at design flow. The pump is sized for the total design flow with the
head the farthest inlet needs once balanced, plus 10 % (§7.2.5), shutoff head 1.25× that.
Every valve starts fully open, so the network starts unbalanced.
"""

from __future__ import annotations

import math

import numpy as np

from ..hydraulics import friction_factor
from ..model import (
    WATER_DENSITY,
    DesignConditions,
    Device,
    Emitter,
    Envelope,
    Inlet,
    Network,
    Node,
    Pipe,
    Pump,
    Substation,
    design_flow_m3h,
)

INNER_DIAMETERS_MM = (
    27.3,
    36.0,
    41.9,
    53.1,
    68.9,
    80.9,
    105.3,
    130.7,
    155.1,
    206.5,
    260.4,
    309.7,
    339.6,
    388.8,
    437.0,
    486.0,
    535.0,
    585.0,
    635.0,
    737.0,
    838.0,
    940.0,
    1040.0,
    1240.0,
)  # EN 253 steel service pipes DN25 … DN1200
KVS_SERIES = (0.4, 0.63, 1.0, 1.6, 2.5, 4.0, 6.3, 10.0, 16.0, 25.0, 40.0, 63.0, 100.0, 160.0, 250.0)
MAX_PA_PER_M = 250.0  # branch lines: smallest DN within this, ≈100–250 Pa/m at design flow
TRUNK_PA_PER_M = 100.0  # the trunk is laid larger, as designers do for the main line
HX_DP_KPA = 30.0
DESIGN = DesignConditions(outdoor_c=-9.0, room_c=18.0, supply_c=60.0, return_c=45.0)


def generate_network(
    buildings: int,
    households_per_building: int = 0,
    seed: int = 0,
    *,
    name: str | None = None,
    loop: bool = False,
    area_m2: tuple[float, float] = (2000.0, 12000.0),
    trunk_m: tuple[float, float] = (80.0, 150.0),
    branch_len: int | None = None,
) -> Network:
    """A network of ``buildings`` building inlets (each feeding households if asked).

    ``area_m2`` is the range building areas are drawn from (its ratio is the load spread),
    ``trunk_m`` the range of trunk pipe lengths, ``branch_len`` the buildings per branch line
    (1 makes a comb: one building per trunk node; default ≈√(buildings/2)).
    """
    if buildings < 1:
        raise ValueError("need at least one building")
    if not 0 < area_m2[0] <= area_m2[1] or not 0 < trunk_m[0] <= trunk_m[1]:
        raise ValueError("area_m2 and trunk_m must be ranges of positive numbers (low, high)")
    rng = np.random.default_rng(seed)
    if branch_len is None:
        branch_len = max(1, round(math.sqrt(buildings / 2)))
    branch_len = max(1, int(branch_len))
    trunk_len = math.ceil(buildings / branch_len)
    nodes = {"S": Node("S", x=0.0, y=0.0)}
    pipes: list[Pipe] = []
    inlets: dict[str, Inlet] = {}
    count = 0
    for t in range(1, trunk_len + 1):
        trunk = f"T{t}"
        nodes[trunk] = Node(trunk, x=100.0 * t, y=0.0)
        pipes.append(_pipe(f"PT{t}", "S" if t == 1 else f"T{t - 1}", trunk, rng.uniform(*trunk_m)))
        previous = trunk
        for b in range(1, branch_len + 1):
            if count == buildings:
                break
            count += 1
            node = f"N{t}_{b}"
            nodes[node] = Node(node, x=100.0 * t, y=40.0 * b * (1 if t % 2 else -1))
            pipes.append(_pipe(f"P{t}_{b}", previous, node, rng.uniform(30, 60)))
            previous = node
            bid = f"B{count:03d}"
            inlets.update(_building(bid, node, households_per_building, rng, area_m2))
    if loop and trunk_len > 1:
        pipes.append(_pipe("PLOOP", f"T{trunk_len}", "S", 100.0 * trunk_len))
    _size_pipes(pipes, inlets)
    total = sum(i.design_flow_m3h for i in inlets.values() if i.parent is None)
    head = _design_head_m(nodes, pipes, inlets)
    pump = Pump(
        design_flow_m3h=round(total, 2),
        design_head_m=round(head, 2),
        shutoff_head_m=round(1.25 * head, 2),
    )
    label = name or f"generated-{buildings}x{households_per_building}-s{seed}"
    return Network(
        name=label,
        description=f"Generated: {buildings} buildings, {households_per_building} households "
        f"each, seed {seed}{', looped trunk' if loop else ''}.",
        substation=Substation(
            id="SS",
            node="S",
            pump=pump,
            supply_c=DESIGN.supply_c,
            hx_dp_kpa=HX_DP_KPA,
            name="Heat exchanger station",
        ),
        nodes=nodes,
        pipes=pipes,
        inlets=inlets,
        design=DESIGN,
    )


def _pipe(pid: str, a: str, b: str, length: float) -> Pipe:
    return Pipe(pid, a, b, round(float(length), 1), INNER_DIAMETERS_MM[-1])


def _inlet(
    iid: str,
    node: str,
    area: float,
    w_m2: float,
    *,
    kind: str,
    parent: str | None,
    internal_dp: float,
    device: Device,
) -> Inlet:
    load = area * w_m2 / 1000.0
    return Inlet(
        id=iid,
        type=kind,  # type: ignore[arg-type]
        node=node,
        parent=parent,
        heating_area_m2=round(area, 1),
        design_load_kw=round(load, 2),
        design_dt_k=15.0,
        internal_dp_kpa=round(internal_dp, 1),
        device=device,
        envelope=Envelope(
            ua_w_k=round(load * 1000 / (DESIGN.room_c - DESIGN.outdoor_c), 1),
            heat_capacity_kj_k=round(100.0 * area, 0),
        ),
        emitter=Emitter(DESIGN.supply_c, DESIGN.return_c, DESIGN.room_c),
        name=iid,
    )


def _valve(kind: str, flow_m3h: float, dp_kpa: float) -> Device:
    """A valve with the standard Kvs whose fully-open drop at ``flow`` is nearest ``dp_kpa``.

    Nearest on a log scale: the series steps by ≈1.6 in Kv (≈2.5 in drop), so a target of
    10–20 kPa lands the drop within about 6–32 kPa, mostly 10–20.
    """
    needed = flow_m3h / math.sqrt(dp_kpa / 100.0)
    kvs = min(KVS_SERIES, key=lambda k: abs(math.log(k / needed)))
    return Device(type=kind, kvs=kvs)  # type: ignore[arg-type]


def _building(
    bid: str,
    node: str,
    households: int,
    rng: np.random.Generator,
    area_m2: tuple[float, float] = (2000.0, 12000.0),
) -> dict[str, Inlet]:
    """One building inlet, with its households when asked (§2.0.3)."""
    area = float(rng.uniform(*area_m2))
    w_m2 = float(rng.uniform(45, 65))
    if households == 0:
        flow = design_flow_m3h(area * w_m2 / 1000, 15.0)
        device = _valve("electric_valve", flow, rng.uniform(10, 20))
        return {
            bid: _inlet(
                bid,
                node,
                area,
                w_m2,
                kind="building",
                parent=None,
                internal_dp=rng.uniform(15, 30),
                device=device,
            )
        }
    shares = rng.uniform(0.8, 1.2, households)
    shares *= area / shares.sum()
    flow = design_flow_m3h(area * w_m2 / 1000, 15.0)
    out = {
        bid: _inlet(
            bid,
            node,
            area,
            w_m2,
            kind="building",
            parent=None,
            internal_dp=5.0,
            device=_valve("electric_valve", flow, rng.uniform(10, 20)),
        )
    }
    for k, a in enumerate(shares, start=1):
        hid = f"{bid}H{k:02d}"
        floor_dp = 6.0 + 8.0 * (k - 1) / max(households - 1, 1)  # top floors: longer risers
        hflow = design_flow_m3h(a * w_m2 / 1000, 15.0)
        out[hid] = _inlet(
            hid,
            node,
            float(a),
            w_m2,
            kind="household",
            parent=bid,
            internal_dp=floor_dp,
            device=_valve("iot_valve", hflow, rng.uniform(10, 20)),
        )
    return out


def _downstream_flows(pipes: list[Pipe], inlets: dict[str, Inlet]) -> dict[str, float]:
    """Design flow through each pipe of the tree (a loop closure gets a tenth of its end)."""
    at_node: dict[str, float] = {}
    for i in inlets.values():
        if i.parent is None:
            at_node[i.node] = at_node.get(i.node, 0.0) + i.design_flow_m3h
    children: dict[str, list[Pipe]] = {}
    for p in pipes:
        if p.id != "PLOOP":
            children.setdefault(p.from_node, []).append(p)
    flows: dict[str, float] = {}

    def total(node: str) -> float:
        s = at_node.get(node, 0.0)
        for p in children.get(node, []):
            flows[p.id] = total(p.to_node)
            s += flows[p.id]
        return s

    total("S")
    for p in pipes:
        if p.id == "PLOOP":
            flows[p.id] = 0.1 * flows.get(f"PT{p.from_node[1:]}", 1.0)
    return flows


def _pa_per_m(flow_m3h: float, d_mm: float) -> float:
    d = d_mm / 1000.0
    area = math.pi * d * d / 4
    v = flow_m3h / 3600.0 / area
    re = max(v * d / 4.7e-7, 1.0)
    f = float(friction_factor(np.array([re]), np.array([0.1e-3 / d]))[0])
    return f / d * WATER_DENSITY * v * v / 2


def _size_pipes(pipes: list[Pipe], inlets: dict[str, Inlet]) -> None:
    flows = _downstream_flows(pipes, inlets)
    for p in pipes:
        q = flows.get(p.id, 1.0)
        limit = TRUNK_PA_PER_M if p.id.startswith("PT") or p.id == "PLOOP" else MAX_PA_PER_M
        p.inner_diameter_mm = next(
            (d for d in INNER_DIAMETERS_MM if _pa_per_m(q, d) <= limit),
            INNER_DIAMETERS_MM[-1],
        )
        p.heat_loss_w_mk = round(0.1 + 0.0015 * p.inner_diameter_mm, 3)


def _design_head_m(nodes: dict[str, Node], pipes: list[Pipe], inlets: dict[str, Inlet]) -> float:
    """Head for the most demanding inlet at design flows, valve fully open, plus 10 %."""
    flows = _downstream_flows(pipes, inlets)
    parent_pipe = {p.to_node: p for p in pipes if p.id != "PLOOP"}

    def path_dp(node: str) -> float:
        dp = 0.0
        while node in parent_pipe:
            p = parent_pipe[node]
            dp += 2 * _pa_per_m(flows[p.id], p.inner_diameter_mm) * p.length_m / 1000.0
            node = p.from_node
        return dp

    worst = 0.0
    for i in inlets.values():
        need = i.internal_dp_kpa + 100.0 * (i.design_flow_m3h / (i.device.kvs or 1.0)) ** 2
        if i.parent is None:
            kids = [k for k in inlets.values() if k.parent == i.id]
            need += max(
                (
                    k.internal_dp_kpa + 100.0 * (k.design_flow_m3h / (k.device.kvs or 1.0)) ** 2
                    for k in kids
                ),
                default=0.0,
            )
            worst = max(worst, path_dp(i.node) + need)
    return 1.1 * (worst + HX_DP_KPA) * 1000.0 / (WATER_DENSITY * 9.81)
