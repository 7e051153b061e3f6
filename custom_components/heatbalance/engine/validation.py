"""The one rule set for a network model: references, connectivity, parent tree, device data.

The loader runs it on every file it reads and the hydraulic topology on every network it is
given (built in code, edited by the integration, generated), so both report the same problem in
the same words: ``<element> <id>, field <field>: <cause>``. Field formats of a file (types,
ranges of single numbers) are the loader's schema; the rules here are about the model, so they
also catch networks that never went through a file. Numeric rules are array tests over the
inlet columns: a 23,000-inlet network is checked in a few tens of milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from .inlet_columns import InletColumns, inlet_columns
from .model import DEVICE_TYPES, Network

_EJECTORS = ("manual_ejector", "electric_ejector")


def network_problems(
    network: Network,
    node_ids: Iterable[str] | None = None,
    pipe_ids: Iterable[str] | None = None,
    inlet_ids: Iterable[str] | None = None,
    columns: InletColumns | None = None,
    *,
    settings_required: bool = False,
) -> list[str]:
    """Every problem of ``network``, one sentence each (empty: the network can be solved).

    ``node_ids``/``inlet_ids``: the ids as written in the source, for the duplicate check the
    model's dicts can no longer see (pipes are a list, so their duplicates are always found).
    ``columns``: the inlet arrays when the caller has them already. ``settings_required``:
    a network file must also give each ejector its mixing ratio; a model in memory may leave it
    open (it mixes nothing until commissioning computes it, §5.2).
    """
    if columns is None:
        columns = inlet_columns(network)
    problems = _duplicates("node", node_ids)
    problems += _duplicates("pipe", (p.id for p in network.pipes))
    problems += _duplicates("inlet", inlet_ids)
    problems += _substation_problems(network)
    problems += _pipe_problems(network)
    problems += _inlet_problems(network, columns, settings_required)
    problems += _parent_problems(network)
    if not problems:
        problems += _connectivity_problems(network)
    return problems


def _duplicates(kind: str, ids: Iterable[str] | None) -> list[str]:
    """One problem per id given more than once (linear: a Counter, not ``list.count``)."""
    if ids is None:
        return []
    counts = Counter(ids)
    return [f"{kind} {x}: duplicate id" for x in sorted(k for k, n in counts.items() if n > 1)]


def _substation_problems(network: Network) -> list[str]:
    """The substation's node and its pump and heat exchanger."""
    sub = network.substation
    where = f"substation {sub.id}"
    pump = sub.pump
    problems = []
    if sub.node not in network.nodes:
        problems.append(f"{where}, field node: unknown node {sub.node}")
    if not (_positive(pump.design_flow_m3h) and _positive(pump.design_head_m)):
        problems.append(f"{where}, field pump: design flow and head must be > 0")
    elif not (_finite(pump.shutoff_head_m) and pump.shutoff_head_m >= pump.design_head_m):
        problems.append(f"{where}, field pump.shutoff_head_m: must be ≥ design_head_m")
    speeds = (pump.min_speed, pump.speed, pump.max_speed)
    if not all(_finite(x) and x >= 0 for x in speeds):
        problems.append(f"{where}, field pump: speeds must be numbers ≥ 0")
    elif pump.min_speed > pump.max_speed:
        problems.append(f"{where}, field pump.min_speed: above max_speed")
    elif pump.speed > pump.max_speed:
        problems.append(
            f"{where}, field pump.speed: {pump.speed:g} is above the VFD maximum {pump.max_speed:g}"
        )
    if not (_finite(sub.hx_dp_kpa) and sub.hx_dp_kpa >= 0):
        problems.append(f"{where}, field hx_dp_kpa: must be ≥ 0")
    elif sub.hx_dp_kpa == 0 and pump.shutoff_head_m == pump.design_head_m:
        problems.append(
            f"{where}: a flat pump curve and no heat-exchanger drop leave the pump link "
            "without any resistance"
        )
    return problems


def _pipe_problems(network: Network) -> list[str]:
    """Ends that exist and differ; lengths, diameters, roughness and ζ that the laws accept."""
    problems = []
    nodes = network.nodes
    for pipe in network.pipes:
        for field, node in (("from", pipe.from_node), ("to", pipe.to_node)):
            if node not in nodes:
                problems.append(f"pipe {pipe.id}, field {field}: unknown node {node}")
        if pipe.from_node == pipe.to_node:
            problems.append(f"pipe {pipe.id}: starts and ends at node {pipe.from_node}")
        for field, value, low in (
            ("length_m", pipe.length_m, "> 0"),
            ("inner_diameter_mm", pipe.inner_diameter_mm, "> 0"),
            ("return_inner_diameter_mm", pipe.return_diameter_mm, "> 0"),
            ("roughness_mm", pipe.roughness_mm, "≥ 0"),
            ("zeta", pipe.zeta, "≥ 0"),
        ):
            if not (_finite(value) and (value > 0 if low == "> 0" else value >= 0)):
                problems.append(f"pipe {pipe.id}, field {field}: must be {low} (got {value})")
    return problems


