"""Networks from a building list: what a small operator has instead of a hydraulic model.

A building list is a spreadsheet with a row per building: its name and heated area, and as
far as known its design load (or the heat index), its order along the main, the distance
from the previous building, the main pipe's size, the valve's Kvs. From that the engine builds
a complete network (docs/network-format.md, "Building lists"):

- one main line from the substation past every building in the given order, a service pipe
  from the main to each building;
- design loads as given, else heated area × heat index (the row's, else 50 W/m²);
- pipe lengths as given (distance to the previous building), else 40 m on the main and 15 m
  for a service pipe;
- pipe sizes as given (DN), else the smallest standard size whose specific pressure drop at
  design flow stays within 100 Pa/m (the usual 30–100 Pa/m design rule);
- an electric valve per building, Kvs as given, else the standard Kvs nearest a 15 kPa drop
  at design flow; the pump for the total flow and the farthest building's head + 10 %.

Every value the list did not give is an :class:`Estimate` with a relative uncertainty, so the
operator sees what is guessed and how well; the model-based controller identifies each
branch's true resistance from flows and pressures as they arrive (control/identification.py).

Every problem of a list is reported at once (:class:`BuildingListError`), each with sheet,
row, column and what to write instead, in English or Chinese (:meth:`Problem.text`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from .model import (
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
from .networks.generator import INNER_DIAMETERS_MM, KVS_SERIES, _design_head_m, _pa_per_m
from .tables import Table, TableError, column_letter, read_table

NOMINAL_DN = (
    25,
    32,
    40,
    50,
    65,
    80,
    100,
    125,
    150,
    200,
    250,
    300,
    350,
    400,
    450,
    500,
    550,
    600,
    650,
    700,
    800,
    900,
    1000,
    1200,
)  # the DN of each size in generator.INNER_DIAMETERS_MM (EN 253)
INNER_MM_OF_DN = dict(zip(NOMINAL_DN, INNER_DIAMETERS_MM, strict=True))
DESIGN_PA_PER_M = 100.0  # upper end of the usual 30–100 Pa/m rule
DEFAULT_HEAT_INDEX_W_M2 = 50.0  # residential building of the 1990s–2000s, northern China
MAIN_SPACING_M = 40.0
SERVICE_LENGTH_M = 15.0
VALVE_DP_KPA = 15.0
INTERNAL_DP_KPA = 20.0
DESIGN = DesignConditions(outdoor_c=-9.0, room_c=18.0, supply_c=60.0, return_c=45.0)
# Relative uncertainty (±) of each estimate, as the operator is shown it.
UNCERTAINTY = {
    "load_from_index": 0.15,  # the row's own heat index: an energy survey, roughly
    "load_from_default": 0.30,  # a typical heat index for an unknown building
    "length": 0.5,
    "diameter": 0.5,  # resistance: one standard size either way
    "kvs": 0.1,
    "internal_dp": 0.5,
}

# canonical column → (English template header, Chinese template header, other spellings)
COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "name": ("name", "名称", ("building", "建筑", "楼栋", "建筑名称", "楼号")),
    "heated_area_m2": (
        "heated_area_m2",
        "供暖面积_m2",
        ("heating_area_m2", "area_m2", "area", "heated area", "面积", "供暖面积", "采暖面积"),
    ),
    "design_load_kw": (
        "design_load_kw",
        "设计热负荷_kW",
        ("load_kw", "design load", "热负荷", "设计热负荷", "设计负荷"),
    ),
    "heat_index_w_m2": (
        "heat_index_w_m2",
        "热指标_W/m2",
        ("load_w_m2", "heat index", "热指标", "面积热指标"),
    ),
    "order": ("order", "顺序", ("position", "sequence", "序号", "位置")),
    "distance_m": (
        "distance_m",
        "距离_m",
        ("distance", "length_m", "距前一栋距离_m", "距离", "管长_m"),
    ),
    "pipe_dn": ("pipe_dn", "管径_DN", ("dn", "pipe size", "管径", "干管管径")),
    "valve_kvs": ("valve_kvs", "阀门_Kvs", ("kvs", "阀门kvs")),
    "internal_dp_kpa": (
        "internal_dp_kpa",
        "户内压降_kPa",
        ("internal dp", "楼内压降_kPa", "户内压降", "楼内压降"),
    ),
}
REQUIRED = ("name", "heated_area_m2")
# plausible range, unit, example for every numeric column
RANGES: dict[str, tuple[float, float, str, str]] = {
    "heated_area_m2": (10.0, 1e6, "m²", "3200"),
    "design_load_kw": (1.0, 1e5, "kW", "160"),
    "heat_index_w_m2": (10.0, 250.0, "W/m²", "50"),
    "order": (0.0, 1e5, "", "3"),
    "distance_m": (1.0, 5000.0, "m", "45"),
    "pipe_dn": (15.0, 1200.0, "DN", "80"),
    "valve_kvs": (0.1, 1000.0, "m³/h", "10"),
    "internal_dp_kpa": (1.0, 200.0, "kPa", "20"),
}


# --- problems -------------------------------------------------------------------------------
MESSAGES: dict[str, tuple[str, str]] = {
    "unreadable": ("not a readable table: {detail}", "无法读取表格：{detail}"),
    "empty": ("no building rows under the header", "表头下没有建筑行"),
    "unknown_column": (
        "unknown column '{value}'; use one of: {choices}",
        "未知列“{value}”；请使用以下之一：{choices}",
    ),
    "duplicate_column": (
        "column '{value}' appears twice (also column {other}); keep one",
        "列“{value}”出现两次（另见 {other} 列）；只保留一列",
    ),
    "missing_column": (
        "no column '{value}'; add it to the header row",
        "缺少“{value}”列；请在表头行加上该列",
    ),
    "missing": ("empty; write {what}, e.g. {example}", "为空；请填写{what}，例如 {example}"),
    "not_number": (
        "'{value}' is not a number; write only the number in {unit}, e.g. {example}",
        "“{value}”不是数字；只填写数字（单位 {unit}），例如 {example}",
    ),
    "ambiguous_number": (
        "'{value}' is ambiguous (thousands separator or decimal comma?); write {a} or {b}",
        "“{value}”有歧义（千位分隔符还是小数逗号？）；请写 {a} 或 {b}",
    ),
    "out_of_range": (
        "{value} {unit} is outside {low}–{high} {unit}; check the value and its unit",
        "{value} {unit} 超出 {low}–{high} {unit}；请检查数值和单位",
    ),
    "implied_index": (
        "design load over area is {value} W/m², outside 10–250 W/m²; is the load in kW and "
        "the area in m²?",
        "设计热负荷除以面积为 {value} W/m²，超出 10–250 W/m²；负荷单位是否为 kW、面积是否为 m²？",
    ),
    "not_whole": (
        "'{value}' must be a whole number, e.g. {example}",
        "“{value}”必须是整数，例如 {example}",
    ),
    "unknown_dn": (
        "DN {value} is not a standard size; write one of {choices}",
        "DN {value} 不是标准管径；请填写以下之一：{choices}",
    ),
    "duplicate": (
        "'{value}' is also in row {other}; every building needs its own {what}",
        "“{value}”与第 {other} 行重复；每栋建筑的{what}必须不同",
    ),
    "order_partial": (
        "empty while other rows give an order; write this building's place along the main",
        "其他行填写了顺序而此行为空；请填写该建筑沿干管的位置",
    ),
}
WHAT = {
    "name": ("the building's name", "建筑名称"),
    "heated_area_m2": ("the heated area in m²", "供暖面积（m²）"),
    "order": ("its place along the main", "顺序"),
}


@dataclass
class Problem:
    """One problem of a building list, where it is and what to write instead."""

    code: str
    sheet: str
    row: int | None = None
    column: str | None = None  # the header as written in the file
    letter: str | None = None  # the spreadsheet column letter
    params: dict[str, str] = field(default_factory=dict)

    def text(self, language: str = "en") -> str:
        """The problem in ``en`` or ``zh-Hans`` (any ``zh…`` language), place first."""
        zh = language.lower().startswith("zh")
        params = dict(self.params)
        if "what" in params:
            params["what"] = WHAT.get(params["what"], (params["what"], params["what"]))[zh]
        message = MESSAGES[self.code][zh].format(**params)
        return f"{self.place(zh)}: {message}" if not zh else f"{self.place(zh)}：{message}"

    def place(self, zh: bool = False) -> str:
        """Sheet, row and column in words."""
        col = f"{self.letter} ({self.column})" if self.letter and self.column else self.letter
        if zh:
            parts = [f"工作表“{self.sheet}”"]
            if self.row is not None:
                parts.append(f"第 {self.row} 行")
            if col:
                parts.append(f"{col} 列")
            return " ".join(parts)
        parts = [f"sheet '{self.sheet}'"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if col:
            parts.append(f"column {col}")
        return ", ".join(parts)


class BuildingListError(ValueError):
    """A building list that cannot be used; ``problems`` holds every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        """Keep the problems; the message is the English list, one a line."""
        self.problems = problems
        super().__init__("\n".join(p.text() for p in problems))

    def text(self, language: str = "en") -> str:
        """Every problem in ``language``, one a line."""
        return "\n".join(p.text(language) for p in self.problems)


