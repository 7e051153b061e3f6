"""Network files, validation errors and CSV import (docs/network-format.md, §2.0.3, §2.0.4)."""

from __future__ import annotations

import copy
import json

import pytest
import voluptuous as vol
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.loader import (
    NetworkError,
    import_inlets_csv,
    load_network,
    network_to_dict,
    parse_network,
)

BASE = {
    "name": "tiny",
    "substation": {
        "id": "SS",
        "node": "S",
        "supply_c": 60,
        "pump": {"design_flow_m3h": 20, "design_head_m": 15},
    },
    "nodes": [{"id": "S"}, {"id": "A"}, {"id": "B"}],
    "pipes": [
        {"id": "P1", "from": "S", "to": "A", "length_m": 100, "inner_diameter_mm": 80},
        {"id": "P2", "from": "A", "to": "B", "length_m": 50, "inner_diameter_mm": 50},
    ],
    "inlets": [
        {
            "id": "B1",
            "type": "building",
            "node": "A",
            "heating_area_m2": 5000,
            "load_w_m2": 50,
            "device": {"type": "electric_valve", "kvs": 16},
        },
        {
            "id": "B2",
            "type": "building",
            "node": "B",
            "heating_area_m2": 3000,
            "design_load_kw": 150,
            "device": {"type": "static_valve", "kvs": 10, "opening": 0.5},
        },
    ],
}


