"""Small networks built in code, so engine tests do not depend on the file loader."""

from __future__ import annotations

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
)


def inlet(
    iid: str,
    node: str,
    load_kw: float = 300.0,
    *,
    device: Device | None = None,
    parent: str | None = None,
    kind: str = "building",
    internal_dp_kpa: float = 20.0,
) -> Inlet:
    """A building (or household) inlet with an electric valve unless told otherwise."""
    return Inlet(
        id=iid,
        type=kind,  # type: ignore[arg-type]
        node=node,
        parent=parent,
        design_load_kw=load_kw,
        design_dt_k=15.0,
        heating_area_m2=load_kw * 1000 / 50.0,
        internal_dp_kpa=internal_dp_kpa,
        device=device or Device(type="electric_valve", kvs=10.0),
        envelope=Envelope(ua_w_k=load_kw * 1000 / 27.0, heat_capacity_kj_k=load_kw * 2000.0),
        emitter=Emitter(design_supply_c=60.0, design_return_c=45.0),
    )


def chain(n: int = 3, *, pipe_m: float = 150.0, diameter_mm: float = 100.0, **kw) -> Network:
    """Substation S, then n buildings along one main line (B1 nearest)."""
    nodes = {"S": Node("S")} | {f"N{k}": Node(f"N{k}") for k in range(1, n + 1)}
    pipes = [
        Pipe(f"P{k}", "S" if k == 1 else f"N{k - 1}", f"N{k}", pipe_m, diameter_mm)
        for k in range(1, n + 1)
    ]
    inlets = {f"B{k}": inlet(f"B{k}", f"N{k}", **kw) for k in range(1, n + 1)}
    total = sum(i.design_flow_m3h for i in inlets.values())
    pump = Pump(design_flow_m3h=total, design_head_m=12.0, shutoff_head_m=15.0)
    return Network(
        name="chain",
        substation=Substation(id="SS", node="S", pump=pump, supply_c=60.0),
        nodes=nodes,
        pipes=pipes,
        inlets=inlets,
    )