# --- reading --------------------------------------------------------------------------------
@dataclass
class Building:
    """One row of the list as read (None: not given)."""

    row: int
    name: str
    heated_area_m2: float
    design_load_kw: float | None = None
    heat_index_w_m2: float | None = None
    order: float | None = None
    distance_m: float | None = None
    pipe_dn: int | None = None
    valve_kvs: float | None = None
    internal_dp_kpa: float | None = None


def _norm(header: str) -> str:
    """Header spelling that ignores case, spaces, brackets, underscores, ``²``."""
    text = header.strip().lower().replace("²", "2").replace("³", "3")
    return re.sub(r"[\s_()（）\[\]/·.-]+", "", text)


ALIASES: dict[str, str] = {
    _norm(spelling): canonical
    for canonical, (en, zh, others) in COLUMNS.items()
    for spelling in (canonical, en, zh, *others)
}


def template_headers(language: str = "en") -> list[str]:
    """The header row of the downloadable template."""
    zh = language.lower().startswith("zh")
    return [COLUMNS[c][1] if zh else COLUMNS[c][0] for c in COLUMNS]


def read_building_list(content: bytes, filename: str) -> list[Building]:
    """Read and check a CSV/XLSX building list; raises :class:`BuildingListError`."""
    try:
        table = read_table(content, filename)
    except TableError as err:
        name = filename.rsplit("/", 1)[-1]
        raise BuildingListError([Problem("unreadable", name, params={"detail": str(err)})]) from err
    return parse_table(table)