def _with(path: str, value) -> dict:
    """BASE with one value replaced (``inlets.0.device.kvs``), or removed when value is ...."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is ...:
        target.pop(int(last) if last.isdigit() else last)
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


def test_valid_file_gets_documented_defaults() -> None:
    net = parse_network(BASE)
    b1 = net.inlets["B1"]
    assert b1.design_load_kw == pytest.approx(250.0)  # 50 W/m² × 5,000 m²
    assert b1.design_dt_k == 15.0  # from design supply/return 60/45
    assert b1.envelope.ua_w_k == pytest.approx(250e3 / 27.0)  # load / (18 − (−9))
    assert b1.device.characteristic == "equal_percentage"
    assert net.substation.pump.shutoff_head_m == pytest.approx(15 * 1.25)
    assert net.pipes[0].heat_loss_w_mk == pytest.approx(0.1 + 0.0015 * 80)
    assert net.inlets["B2"].device.opening == 0.5


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("pipes.0.length_m", -5, "pipe P1, field length_m: must be > 0"),
        ("pipes.1.inner_diameter_mm", 0, "pipe P2, field inner_diameter_mm: must be > 0"),
        ("pipes.1.to", "X", "pipe P2, field to: unknown node X"),
        ("inlets.0.node", "Q", "inlet B1, field node: unknown node Q"),
        (
            "inlets.0.device.kvs",
            ...,
            "inlet B1, field device.kvs: required for a valve or ejector (electric_valve)",
        ),
        ("inlets.0.device.opening", 1.5, "inlet B1, field device.opening: must be between 0 and 1"),
        ("inlets.0.device.type", "magic", "inlet B1, field device.type: value must be one of"),
        ("inlets.1.heating_area_m2", "lots", "inlet B2, field heating_area_m2: must be a number"),
        ("inlets.1.design_load_kw", ..., "inlet B2, field design_load_kw: missing"),
        ("inlets.1.colour", "red", "inlet B2, field colour: unknown field"),
        ("substation.supply_c", ..., "substation SS: needs supply_c or heating_curve"),
        ("substation.node", "Z", "substation SS, field node: unknown node Z"),
        ("substation.pump.shutoff_head_m", 10, "pump.shutoff_head_m: must exceed design_head_m"),
        ("pipes.1", ..., "node B: not connected to the substation"),
        ("name", ..., "network, field name: missing"),
        ("pipes.0.roughness_mm", -0.1, "pipe P1, field roughness_mm: must be ≥ 0"),
        ("inlets.0.heating_area_m2", float("nan"), "heating_area_m2: must be a finite number"),
        ("inlets.0.heating_area_m2", True, "inlet B1, field heating_area_m2: must be a number"),
        ("inlets.0.id", None, "inlet #1, field id: must be a text id"),
        ("nodes.0.id", " ", "node #1, field id: must not be empty"),
        ("substation", 5, "network, field substation: must be a mapping (key: value)"),
        ("pipes", "P1", "network, field pipes: must be a list"),
        ("inlets.0.heating_area_m2", 0, "inlet B1, field heating_area_m2: must be > 0"),
        ("inlets.1.design_load_kw", -3, "inlet B2, field design_load_kw: must be > 0"),
        (
            "inlets.0.design_load_kw",
            100,
            "inlet B1, field design_load_kw: give design_load_kw or load_w_m2, not both",
        ),
        ("inlets.1.type", "flat", "inlet B2, field type: value must be one of"),
        ("pipes.1.from", "B", "pipe P2: starts and ends at node B"),
        ("nodes.1", {"id": "S"}, "node S: duplicate id"),
        ("pipes.1.id", "P1", "pipe P1: duplicate id"),
        ("design", {"outdoor_c": 20}, "design: room_c must be above outdoor_c"),
        ("substation.heating_curve", [[-9, 60]], "substation SS, field heating_curve: length"),
        ("nodes.2", "B", "node #3: must be a mapping (key: value)"),
        ("substation.pump.speed", 2, "substation SS, field pump.speed: must be between 0 and 1"),
    ],
)
def test_each_problem_names_element_field_and_cause(path, value, message) -> None:
    with pytest.raises(NetworkError) as err:
        parse_network(_with(path, value), source="tiny.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("tiny.yaml: ")


def test_several_problems_are_reported_at_once() -> None:
    data = _with("pipes.0.length_m", -1)
    data["inlets"][1]["device"]["opening"] = 7
    with pytest.raises(NetworkError) as err:
        parse_network(data)
    assert len(err.value.problems) == 2


@pytest.mark.parametrize(
    ("inlet", "message"),
    [
        ({"parent": "NOPE"}, "field parent: unknown inlet NOPE"),
        ({"parent": "B1"}, "inlet B1, field parent: parent links form a loop"),
        ({"device": {"type": "pump"}}, "field device.type: value must be one of"),
        ({"type": "household"}, "a household needs its building inlet"),
        ({"device": {"type": "flow_valve", "kvs": 5}}, "a flow valve needs its flow"),
        ({"device": {"type": "dp_valve", "kvs": 5}}, "a ΔP valve needs its ΔP"),
        ({"device": {"type": "manual_ejector", "kvs": 5}}, "mixing_ratio: required for an ejector"),
        ({"device": {"type": "distributed_pump"}}, "needs pump_head_m and pump_flow_m3h"),
        (
            {"device": {"type": "iot_valve", "kvs": 5, "min_opening": 0.8, "max_opening": 0.2}},
            "min_opening: above max_opening",
        ),
        ({"emitter": {"design_supply_c": 40, "design_return_c": 45}}, "need room < design return"),
    ],
)
def test_device_and_inlet_rules(inlet, message) -> None:
    data = copy.deepcopy(BASE)
    data["inlets"][0].update(inlet)
    with pytest.raises(NetworkError, match=message):
        parse_network(data)


def test_duplicates_parent_loops_and_household_placement() -> None:
    data = copy.deepcopy(BASE)
    data["inlets"].append(copy.deepcopy(data["inlets"][0]))
    with pytest.raises(NetworkError, match="inlet B1: duplicate id"):
        parse_network(data)
    data = copy.deepcopy(BASE)
    data["inlets"][0]["parent"] = "B2"
    data["inlets"][0]["node"] = "B"
    data["inlets"][1]["parent"] = "B1"
    data["inlets"][1]["node"] = "B"
    with pytest.raises(NetworkError, match="parent links form a loop"):
        parse_network(data)
    data = copy.deepcopy(BASE)
    data["inlets"].append(
        {
            "id": "H1",
            "type": "household",
            "node": "B",
            "parent": "B1",
            "heating_area_m2": 80,
            "design_load_kw": 4,
        }
    )
    with pytest.raises(NetworkError, match="must be its parent's node A"):
        parse_network(data)
    data["inlets"][-1]["node"] = "A"
    data["inlets"].append(data["inlets"][-1] | {"id": "H2", "parent": "H1"})
    with pytest.raises(NetworkError, match="inlet H2, field parent: H1 is a household"):
        parse_network(data)
    data["inlets"].pop()
    assert [i.id for i in parse_network(data).children("B1")] == ["H1"]


def test_round_trip_through_the_file_format(tmp_path) -> None:
    net = parse_network(BASE)
    again = parse_network(json.loads(json.dumps(network_to_dict(net))))
    assert network_to_dict(again) == network_to_dict(net)
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(network_to_dict(net)))
    assert network_to_dict(load_network(path)) == network_to_dict(net)


def test_file_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        load_network(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(NetworkError, match=r"bad\.yaml: not valid YAML/JSON"):
        load_network(bad)
    bad.write_bytes("name: 三号楼\n".encode("gbk"))
    with pytest.raises(NetworkError, match=r"bad\.yaml: not UTF-8 text"):
        load_network(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(NetworkError, match="must hold a mapping"):
        load_network(bad)
    bad.write_text(json.dumps(BASE | {"inlets_csv": "gone.csv"}))
    with pytest.raises(NetworkError, match=r"inlets_csv: no file gone\.csv"):
        load_network(bad)


CSV_TEXT = (
    "id,name,type,node,heating_area_m2,design_load_kw,device_type,kvs,opening\n"
    "B3,三号楼,building,B,4000,200,electric_valve,16,0.8\n"
    "\n"
    "B2,二号楼,building,B,3000,160,static_valve,10,0.4\n"
)


def test_csv_adds_and_replaces_inlets() -> None:
    net = import_inlets_csv(parse_network(BASE), CSV_TEXT)
    assert set(net.inlets) == {"B1", "B2", "B3"}
    assert net.inlets["B3"].name == "三号楼"
    assert net.inlets["B2"].design_load_kw == 160.0
    assert net.inlets["B2"].device.opening == 0.4


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: ("\ufeff" + t).encode("utf-8"),
        lambda t: t.encode("gbk"),
        lambda t: t.replace(",", ";").replace("0.8", "0,8").replace("0.4", "0,4").encode("gbk"),
    ],
    ids=["utf8-bom", "gbk", "semicolon-decimal-comma"],
)
def test_csv_as_excel_writes_it(encode) -> None:
    net = import_inlets_csv(parse_network(BASE), encode(CSV_TEXT))
    assert net.inlets["B3"].name == "三号楼"
    assert net.inlets["B3"].device.opening == 0.8


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("16,0.8", "-2,0.8", "row 2, field kvs: must be > 0"),
        ("16,0.8", "16,1.8", "row 2, field opening: must be between 0 and 1"),
        ("electric_valve,16", "gate_valve,16", "row 2, field device_type: value must be one of"),
        ("electric_valve,16", "electric_valve,", "row 2 (inlet B3), field kvs: required"),
        ("building,B,3000", "building,ZZ,3000", "row 4 (inlet B2), field node: unknown node ZZ"),
        ("B3,三号楼,building", "B3,三号楼,household", "row 2 (inlet B3), field parent"),
        ("4000,200", "4000,lots", "row 2, field design_load_kw: must be a number"),
        ("B2,二号楼", "B3,二号楼", "row 4 (inlet B3): duplicate id"),
        ("id,name", "id,colour", "header: unknown column colour"),
        ("id,name", "ident,name", "header: needs an id column"),
        ("4000,200", "4000,inf", "row 2, field design_load_kw: must be a finite number"),
    ],
)
def test_csv_errors_name_row_and_field(old, new, message) -> None:
    """Problems point at the spreadsheet row (header = row 1) and the column name."""
    with pytest.raises(NetworkError) as err:
        import_inlets_csv(parse_network(BASE), CSV_TEXT.replace(old, new), source="b.csv")
    assert str(err.value).startswith("b.csv: ")
    assert message in str(err.value)


def test_csv_reports_every_bad_row_and_empty_files() -> None:
    text = CSV_TEXT.replace("16,0.8", "-2,0.8").replace("10,0.4", "10,7")
    with pytest.raises(NetworkError) as err:
        import_inlets_csv(parse_network(BASE), text)
    assert err.value.problems == [
        "row 2, field kvs: must be > 0",
        "row 4, field opening: must be between 0 and 1",
    ]
    with pytest.raises(NetworkError, match="empty file"):
        import_inlets_csv(parse_network(BASE), "")
    with pytest.raises(NetworkError, match="not a readable CSV table"):
        import_inlets_csv(parse_network(BASE), 'id,name\nB9,"' + "x" * 200_000 + '"\n')


def test_csv_trailing_delimiters_are_ignored() -> None:
    """Excel often writes empty columns after the last one; they carry nothing."""
    text = CSV_TEXT.replace("\n", ",,\n")
    assert set(import_inlets_csv(parse_network(BASE), text).inlets) == {"B1", "B2", "B3"}


def test_csv_households_under_a_building() -> None:
    """§2.0.3 household inlets: parent = building id, node = the building's node."""
    text = (
        "id,type,node,parent,heating_area_m2,load_w_m2,device_type,kvs,min_opening\n"
        "B1H01,household,A,B1,90,50,iot_valve,1.0,0.05\n"
        "B1H02,household,A,B1,110,50,iot_valve,1.0,0.05\n"
    )
    net = import_inlets_csv(parse_network(BASE), text)
    assert [i.id for i in net.children("B1")] == ["B1H01", "B1H02"]
    assert net.inlets["B1H02"].design_load_kw == pytest.approx(5.5)
    assert net.inlets["B1H01"].device.min_opening == 0.05
    assert "B1" not in {i.id for i in net.terminal_inlets()}


