"""Speed changes of hot paths (issue 10) give the same results as the rules they replaced.

Each test states the earlier formulation as the reference and compares it with the faster
one on seeded random input, garbage included: the faster code must agree exactly, not
within a tolerance. (Whole loop runs before/after a change: ``devtools/loop_fingerprint``.)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pytest

from custom_components.heatbalance.engine.cleaning import (
    _OK,
    clean_measurements,
    expect_commands,
    for_network,
    sample_of,
)
from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
    ReadingFields,
)
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.control.estimation import (
    RELATIVE,
    SIGNALS,
    STORED_FIELDS,
    _chain,
    _counts,
    _numbers,
    reading_values,
    restored_row,
)
from custom_components.heatbalance.engine.control.estimator_bank import (
    _BLANK as BANK_BLANK,
)
from custom_components.heatbalance.engine.control.estimator_bank import (
    FIELDS as BANK_FIELDS,
)
from custom_components.heatbalance.engine.control.estimator_bank import (
    SLOTS,
    EstimatorBank,
    InletEstimator,
    Predict,
    StepInputs,
    _predict,
    _restart,
    _update,
)
from custom_components.heatbalance.engine.control.identification import (
    FACTOR_RANGE,
    BranchIdentifier,
)
from custom_components.heatbalance.engine.control.planner import _shallow
from custom_components.heatbalance.engine.diagnosis import (
    all_counts,
    all_numbers,
    is_count,
    is_number,
)
from custom_components.heatbalance.engine.loop import ControlLoop, _controller
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.plain import as_plain
from devtools.loop_fingerprint import SCENARIOS, loop_run

from .test_control_closed_loop import all_open, run

FIELDS = ("flow_m3h", "supply_c", "return_c", "room_c", "dp_available_kpa", "valve_dp_kpa")


def _branch_reference(data: dict[str, Any]) -> BranchIdentifier:
    """``BranchIdentifier.from_dict`` as it was, with numpy on the two-element lists."""
    out = BranchIdentifier(a0=float(data["a0"]))
    theta = [float(t) for t in data.get("theta", out.theta)]
    p = [[float(v) for v in row] for row in data.get("p", out.p)]
    if len(theta) == 2 and all(math.isfinite(t) for t in theta):
        out.theta = [float(np.clip(t, *FACTOR_RANGE)) for t in theta]
    if np.shape(p) == (2, 2) and np.all(np.isfinite(p)):
        out.p = p
    return out


def _odd_number(rng: random.Random) -> float:
    return rng.choice(
        [math.nan, math.inf, -math.inf, 0.0, -0.0, 0.02, 200.0, 1e-9, 1e9, -3.0]
        + [rng.uniform(-1.0, 300.0) for _ in range(4)]
    )


def test_reading_values_are_get_of_each_field() -> None:
    """``InletReading.values`` (one call per inlet) gives what ``get`` gives field by field:
    NaN, infinities, None, ints, numeric text, bools, garbage, flagged fields and ``*``."""
    rng = random.Random(10)
    odd: list[Any] = [None, 3, True, "12.5", "x", object(), 1 << 2000]
    names = ReadingFields(*FIELDS, "opening")
    for _ in range(3000):
        values = {
            name: rng.choice(odd) if rng.random() < 0.3 else _odd_number(rng)
            for name in names.names
        }
        flagged = frozenset(rng.sample([*names.names, "*"], rng.choice([0, 0, 0, 1, 2])))
        reading = InletReading(**values, flagged=flagged)
        assert reading.values(names) == [reading.get(n) for n in names.names]
    with pytest.raises(ValueError):
        ReadingFields("flow_m3h")


def test_branch_identifier_restores_as_with_numpy() -> None:
    """The restore's clip and finiteness checks in Python equal numpy's, value for value."""
    rng = random.Random(11)
    for _ in range(3000):
        theta = [_odd_number(rng) for _ in range(rng.choice([2, 2, 2, 1, 3]))]
        rows = rng.choice([2, 2, 2, 1, 3])
        p = [[_odd_number(rng) for _ in range(rng.choice([2, 2, 2, 3]))] for _ in range(rows)]
        data = {"a0": 1.0, "theta": theta, "p": p}
        try:
            expected: BranchIdentifier | None = _branch_reference(data)
        except ValueError:  # a ragged p: numpy refuses it, and so must the restore
            expected = None
        if expected is None:
            with pytest.raises(ValueError):
                BranchIdentifier.from_dict(data)
            continue
        got = BranchIdentifier.from_dict(data)
        assert [repr(t) for t in got.theta] == [repr(t) for t in expected.theta]
        assert repr(got.p) == repr(expected.p)


def _step_reference(
    est: InletEstimator, reading: InletReading | None, moved: bool, jump: float, *rest: Any
) -> None:
    """``InletEstimator.step`` as it was: predict and update filter by filter, by name."""
    expected_flow, untouched, factor = rest
    quiet = not moved and jump == 0.0
    learn = quiet or bool(untouched)
    read = {} if reading is None else {n: reading.get(n) for n in SIGNALS}
    for name, filt in est.filters.items():
        if not filt.relative:
            filt.predict()
        elif name == "flow_m3h" and factor is not None:
            filt.predict(jump, expected_flow, factor)
            filt.update(read.get(name), quiet, True)
            continue
        elif name == "flow_m3h" and expected_flow is not None:
            filt.predict(jump, expected_flow)
        elif moved:
            filt.restart()
        else:
            filt.predict(jump if name == "flow_m3h" else 3.0 * jump)
        filt.update(read.get(name), quiet, learn)


def _filters(est: InletEstimator) -> list[tuple[str, str]]:
    """Every slot of every filter, floats by their bits (repr), in order."""
    return [(n, repr(f.fields())) for n, f in est.filters.items()]


_Case = tuple[InletReading | None, bool, float, float | None, bool | None, Any]
_ALONE = 12  # estimators also stepped alone, the reference filter by filter (0.4 ms a call)


def _bank_filters(bank: EstimatorBank, ids: list[str]) -> dict[str, bytes]:
    """``_filters`` of every row at once: each field of each inlet's filters by its bits
    (every NaN, a view's None, as one NaN), ints as ints."""
    out = {}
    for name in BANK_FIELDS:
        values = bank.a[name][bank.rows(ids)]
        if values.dtype.kind == "f":
            values = np.where(np.isnan(values), math.nan, values)
        out[name] = values.tobytes()
    return out


def _steps_reference(bank: EstimatorBank, rows: list[int], cases: list[_Case]) -> None:
    """``_step_reference`` for many estimators at once: each filter's time and measurement
    update arguments chosen filter by filter, by name, as there, then the time update and
    the measurement update run once over all those elements, as ``SignalFilter.predict``
    and ``update`` run them on one (each element's arithmetic is its own). A restarted
    filter is restarted first: with no estimate left, the time update leaves it alone."""
    shape = (len(rows), len(SIGNALS))
    jump, expected = np.zeros(shape), np.full(shape, math.nan)
    f, sigma, read = np.full(shape, math.nan), np.full(shape, math.nan), np.full(shape, math.nan)
    restart, quiet, learn = (np.zeros(shape, dtype=bool) for _ in range(3))
    for k, (reading, moved, step, expected_flow, untouched, factor) in enumerate(cases):
        quiet[k] = not moved and step == 0.0
        learn[k] = quiet[k] | bool(untouched)
        for j, name in enumerate(SIGNALS):
            value = None if reading is None else reading.get(name)
            read[k, j] = math.nan if value is None else value
            if name not in RELATIVE:  # predict(): the walk alone
                continue
            if name == "flow_m3h" and factor is not None:
                jump[k, j], (f[k, j], sigma[k, j]) = step, factor
                expected[k, j] = math.nan if expected_flow is None else expected_flow
                learn[k, j] = True
            elif name == "flow_m3h" and expected_flow is not None:
                jump[k, j], expected[k, j] = step, expected_flow
            elif moved:
                restart[k, j] = True
            else:
                jump[k, j] = step if name == "flow_m3h" else 3.0 * step
    index = np.array(rows, dtype=np.intp)
    state = {name: bank.a[name][index].copy() for name in BANK_FIELDS}
    rel = np.broadcast_to(np.array([name in RELATIVE for name in SIGNALS]), shape)
    with np.errstate(all="ignore"):
        _restart(state, restart)
        _predict(state, rel, Predict(jump, expected, f, sigma, np.zeros(shape, dtype=bool)))
        _update(state, rel, read, quiet, learn)
    for name in BANK_FIELDS:
        bank.a[name][index] = state[name]


def test_estimator_step_is_the_filter_by_filter_step() -> None:
    """The inlined step (positional readings, a temperature's walk without a call) leaves
    every filter as the earlier step did, bit for bit: 400 estimators over 30 seeded steps
    of lost, NaN, spiking and flagged readings, moves, jumps, plan flows and factors.

    The 400 are rows of one bank stepped as the product steps them (``EstimatorBank.step``
    over the rows in a shuffled order, one call per jump), the reference's filter-by-filter
    choice run over the elements of a second bank (:func:`_steps_reference`); the first
    ``_ALONE`` are also stepped alone (``InletEstimator.step``) against
    ``_step_reference``'s calls filter by filter, and agree with their rows. (Stepped one by
    one, the 144,000 one-element calls took ≈190 s at load 28 once the filter became array code.)"""
    rng, order = random.Random(12), random.Random(13)  # order: the gathered rows' order
    ids = [f"i{k}" for k in range(400)]
    ours, theirs = EstimatorBank(), EstimatorBank()
    ours.rows(ids)
    theirs.rows(ids)
    alone = [(InletEstimator(), InletEstimator()) for _ in range(_ALONE)]
    for _ in range(30):
        cases: list[_Case] = []
        for _k in ids:
            reading = None if rng.random() < 0.1 else _reading(rng)
            moved = rng.random() < 0.2
            jump = rng.choice([0.0, 0.0, 0.01, 0.05])
            expected = rng.choice([None, None, rng.uniform(0.1, 2.0), math.nan])
            factor = rng.choice([None, None, (rng.uniform(0.8, 1.2), 0.02), (math.inf, 0.1)])
            cases.append((reading, moved, jump, expected, rng.choice([None, True, False]), factor))
        for jump in sorted({c[2] for c in cases}):
            chosen = [k for k, c in enumerate(cases) if c[2] == jump]
            order.shuffle(chosen)
            cycle = StepInputs(
                [reading_values(cases[k][0]) for k in chosen],
                [cases[k][1] for k in chosen],
                jump,
                [cases[k][3] for k in chosen],
                [cases[k][4] for k in chosen],
                [cases[k][5] for k in chosen],
            )
            ours.step(ours.rows([ids[k] for k in chosen]), cycle)
        _steps_reference(theirs, [int(r) for r in theirs.rows(ids)], cases)
        for (one, reference), case in zip(alone, cases, strict=False):
            one.step(case[0], *case[1:])
            _step_reference(reference, case[0], *case[1:])
            assert _filters(one) == _filters(reference)
        assert _bank_filters(ours, ids) == _bank_filters(theirs, ids)
        for k, (one, _reference) in enumerate(alone):
            assert _filters(ours[ids[k]]) == _filters(one)


def _number_reference(value: Any) -> bool:
    """The earlier check: a finite int or float, not a bool (raised beyond a float's range)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and math.isfinite(value)


def test_stored_estimator_numbers_are_checked_as_before() -> None:
    """The restore's inline int check agrees with the earlier ``isfinite`` check on every
    value it could take; an int beyond a float's range, where that check raised
    OverflowError (uncaught: the controller was not rebuilt), is refused instead."""
    rng = random.Random(13)
    odd: list[Any] = [None, 0, -7, 3, 2**60, True, False, "1", [], 1.5, -0.0, math.nan, math.inf]
    for _ in range(3000):
        row = [rng.choice(odd) if rng.random() < 0.5 else _odd_number(rng) for _ in range(7)]
        expected = all(v is None or _number_reference(v) for v in row)
        assert _numbers(row) is expected
    with pytest.raises(OverflowError):
        _number_reference(10**400)
    assert _numbers([1.0, 10**400]) is False
    assert _numbers([-(10**400)]) is False


def test_a_stored_count_beyond_a_float_restores_afresh() -> None:
    """A damaged Store with a count of 10⁴⁰⁰ drops that signal's filter, nothing else."""
    good = [50.0, 0.01, 0.02, 7, 0, 0, 50.1]
    est = InletEstimator.from_dict(
        {"supply_c": good, "flow_m3h": [1.0, 0.001, 0.01, 10**400, 0, 0, 1.0]}
    )
    assert est.filters["supply_c"].value == 50.0
    assert est.filters["supply_c"].learnt == 7
    assert est.filters["flow_m3h"].value is None


def test_a_stored_count_beyond_the_arrays_restores_afresh(builtin: Any) -> None:
    """A count of 2⁷⁰ (a float's range, an int64's not: the bank's arrays raised
    OverflowError, and the controller's restore dropped every inlet's learning) drops that
    signal's filter, nothing else."""
    good = [50.0, 0.01, 0.02, 7, 0, 0, 50.1]
    est = InletEstimator.from_dict(
        {"supply_c": good, "flow_m3h": [1.0, 0.001, 0.01, 2**70, 0, 0, 1.0]}
    )
    assert est.filters["supply_c"].learnt == 7
    assert est.filters["flow_m3h"].value is None
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    run(network, ctl, 3)
    stored = json.loads(json.dumps(ctl.as_dict()))
    first, other = sorted(stored["estimators"])[:2]
    stored["estimators"][first]["flow_m3h"][4] = 2**70
    again = _controller(network, ControllerConfig(), stored)
    assert again.estimators[first].filters["flow_m3h"].value is None
    assert again.estimators[other].to_dict() == stored["estimators"][other]


@pytest.mark.parametrize("position", [3, 4, 5])  # learnt, outliers, age
@pytest.mark.parametrize("damaged", [None, -1, 2.5])
def test_a_damaged_count_restores_that_filter_afresh(position: int, damaged: Any) -> None:
    """A count that is missing (None raised TypeError in ``int``), negative or fractional
    drops that signal's filter, nothing else."""
    good = [50.0, 0.01, 0.02, 7, 0, 0, 50.1]
    flow = [1.0, 0.001, 0.01, 4, 0, 0, 1.0]
    flow[position] = damaged
    est = InletEstimator.from_dict({"supply_c": good, "flow_m3h": flow})
    assert est.filters["supply_c"].value == 50.0
    assert est.filters["supply_c"].learnt == 7
    assert est.filters["flow_m3h"].value is None


def test_a_damaged_count_keeps_the_rest_of_the_controllers_learning(builtin: Any) -> None:
    """The loop rebuilds its controller from the Store (``loop._controller``): one damaged
    count in one inlet's filter restarts that filter, not every inlet's learning (the
    TypeError it raised made the loop drop the whole stored controller)."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    run(network, ctl, 6)
    stored = json.loads(json.dumps(ctl.as_dict()))
    first, other = sorted(stored["estimators"])[:2]
    stored["estimators"][first]["flow_m3h"][3] = None
    again = _controller(network, ControllerConfig(), stored)
    assert again.estimators[first].filters["flow_m3h"].value is None
    assert again.estimators[first].filters["supply_c"].learnt > 0
    assert again.estimators[other].to_dict() == stored["estimators"][other]


def _estimator_reference(data: Any) -> InletEstimator:
    """``InletEstimator.from_dict`` as it was: the stored signals in their order, each
    filter checked by ``_numbers`` and ``_counts``, then the six in ``SIGNALS``' order (a
    signal not restored fresh). Each checked filter's fields are written into the
    estimator's own row as ``SignalFilter(relative, value, …)`` set them and
    ``InletEstimator(filters)`` copied them (built apart, each owned a one-row bank: 24,000
    banks for this test's 3,000 estimators)."""
    est = InletEstimator()
    if not isinstance(data, dict):
        return est
    for name, raw in data.items():
        if name not in SIGNALS or not isinstance(raw, list) or len(raw) not in (6, 7, 10, 13):
            continue
        value, var, noise, learnt, outliers, age = raw[:6]
        previous = raw[6] if len(raw) >= 7 else None
        if not _numbers(raw) or value is None or var is None:
            continue
        if var < 0 or (noise is not None and noise <= 0):
            continue
        if not _counts(learnt, outliers, age):
            continue
        filt = est.filters[name]
        given = (float(value), float(var), noise, int(learnt), int(outliers), int(age))
        for slot, v in zip(SLOTS, given, strict=False):
            setattr(filt, slot, v)
        filt.previous = None if previous is None else float(previous)
        chain = _chain(raw[7:]) if len(raw) == 13 else None
        if chain is not None:
            filt.anchor, filt.span, filt.anchor_var = chain[:3]
            filt.chain_sum, filt.chain_sq, filt.chain_pairs = chain[3:]
    return est


def _stored_row(rng: random.Random, size: int) -> list[Any]:
    """A stored filter row, now and then damaged (a value, a count, its length)."""
    row: list[Any] = [rng.uniform(0.5, 80.0), rng.uniform(0.0, 2.0), rng.uniform(0.01, 0.1)]
    row += [rng.randint(0, 40), rng.randint(0, 2), rng.randint(0, 3), rng.uniform(0.5, 80.0)]
    row += [rng.uniform(0.5, 80.0), rng.randint(0, 7), rng.uniform(0.0, 0.01)]
    row += [rng.uniform(1.0, 600.0), rng.uniform(1.0, 9e4), rng.uniform(0.0, 5.0)]
    row = [*row, 1.0][:size]
    odd: list[Any] = [None, -1, 2.5, 0, True, "3", math.nan, math.inf, 10**400, [], 0.0, -0.0]
    for _ in range(rng.choice([0, 0, 1, 2])):
        row[rng.randrange(len(row))] = rng.choice(odd)
    return row


def test_estimator_restore_is_the_filter_by_filter_restore() -> None:
    """The restore with its counts checked inline builds the very filters the earlier one
    built, on 3,000 seeded stored estimators (a third damaged: odd values and counts, rows
    of a wrong length, unknown and missing signals, a non-list signal)."""
    rng = random.Random(29)
    for _ in range(3000):
        data: dict[str, Any] = {}
        for name in rng.sample([*SIGNALS, "heat_kw"], rng.randint(0, 7)):
            data[name] = _stored_row(rng, rng.choice([6, 7, 7, 13, 13, 10, 5, 14]))
        if rng.random() < 0.05:
            data[rng.choice(SIGNALS)] = rng.choice([None, {}, 3.0, "x"])
        new = InletEstimator.from_dict(data)
        old = _estimator_reference(data)
        assert list(new.filters) == list(SIGNALS)
        for name in SIGNALS:
            a, b = new.filters[name], old.filters[name]
            assert [(type(getattr(a, k)), getattr(a, k)) for k in SLOTS] == [
                (type(getattr(b, k)), getattr(b, k)) for k in SLOTS
            ]


def _bank_load_reference(bank: EstimatorBank, stored: dict[str, Any]) -> None:
    """``EstimatorBank.load`` as it was: a list per inlet and field, assigned field by field."""
    ids = list(stored)
    rows = bank.rows(ids)
    columns: dict[str, list[list[float | int]]] = {f: [] for f in STORED_FIELDS}
    for iid in ids:
        data = stored[iid]
        get = data.get if isinstance(data, dict) else (lambda _name: None)
        cells = [restored_row(get(name)) for name in SIGNALS]
        for k, name in enumerate(STORED_FIELDS):
            blank = BANK_BLANK[name]
            columns[name].append([blank if c is None else c[k] for c in cells])
    for name, values in columns.items():
        if values:
            bank.a[name][rows] = values
    for name in BANK_FIELDS:
        if name not in columns:
            bank.a[name][rows] = BANK_BLANK[name]


@pytest.mark.parametrize("inlets", [0, 1, 400])
def test_estimator_bank_load_is_the_field_by_field_load(inlets: int) -> None:
    """The bank's restore through one transpose writes the very arrays the field-by-field
    restore wrote (issue 10, HA start: 0.9 → 0.7 s CPU at 23,870 inlets), on stored inlets
    with damaged rows, missing and unknown signals and inlets that are no mapping, into a
    bank that already holds inlets."""
    rng = random.Random(31 + inlets)
    stored: dict[str, Any] = {}
    for k in range(inlets):
        data: Any = {}
        for name in rng.sample([*SIGNALS, "heat_kw"], rng.randint(0, 7)):
            data[name] = _stored_row(rng, rng.choice([6, 7, 7, 13, 13, 10, 5, 14]))
        if rng.random() < 0.03:
            data = rng.choice([None, [], "x"])
        stored[f"I{k}"] = data
    new, old = EstimatorBank(), EstimatorBank()
    for bank in (new, old):
        bank.rows(["earlier", "I3"])  # rows taken before the restore
    new.load(stored)
    _bank_load_reference(old, stored)
    for name in BANK_FIELDS:
        a, b = new.a[name], old.a[name]
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes(), name  # bit for bit, NaN included


def test_diagnoser_number_checks_are_the_per_value_rules() -> None:
    """``all_numbers``/``all_counts`` (type sets, C loops) and ``is_number``/``is_count``
    with their plain-type fast paths answer as the per-value rules did on mixed lists,
    and raise the same OverflowError for an int beyond a float's range."""
    rng = random.Random(37)
    odd: list[Any] = [None, 0, -7, 3, 2**53, 2**53 + 1, 2**60, True, False, "1", [], 1.5]
    odd += [-0.0, math.nan, math.inf, np.float64(2.0), np.int64(3), 10**400]

    def number(value: Any) -> bool:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok and math.isfinite(value)

    def count(value: Any) -> bool:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ok and 0 <= value <= 2**53

    def outcome(check: Any, values: Any) -> Any:
        try:
            return check(values)
        except OverflowError:
            return OverflowError

    for _ in range(3000):
        size = rng.choice([0, 1, 2, 10])
        values = [rng.choice(odd) if rng.random() < 0.3 else _odd_number(rng) for _ in range(size)]
        if rng.random() < 0.5:
            values = [rng.randint(-2, 2**53 + 2) if rng.random() < 0.9 else v for v in values]
        assert outcome(all_numbers, values) == outcome(lambda v: all(map(number, v)), values)
        assert outcome(all_counts, values) == outcome(lambda v: all(map(count, v)), values)
        for value in values:
            assert outcome(is_number, value) == outcome(number, value)
            assert outcome(is_count, value) == outcome(count, value)


def _reading(rng: random.Random) -> InletReading:
    def value() -> Any:
        return rng.choice(
            [None, math.nan, 7, "8.5", True]
            + [rng.uniform(0.0, 2.0), rng.uniform(40.0, 80.0), rng.uniform(18.0, 22.0)] * 4
        )

    flagged: Any = rng.choice([frozenset(), frozenset(), frozenset({"supply_c"}), {"flow_m3h"}])
    return InletReading(**{name: value() for name in FIELDS}, flagged=flagged)


def _cleaned_reference(cleaner: Any, meas: Measurements, result: Any) -> dict[str, Any]:
    """Which readings clean_measurements passed on unchanged, by the earlier per-inlet rule:
    no inlet signal flagged (six look-ups), frozenset flags and float fields only."""
    same = {}
    for iid, reading in meas.inlets.items():
        bad = [n for n, s in cleaner.inlet_signals(iid) if result.flags.get(s) != _OK]
        floats = all(type(getattr(reading, n, None)) is float for n in FIELDS)
        same[iid] = not bad and type(reading.flagged) is frozenset and floats
    return same


def test_clean_measurements_passes_on_the_same_readings() -> None:
    """The one pass over the flags finds the inlets the six look-ups per inlet found."""
    net = generate_network(6, 4, 3, name="g6x4")
    cleaner = for_network(net)
    rng = random.Random(5)
    for k in range(12):
        inlets = {iid: _reading(rng) for iid in net.inlets if rng.random() > 0.1}
        meas = Measurements(inlets=inlets, supply_c=70.0, return_c=50.0, time_s=1800.0 * k)
        cleaned, result = clean_measurements(cleaner, meas)
        reference = _cleaned_reference(cleaner, meas, result)
        assert {iid: cleaned.inlets[iid] is meas.inlets[iid] for iid in inlets} == reference
        for iid, names in ((i, cleaner.inlet_signals(i)) for i in inlets):
            if not reference[iid]:
                got = cleaned.inlets[iid]
                assert {n: getattr(got, n) for n, _ in names} == {
                    n: result.values.get(s) for n, s in names
                }
        if k % 3 == 0:
            moved = {iid: rng.random() for iid in list(net.inlets)[::3]}
            expect_commands(cleaner, net, moved)


def test_expect_commands_names_the_signals_as_before() -> None:
    """The cached names expect_commands now takes are the ones it formatted before."""
    net = generate_network(4, 3, 2, name="g4x3")
    cleaner = for_network(net)
    for iid in net.inlets:
        names = cleaner.inlet_signals(iid)
        assert names == tuple((n, f"{iid}.{n}") for n in FIELDS)
        assert names[0][1] == f"{iid}.flow_m3h"
        assert all(s in cleaner.specs for _, s in names)


def test_aligned_sample_cleans_as_the_dict() -> None:
    """The readings' values put in the specs' order clean exactly as ``sample_of``'s dict:
    same values, flags (in order) and notes, cycle after cycle; a sample naming a signal
    beyond the specs (an unknown inlet) is not aligned and goes the dict's way."""
    net = generate_network(6, 4, 4, name="g6x4")
    by_dict, by_list = for_network(net), for_network(net)
    rng = random.Random(9)
    aligned = 0
    for k in range(14):
        inlets = {iid: _reading(rng) for iid in net.inlets if rng.random() > 0.1}
        if k == 5:
            inlets["stranger"] = _reading(rng)
        meas = Measurements(
            inlets=inlets,
            supply_c=rng.choice([70.0, None, math.nan]),
            return_c=50.0 + rng.random(),
            pump_flow_m3h=rng.choice([None, 30.0 * rng.random()]),
            outdoor_c=rng.choice([-5.0, None, "x"]),
            time_s=1800.0 * k,
        )
        expected = by_dict.clean(sample_of(meas, None, by_dict.inlet_signals), 1800.0 * k)
        found = by_list.aligned(meas, None)
        assert (found is None) == (k == 5)
        got = (
            by_list.clean(sample_of(meas), 1800.0 * k)
            if found is None
            else by_list.clean_aligned(found, 1800.0 * k)
        )
        aligned += found is not None
        assert list(got.values.items()) == list(expected.values.items())
        assert list(got.flags.items()) == list(expected.flags.items())
        assert got.notes == expected.notes
        if k % 4 == 1:
            moved = {iid: rng.random() for iid in list(net.inlets)[::2]}
            expect_commands(by_dict, net, moved)
            expect_commands(by_list, net, moved)
    assert aligned == 13


@dataclass
class _Inner:
    values: list[float] = field(default_factory=lambda: [1.5, -0.0, math.inf])
    pair: tuple[float, int] = (0.25, 3)


@dataclass
class _Record:
    name: str = "B001"
    flag: bool = True
    none: None = None
    nested: list[list[float]] = field(default_factory=lambda: [[1.0, 2.0], [], [3.0]])
    since: dict[str, float] = field(default_factory=lambda: {"stuck": 12.5})
    inner: _Inner = field(default_factory=_Inner)
    inners: list[_Inner] = field(default_factory=lambda: [_Inner(), _Inner([0.1], (1.0, 2))])
    number: Any = field(default_factory=lambda: np.float64(0.3))
    array: Any = field(default_factory=lambda: np.arange(3.0))


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types, keys in the same order (arrays by value)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.tolist() == b.tolist()
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)