def parse_table(table: Table) -> list[Building]:
    """The buildings of a table, or every problem of it at once."""
    problems: list[Problem] = []
    columns = _columns(table, problems)
    if any(p.code in ("missing_column", "duplicate_column") for p in problems):
        raise BuildingListError(problems)
    buildings = [_building(table, row, cells, columns, problems) for row, cells in table.rows]
    good = [b for b in buildings if b is not None]
    if not table.rows:
        problems.append(Problem("empty", table.sheet))
    _check_across(table, good, columns, problems)
    if problems:
        raise BuildingListError(problems)
    return good


def _columns(table: Table, problems: list[Problem]) -> dict[str, int]:
    """canonical column → index; unknown, doubled and missing columns are problems."""
    found: dict[str, int] = {}
    for index, header in enumerate(table.header):
        if not header:
            continue
        canonical = ALIASES.get(_norm(header))
        letter = column_letter(index)
        if canonical is None:
            choices = ", ".join(template_headers("en")) + " / " + ", ".join(template_headers("zh"))
            problems.append(
                Problem(
                    "unknown_column",
                    table.sheet,
                    1,
                    header,
                    letter,
                    {"value": header, "choices": choices},
                )
            )
        elif canonical in found:
            other = column_letter(found[canonical])
            problems.append(
                Problem(
                    "duplicate_column",
                    table.sheet,
                    1,
                    header,
                    letter,
                    {"value": header, "other": other},
                )
            )
        else:
            found[canonical] = index
    for need in REQUIRED:
        if need not in found:
            problems.append(
                Problem("missing_column", table.sheet, 1, params={"value": COLUMNS[need][0]})
            )
    return found