def test_name_argument_and_missing_file_message(tmp_path) -> None:
    data = copy.deepcopy(BASE)
    del data["name"]
    assert parse_network(data, "from-arg").name == "from-arg"
    assert parse_network(BASE, "ignored").name == "tiny"
    with pytest.raises(NetworkError, match=r"^from-arg: .*network, field name: missing"):
        parse_network({}, source="from-arg")
    with pytest.raises(FileNotFoundError, match="no such network file or built-in network"):
        load_network(tmp_path / "nope.yaml")


def test_csv_change_that_breaks_a_file_inlet_names_that_inlet() -> None:
    """Moving a building in the CSV strands its households from the file: they are named."""
    data = copy.deepcopy(BASE)
    data["inlets"].append(
        {
            "id": "H1",
            "type": "household",
            "node": "A",
            "parent": "B1",
            "heating_area_m2": 80,
            "design_load_kw": 4,
            "device": {"type": "iot_valve", "kvs": 1},
        }
    )
    text = "id,type,node,heating_area_m2,design_load_kw\nB1,building,B,5000,250\n"
    with pytest.raises(NetworkError, match="inlet H1, field node: must be its parent's node B"):
        import_inlets_csv(parse_network(data), text)


@pytest.mark.parametrize("name", ["loop8", "estate12", "households1200"])
def test_builtins_round_trip(name) -> None:
    net = load_network(name)
    data = network_to_dict(net)
    assert network_to_dict(parse_network(json.loads(json.dumps(data)))) == data


