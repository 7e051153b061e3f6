"""Network model of a heating secondary network (substation → pipes → thermal inlets).

Plain dataclasses, no Home Assistant: the loader builds them from YAML/JSON/CSV, the solver
and simulator read them, the controllers change device settings through them.

Topology is described once, as *pipe pairs*: every pipe runs a supply pipe from ``from_node``
to ``to_node`` and a return pipe back, as in every two-pipe secondary network. The solver
expands the pairs into separate supply and return hydraulic nodes, so loops are allowed.

Units at this interface: m, mm, m³/h, kPa, °C, kW, W/(m·K); the solver works in SI.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from itertools import pairwise
from typing import Any, Literal, get_args

WATER_DENSITY = 983.2  # kg/m³ at about 60 °C, the middle of secondary-network temperatures
WATER_CP = 4186.0  # J/(kg·K)
GRAVITY = 9.81  # m/s²
WEIGHT_RANGE = (0.5, 2.0)  # §5.3.6-5 manual weighting: the range of an inlet's weight

InletType = Literal["building", "unit", "household"]
Characteristic = Literal["linear", "equal_percentage"]
# §2.0.4: the balancing devices the standard names, plus "none" for an unregulated inlet.
DeviceType = Literal[
    "none",
    "static_valve",
    "flow_valve",
    "dp_valve",
    "electric_valve",
    "iot_valve",
    "manual_ejector",
    "electric_ejector",
    "distributed_pump",
]
DEVICE_TYPES: tuple[str, ...] = get_args(DeviceType)
VALVE_TYPES: frozenset[str] = frozenset(
    {"static_valve", "flow_valve", "dp_valve", "electric_valve", "iot_valve"}
)
# §4.3.1: devices a controller may move remotely (intermediate and advanced levels).
ACTUATED_TYPES: frozenset[str] = frozenset(
    {"electric_valve", "iot_valve", "electric_ejector", "distributed_pump"}
)


def design_flow_m3h(load_kw: float, delta_t_k: float) -> float:
    """Flow that carries ``load_kw`` at a temperature drop of ``delta_t_k``."""
    return load_kw * 1000.0 / (WATER_DENSITY * WATER_CP * delta_t_k) * 3600.0


@dataclass
class HeatingCurve:
    """Substation supply temperature as a function of outdoor temperature (§3.0.6 static model).

    Points are (outdoor °C, supply °C); between them the curve is linear, outside it is flat.
    """

    points: list[tuple[float, float]]

    def supply_c(self, outdoor_c: float) -> float:
        """Supply temperature for ``outdoor_c``."""
        pts = sorted(self.points)
        if outdoor_c <= pts[0][0]:
            return pts[0][1]
        for (x0, y0), (x1, y1) in pairwise(pts):
            if outdoor_c <= x1:
                return y0 + (y1 - y0) * (outdoor_c - x0) / (x1 - x0)
        return pts[-1][1]


@dataclass
class Pump:
    """Circulation pump with a quadratic head curve and a variable-speed drive.

    Head at relative speed ``s`` and flow ``Q``: ``H = shutoff_head_m·s² − k·Q²`` with ``k`` from
    the design point (affinity laws). Power is hydraulic power over ``efficiency``.
    """

    design_flow_m3h: float
    design_head_m: float
    shutoff_head_m: float
    speed: float = 1.0
    min_speed: float = 0.3
    max_speed: float = 1.0
    efficiency: float = 0.7

    @property
    def curve_k(self) -> float:
        """Head-curve coefficient k in m/(m³/h)²."""
        return (self.shutoff_head_m - self.design_head_m) / self.design_flow_m3h**2

    def head_m(self, flow_m3h: float, speed: float | None = None) -> float:
        """Head the pump delivers at ``flow_m3h`` and ``speed`` (default: its current speed)."""
        s = self.speed if speed is None else speed
        return self.shutoff_head_m * s * s - self.curve_k * flow_m3h * abs(flow_m3h)

    def power_w(self, flow_m3h: float, head_m: float) -> float:
        """Electric power drawn for a duty point."""
        return WATER_DENSITY * GRAVITY * (flow_m3h / 3600.0) * max(head_m, 0.0) / self.efficiency


@dataclass
class Substation:
    """Heat-exchanger substation: the network's source of heat and head."""

    id: str
    node: str
    pump: Pump
    supply_c: float | None = None
    heating_curve: HeatingCurve | None = None
    static_pressure_kpa: float = 200.0  # pressurisation held at the return header
    hx_dp_kpa: float = 30.0  # heat-exchanger pressure drop at the pump's design flow
    name: str = ""

    def supply_temperature_c(self, outdoor_c: float) -> float:
        """Supply temperature leaving the substation at ``outdoor_c``."""
        if self.heating_curve is not None:
            return self.heating_curve.supply_c(outdoor_c)
        if self.supply_c is None:
            raise ValueError(f"substation {self.id} has neither supply_c nor heating_curve")
        return self.supply_c