def _building(
    table: Table, row: int, cells: list[str], columns: dict[str, int], problems: list[Problem]
) -> Building | None:
    """One row, every bad cell a problem (None if any)."""
    before = len(problems)
    values: dict[str, Any] = {}
    for canonical, index in columns.items():
        text = cells[index].strip() if index < len(cells) else ""
        header = table.header[index]
        place = (table.sheet, row, header, column_letter(index))
        if canonical == "name":
            if not text:
                problems.append(
                    Problem("missing", *place, {"what": "name", "example": "Building 1"})
                )
            values["name"] = text
            continue
        low, high, unit, example = RANGES[canonical]
        if not text:
            if canonical in REQUIRED:
                problems.append(Problem("missing", *place, {"what": canonical, "example": example}))
            continue
        number = _number(text, unit, example, place, problems)
        if number is None:
            continue
        if canonical in ("order", "pipe_dn") and number != int(number):
            problems.append(Problem("not_whole", *place, {"value": text, "example": example}))
            continue
        if canonical == "pipe_dn" and int(number) not in INNER_MM_OF_DN:
            choices = ", ".join(str(d) for d in NOMINAL_DN)
            problems.append(Problem("unknown_dn", *place, {"value": text, "choices": choices}))
            continue
        if not low <= number <= high:
            params = {"value": f"{number:g}", "unit": unit, "low": f"{low:g}", "high": f"{high:g}"}
            problems.append(Problem("out_of_range", *place, params))
            continue
        values[canonical] = int(number) if canonical == "pipe_dn" else number
    if len(problems) > before:
        return None
    building = Building(row=row, **values)
    if building.design_load_kw is not None:
        w_m2 = building.design_load_kw * 1000.0 / building.heated_area_m2
        if not 10.0 <= w_m2 <= 250.0:
            col = columns["design_load_kw"]
            place = (table.sheet, row, table.header[col], column_letter(col))
            problems.append(Problem("implied_index", *place, {"value": f"{w_m2:.0f}"}))
            return None
    return building


_PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+", re.ASCII)


def _number(
    text: str, unit: str, example: str, place: tuple[str, int, str, str], problems: list[Problem]
) -> float | None:
    """A finite number from a cell, or None with a problem.

    ``12,5`` is a decimal comma; ``1,234`` (three digits) could be either, so it is refused
    rather than guessed. Full-width digits (a Chinese input method's ``１２``) count as the
    digits they are (NFKC); units, spaces inside digits and other text are refused.
    """
    compact = unicodedata.normalize("NFKC", text).strip()
    if _PLAIN.fullmatch(compact):
        number = float(compact)
    elif _DECIMAL_COMMA.fullmatch(compact):
        head, tail = compact.split(",")
        if len(tail) == 3:
            params = {"value": text, "a": head + tail, "b": f"{head}.{tail}"}
            problems.append(Problem("ambiguous_number", *place, params))
            return None
        number = float(f"{head}.{tail}")
    else:
        problems.append(
            Problem("not_number", *place, {"value": text, "unit": unit or "—", "example": example})
        )
        return None
    if not math.isfinite(number):
        problems.append(
            Problem("not_number", *place, {"value": text, "unit": unit or "—", "example": example})
        )
        return None
    return number


