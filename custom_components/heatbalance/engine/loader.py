"""Network description files (YAML/JSON) and CSV inlet import, with validation.

The format mirrors :mod:`.model` field for field (docs/network-format.md). Operators write
these by hand and keep their buildings in spreadsheets, so every problem is reported with
the element (or CSV row) and field it concerns, several at once, as a :class:`NetworkError`
— never a traceback. Defaults cover what an operator would not know (envelope, emitter
temperatures, pipe roughness), derived from the design load as documented.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml

from .model import (
    DEVICE_TYPES,
    WEIGHT_RANGE,
    DesignConditions,
    Device,
    Emitter,
    Envelope,
    HeatingCurve,
    Inlet,
    Network,
    Node,
    Pipe,
    Pump,
    Substation,
)
from .validation import network_problems

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10× faster
HEAT_CAPACITY_KJ_PER_M2K = 100.0  # ≈0.1 MJ/(m²·K): a concrete residential building


class NetworkError(ValueError):
    """A network description that cannot be used; the message lists every problem found."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        """Keep the problems; the message names the source once, then one problem a line."""
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))


def _num(value: Any) -> float:
    """A finite number (YAML happily reads ``.nan``, ``1e400`` and ``true``)."""
    if isinstance(value, bool):
        raise vol.Invalid("must be a number")
    number: float = float(value) if type(value) in (float, int) else _FLOAT(value)
    if not math.isfinite(number):
        raise vol.Invalid("must be a finite number")
    return number


_FLOAT = vol.Coerce(float)


def _id(value: Any) -> str:
    """An id: text or a number, not empty (YAML would turn ``id:`` into None)."""
    if type(value) is str:  # the usual case, first
        text = value.strip()
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        raise vol.Invalid("must be a text id")
    else:
        text = str(value).strip()
    if not text:
        raise vol.Invalid("must not be empty")
    return text


def _positive(value: Any) -> float:
    number = _num(value)
    if number <= 0:
        raise vol.Invalid("must be > 0")
    return number


def _fraction(value: Any) -> float:
    number = _num(value)
    if not 0.0 <= number <= 1.0:
        raise vol.Invalid("must be between 0 and 1")
    return number


def _non_negative(value: Any) -> float:
    number = _num(value)
    if number < 0:
        raise vol.Invalid("must be ≥ 0")
    return number


PUMP = vol.Schema(
    {
        vol.Required("design_flow_m3h"): _positive,
        vol.Required("design_head_m"): _positive,
        vol.Optional("shutoff_head_m"): _positive,
        vol.Optional("speed", default=1.0): _fraction,
        vol.Optional("min_speed", default=0.3): _fraction,
        vol.Optional("max_speed", default=1.0): _fraction,
        vol.Optional("efficiency", default=0.7): vol.All(_num, vol.Range(min=0.05, max=1.0)),
    }
)
SUBSTATION = vol.Schema(
    {
        vol.Required("id"): _id,
        vol.Required("node"): _id,
        vol.Optional("name", default=""): str,
        vol.Optional("supply_c"): _num,
        vol.Optional("heating_curve"): vol.All(
            [vol.ExactSequence([_num, _num])], vol.Length(min=2)
        ),
        vol.Optional("static_pressure_kpa", default=200.0): _positive,
        vol.Optional("hx_dp_kpa", default=30.0): _non_negative,
        vol.Required("pump"): PUMP,
    }
)
NODE = vol.Schema(
    {
        vol.Required("id"): _id,
        vol.Optional("elevation_m", default=0.0): _num,
        vol.Optional("x"): _num,
        vol.Optional("y"): _num,
    }
)
PIPE = vol.Schema(
    {
        vol.Required("id"): _id,
        vol.Required("from"): _id,
        vol.Required("to"): _id,
        vol.Required("length_m"): _positive,
        vol.Required("inner_diameter_mm"): _positive,
        vol.Optional("roughness_mm", default=0.1): _non_negative,
        vol.Optional("heat_loss_w_mk"): _non_negative,
        vol.Optional("return_inner_diameter_mm"): _positive,
        vol.Optional("zeta", default=0.0): _non_negative,
    }
)
DEVICE = vol.Schema(
    {
        vol.Optional("type", default="none"): vol.In(DEVICE_TYPES),
        vol.Optional("kvs"): _positive,
        vol.Optional("characteristic", default="equal_percentage"): vol.In(
            ("linear", "equal_percentage")
        ),
        vol.Optional("rangeability", default=30.0): vol.All(_num, vol.Range(min=2.0)),
        vol.Optional("opening", default=1.0): _fraction,
        vol.Optional("setpoint"): _positive,
        vol.Optional("mixing_ratio"): _non_negative,
        vol.Optional("pump_head_m"): _positive,
        vol.Optional("pump_flow_m3h"): _positive,
        vol.Optional("speed", default=1.0): _fraction,
        vol.Optional("min_opening", default=0.0): _fraction,
        vol.Optional("max_opening", default=1.0): _fraction,
    }
)
INLET = vol.Schema(
    {
        vol.Required("id"): _id,
        vol.Optional("name", default=""): vol.Coerce(str),
        vol.Required("type"): vol.In(("building", "unit", "household")),
        vol.Required("node"): _id,
        vol.Optional("parent"): vol.Any(None, _id),
        vol.Required("heating_area_m2"): _positive,
        vol.Exclusive("design_load_kw", "load"): _positive,
        vol.Exclusive("load_w_m2", "load"): _positive,
        vol.Optional("design_dt_k"): _positive,
        vol.Optional("internal_dp_kpa", default=20.0): _positive,
        vol.Optional("room_setpoint_c", default=18.0): vol.All(_num, vol.Range(min=10, max=30)),
        vol.Optional("weight", default=1.0): vol.All(
            _num, vol.Range(min=WEIGHT_RANGE[0], max=WEIGHT_RANGE[1])
        ),
        vol.Optional("envelope", default={}): {
            vol.Optional("ua_w_k"): _positive,
            vol.Optional("heat_capacity_kj_k"): _positive,
            vol.Optional("internal_gains_w", default=0.0): _non_negative,
        },
        vol.Optional("emitter", default={}): {
            vol.Optional("design_supply_c"): _num,
            vol.Optional("design_return_c"): _num,
            vol.Optional("exponent", default=1.3): vol.All(_num, vol.Range(min=1.0, max=2.0)),
        },
        vol.Optional("device", default={}): DEVICE,
    }
)
NETWORK = vol.Schema(
    {
        vol.Required("name"): _id,
        vol.Optional("description", default=""): str,
        vol.Optional("design", default={}): {
            vol.Optional("outdoor_c", default=-9.0): _num,
            vol.Optional("room_c", default=18.0): _num,
            vol.Optional("supply_c", default=60.0): _num,
            vol.Optional("return_c", default=45.0): _num,
        },
        vol.Optional("ground_c", default=8.0): _num,
        vol.Required("substation"): dict,
        vol.Required("nodes"): vol.All(list, vol.Length(min=1)),
        vol.Optional("pipes", default=[]): list,
        vol.Optional("inlets", default=[]): list,
        vol.Optional("inlets_csv"): str,
        vol.Optional("estimates"): list,  # engine/building_list.py: what is estimated, how well
        # an exported network as it is now (the integration's export_network): carried along,
        # not part of the model — what the self-learning model corrected (§3.0.7-3) and the
        # commissioning records (§7.2.6)
        vol.Optional("learned"): dict,
        vol.Optional("commissioning"): list,
    }
)
CSV_FIELDS = {
    "device_type": ("device", "type"),
    "kvs": ("device", "kvs"),
    "characteristic": ("device", "characteristic"),
    "rangeability": ("device", "rangeability"),
    "opening": ("device", "opening"),
    "setpoint": ("device", "setpoint"),
    "mixing_ratio": ("device", "mixing_ratio"),
    "pump_head_m": ("device", "pump_head_m"),
    "pump_flow_m3h": ("device", "pump_flow_m3h"),
    "pump_speed": ("device", "speed"),
    "min_opening": ("device", "min_opening"),
    "max_opening": ("device", "max_opening"),
    "ua_w_k": ("envelope", "ua_w_k"),
    "heat_capacity_kj_k": ("envelope", "heat_capacity_kj_k"),
    "internal_gains_w": ("envelope", "internal_gains_w"),
    "design_supply_c": ("emitter", "design_supply_c"),
    "design_return_c": ("emitter", "design_return_c"),
    "exponent": ("emitter", "exponent"),
}


_FLAT_NAMES: dict[tuple[str, ...], str] = {path: col for col, path in CSV_FIELDS.items()}
CSV_COLUMNS = frozenset(CSV_FIELDS) | frozenset(
    k.schema if isinstance(k, vol.Marker) else k
    for k in INLET.schema
    if (k.schema if isinstance(k, vol.Marker) else k) not in ("device", "envelope", "emitter")
)


def load_network(source: str | Path) -> Network:
    """A built-in network by name, or a YAML/JSON network file."""
    from .networks import builtin_path

    path = builtin_path(str(source)) or Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no such network file or built-in network")
    data = network_data(path.name, path.read_bytes())
    csv_name = data.get("inlets_csv")
    network = parse_network(data, source=path.name)
    if csv_name:
        csv_path = path.parent / str(csv_name)
        if not csv_path.is_file():
            raise NetworkError(path.name, [f"inlets_csv: no file {csv_name}"])
        network = import_inlets_csv(network, csv_path.read_bytes(), source=csv_path.name)
    return network


def network_data(name: str, content: bytes) -> dict[str, Any]:
    """A YAML/JSON network file's content as data (JSON by a ``.json`` name, else YAML):
    the one reading the loader, an upload's check and the network export share."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise NetworkError(name, [f"not UTF-8 text ({err.reason} at byte {err.start})"]) from err
    try:
        json_file = Path(name).suffix.lower() == ".json"
        data = json.loads(text) if json_file else yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        raise NetworkError(name, [f"not valid YAML/JSON: {err}"]) from err
    if not isinstance(data, dict):
        raise NetworkError(name, ["the file must hold a mapping (name, substation, ...)"])
    return data


