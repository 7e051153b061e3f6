"""Networks from a building list (issue 14 item 2): reading, every problem at once, estimating."""

from __future__ import annotations

import copy
import io

import openpyxl
import pytest

from custom_components.heatbalance.engine.building_list import (
    DESIGN_PA_PER_M,
    INNER_MM_OF_DN,
    BuildingListError,
    estimate_network,
    network_file,
    parse_table,
    read_building_list,
    template_csv,
    template_xlsx,
)
from custom_components.heatbalance.engine.cli_balance import (
    Disturbances,
    make_controller,
    run_balance,
)
from custom_components.heatbalance.engine.loader import network_to_dict, parse_network
from custom_components.heatbalance.engine.networks.generator import INNER_DIAMETERS_MM, _pa_per_m
from custom_components.heatbalance.engine.tables import read_csv


def xlsx(rows: list[list[object]], title: str = "Buildings") -> bytes:
    """A workbook with one sheet of ``rows``."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_every_problem_is_listed_with_sheet_row_column_and_a_fix() -> None:
    """Four bad cells in three rows: four problems, each placed, in English and Chinese."""
    content = xlsx(
        [
            ["name", "heated_area_m2", "design_load_kw", "order", "pipe_dn"],
            ["A", "12o0", 60, 1, 80],
            ["", 3000, 150, 2, 85],
            ["C", 3000, 15000, 4, 100],
            ["D", 2500, "", 3, ""],
        ]
    )
    with pytest.raises(BuildingListError) as caught:
        read_building_list(content, "list.xlsx")
    where = [(p.code, p.row, p.letter) for p in caught.value.problems]
    assert where == [
        ("not_number", 2, "B"),
        ("missing", 3, "A"),
        ("unknown_dn", 3, "E"),
        ("implied_index", 4, "C"),
    ]
    english = caught.value.text("en").splitlines()
    assert english[0] == (
        "sheet 'Buildings', row 2, column B (heated_area_m2): '12o0' is not a number; "
        "write only the number in m², e.g. 3200"
    )
    chinese = caught.value.text("zh-Hans").splitlines()
    assert chinese[1].startswith("工作表“Buildings” 第 3 行 A (name) 列：为空；请填写建筑名称")


def test_duplicates_and_a_partial_order_are_problems_of_their_rows() -> None:
    table = read_csv("name;area;order\nA;1000;1\na;1200;2\nB;900;2\nC;800;\n", sheet="s.csv")
    with pytest.raises(BuildingListError) as caught:
        parse_table(table)
    assert [(p.code, p.row) for p in caught.value.problems] == [
        ("duplicate", 3),  # names compare without case
        ("duplicate", 4),  # order 2 twice
        ("order_partial", 5),
    ]


def test_headers_in_chinese_units_in_brackets_and_decimal_commas_are_read() -> None:
    table = read_csv("名称;供暖面积(m²);热指标(W/m²);顺序\n1#;4800,5;48;2\n2#;1200;55;1\n")
    buildings = parse_table(table)
    assert [(b.name, b.heated_area_m2, b.heat_index_w_m2) for b in buildings] == [
        ("1#", 4800.5, 48.0),
        ("2#", 1200.0, 55.0),
    ]


def test_an_ambiguous_thousands_comma_is_refused_not_guessed() -> None:
    with pytest.raises(BuildingListError) as caught:
        parse_table(read_csv("name;heated_area_m2\nA;4,800\n"))
    assert caught.value.problems[0].code == "ambiguous_number"
    assert "write 4800 or 4.800" in caught.value.text()


def test_unknown_and_missing_columns_are_listed_together() -> None:
    with pytest.raises(BuildingListError) as caught:
        parse_table(read_csv("name,flaeche,load\nA,1,2\n"))
    assert [(p.code, p.letter) for p in caught.value.problems] == [
        ("unknown_column", "B"),
        ("unknown_column", "C"),
        ("missing_column", None),
    ]


def test_estimated_network_follows_the_list_and_marks_every_guess() -> None:
    buildings = parse_table(
        read_csv(
            "name,heated_area_m2,design_load_kw,heat_index_w_m2,order,distance_m,pipe_dn\n"
            "far,3000,,,3,,\n"
            "near,5000,250,,1,70,150\n"
            "mid,4000,,60,2,,\n"
        )
    )
    est = estimate_network(buildings, "street")
    net = est.network
    assert [i.name for i in net.inlets.values()] == ["near", "mid", "far"]
    loads = {i.name: i.design_load_kw for i in net.inlets.values()}
    assert loads == {"near": 250.0, "mid": 240.0, "far": 150.0}
    marks = {(e.element, e.field): e for e in est.estimates}
    assert marks[("inlet B001", "design_load_kw")].uncertainty == 0
    assert marks[("inlet B002", "design_load_kw")].uncertainty == pytest.approx(0.15)
    assert marks[("inlet B003", "design_load_kw")].uncertainty == pytest.approx(0.30)
    assert marks[("pipe PM001", "length_m")].value == 70
    assert not marks[("pipe PM001", "length_m")].estimated
    assert marks[("pipe PM002", "length_m")].estimated
    assert net.pipes[0].inner_diameter_mm == INNER_MM_OF_DN[150]
    assert not marks[("pipe PM001", "inner_diameter_mm")].estimated
    # every value the file format needs that the list did not give is marked
    for pipe in net.pipes:
        assert (f"pipe {pipe.id}", "inner_diameter_mm") in marks
        assert (f"pipe {pipe.id}", "length_m") in marks
    for iid in net.inlets:
        for fld in ("design_load_kw", "device.kvs", "internal_dp_kpa"):
            assert (f"inlet {iid}", fld) in marks


def test_estimated_pipes_are_the_smallest_size_within_the_design_drop() -> None:
    buildings = parse_table(
        read_csv("name,heated_area_m2\n" + "".join(f"b{k},{900 * k}\n" for k in range(1, 9)))
    )
    est = estimate_network(buildings)
    flows: dict[str, float] = {}
    for inlet in est.network.inlets.values():  # service pipe k feeds building k
        flows["PS" + inlet.id[1:]] = inlet.design_flow_m3h
    for pipe in est.network.pipes:
        if pipe.id not in flows:
            continue
        sizes = list(INNER_DIAMETERS_MM)
        k = sizes.index(pipe.inner_diameter_mm)
        assert _pa_per_m(flows[pipe.id], pipe.inner_diameter_mm) <= DESIGN_PA_PER_M
        assert k == 0 or _pa_per_m(flows[pipe.id], sizes[k - 1]) > DESIGN_PA_PER_M


def test_network_file_with_estimates_loads_again_unchanged() -> None:
    buildings = parse_table(read_csv(template_csv("en")))
    data = network_file(estimate_network(buildings, "example"))
    again = parse_network(copy.deepcopy(data))
    assert network_to_dict(again) == {k: v for k, v in data.items() if k != "estimates"}
    assert len(data["estimates"]) > 10


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
def test_templates_import_as_their_worked_example(language: str) -> None:
    from_csv = read_building_list(template_csv(language), "template.csv")
    from_xlsx = read_building_list(template_xlsx(language), "template.xlsx")
    assert [(b.name, b.heated_area_m2, b.design_load_kw) for b in from_csv] == [
        (b.name, b.heated_area_m2, b.design_load_kw) for b in from_xlsx
    ]
    assert len(from_csv) == 5


def test_broken_workbook_is_refused_with_a_reason() -> None:
    content = template_xlsx("en")
    with pytest.raises(BuildingListError) as caught:
        read_building_list(content[: len(content) // 2], "cut.xlsx")
    assert caught.value.problems[0].code == "unreadable"


def test_a_list_whose_pipes_are_off_by_half_is_balanced_by_the_model_controller() -> None:
    """True pipe resistances ×0.5…×1.5: intermediate band within 12 cycles (§8.2.3)."""
    rows = "name,heated_area_m2,order\n" + "".join(
        f"b{k},{1500 + (k * 3797) % 9000},{k}\n" for k in range(1, 13)
    )
    estimated = estimate_network(parse_table(read_csv(rows))).network
    plant = copy.deepcopy(estimated)
    for k, pipe in enumerate(plant.pipes):
        pipe.inner_diameter_mm *= (0.5 if k % 2 else 1.5) ** (-1 / 5)
    report = run_balance(
        plant,
        level="intermediate",
        target="flow",
        steps=12,
        controller=make_controller(estimated, "model", level="advanced", target="flow"),
        disturbances=Disturbances(noise=0.01),
    )
    assert report["steps"][0]["in_band"] is False
    assert report["steps_to_band"] is not None
    assert report["steps_to_band"] <= 12