def _check_across(
    table: Table, buildings: list[Building], columns: dict[str, int], problems: list[Problem]
) -> None:
    """Names unique; orders unique and given for every row or none."""
    for canonical in ("name", "order"):
        if canonical not in columns:
            continue
        seen: dict[Any, int] = {}
        header = table.header[columns[canonical]]
        letter = column_letter(columns[canonical])
        for b in buildings:
            key = b.name.casefold() if canonical == "name" else b.order
            if key is None:
                continue
            if key in seen:
                value = b.name if canonical == "name" else f"{b.order:g}"
                params = {"value": value, "other": str(seen[key]), "what": canonical}
                problems.append(Problem("duplicate", table.sheet, b.row, header, letter, params))
            else:
                seen[key] = b.row
    if "order" in columns:
        given = [b for b in buildings if b.order is not None]
        if given:
            header = table.header[columns["order"]]
            letter = column_letter(columns["order"])
            for b in buildings:
                if b.order is None:
                    problems.append(Problem("order_partial", table.sheet, b.row, header, letter))


# --- estimating -----------------------------------------------------------------------------
@dataclass
class Estimate:
    """One value of the built network and how sure it is.

    ``element`` is ``inlet B003``, ``pipe PM03`` or ``substation SS``; ``uncertainty`` the
    relative ± (0 for a given value); ``basis`` says where the value comes from.
    """

    element: str
    field: str
    value: float
    uncertainty: float
    basis: str

    @property
    def estimated(self) -> bool:
        """Whether the list did not give this value."""
        return self.uncertainty > 0

    def as_dict(self) -> dict[str, Any]:
        """The file form (``estimates:`` of a network file)."""
        return asdict(self)


@dataclass
class EstimatedNetwork:
    """A network built from a building list and the record of what in it is estimated."""

    network: Network
    estimates: list[Estimate]

    def estimated(self) -> list[Estimate]:
        """Only the values the list did not give."""
        return [e for e in self.estimates if e.estimated]


def estimate_network(
    buildings: list[Building], name: str = "building-list", design: DesignConditions = DESIGN
) -> EstimatedNetwork:
    """The full network for ``buildings``: main line in their order, every gap estimated."""
    if not buildings:
        raise ValueError("a building list needs at least one building")
    ordered = sorted(buildings, key=lambda b: (b.order is None, b.order or 0.0, b.row))
    est: list[Estimate] = []
    nodes = {"S": Node("S", x=0.0, y=0.0)}
    pipes: list[Pipe] = []
    inlets: dict[str, Inlet] = {}
    given_dn: dict[str, int] = {}
    x = 0.0
    for k, b in enumerate(ordered, start=1):
        bid, main, house = f"B{k:03d}", f"M{k:03d}", f"H{k:03d}"
        length = b.distance_m or MAIN_SPACING_M
        x += length
        nodes[main] = Node(main, x=round(x, 1), y=0.0)
        nodes[house] = Node(
            house, x=round(x, 1), y=SERVICE_LENGTH_M if k % 2 else -SERVICE_LENGTH_M
        )
        previous = "S" if k == 1 else f"M{k - 1:03d}"
        pipes.append(Pipe(f"PM{k:03d}", previous, main, length, INNER_DIAMETERS_MM[-1]))
        pipes.append(Pipe(f"PS{k:03d}", main, house, SERVICE_LENGTH_M, INNER_DIAMETERS_MM[-1]))
        if b.distance_m is not None:
            est.append(Estimate(f"pipe PM{k:03d}", "length_m", length, 0.0, "given distance"))
        else:
            est.append(
                Estimate(
                    f"pipe PM{k:03d}", "length_m", length, UNCERTAINTY["length"], "typical spacing"
                )
            )
        est.append(
            Estimate(
                f"pipe PS{k:03d}",
                "length_m",
                SERVICE_LENGTH_M,
                UNCERTAINTY["length"],
                "typical service pipe",
            )
        )
        if b.pipe_dn is not None:
            given_dn[f"PM{k:03d}"] = b.pipe_dn
        inlets[bid] = _inlet(bid, house, b, design, est)
    flows = _pipe_flows(pipes, inlets)
    for pipe in pipes:
        _size(pipe, flows[pipe.id], given_dn.get(pipe.id), est)
    total = sum(i.design_flow_m3h for i in inlets.values())
    head = _design_head_m(nodes, pipes, inlets)
    pump = Pump(round(total, 2), round(head, 2), round(1.25 * head, 2))
    est.append(
        Estimate(
            "substation SS",
            "pump.design_head_m",
            pump.design_head_m,
            0.3,
            "farthest building + 10 %",
        )
    )
    network = Network(
        name=name,
        description=f"Estimated from a building list of {len(buildings)} buildings.",
        substation=Substation(
            id="SS", node="S", pump=pump, supply_c=design.supply_c, name="Substation"
        ),
        nodes=nodes,
        pipes=pipes,
        inlets=inlets,
        design=design,
    )
    return EstimatedNetwork(network, est)