def parse_network(data: dict[str, Any], name: str = "", source: str | None = None) -> Network:
    """Validate a network description and build the model.

    ``name`` is the network's name when the description has none; ``source`` (default: the
    name) is what error messages start with, normally the file name.
    """
    source = source or name or "network"
    if name and isinstance(data, dict) and "name" not in data:
        data = {**data, "name": name}
    problems: list[str] = []
    top = _validate(NETWORK, data, "network", problems)
    if top is None:
        raise NetworkError(source, problems)
    design = DesignConditions(**top["design"])
    substation = _substation(top["substation"], problems)
    nodes = _elements(top["nodes"], NODE, "node", problems)
    pipes = _elements(top["pipes"], PIPE, "pipe", problems)
    raw_inlets = _elements(top["inlets"], INLET, "inlet", problems)
    inlets = [_inlet(raw, design, problems) for raw in raw_inlets]
    if problems:
        raise NetworkError(source, problems)
    assert substation is not None
    network = Network(
        name=top["name"],
        description=top["description"],
        design=design,
        ground_c=top["ground_c"],
        substation=substation,
        nodes={n["id"]: Node(n["id"], n["elevation_m"], n.get("x"), n.get("y")) for n in nodes},
        pipes=[_pipe(p) for p in pipes],
        inlets={i.id: i for i in inlets if i is not None},
    )
    problems += check_network(
        network,
        ids=[n["id"] for n in nodes],
        pipe_ids=[p["id"] for p in pipes],
        inlet_ids=[i["id"] for i in raw_inlets],
    )
    if problems:
        raise NetworkError(source, problems)
    return network