def _inlet_problems(network: Network, c: InletColumns, settings_required: bool) -> list[str]:
    """Device data and the numbers the hydraulic laws need, as array tests (§2.0.4)."""
    code = c.code

    def kind(*names: str) -> np.ndarray:
        return np.isin(code, [DEVICE_TYPES.index(n) for n in names])

    valve = kind("static_valve", "flow_valve", "dp_valve", "electric_valve", "iot_valve")
    ejector = kind(*_EJECTORS)
    pump = kind("distributed_pump")
    setpoint = _column([d.setpoint for d in c.devices])
    mixing = _column([d.mixing_ratio for d in c.devices])
    with np.errstate(invalid="ignore"):
        rules: list[tuple[np.ndarray, str]] = [
            (code < 0, "field device.type: unknown device type {type!r}"),
            (~(c.internal_kpa >= 0), "field internal_dp_kpa: must be ≥ 0"),
            (
                (c.internal_kpa > 0) & (c.design_flow_m3h <= 0),
                "field design_load_kw: it and design_dt_k must be > 0 (they set the design flow)",
            ),
            (
                (valve | ejector) & np.isnan(c.kvs),
                "field device.kvs: required for a valve or ejector ({type})",
            ),
            ((valve | ejector) & (c.kvs <= 0), "field device.kvs: must be > 0 for a {type}"),
            (
                kind("flow_valve") & ~(setpoint >= 0),
                "field device.setpoint: a flow valve needs its flow (m³/h){got}",
            ),
            (
                kind("dp_valve") & ~(setpoint >= 0),
                "field device.setpoint: a ΔP valve needs its ΔP (kPa){got}",
            ),
            (
                ejector & np.isnan(mixing) & settings_required,
                "field device.mixing_ratio: required for an ejector",
            ),
            (ejector & (mixing < 0), "field device.mixing_ratio: must be ≥ 0"),
            (
                pump & ~((c.pump_head_m > 0) & (c.pump_flow_m3h > 0)),
                "field device: a distributed pump needs pump_head_m and pump_flow_m3h > 0",
            ),
            (~c.linear & ~(c.rangeability > 1), "field device.rangeability: must be > 1"),
            (
                ~((c.min_opening >= 0) & (c.max_opening <= 1)),
                "field device.min_opening: openings must lie between 0 and 1",
            ),
            (c.min_opening > c.max_opening, "field device.min_opening: above max_opening"),
            (
                (kind("none", "distributed_pump")) & (c.internal_kpa == 0),
                "no resistance at all (device {type}, internal_dp_kpa 0)",
            ),
        ]
    problems = []
    for mask, text in rules:
        for k in np.flatnonzero(mask):
            got = "" if np.isnan(setpoint[k]) else f", got {c.devices[k].setpoint}"
            sep = ", " if text.startswith("field") else ": "
            problems.append(f"inlet {c.ids[k]}{sep}" + text.format(type=c.type[k], got=got))
    parents = {p for p in c.parent if p is not None}
    for k in np.flatnonzero(kind("dp_valve") & (c.internal_kpa == 0)):
        if c.ids[k] not in parents:
            problems.append(
                f"inlet {c.ids[k]}: a ΔP valve holds its circuit's ΔP, "
                "so internal_dp_kpa must be > 0"
            )
    return problems


def _parent_problems(network: Network) -> list[str]:
    """Nodes and parents exist; households hang off a building at its node; no loops."""
    problems = []
    nodes, inlets = network.nodes, network.inlets
    for inlet in inlets.values():
        where = f"inlet {inlet.id}"
        if inlet.node not in nodes:
            problems.append(f"{where}, field node: unknown node {inlet.node}")
        if inlet.parent is None:
            if inlet.type == "household":
                problems.append(f"{where}, field parent: a household needs its building inlet")
            continue
        parent = inlets.get(inlet.parent)
        if parent is None:
            problems.append(f"{where}, field parent: unknown inlet {inlet.parent}")
        elif parent.type == "household":
            problems.append(f"{where}, field parent: {inlet.parent} is a household")
        elif parent.node != inlet.node:
            problems.append(f"{where}, field node: must be its parent's node {parent.node}")
    rooted: set[str] = set()  # inlets whose chain of parents ends (linear overall)
    for inlet in inlets.values():
        chain = [inlet.id]
        current = inlet
        while current.parent is not None and current.parent in inlets:
            if current.parent in rooted:
                break
            if current.parent in chain:
                problems.append(f"inlet {inlet.id}, field parent: parent links form a loop")
                chain = []
                break
            chain.append(current.parent)
            current = inlets[current.parent]
        rooted.update(chain)
    return problems


def _connectivity_problems(network: Network) -> list[str]:
    """Every node must be reachable from the substation through pipes."""
    neighbours: dict[str, list[str]] = {n: [] for n in network.nodes}
    for pipe in network.pipes:
        neighbours[pipe.from_node].append(pipe.to_node)
        neighbours[pipe.to_node].append(pipe.from_node)
    seen = {network.substation.node}
    todo = [network.substation.node]
    while todo:
        for nxt in neighbours[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return [f"node {n}: not connected to the substation" for n in network.nodes if n not in seen]


def _finite(value: object) -> bool:
    """A real number (not None, not text, not NaN or infinite)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _positive(value: object) -> bool:
    """A finite number above zero."""
    return _finite(value) and value > 0  # type: ignore[operator]


def _column(values: list[object]) -> np.ndarray:
    """Optional numbers as floats; missing or non-numeric values become NaN."""
    try:
        column = np.array(values, dtype=float)  # fast path: None → NaN
    except (TypeError, ValueError):
        return np.array([v if _finite(v) else np.nan for v in values], dtype=float)
    return np.where(np.isfinite(column), column, np.nan)