def test_as_plain_is_asdict() -> None:
    """as_plain gives what dataclasses.asdict gives, and copies what asdict copies."""
    record = _Record()
    got, expected = as_plain(record), asdict(record)
    assert _same(got, expected)
    assert got["nested"] is not record.nested
    assert got["nested"][0] is not record.nested[0]
    assert got["since"] is not record.since
    assert got["inner"]["values"] is not record.inner.values


def test_state_records_of_a_loop_run_are_asdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The meter check's, the diagnoser's and PI's stored records after a run with faults."""
    kept: list[Any] = []
    original = ControlLoop.as_dict

    def spy(self: ControlLoop) -> Any:
        kept.append(self)
        return original(self)

    monkeypatch.setattr(ControlLoop, "as_dict", spy)
    loop_run("estate12", SCENARIOS[2], "traditional", 6)  # a seeded run, a biased meter
    loop = kept[-1]
    ctl = loop.controller
    records = [*ctl.meters.inlets.values(), *ctl.meters.balances.values()]
    records += [*loop.diagnoser.inlets.values(), *ctl.pi.values()]
    records += list(ctl.pi_schedule.ratios.values())
    assert len(records) > 30
    assert all(dataclasses.is_dataclass(r) for r in records)
    for record in records:
        assert _same(as_plain(record), asdict(record))
    assert json.dumps(original(loop))  # the Store's form still serialises


def test_ideal_network_inlets_are_copied_as_copy_copy() -> None:
    """The planner's ideal network copies each inlet as ``copy.copy`` did: a new object with
    the same attributes (shared devices and envelopes until the ideal devices replace them),
    the planner's own network untouched."""
    net = generate_network(6, 4, 3)
    for inlet in net.inlets.values():
        copied, reference = _shallow(inlet), copy.copy(inlet)
        assert copied is not inlet
        assert type(copied) is type(reference)
        assert copied.__dict__ == reference.__dict__
        assert all(copied.__dict__[k] is v for k, v in reference.__dict__.items())