def check_network(
    network: Network,
    ids: list[str] | None = None,
    pipe_ids: list[str] | None = None,
    inlet_ids: list[str] | None = None,
) -> list[str]:
    """Model checks (duplicates, references, connectivity, parent tree, device data).

    The one rule set of :mod:`.validation`, shared with the hydraulic topology; ``ids`` and
    ``inlet_ids`` are the node and inlet ids as written, for the duplicate check. ``pipe_ids``
    is accepted for compatibility: pipes stay a list in the model, so their duplicates are
    always found.
    """
    del pipe_ids
    return network_problems(network, node_ids=ids, inlet_ids=inlet_ids, settings_required=True)


def network_to_dict(network: Network) -> dict[str, Any]:
    """The description of ``network`` in the file format (round trip with parse_network)."""
    sub = network.substation
    pump = sub.pump
    sub_dict: dict[str, Any] = {
        "id": sub.id,
        "node": sub.node,
        "name": sub.name,
        "static_pressure_kpa": sub.static_pressure_kpa,
        "hx_dp_kpa": sub.hx_dp_kpa,
        "pump": {
            k: getattr(pump, k)
            for k in (
                "design_flow_m3h",
                "design_head_m",
                "shutoff_head_m",
                "speed",
                "min_speed",
                "max_speed",
                "efficiency",
            )
        },
    }
    if sub.supply_c is not None:
        sub_dict["supply_c"] = sub.supply_c
    if sub.heating_curve is not None:
        sub_dict["heating_curve"] = [list(p) for p in sub.heating_curve.points]
    return {
        "name": network.name,
        "description": network.description,
        "design": vars(network.design).copy(),
        "ground_c": network.ground_c,
        "substation": sub_dict,
        "nodes": [
            _drop_none({"id": n.id, "elevation_m": n.elevation_m, "x": n.x, "y": n.y})
            for n in network.nodes.values()
        ],
        "pipes": [_pipe_dict(p) for p in network.pipes],
        "inlets": [_inlet_dict(i) for i in network.inlets.values()],
    }