def _leaf_paths(node, prefix: str = "") -> list[str]:
    """Every key path in BASE (``inlets.0.device.kvs``), containers included."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    paths = []
    for key, value in items:
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, dict | list):
            paths += _leaf_paths(value, path + ".")
    return paths


def _problems(func, *args) -> list[str] | None:
    """The problems ``func`` reports, or None when it accepts the input."""
    try:
        func(*args)
    except NetworkError as err:
        return err.problems
    return None


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(_leaf_paths(BASE)), value=_JUNK)
def test_any_bad_value_gives_network_error_never_a_traceback(path, value) -> None:
    """Operators' files can hold anything at any place: the answer is a message, not a crash."""
    problems = _problems(parse_network, _with(path, value))
    assert problems is None or (problems and all(isinstance(p, str) and p for p in problems))


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(st.text(max_size=6), min_size=1, max_size=12))
def test_any_csv_row_gives_network_error_never_a_traceback(cells) -> None:
    header = "id,type,node,parent,heating_area_m2,design_load_kw,device_type,kvs,opening,setpoint"
    row = ",".join(c.replace(",", "").replace('"', "").replace("\n", "") for c in cells)
    problems = _problems(import_inlets_csv, parse_network(BASE), f"{header}\n{row}\n")
    assert problems is None or len(problems) > 0