def _inlet(
    bid: str, node: str, b: Building, design: DesignConditions, est: list[Estimate]
) -> Inlet:
    """A building inlet with its load, valve and internal drop (given or estimated)."""
    where = f"inlet {bid}"
    if b.design_load_kw is not None:
        load = b.design_load_kw
        est.append(Estimate(where, "design_load_kw", load, 0.0, "given load"))
    elif b.heat_index_w_m2 is not None:
        load = b.heated_area_m2 * b.heat_index_w_m2 / 1000.0
        est.append(
            Estimate(
                where,
                "design_load_kw",
                load,
                UNCERTAINTY["load_from_index"],
                "area × given heat index",
            )
        )
    else:
        load = b.heated_area_m2 * DEFAULT_HEAT_INDEX_W_M2 / 1000.0
        basis = f"area × {DEFAULT_HEAT_INDEX_W_M2:g} W/m²"
        est.append(Estimate(where, "design_load_kw", load, UNCERTAINTY["load_from_default"], basis))
    load = round(load, 3)
    dt_k = design.supply_c - design.return_c
    flow = design_flow_m3h(load, dt_k)
    if b.valve_kvs is not None:
        kvs = b.valve_kvs
        est.append(Estimate(where, "device.kvs", kvs, 0.0, "given Kvs"))
    else:
        needed = flow / math.sqrt(VALVE_DP_KPA / 100.0)
        kvs = min(KVS_SERIES, key=lambda k: abs(math.log(k / needed)))
        est.append(
            Estimate(
                where,
                "device.kvs",
                kvs,
                UNCERTAINTY["kvs"],
                f"standard Kvs for {VALVE_DP_KPA:g} kPa",
            )
        )
    internal = b.internal_dp_kpa or INTERNAL_DP_KPA
    uncertainty = 0.0 if b.internal_dp_kpa is not None else UNCERTAINTY["internal_dp"]
    est.append(
        Estimate(
            where,
            "internal_dp_kpa",
            internal,
            uncertainty,
            "given" if not uncertainty else "typical building",
        )
    )
    return Inlet(
        id=bid,
        name=b.name,
        type="building",
        node=node,
        heating_area_m2=b.heated_area_m2,
        design_load_kw=load,
        design_dt_k=dt_k,
        internal_dp_kpa=internal,
        device=Device(type="electric_valve", kvs=kvs),
        envelope=Envelope(
            ua_w_k=round(load * 1000.0 / (design.room_c - design.outdoor_c), 1),
            heat_capacity_kj_k=round(100.0 * b.heated_area_m2, 0),
        ),
        emitter=Emitter(design.supply_c, design.return_c, design.room_c),
    )