def import_inlets_csv(
    network: Network, content: str | bytes, source: str = "inlets.csv"
) -> Network:
    """Add (or replace, by id) the inlets of a CSV table; returns a new network.

    Header: the inlet field names of the file format, flat (``device_type``, ``kvs``,
    ``ua_w_k``, …). UTF-8 with or without BOM, GBK as Chinese Excel writes it, ``,`` or ``;``
    as delimiter, decimal commas where ``;`` separates. Errors name the row and field.
    """
    text = _decode(content)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text)))
    except csv.Error as err:  # a NUL byte, a stray carriage return inside a cell
        raise NetworkError(source, [f"not a readable CSV table: {err}"]) from err
    if not rows:
        raise NetworkError(source, ["empty file"])
    header = [h.strip() for h in rows[0]]  # empty names: trailing delimiters Excel adds
    problems = [f"header: unknown column {h}" for h in header if h and h not in CSV_COLUMNS]
    if "id" not in header:
        problems.append("header: needs an id column")
    if problems:
        raise NetworkError(source, problems)
    raw_inlets = []
    plan = _csv_plan(header)
    numbered = [(n, row) for n, row in enumerate(rows[1:], start=2) if "".join(row).strip()]
    checked_rows = _csv_checked(plan, [row for _n, row in numbered])  # blank rows left out
    for (number, row), fast in zip(numbered, checked_rows, strict=True):
        if fast is not None:
            raw_inlets.append((number, fast))
            continue
        before = len(problems)  # something unusual: the schema's walk names it
        checked = _validate(INLET, _csv_row(plan, row), f"row {number}", problems, flat=True)
        if checked is not None and len(problems) == before:
            raw_inlets.append((number, checked))
    design = network.design
    new_inlets = dict(network.inlets)
    for number, raw in raw_inlets:
        inlet = _inlet(raw, design, problems, where=f"row {number}")
        if inlet is not None:
            new_inlets[inlet.id] = inlet
    if problems:
        raise NetworkError(source, problems)
    result = Network(
        name=network.name,
        substation=network.substation,
        nodes=network.nodes,
        pipes=network.pipes,
        inlets=new_inlets,
        design=network.design,
        ground_c=network.ground_c,
        description=network.description,
    )
    ids = [raw["id"] for _n, raw in raw_inlets]
    problems = check_network(result, inlet_ids=ids)
    if problems:
        row_of = {raw["id"]: number for number, raw in raw_inlets}
        raise NetworkError(source, [_in_csv_terms(p, row_of) for p in problems])
    return result


# --- helpers ---------------------------------------------------------------------------------


def _in_csv_terms(problem: str, row_of: dict[str, int]) -> str:
    """``inlet B3, field device.kvs: …`` → ``row 4 (inlet B3), field kvs: …`` for CSV inlets."""
    match = re.match(r"inlet (.+?)([,:].*)$", problem)
    if match is None or match.group(1) not in row_of:
        return problem
    rest = re.sub(
        r"field (device|envelope|emitter)\.(\w+)",
        lambda m: f"field {_FLAT_NAMES.get((m[1], m[2]), m[0][6:])}",
        match.group(2),
    )
    return f"row {row_of[match.group(1)]} (inlet {match.group(1)}){rest}"


def _validate(
    schema: vol.Schema, data: Any, where: str, problems: list[str], flat: bool = False
) -> Any:
    """Run a schema; on failure add one problem per invalid field and return None.

    ``flat``: name nested fields by their CSV column (``kvs``, not ``device.kvs``).
    """
    if id(schema) in _FAST and (checked := _fast(schema, data)) is not None:
        return checked
    try:
        return schema(data)
    except vol.MultipleInvalid as err:
        for e in err.errors:
            field = ".".join(str(p) for p in e.path)
            field = field.replace("<load>", "design_load_kw")  # the Exclusive group's name
            if flat:
                field = _FLAT_NAMES.get(tuple(str(p) for p in e.path), field)
            problems.append(
                f"{where}, field {field}: {_message(e)}" if field else f"{where}: {_message(e)}"
            )
        return None


class _UnusualError(Exception):
    """An input the compiled fast path leaves to voluptuous (which then names the problem)."""


Check = Callable[[Any], Any]


def _compiled(schema: Any, top: bool = True) -> Check:
    """The schema as one plain function: the same field validators, without voluptuous' walk.

    For 23,000 CSV rows voluptuous' generic mapping walk costs seconds; this calls the very
    validators of the schema, fills the same defaults, and raises :class:`_UnusualError` for
    anything else (unknown or missing keys, both of an exclusive pair, a failing value), so
    the caller runs the schema itself and reports voluptuous' messages. One rule set.
    """
    if isinstance(schema, vol.Schema):
        schema = schema.schema
    if isinstance(schema, type):
        kind = schema

        def instance(value: Any) -> Any:
            if not isinstance(value, kind):
                raise _UnusualError
            return value

        return instance
    if isinstance(schema, vol.All):  # voluptuous re-compiles All/Any/In on every call
        return _chain([_compiled(v) for v in schema.validators])
    if isinstance(schema, vol.Any):
        return _first([_compiled(v) for v in schema.validators])
    if isinstance(schema, vol.In):
        return _member(schema.container)
    if not isinstance(schema, dict):
        return schema if callable(schema) else _member((schema,))  # type: ignore[no-any-return]
    mapping = _Mapping(schema)
    return mapping if top else _memo(mapping)