@dataclass
class Node:
    """A branching point of the network (supply and return side share its id)."""

    id: str
    elevation_m: float = 0.0
    x: float | None = None
    y: float | None = None


@dataclass
class Pipe:
    """A supply/return pipe pair between two nodes."""

    id: str
    from_node: str
    to_node: str
    length_m: float
    inner_diameter_mm: float
    roughness_mm: float = 0.1
    heat_loss_w_mk: float = 0.25  # per metre of one pipe, per K above ``Network.ground_c``
    return_inner_diameter_mm: float | None = None
    zeta: float = 0.0  # sum of minor-loss coefficients along one pipe

    @property
    def return_diameter_mm(self) -> float:
        """Inner diameter of the return pipe (the supply one unless given)."""
        return self.return_inner_diameter_mm or self.inner_diameter_mm


@dataclass
class Device:
    """The balancing device at an inlet (§2.0.4) and its current setting.

    ``opening`` is the valve position 0…1. ``setpoint`` is a flow in m³/h for a self-operated
    flow valve and a differential pressure in kPa for a self-operated ΔP valve. Ejectors use
    ``mixing_ratio`` (return water re-circulated per unit of network water); distributed pumps
    use ``pump_head_m``/``pump_flow_m3h`` at full speed and ``speed``.
    """

    type: DeviceType = "none"
    kvs: float | None = None
    characteristic: Characteristic = "equal_percentage"
    rangeability: float = 30.0
    opening: float = 1.0
    setpoint: float | None = None
    mixing_ratio: float | None = None
    pump_head_m: float | None = None
    pump_flow_m3h: float | None = None
    speed: float = 1.0
    min_opening: float = 0.0
    max_opening: float = 1.0

    @property
    def actuated(self) -> bool:
        """Whether a controller can move it remotely (§4.3.1)."""
        return self.type in ACTUATED_TYPES

    def kv(self, opening: float | None = None) -> float:
        """Kv (m³/h at 100 kPa) at ``opening`` from the valve characteristic.

        Equal-percentage: ``Kv = Kvs·R^(h−1)``, closing linearly to zero below ``1/R`` so a
        closed valve really closes; linear: ``Kv = Kvs·h``.
        """
        if self.kvs is None:
            raise ValueError("device has no kvs")
        h = min(max(self.opening if opening is None else opening, 0.0), 1.0)
        if self.characteristic == "linear":
            return self.kvs * h
        r = self.rangeability
        knee = 1.0 / r
        if h >= knee:
            return float(self.kvs * r ** (h - 1.0))
        return float(self.kvs * r ** (knee - 1.0) * h / knee)


@dataclass
class Envelope:
    """Building envelope lumped into one UA and one heat capacity."""

    ua_w_k: float
    heat_capacity_kj_k: float
    internal_gains_w: float = 0.0


@dataclass
class Emitter:
    """Radiators or floor heating: design output at design temperatures, exponent ≈1.3."""

    design_supply_c: float
    design_return_c: float
    design_room_c: float = 18.0
    exponent: float = 1.3


@dataclass
class Inlet:
    """A thermal inlet (§2.0.3): building/unit type or household type.

    A building inlet either heats its own emitter (no children), or feeds household inlets
    whose ``parent`` is its id. Then its device sits on the supply side of the building's
    service connection, between the street node ``node`` and a building supply node; the
    households (``node`` equal to the parent's) draw from that building supply node and return
    straight to the street return node. ``internal_dp_kpa`` is the pressure drop of the heated
    circuit (risers, emitters) at design flow without the balancing device; for a building with
    households it is the service connection's own drop at the building's design flow.
    """

    id: str
    type: InletType
    node: str
    design_load_kw: float
    design_dt_k: float
    heating_area_m2: float
    internal_dp_kpa: float
    device: Device
    envelope: Envelope
    emitter: Emitter
    name: str = ""
    parent: str | None = None
    room_setpoint_c: float = 18.0
    weight: float = 1.0  # §5.3.6-5 manual weighting of special buildings

    @property
    def design_flow_m3h(self) -> float:
        """Design flow from design load and design ΔT."""
        return design_flow_m3h(self.design_load_kw, self.design_dt_k)


