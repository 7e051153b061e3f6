"""Networks for the hydraulic tests and the pandapipes cross-check, built in code.

``random_network`` draws a tree of pipes plus loop-closing chords, buildings with every
device type of §2.0.4, some of them feeding households — harsher than real networks (tiny
pipes, random openings, pumps at any speed), which is the point.
"""

from __future__ import annotations

import numpy as np

from custom_components.heatbalance.engine.model import (
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

DEVICE_TYPES = [
    "none",
    "static_valve",
    "electric_valve",
    "iot_valve",
    "flow_valve",
    "dp_valve",
    "manual_ejector",
    "electric_ejector",
    "distributed_pump",
]


def make_inlet(
    iid: str,
    node: str,
    load_kw: float,
    device: Device,
    *,
    parent: str | None = None,
    internal_dp_kpa: float = 20.0,
) -> Inlet:
    """An inlet with plausible thermal data (the solver reads only the hydraulic fields)."""
    return Inlet(
        id=iid,
        type="household" if parent else "building",
        node=node,
        parent=parent,
        design_load_kw=load_kw,
        design_dt_k=15.0,
        heating_area_m2=load_kw * 20.0,
        internal_dp_kpa=internal_dp_kpa,
        device=device,
        envelope=Envelope(ua_w_k=load_kw * 37.0, heat_capacity_kj_k=load_kw * 2000.0),
        emitter=Emitter(design_supply_c=60.0, design_return_c=45.0),
    )


def random_device(rng: np.random.Generator, kind: str, q_design: float) -> Device:
    """A device of ``kind`` with random but sensible settings for a design flow."""
    kvs = float(q_design * rng.uniform(0.5, 4.0))
    if kind == "none":
        return Device("none")
    if kind in ("static_valve", "electric_valve", "iot_valve"):
        characteristic = "linear" if rng.uniform() < 0.5 else "equal_percentage"
        return Device(kind, kvs=kvs, opening=float(rng.uniform()), characteristic=characteristic)
    if kind == "flow_valve":
        return Device(kind, kvs=kvs, setpoint=float(q_design * rng.uniform(0.0, 1.5)))
    if kind == "dp_valve":
        return Device(kind, kvs=kvs, setpoint=float(rng.uniform(2.0, 60.0)))
    if kind.endswith("ejector"):
        return Device(kind, kvs=kvs, mixing_ratio=1.2, opening=float(rng.uniform()))
    return Device(
        kind,
        pump_head_m=float(rng.uniform(1.0, 8.0)),
        pump_flow_m3h=q_design,
        speed=float(rng.uniform()),
    )


def random_network(seed: int, n_nodes: int = 8, chords: int = 2) -> Network:
    """A random looped network with every device type, households under some buildings."""
    rng = np.random.default_rng(seed)
    nodes = {f"N{k}": Node(f"N{k}", elevation_m=float(rng.uniform(0, 20))) for k in range(n_nodes)}
    pipes = []
    for k in range(1, n_nodes):
        up = int(rng.integers(0, k))
        pipes.append(
            Pipe(
                f"P{k}",
                f"N{up}",
                f"N{k}",
                float(rng.uniform(20, 400)),
                float(rng.choice([50, 65, 80, 100, 125])),
                roughness_mm=float(rng.uniform(0.01, 0.5)),
                zeta=float(rng.uniform(0, 5)),
            )
        )
    for c in range(chords):
        a, b = rng.choice(n_nodes, 2, replace=False)
        length = float(rng.uniform(50, 400))
        pipes.append(Pipe(f"C{c}", f"N{a}", f"N{b}", length, float(rng.choice([40, 65, 80]))))
    inlets: dict[str, Inlet] = {}
    for k in range(1, n_nodes):
        _add_building(rng, inlets, f"B{k}", f"N{k}")
    total = sum(i.design_flow_m3h for i in inlets.values() if i.parent is None)
    head = float(rng.uniform(8, 25))
    pump = Pump(
        design_flow_m3h=total, design_head_m=head, shutoff_head_m=head * rng.uniform(1.05, 1.5)
    )
    substation = Substation(
        id="S", node="N0", pump=pump, supply_c=60.0, hx_dp_kpa=float(rng.uniform(0, 50))
    )
    return Network(f"random{seed}", substation, nodes, pipes, inlets)


def _add_building(rng: np.random.Generator, inlets: dict[str, Inlet], bid: str, node: str) -> None:
    """One building at ``node``: alone, or the service connection of 1–4 households."""
    load = float(rng.uniform(50, 400))
    q_design = design_flow_m3h(load, 15.0)
    kind = str(rng.choice(DEVICE_TYPES)) if rng.uniform() < 0.8 else "none"
    if rng.uniform() >= 0.4:
        inlets[bid] = make_inlet(
            bid, node, load, random_device(rng, kind, q_design), internal_dp_kpa=rng.uniform(5, 40)
        )
        return
    if kind == "distributed_pump":
        kind = "electric_valve"
    service = float(rng.uniform(1, 10))
    inlets[bid] = make_inlet(
        bid, node, load, random_device(rng, kind, q_design), internal_dp_kpa=service
    )
    for h in range(int(rng.integers(1, 5))):
        hkind = str(rng.choice(DEVICE_TYPES))
        hid = f"{bid}H{h}"
        device = random_device(rng, hkind, q_design / 4)
        inlets[hid] = make_inlet(
            hid, node, load / 4, device, parent=bid, internal_dp_kpa=float(rng.uniform(5, 30))
        )


def mixed_network() -> Network:
    """A small looped network with one of every device and a building with households.

    Used by the pandapipes cross-check: every element type of the solver appears once.
    """
    nodes = {
        k: Node(k, elevation_m=z) for k, z in (("S", 0), ("A", 2), ("B", 5), ("C", 3), ("D", 8))
    }
    pipes = [
        Pipe("P1", "S", "A", 180.0, 125.0),
        Pipe("P2", "A", "B", 220.0, 80.0, zeta=2.0),
        Pipe("P3", "A", "C", 150.0, 100.0, roughness_mm=0.05),
        Pipe("P4", "C", "D", 260.0, 65.0),
        Pipe("P5", "B", "D", 300.0, 50.0),  # closes the loop A–B–D–C
    ]
    inlets = {}
    specs = [
        ("E1", "A", 300.0, Device("static_valve", kvs=12.0, opening=0.6, characteristic="linear")),
        ("E2", "A", 200.0, Device("flow_valve", kvs=10.0, setpoint=8.0)),
        ("E3", "B", 250.0, Device("dp_valve", kvs=16.0, setpoint=15.0)),
        ("E4", "C", 180.0, Device("manual_ejector", kvs=6.0, mixing_ratio=1.5)),
        ("E5", "D", 220.0, Device("distributed_pump", pump_head_m=4.0, pump_flow_m3h=12.0)),
        ("E6", "D", 150.0, Device("none")),
    ]
    for iid, node, load, dev in specs:
        inlets[iid] = make_inlet(iid, node, load, dev)
    inlets["H"] = make_inlet(
        "H", "C", 240.0, Device("dp_valve", kvs=25.0, setpoint=30.0), internal_dp_kpa=3.0
    )
    for k, dev in enumerate(
        [
            Device("iot_valve", kvs=1.6, opening=0.7),
            Device("iot_valve", kvs=1.6, opening=0.3),
            Device("flow_valve", kvs=2.5, setpoint=2.0),
            Device("static_valve", kvs=1.0),
        ]
    ):
        hid = f"H{k}"
        inlets[hid] = make_inlet(hid, "C", 60.0, dev, parent="H", internal_dp_kpa=12.0)
    total = sum(i.design_flow_m3h for i in inlets.values() if i.parent is None)
    pump = Pump(design_flow_m3h=total, design_head_m=22.0, shutoff_head_m=28.0)
    substation = Substation(id="SS", node="S", pump=pump, supply_c=70.0, hx_dp_kpa=35.0)
    return Network("mixed", substation, nodes, pipes, inlets)