class _Mapping:
    """A mapping schema compiled: its fields' validators and defaults, required keys, exclusive
    groups and nested mappings (which the CSV path validates cell by cell)."""

    def __init__(self, schema: dict[Any, Any]) -> None:
        """Compile every field of ``schema``."""
        self.fields: list[tuple[str, Check, Callable[[], Any] | None]] = []
        self.nested: dict[str, _Mapping] = {}
        self.required: set[str] = set()
        self.fixed: dict[str, Any] = {}  # immutable defaults, validated once
        self.fresh: list[tuple[str, Callable[[], Any]]] = []  # mappings and lists, made per call
        exclusive: dict[str, list[str]] = {}
        for key, value in schema.items():
            name = key.schema if isinstance(key, vol.Marker) else key
            inner = _compiled(value)
            if isinstance(inner, _Mapping):
                self.nested[name] = inner
            check = _memo(inner) if isinstance(inner, _Mapping) else inner
            default: Any = getattr(key, "default", vol.UNDEFINED)
            fill = _default(default, check)
            self.fields.append((name, check, fill))
            if fill is not None and isinstance(default(), dict | list):
                self.fresh.append((name, fill))
            elif fill is not None:
                self.fixed[name] = fill()
            if isinstance(key, vol.Required):
                self.required.add(name)
            if isinstance(key, vol.Exclusive):
                exclusive.setdefault(key.group_of_exclusion, []).append(name)
        self.names = frozenset(f[0] for f in self.fields)
        self.groups = [frozenset(group) for group in exclusive.values()]
        self.checks = {name: check for name, check, _fill in self.fields}

    def __call__(self, data: Any) -> dict[str, Any]:
        """``data`` checked, defaults filled; :class:`_UnusualError` for anything unusual."""
        if not isinstance(data, dict) or not data.keys() <= self.names:
            raise _UnusualError
        if any(len(data.keys() & group) > 1 for group in self.groups):
            raise _UnusualError
        out = {}
        for name, check, fill in self.fields:
            if name in data:
                out[name] = check(data[name])
            elif fill is not None:
                out[name] = fill()
        if not self.required <= out.keys():
            raise _UnusualError
        return out

    def filled(self, given: dict[str, Any]) -> dict[str, Any] | None:
        """Checked fields ``given`` with the defaults filled, as :meth:`__call__` would return
        them; None where it would refuse (both of an exclusive group, a required key missing)."""
        if any(len(given.keys() & group) > 1 for group in self.groups):
            return None
        out = self.fixed | given
        for name, fill in self.fresh:
            if name not in given:
                out[name] = fill()
        return out if self.required <= out.keys() else None


def _memo(check: Check, size: int = 256) -> Check:
    """``check`` remembering its first ``size`` distinct inputs (validators are pure).

    Households of a building repeat their device and emitter data: 23,000 rows, a dozen
    distinct devices.
    """
    seen: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}

    def memo(data: Any) -> Any:
        try:
            key = tuple(data.items())
            hit = seen.get(key)
        except (AttributeError, TypeError):  # not a mapping, or unhashable values
            return check(data)
        if hit is None:
            hit = check(data)
            if len(seen) < size:
                seen[key] = hit
        return dict(hit)

    return memo


def _default(default: Any, check: Check) -> Callable[[], Any] | None:
    """What a missing optional field becomes: its default, validated (once when immutable)."""
    if default is vol.UNDEFINED:
        return None
    if isinstance(default(), dict | list):
        return lambda: check(default())
    fixed = check(default())
    return lambda: fixed


def _chain(checks: list[Check]) -> Check:
    """All validators in turn, each on the previous one's output."""

    def chain(value: Any) -> Any:
        for check in checks:
            value = check(value)
        return value

    return chain


def _first(checks: list[Check]) -> Check:
    """The first validator that accepts the value."""

    def first(value: Any) -> Any:
        for check in checks:
            try:
                return check(value)
            except (_UnusualError, vol.Invalid, TypeError, ValueError):
                continue
        raise _UnusualError

    return first


def _member(container: Any) -> Check:
    """The value itself when it is one of ``container``."""

    def member(value: Any) -> Any:
        if value not in container:
            raise _UnusualError
        return value

    return member


def _fast(schema: vol.Schema, data: Any) -> Any:
    """``schema(data)`` through the compiled path; None where voluptuous must look."""
    try:
        return _FAST[id(schema)](data)
    except (_UnusualError, vol.Invalid, TypeError, ValueError):
        return None


