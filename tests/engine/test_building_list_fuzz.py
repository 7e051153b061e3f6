"""A fuzzed corpus of broken building lists (issue 14 goal): refused with every problem, or
read exactly as written — never silently mis-read.

Hypothesis draws a good list, then spoils cells with tricky text (units, thousands commas,
letters for digits, ``nan``, signs, blanks). The oracle is deliberately simple: a cell is a
number when it is (after NFKC, so full-width ``１２`` is 12) an ASCII decimal (``12``,
``12.5``, ``1e3``) or a decimal comma with other than three decimals (``12,5``); anything
else must be named as a problem at its row and column. When the list imports, every value
must be what its cell says.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.heatbalance.engine.building_list import (
    Building,
    BuildingListError,
    read_building_list,
)

NUMERIC = ("heated_area_m2", "design_load_kw", "heat_index_w_m2", "distance_m", "valve_kvs")
HEADER = ("name", *NUMERIC)
LETTER = {col: chr(65 + k) for k, col in enumerate(HEADER)}
TRICKY = [
    "",
    " ",
    "4,800",
    "4.800,5",
    "12o0",
    "3200 m²",
    "nan",
    "inf",
    "-50",
    "0",
    "1e400",
    "1e3",
    "12,5",
    "+45",
    ".5",
    "１２",
    "3 200",
    "N/A",
    "—",
    "TRUE",
]
PLAIN = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
COMMA = re.compile(r"[+-]?[0-9]+,([0-9]{1,2}|[0-9]{4,})")


def reference(text: str) -> float | None:
    """What a cell says, by the documented rule; None: not a number."""
    t = unicodedata.normalize("NFKC", text).strip()
    if PLAIN.fullmatch(t):
        value = float(t)
    elif COMMA.fullmatch(t):
        value = float(t.replace(",", "."))
    else:
        return None
    return value if math.isfinite(value) else None


good_row = st.fixed_dictionaries(
    {
        "heated_area_m2": st.integers(500, 20000),
        "design_load_kw": st.one_of(st.none(), st.integers(40, 900)),
        "heat_index_w_m2": st.one_of(st.none(), st.integers(30, 90)),
        "distance_m": st.one_of(st.none(), st.floats(5, 300).map(lambda x: round(x, 1))),
        "valve_kvs": st.one_of(st.none(), st.sampled_from([2.5, 4.0, 6.3, 10.0, 16.0])),
    }
)
spoil = st.one_of(st.sampled_from(TRICKY), st.text(alphabet="0123456789,.-+eEO o²mkW", max_size=8))


@st.composite
def corpus(draw: st.DrawFn) -> tuple[list[dict[str, object]], dict[tuple[int, str], str]]:
    """Good rows and the spoiled cells ``(row number, column) → text``."""
    rows = draw(st.lists(good_row, min_size=1, max_size=6))
    for k, row in enumerate(rows):
        row["name"] = f"Building {k + 1}"
        if row["design_load_kw"] is not None:  # keep good rows plausible: 20…180 W/m²
            row["design_load_kw"] = max(
                min(int(row["design_load_kw"]), int(row["heated_area_m2"]) * 0.18),
                int(row["heated_area_m2"]) * 0.02,
            )
    spoiled: dict[tuple[int, str], str] = {}
    for number in range(2, len(rows) + 2):
        for col in draw(st.lists(st.sampled_from(NUMERIC), max_size=2, unique=True)):
            spoiled[(number, col)] = draw(spoil)
    return rows, spoiled


def cells(rows: list[dict[str, object]], spoiled: dict[tuple[int, str], str]) -> list[list[object]]:
    """The sheet: header, then every row with its spoiled cells as text."""
    out: list[list[object]] = [list(HEADER)]
    for number, row in enumerate(rows, start=2):
        line: list[object] = []
        for col in HEADER:
            value = spoiled.get((number, col), row[col])
            line.append("" if value is None else value)
        out.append(line)
    return out


def as_csv(sheet: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(sheet)
    return out.getvalue().encode("utf-8")


def as_xlsx(sheet: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    for line in sheet:
        ws.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def outcome(content: bytes, name: str) -> tuple[list[Building] | None, BuildingListError | None]:
    """The buildings read, or the refusal."""
    try:
        return read_building_list(content, name), None
    except BuildingListError as err:
        return None, err


def check(
    content: bytes, name: str, rows: list[dict[str, object]], spoiled: dict[tuple[int, str], str]
) -> None:
    """Refused with a problem at every unreadable cell, or read exactly as written."""
    buildings, err = outcome(content, name)
    if err is not None:
        placed = {(p.row, p.letter) for p in err.problems}
        for (number, col), text in spoiled.items():
            if text.strip() and reference(text) is None:
                assert (number, LETTER[col]) in placed, (text, err.text())
            if col == "heated_area_m2" and not text.strip():
                assert (number, LETTER[col]) in placed, err.text()
        for p in err.problems:
            assert p.row is not None
            assert p.text("en")
            assert p.text("zh-Hans")
        return
    assert buildings is not None
    assert len(buildings) == len(rows)
    for number, (b, row) in enumerate(zip(buildings, rows, strict=True), start=2):
        assert b.name == row["name"]
        for col in NUMERIC:
            got = getattr(b, col)
            if (number, col) in spoiled:
                text = spoiled[(number, col)]
                want = reference(text) if text.strip() else None
                assert want is not None or not text.strip(), f"{text!r} read as {got}"
            else:
                want = None if row[col] is None else float(row[col])  # type: ignore[arg-type]
            if want is None:
                assert got is None, (col, got)
            else:
                assert got is not None, (col, want)
                assert math.isclose(got, want), (col, got, want)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus())
def test_fuzzed_csv_is_read_exactly_or_refused_with_every_problem(
    case: tuple[list[dict[str, object]], dict[tuple[int, str], str]],
) -> None:
    rows, spoiled = case
    check(as_csv(cells(rows, spoiled)), "list.csv", rows, spoiled)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus())
def test_fuzzed_xlsx_is_read_exactly_or_refused_with_every_problem(
    case: tuple[list[dict[str, object]], dict[tuple[int, str], str]],
) -> None:
    rows, spoiled = case
    check(as_xlsx(cells(rows, spoiled)), "list.xlsx", rows, spoiled)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_damaged_bytes_never_escape_as_a_crash(data: st.DataObject) -> None:
    """Truncated or bit-flipped files: a building list or a BuildingListError, nothing else."""
    sheet = cells([{"name": "A", "heated_area_m2": 3000, **dict.fromkeys(NUMERIC[1:])}], {})
    kind = data.draw(st.sampled_from(["list.csv", "list.xlsx"]))
    content = bytearray(as_csv(sheet) if kind.endswith("csv") else as_xlsx(sheet))
    # positions as fractions: an XLSX's length varies with its timestamp between runs
    content = content[: max(1, int(data.draw(st.floats(0, 1)) * len(content)))]
    for _ in range(data.draw(st.integers(0, 4))):
        pos = min(int(data.draw(st.floats(0, 1)) * len(content)), len(content) - 1)
        content[pos] ^= data.draw(st.integers(1, 255))
    _buildings, err = outcome(bytes(content), kind)
    if err is not None:
        assert err.problems
        assert all(p.text("zh-Hans") for p in err.problems)