_INLET_JUNK = st.one_of(
    _JUNK,
    st.floats(min_value=-5, max_value=5),
    st.sampled_from(["building", "household", "iot_valve", "linear", "B1", "A", ""]),
)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "type",
                "node",
                "parent",
                "heating_area_m2",
                "design_load_kw",
                "load_w_m2",
                "weight",
                "name",
                "x",
            ]
        ),
        _INLET_JUNK,
        max_size=8,
    ),
    device=st.dictionaries(
        st.sampled_from(["type", "kvs", "opening", "rangeability", "characteristic", "x"]),
        _INLET_JUNK,
        max_size=4,
    ),
)
def test_the_compiled_inlet_check_is_the_schema(fields, device) -> None:
    """The loader's fast path for big CSV tables accepts exactly what the schema accepts,
    with the same result; everything else goes to the schema for its message."""
    from custom_components.heatbalance.engine import loader

    data = {**fields, "device": device}
    fast = loader._fast(loader.INLET, data)
    try:
        expected = loader.INLET(data)
    except vol.Invalid:
        assert fast is None
    else:
        assert fast is None or fast == expected
    good = {"id": "B9", "type": "building", "node": "A", "heating_area_m2": 50, "load_w_m2": 60}
    assert loader._fast(loader.INLET, good) == loader.INLET(good)


_CSV_CELLS = st.sampled_from(
    ["", " ", "B1", "A", "building", "household", "iot_valve", "linear", "1", "0", "-1", " 2.5 ",
     "1,5", "0.5", "nan", "1e400", "30", "1_0"]
)  # fmt: skip
_CSV_MORE = st.lists(
    st.sampled_from(
        [
            "parent",
            "load_w_m2",
            "weight",
            "name",
            "device_type",
            "kvs",
            "opening",
            "characteristic",
            "ua_w_k",
            "exponent",
            "design_supply_c",
            "",
            "design_load_kw",
            "id",
        ]
    ),
    max_size=5,
)


_CSV_NUMBERS = st.sampled_from(["1", "0", "-1", " 2.5 ", "1,5", "0.5", "nan", "1e400", "", "30"])
_CSV_ROW = st.builds(
    lambda first, more: [*first, *more],
    st.tuples(
        st.sampled_from(["B1", "A", " ", ""]),
        st.sampled_from(["building", "household", "x", ""]),
        st.sampled_from(["A", ""]),
        _CSV_NUMBERS,
        _CSV_NUMBERS,
    ),
    st.lists(_CSV_CELLS, max_size=5),
).map(lambda row: row[: len(row) - (len(row) % 7 == 0)])  # now and then a short row


@settings(max_examples=300, deadline=None)
@given(more=_CSV_MORE, rows=st.lists(_CSV_ROW, min_size=1, max_size=4))
def test_the_column_path_of_a_csv_table_is_the_row_path(more, rows) -> None:
    """The column-wise check of a big CSV table (each distinct cell once, numbers a column at a
    time) gives each row what the compiled schema gives it, cell by cell; every other row goes to
    the schema for its message. Short rows, empty, refused and repeated columns included."""
    from custom_components.heatbalance.engine import loader

    header = ["id", "type", "node", "heating_area_m2", "design_load_kw", *more]
    plan = loader._csv_plan(header)
    by_column = loader._csv_checked(plan, rows)
    repeated = len({h for h in header if h}) < len([h for h in header if h])
    for row, checked in zip(rows, by_column, strict=True):
        by_row = loader._fast(loader.INLET, loader._csv_row(plan, row))
        if repeated:  # a refused cell of a column given twice sends the row to the row path
            assert checked is None or checked == by_row
        else:
            assert checked == by_row