_INLET_CHECK = _Mapping(INLET.schema)
_FAST: dict[int, Check] = {id(INLET): _INLET_CHECK}


def _message(err: vol.Invalid) -> str:
    """voluptuous messages in the words an operator reads."""
    msg = err.msg
    if isinstance(err, vol.ExclusiveInvalid):
        return "give design_load_kw or load_w_m2, not both"
    if msg in ("expected a dictionary", "expected a mapping", "expected dict"):
        return "must be a mapping (key: value)"
    if msg == "required key not provided":
        return "missing"
    if msg.startswith("extra keys not allowed") or msg == "not a valid option":
        return "unknown field"
    if msg == "expected list":
        return "must be a list"
    if msg.startswith("expected float"):
        return "must be a number"
    return msg


def _elements(
    items: list[Any], schema: vol.Schema, kind: str, problems: list[str]
) -> list[dict[str, Any]]:
    """Validate a list of elements, naming each by id (or position)."""
    good = []
    for pos, item in enumerate(items, start=1):
        ident = item.get("id") if isinstance(item, dict) else None
        usable = isinstance(ident, str | int | float) and str(ident).strip()
        name = str(ident).strip() if usable else f"#{pos}"
        checked = _validate(schema, item, f"{kind} {name}", problems)
        if checked is not None:
            good.append(checked)
    return good


def _substation(raw: dict[str, Any], problems: list[str]) -> Substation | None:
    """The substation, or None with problems added."""
    checked = _validate(SUBSTATION, raw, f"substation {raw.get('id', '')}".strip(), problems)
    if checked is None:
        return None
    if "supply_c" not in checked and "heating_curve" not in checked:
        problems.append(f"substation {checked['id']}: needs supply_c or heating_curve")
        return None
    p = checked["pump"]
    shutoff = p.get("shutoff_head_m", 1.25 * p["design_head_m"])
    if shutoff <= p["design_head_m"]:
        problems.append(
            f"substation {checked['id']}, field pump.shutoff_head_m: must exceed design_head_m"
        )
        return None
    pump = Pump(
        p["design_flow_m3h"],
        p["design_head_m"],
        shutoff,
        p["speed"],
        p["min_speed"],
        p["max_speed"],
        p["efficiency"],
    )
    curve = checked.get("heating_curve")
    return Substation(
        id=checked["id"],
        node=checked["node"],
        pump=pump,
        supply_c=checked.get("supply_c"),
        heating_curve=HeatingCurve([tuple(x) for x in curve]) if curve else None,  # type: ignore[misc]
        static_pressure_kpa=checked["static_pressure_kpa"],
        hx_dp_kpa=checked["hx_dp_kpa"],
        name=checked["name"],
    )


def _pipe(p: dict[str, Any]) -> Pipe:
    """A pipe pair; heat loss defaults from the diameter (insulated pre-fabricated pipe)."""
    loss = p.get("heat_loss_w_mk")
    if loss is None:
        loss = 0.1 + 0.0015 * p["inner_diameter_mm"]  # ≈0.25 W/(m·K) at DN100
    return Pipe(
        id=p["id"],
        from_node=p["from"],
        to_node=p["to"],
        length_m=p["length_m"],
        inner_diameter_mm=p["inner_diameter_mm"],
        roughness_mm=p["roughness_mm"],
        heat_loss_w_mk=loss,
        return_inner_diameter_mm=p.get("return_inner_diameter_mm"),
        zeta=p["zeta"],
    )


def _inlet(
    raw: dict[str, Any], design: DesignConditions, problems: list[str], where: str | None = None
) -> Inlet | None:
    """An inlet with defaults filled from the design conditions and its load."""
    where = where or f"inlet {raw['id']}"
    if "design_load_kw" in raw:
        load = raw["design_load_kw"]
    elif "load_w_m2" in raw:
        load = raw["load_w_m2"] * raw["heating_area_m2"] / 1000.0
    else:
        problems.append(f"{where}, field design_load_kw: missing (or give load_w_m2)")
        return None
    if design.room_c <= design.outdoor_c:
        problems.append("design: room_c must be above outdoor_c")
        return None
    env, em, dev = raw["envelope"], raw["emitter"], raw["device"]
    supply = em.get("design_supply_c", design.supply_c)
    ret = em.get("design_return_c", design.return_c)
    if ret >= supply or ret <= design.room_c:
        problems.append(f"{where}, field emitter: need room < design return < design supply")
        return None
    return Inlet(
        id=raw["id"],
        name=raw["name"],
        type=raw["type"],
        node=raw["node"],
        parent=raw.get("parent"),
        heating_area_m2=raw["heating_area_m2"],
        design_load_kw=load,
        design_dt_k=raw.get("design_dt_k", supply - ret),
        internal_dp_kpa=raw["internal_dp_kpa"],
        room_setpoint_c=raw["room_setpoint_c"],
        weight=raw["weight"],
        envelope=Envelope(
            ua_w_k=env.get("ua_w_k", load * 1000.0 / (design.room_c - design.outdoor_c)),
            heat_capacity_kj_k=env.get(
                "heat_capacity_kj_k", HEAT_CAPACITY_KJ_PER_M2K * raw["heating_area_m2"]
            ),
            internal_gains_w=env["internal_gains_w"],
        ),
        emitter=Emitter(supply, ret, design.room_c, em["exponent"]),
        device=Device(**dev),
    )