def _pipe_flows(pipes: list[Pipe], inlets: dict[str, Inlet]) -> dict[str, float]:
    """Design flow of every pipe of the (tree) network: what flows to everything beyond it."""
    at_node: dict[str, float] = {}
    for inlet in inlets.values():
        at_node[inlet.node] = at_node.get(inlet.node, 0.0) + inlet.design_flow_m3h
    flows: dict[str, float] = {}
    for pipe in reversed(pipes):  # built from the substation outwards: children come later
        flows[pipe.id] = at_node.get(pipe.to_node, 0.0)
        at_node[pipe.from_node] = at_node.get(pipe.from_node, 0.0) + flows[pipe.id]
    return flows


def _size(pipe: Pipe, flow_m3h: float, dn: int | None, est: list[Estimate]) -> None:
    """Given DN, else the smallest standard size within the design pressure drop."""
    if dn is not None:
        pipe.inner_diameter_mm = INNER_MM_OF_DN[dn]
        est.append(
            Estimate(
                f"pipe {pipe.id}", "inner_diameter_mm", pipe.inner_diameter_mm, 0.0, f"given DN{dn}"
            )
        )
    else:
        pipe.inner_diameter_mm = next(
            (d for d in INNER_DIAMETERS_MM if _pa_per_m(max(flow_m3h, 0.01), d) <= DESIGN_PA_PER_M),
            INNER_DIAMETERS_MM[-1],
        )
        dn_est = NOMINAL_DN[INNER_DIAMETERS_MM.index(pipe.inner_diameter_mm)]
        basis = f"DN{dn_est}: ≤{DESIGN_PA_PER_M:g} Pa/m at {flow_m3h:.2f} m³/h"
        est.append(
            Estimate(
                f"pipe {pipe.id}",
                "inner_diameter_mm",
                pipe.inner_diameter_mm,
                UNCERTAINTY["diameter"],
                basis,
            )
        )
    pipe.heat_loss_w_mk = round(0.1 + 0.0015 * pipe.inner_diameter_mm, 3)


# --- files ----------------------------------------------------------------------------------
EXAMPLE_ROWS: list[dict[str, Any]] = [
    {
        "name": "1#",
        "heated_area_m2": 5200,
        "design_load_kw": 260,
        "order": 1,
        "distance_m": 60,
        "pipe_dn": 200,
    },
    {"name": "2#", "heated_area_m2": 4800, "heat_index_w_m2": 48, "order": 2, "distance_m": 45},
    {"name": "3#", "heated_area_m2": 6100, "order": 3, "distance_m": 50, "valve_kvs": 16},
    {"name": "Kindergarten", "heated_area_m2": 1800, "heat_index_w_m2": 65, "order": 4},
    {"name": "5#", "heated_area_m2": 3900, "order": 5, "internal_dp_kpa": 25},
]


def template_rows(language: str = "en") -> list[list[Any]]:
    """Header and the worked example of the downloadable template."""
    rows: list[list[Any]] = [template_headers(language)]
    rows += [[row.get(c, "") for c in COLUMNS] for row in EXAMPLE_ROWS]
    return rows


def template_csv(language: str = "en") -> bytes:
    """The template as CSV, UTF-8 with BOM so Excel shows Chinese headers right."""
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(template_rows(language))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(language: str = "en") -> bytes:
    """The template as an XLSX workbook (one sheet, the worked example under the header)."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "建筑" if language.lower().startswith("zh") else "Buildings"
    for row in template_rows(language):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def network_file(estimated: EstimatedNetwork) -> dict[str, Any]:
    """The estimated network in the file format, with its ``estimates:`` (loads again)."""
    from .loader import network_to_dict

    data = network_to_dict(estimated.network)
    data["estimates"] = [e.as_dict() for e in estimated.estimates]
    return data