@dataclass
class DesignConditions:
    """The design point the network was dimensioned for."""

    outdoor_c: float = -9.0
    room_c: float = 18.0
    supply_c: float = 60.0
    return_c: float = 45.0


@dataclass
class Network:
    """A whole secondary network."""

    name: str
    substation: Substation
    nodes: dict[str, Node]
    pipes: list[Pipe]
    inlets: dict[str, Inlet]
    design: DesignConditions = field(default_factory=DesignConditions)
    ground_c: float = 8.0
    description: str = ""

    def copy(self) -> Network:
        """A deep copy, as ``copy.deepcopy`` makes it (objects shared inside the network stay
        shared in the copy), ≈5× faster: the controller, its planner and the simulator each
        keep their own copy, and deepcopy of a 23,000-inlet network took 0.55 s CPU."""
        copied: Network = _deep_copy(self, {})
        return copied

    def children(self, inlet_id: str) -> list[Inlet]:
        """Household inlets fed through building inlet ``inlet_id``."""
        return [i for i in self.inlets.values() if i.parent == inlet_id]

    def children_by_parent(self) -> dict[str, list[Inlet]]:
        """Every building's households in one pass (``children`` per inlet is O(n²): with
        23,000 households that alone took 46 s)."""
        out: dict[str, list[Inlet]] = {}
        for inlet in self.inlets.values():
            if inlet.parent is not None:
                out.setdefault(inlet.parent, []).append(inlet)
        return out

    def terminal_inlets(self) -> list[Inlet]:
        """Inlets that heat something themselves (no children)."""
        parents = {i.parent for i in self.inlets.values() if i.parent}
        return [i for i in self.inlets.values() if i.id not in parents]


_ATOMS = frozenset({int, float, str, bool, type(None)})


def _deep_copy(obj: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy`` for the model's plain dataclasses, dicts and lists; anything else
    (and any subclass) goes to ``copy.deepcopy`` with the same memo."""
    kind = type(obj)
    if kind in _ATOMS:
        return obj
    done = memo.get(id(obj))
    if done is not None:
        return done
    if kind is dict:
        out: Any = {}
        memo[id(obj)] = out
        for key, value in obj.items():
            out[key if type(key) in _ATOMS else _deep_copy(key, memo)] = (
                value if type(value) in _ATOMS else _deep_copy(value, memo)
            )
        return out
    if kind is list:
        out = []
        memo[id(obj)] = out
        out.extend(v if type(v) in _ATOMS else _deep_copy(v, memo) for v in obj)
        return out
    nested = _NESTED.get(kind)
    if nested is not None:
        out = memo[id(obj)] = object.__new__(kind)
        state = obj.__dict__.copy()
        for name in nested:  # the fields that may hold objects; the rest are scalars
            value = state[name]
            if type(value) not in _ATOMS:
                state[name] = _deep_copy(value, memo)
        out.__dict__ = state
        return out
    return copy.deepcopy(obj, memo)


_SCALAR_TYPES = {"int", "float", "str", "bool", "None", "DeviceType", "Characteristic", "InletType"}


def _nested_fields(cls: type) -> tuple[str, ...]:
    """Fields of a model dataclass whose annotation allows more than scalars."""
    return tuple(
        f.name
        for f in fields(cls)
        if not {t.strip() for t in str(f.type).split("|")} <= _SCALAR_TYPES
    )


# the model's own dataclasses (plain attributes, no slots, no __deepcopy__ of their own) and
# the fields of each that may hold objects
_MODEL_CLASSES = (HeatingCurve, Pump, Substation, Node, Pipe, Device, Envelope, Emitter, Inlet)
_NESTED = {cls: _nested_fields(cls) for cls in (*_MODEL_CLASSES, DesignConditions, Network)}