def _pipe_dict(p: Pipe) -> dict[str, Any]:
    return _drop_none(
        {
            "id": p.id,
            "from": p.from_node,
            "to": p.to_node,
            "length_m": p.length_m,
            "inner_diameter_mm": p.inner_diameter_mm,
            "roughness_mm": p.roughness_mm,
            "heat_loss_w_mk": p.heat_loss_w_mk,
            "return_inner_diameter_mm": p.return_inner_diameter_mm,
            "zeta": p.zeta,
        }
    )


def _inlet_dict(i: Inlet) -> dict[str, Any]:
    return _drop_none(
        {
            "id": i.id,
            "name": i.name,
            "type": i.type,
            "node": i.node,
            "parent": i.parent,
            "heating_area_m2": i.heating_area_m2,
            "design_load_kw": i.design_load_kw,
            "design_dt_k": i.design_dt_k,
            "internal_dp_kpa": i.internal_dp_kpa,
            "room_setpoint_c": i.room_setpoint_c,
            "weight": i.weight,
            "envelope": vars(i.envelope).copy(),
            "emitter": {
                "design_supply_c": i.emitter.design_supply_c,
                "design_return_c": i.emitter.design_return_c,
                "exponent": i.emitter.exponent,
            },
            "device": _drop_none(vars(i.device).copy()),
        }
    )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _decode(content: str | bytes) -> str:
    """UTF-8 (BOM or not), else GBK as Chinese Excel saves CSV."""
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("gbk", errors="replace")


def _dialect(text: str) -> type[csv.Dialect]:
    """``;`` when the header uses it (European/Chinese Excel), else ``,``."""
    first = text.splitlines()[0] if text else ""
    return _Semicolon if first.count(";") > first.count(",") else csv.excel


class _Semicolon(csv.excel):
    delimiter = ";"


_TEXT_COLUMNS = frozenset(("id", "name", "node", "parent", "type"))


def _csv_plan(header: list[str]) -> list[tuple[int, str | None, str, bool]]:
    """Per used column: its index, group (``device``, … or None), key and whether numeric."""
    plan: list[tuple[int, str | None, str, bool]] = []
    for k, name in enumerate(header):
        if not name:
            continue
        group, key = CSV_FIELDS.get(name, (None, name))
        plan.append((k, group, key, group is not None or name not in _TEXT_COLUMNS))
    return plan


def _csv_row(plan: list[tuple[int, str | None, str, bool]], row: list[str]) -> dict[str, Any]:
    """One CSV row as a nested inlet mapping; empty cells are left out."""
    raw: dict[str, Any] = {}
    width = len(row)
    for k, group, key, numeric in plan:
        if k >= width:
            break
        value = row[k].strip()
        if not value:
            continue
        cell = _number_or_text(value) if numeric else value
        if group is None:
            raw[key] = cell
        elif (nested := raw.get(group)) is None:  # setdefault would build a dict per cell
            raw[group] = {key: cell}
        else:
            nested[key] = cell
    return raw


_EMPTY = object()  # an empty cell: the field is left out
_BAD = object()  # a cell its validator refuses: the row goes to the schema for the message
_Plan = list[tuple[int, str | None, str, bool]]


def _csv_checked(plan: _Plan, rows: list[list[str]]) -> list[dict[str, Any] | None]:
    """CSV rows as the inlet schema checks them, column by column; None for a row with anything
    unusual (a refused cell, a missing required field, both of an exclusive pair), which the
    caller gives to the schema for its message (:func:`_csv_row`, :func:`_validate`).

    The same validators, defaults, required keys and exclusive groups as the compiled schema
    (:class:`_Mapping`), so a row gets what ``_fast(INLET, _csv_row(plan, row))`` gives it. Each
    distinct cell of a column is converted and validated once (23,000 households repeat a few
    dozen values in most columns), whole columns of numbers at once; rows are then put together
    from the columns with C-level zips instead of a Python step per cell.
    """
    top = _INLET_CHECK
    count = len(rows)
    # a missing trailing cell is an empty one (csv rows may be short)
    columns = list(itertools.zip_longest(*rows, fillvalue="")) if rows else []
    parts: dict[str | None, _Part] = {group: _Part() for group in (None, *top.nested)}
    for k, group, key, numeric in plan:
        mapping = top if group is None else top.nested[group]
        cells = columns[k] if k < len(columns) else ("",) * count
        parts[group].add(key, cells, numeric, mapping.checks[key])
    names = list(top.nested)
    nested = [parts[name].rows(count, top.nested[name]) for name in names]
    out, refused = parts[None].rows(count, top, names, [rows for rows, _refused in nested])
    for k in refused.union(*(refused for _rows, refused in nested)):
        out[k] = None
    return out


