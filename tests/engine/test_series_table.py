"""The meter check's supply offsets as one float matrix (engine/series_table.py; issue 10,
23k cycle): the same numbers, sums and stored state as the per-inlet lists they replace.

A speed change must not move a decision (``devtools.loop_fingerprint``) nor lose stored
data (§5.3.8): the table keeps exactly what each list kept, its sums are Python's ``sum`` of
those lists bit for bit, and a Store written before the table (one list per inlet's record)
restores to the same state and runs the next cycles as the code that wrote it did.
"""

from __future__ import annotations

import copy
import json
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np

from custom_components.heatbalance.engine.control.controller import Controller
from custom_components.heatbalance.engine.meters import (
    WINDOW,
    MeterCheck,
    _Series,
)
from custom_components.heatbalance.engine.series_table import DiffTable, SeriesTable

from .test_control_closed_loop import run
from .test_restore_damaged import _saved

STORED = Path(__file__).parent / "stored" / "meter_check_c3fa39f.json"


def _bits(values: list[float]) -> list[bytes]:
    """Each float's bytes: equal means the same double (−0.0 and NaN included)."""
    return [struct.pack("<d", v) for v in values]


def test_the_table_keeps_what_the_lists_kept_bit_for_bit() -> None:
    """Keys arriving over time, some appended each cycle, windows overflowing, a restore
    mid-way (longer than the window, empty, −0.0): every row equals its list and every sum
    equals ``sum`` of the list, to the bit."""
    rng = random.Random(23)
    width = 6
    table, lists = SeriesTable(width), {}
    for cycle in range(40):
        for k in range(rng.randint(0, 4)):  # new keys, in the order they come
            key = f"K{cycle}-{k}"
            lists[key] = []
            table.row(key)
        picked = [key for key in lists if rng.random() < 0.7]
        new = [rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-8, 8) for _ in picked]
        if picked:
            new[0] = -0.0
            rows = np.array([table.row(key) for key in picked], dtype=np.intp)
            table.append(rows, np.array(new))
        for key, value in zip(picked, new, strict=True):
            lists[key].append(value)
            del lists[key][:-width]
        if cycle == 20:  # a Store read: some rows replaced at once, one set alone
            restored = {
                key: [rng.uniform(-1, 1) for _ in range(rng.randint(0, 9))] for key in picked[:5]
            }
            table.load(restored)
            lists.update({key: values[-width:] for key, values in restored.items()})
            table.set("late", [1.0] * 9)
            lists["late"] = [1.0] * width
        for key, values in lists.items():
            assert _bits(table.get(key)) == _bits(values), (cycle, key)
        keys = list(lists)
        rows = np.array([table.row(key) for key in keys], dtype=np.intp)
        assert _bits(table.sums(rows).tolist()) == _bits([sum(lists[k]) for k in keys])
        assert table.all_lists(keys) == lists
    assert table.get("never") == []


def _stored() -> dict[str, Any]:
    with STORED.open() as f:
        data: dict[str, Any] = json.load(f)
    return data


def test_a_store_written_before_the_table_restores_whole() -> None:
    """estate12's meter check as c3fa39f stored it (each inlet's offsets a list in its
    record) reads back into the table with nothing lost: written again, it is the stored
    state, and the table's rows are the stored lists."""
    network, _text = _saved("model")
    stored = _stored()["stored"]
    check = MeterCheck.from_dict(network, copy.deepcopy(stored))
    assert json.loads(json.dumps(check.as_dict())) == stored
    offsets = {iid: inlet["offsets"] for iid, inlet in stored["inlets"].items()}
    assert all(offsets.values())  # the file holds offsets to lose
    assert {iid: check.offsets.get(iid) for iid in offsets} == offsets


def test_a_store_written_before_the_table_runs_on_as_before() -> None:
    """The controller restored from c3fa39f's Store runs 2 closed-loop cycles to exactly the
    meter check c3fa39f's code reached from the same Store (the file's second state)."""
    network, text = _saved("model")
    data = _stored()
    whole = json.loads(text)
    assert whole["meters"] == data["stored"]  # the same run as the file's
    ctl = Controller.from_dict(network, whole)
    run(network, ctl, 2)
    assert json.loads(json.dumps(ctl.meters.as_dict())) == data["after_2_cycles"]


def test_the_witness_table_learns_as_the_series_did_bit_for_bit() -> None:
    """DiffTable (the meter check's valve, model and circuit residuals): rows added a cycle
    at a time, restarted, restored mid-way, windows overflowing — every row's values, its
    squared successive differences and their count equal ``_Series.add``'s, to the bit,
    and the pooled sum is the loop's over the series in row order."""
    rng = random.Random(24)
    table, series = DiffTable(WINDOW), {}  # _Series keeps WINDOW values
    for cycle in range(70):
        for k in range(rng.randint(0, 3)):
            key = f"K{cycle}-{k}"
            series[key] = _Series()
            table.row(key)
        keys = list(series)
        restarted = [key for key in keys if rng.random() < 0.1 and series[key].values]
        if restarted:
            table.restart(np.array([table.rows[k] for k in restarted], dtype=np.intp))
            series.update({key: _Series() for key in restarted})
        picked = [key for key in keys if key not in restarted and rng.random() < 0.7]
        new = [rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-6, 6) for _ in picked]
        if picked:
            rows = np.array([table.rows[key] for key in picked], dtype=np.intp)
            table.add(rows, np.array(new))
        for key, value in zip(picked, new, strict=True):
            series[key].add(value)
        if cycle == 20:  # a Store read of some rows
            stored = {
                key: ([rng.uniform(-1, 1) for _ in range(rng.randint(0, 4))], rng.random(), 3)
                for key in keys[:4]
            }
            table.load_series(stored)
            for key, (values, sq, n) in stored.items():
                series[key] = _Series(values=list(values), diff_sq=sq, diffs=n)
        plain = table.all_plain(keys)
        for key in keys:
            s = series[key]
            assert _bits(table.get(key)) == _bits(s.values), (cycle, key)
            assert _bits([plain[key]["diff_sq"]]) == _bits([s.diff_sq]), (cycle, key)
            assert plain[key]["diffs"] == s.diffs
            assert plain[key]["values"] == s.values
        lasts = table.lasts()
        assert [lasts[table.rows[k]] for k in keys] == [
            series[k].values[-1] if series[k].values else None for k in keys
        ]
        start = 0.0016
        loop = start
        for key in keys:
            loop += series[key].diff_sq
        assert _bits([table.pooled(start)[0]]) == _bits([loop])
        assert table.pooled(start)[1] == sum(series[k].diffs for k in keys)