class _Part:
    """The columns of one mapping (the inlet's own fields, or a nested group's)."""

    def __init__(self) -> None:
        """No columns yet."""
        self.keys: list[str] = []
        self.columns: list[list[Any]] = []
        self.empty: set[int] = set()  # rows with an empty cell in these columns
        self.bad: set[int] = set()  # rows with a refused cell

    def add(self, key: str, cells: tuple[str, ...], numeric: bool, check: Check) -> None:
        """A column: its cells as the validator leaves them."""
        values, special = _column(cells, numeric, check)
        self.keys.append(key)
        self.columns.append(values)
        for k, value in enumerate(values) if special else ():
            if value is _EMPTY:
                self.empty.add(k)
            elif value is _BAD:
                self.bad.add(k)

    def rows(
        self,
        count: int,
        mapping: _Mapping,
        more_keys: list[str] | None = None,
        more_columns: list[list[Any]] | None = None,
    ) -> tuple[list[dict[str, Any] | None], set[int]]:
        """Per row, the given (non-empty) fields filled by ``mapping`` (and ``more_keys``, whose
        values are given in ``more_columns``), and the rows refused (None in the list): a
        refused cell, or a row the mapping refuses."""
        keys = self.keys + (more_keys or [])
        columns = self.columns + (more_columns or [])
        whole = mapping.filled(dict.fromkeys(keys))  # the verdict on a row without empty cells
        usual = whole is not None and all(name in keys for name, _fill in mapping.fresh)
        out: list[dict[str, Any] | None] = [{} for _ in range(count)]
        fixed = {k: v for k, v in mapping.fixed.items() if k not in keys}
        if usual and (columns or fixed):  # a dict per row, defaults included, no Python step
            repeats = (itertools.repeat(v, count) for v in fixed.values())
            every = zip(*columns, *repeats, strict=True)
            out = list(map(dict, map(zip, itertools.repeat(keys + list(fixed)), every)))
        refused = set(self.bad)
        for k in self.empty if usual else range(count):
            given = {
                key: value
                for key, column in zip(keys, columns, strict=True)
                if (value := column[k]) is not _EMPTY
            }
            filled = mapping.filled(given)
            out[k] = filled
            if filled is None:
                refused.add(k)
        return out, refused


def _column(cells: tuple[str, ...], numeric: bool, check: Check) -> tuple[list[Any], bool]:
    """A column's cells as its field's validator leaves them, :data:`_EMPTY` or :data:`_BAD`,
    and whether there is any of those; each distinct cell once, plain numbers in one go."""
    bulk = _FLOAT_RULES.get(check) if numeric else None
    if bulk is not None:
        try:
            floats = list(map(float, cells))  # float() ignores the white space strip() removes
        except ValueError:  # an empty cell, a decimal comma, text: cell by cell
            pass
        else:
            if not floats or (math.isfinite(sum(floats)) and bulk(min(floats), max(floats))):
                return floats, False
    table = {cell: _cell(cell, numeric, check) for cell in set(cells)}
    special = any(v is _EMPTY or v is _BAD for v in table.values())
    return list(map(table.__getitem__, cells)), special


_FLOAT_RULES: dict[Check, Callable[[float, float], bool]] = {
    _num: lambda low, high: True,
    _positive: lambda low, high: low > 0,
    _non_negative: lambda low, high: low >= 0,
    _fraction: lambda low, high: low >= 0 and high <= 1,
}  # what each leaves a finite float alone for, tested on the column's least and greatest


def _cell(cell: str, numeric: bool, check: Check) -> Any:
    """A cell as its field's validator leaves it; :data:`_EMPTY` or :data:`_BAD` otherwise."""
    text = cell.strip()
    if not text:
        return _EMPTY
    try:
        return check(_number_or_text(text) if numeric else text)
    except (_UnusualError, vol.Invalid, TypeError, ValueError):
        return _BAD


def _number_or_text(value: str) -> Any:
    """Numbers as floats (a decimal comma accepted); text as it is."""
    try:
        return float(value.replace(",", ".") if "," in value else value)
    except ValueError:
        return value
