"""The array estimator (issue 10, 23k speed): a bank steps each inlet as it steps alone (§3.0.7-1).

``EstimatorBank`` steps every inlet's filters at once in numpy; an ``InletEstimator`` alone
is a one-row bank and steps by the same array code (the filter is implemented once, 15h; the
scalar filter it replaced was matched bit for bit on recorded runs before it was removed).
Each test runs a bank of many rows and the inlets one by one on the same seeded input and
compares every field of every filter exactly (floats by their bits): rows stay independent,
the gathered and the sliced step agree, the Store round-trips.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import numpy as np

from custom_components.heatbalance.engine import meters
from custom_components.heatbalance.engine.control.base import ControllerConfig, InletReading
from custom_components.heatbalance.engine.control.controller import (
    MIN_POOLED,
    POOL_PRIOR_SAMPLES,
    Controller,
    make_controller,
)
from custom_components.heatbalance.engine.control.estimation import (
    LEARN_WEIGHT_MIN,
    PRIOR_NOISE,
    RELATIVE,
    SIGNALS,
    reading_values,
)
from custom_components.heatbalance.engine.control.estimator_bank import (
    FIELDS as BANK_FIELDS,
)
from custom_components.heatbalance.engine.control.estimator_bank import (
    EstimatorBank,
    InletEstimator,
    StepInputs,
)
from custom_components.heatbalance.engine.loop import _controller

from .test_control_closed_loop import all_open, run

TRUE = {"flow_m3h": 1.5, "dp_available_kpa": 40.0, "valve_dp_kpa": 12.0}
TRUE |= {"supply_c": 65.0, "return_c": 45.0, "room_c": 20.0}


def _bits(est: InletEstimator) -> list[str]:
    """Every slot of every filter, floats by their bits (repr), NaN and None apart."""
    return [f"{n}:{f.fields()!r}" for n, f in est.filters.items()]


def _all_bits(ests: list[InletEstimator]) -> dict[str, bytes]:
    """``_bits`` of every estimator at once, read from the arrays of the banks they live in:
    each field by its bits (every NaN, a view's None, as one NaN), ints as ints."""
    out = {}
    for name in BANK_FIELDS:
        first = ests[0]._bank.a[name]
        values = np.empty((len(ests), first.shape[1]), dtype=first.dtype)
        groups: dict[int, tuple[Any, list[int], list[int]]] = {}
        for k, est in enumerate(ests):
            _holder, at, rows = groups.setdefault(id(est._bank), (est._bank, [], []))
            at.append(k)
            rows.append(est._row)
        for holder, at, rows in groups.values():
            values[at] = holder.a[name][rows]
        if values.dtype.kind == "f":
            values = np.where(np.isnan(values), math.nan, values)
        out[name] = values.tobytes()
    return out


def _reading(rng: random.Random, noise: float) -> InletReading | None:
    """A meter's reading near the true values: now and then lost, a spike, NaN, flagged."""
    if rng.random() < 0.05:
        return None
    values: dict[str, Any] = {}
    for name, true in TRUE.items():
        roll = rng.random()
        value: Any = true * (1.0 + noise * rng.gauss(0.0, 1.0))
        if roll < 0.03:
            value = None
        elif roll < 0.05:
            value = value * rng.choice([3.0, 0.2])  # a spike
        elif roll < 0.055:
            value = rng.choice([math.nan, math.inf, "7.5", True])
        values[name] = value
    flagged = frozenset({"supply_c"}) if rng.random() < 0.02 else frozenset()
    return InletReading(**values, flagged=flagged)


def _cycle(rng: random.Random, size: int, noise: float) -> tuple[Any, ...]:
    """One cycle's step arguments for ``size`` inlets (one jump for the network)."""
    jump = rng.choice([0.0] * 6 + [0.01, 0.05])
    args = []
    for _ in range(size):
        moved = rng.random() < 0.03
        expected = rng.choice([None] * 6 + [rng.uniform(1.0, 2.0), math.nan, -1.0])
        factor = rng.choice(
            [None] * 3
            + [(rng.uniform(0.9, 1.1), 0.02)] * 2
            + [(rng.uniform(0.99, 1.01), 0.0005)] * 4  # a sure move: the chain goes on
            + [(1.0, 0.0), (math.inf, 0.1), (0.0, 0.1), (1e200, 1e200)]
        )
        untouched = rng.choice([None, True, False])
        args.append((_reading(rng, noise), moved, jump, expected, untouched, factor))
    return jump, args


def _inputs(args: list[tuple[Any, ...]], jump: float) -> StepInputs:
    return StepInputs(
        [reading_values(a[0]) for a in args],
        [a[1] for a in args],
        jump,
        [a[3] for a in args],
        [a[4] for a in args],
        [a[5] for a in args],
    )


def _step_both(bank: EstimatorBank, scalar: list[InletEstimator], cycle: Any) -> None:
    """One cycle for the bank under test (every row, the sliced step) and for the reference
    estimators: each bank they live in steps its rows in one call (an inlet alone is its own
    one-row bank, as ``InletEstimator.step`` steps it)."""
    jump, args = cycle
    ids = [str(k) for k in range(len(scalar))]
    groups: dict[int, tuple[EstimatorBank, list[int], list[tuple[Any, ...]]]] = {}
    for est, arg in zip(scalar, args, strict=True):
        holder, rows, part = groups.setdefault(id(est._bank), (est._bank, [], []))
        rows.append(est._row)
        part.append(arg)
    for holder, rows, part in groups.values():
        holder.step(np.array(rows, dtype=np.intp), _inputs(part, jump))
    bank.step(bank.rows(ids), _inputs(args, jump))


def _apart(size: int, banks: int = 7) -> list[InletEstimator]:
    """``size`` reference inlets spread over ``banks`` banks, each bank's rows in the reverse
    order: every inlet steps in other company and at another row than in the bank under
    test (the gathered step). Inlets alone (one-row banks, the same array code) cost 0.5 ms
    a step: 24,000 of them took 200 s at load 28."""
    holders = [EstimatorBank() for _ in range(banks)]
    for k in reversed(range(size)):
        holders[k % banks].row(str(k))
    return [holders[k % banks][str(k)] for k in range(size)]


def test_the_bank_steps_every_filter_as_the_scalar_filter_does() -> None:
    """300 inlets over 40 seeded cycles at 1–5 % noise: spikes, lost and garbage readings,
    moves, jumps, plan flows and factors (beyond reason too), drift chains run to their
    early and full samples. Every field of every filter equals the reference's: the same
    inlets in seven other banks at other rows (rows stay apart; the sliced and the gathered
    step agree), and 20 inlets each alone (``InletEstimator.step``)."""
    for seed, noise in ((3, 0.01), (4, 0.05)):
        rng = random.Random(seed)
        scalar = _apart(280) + [InletEstimator() for _ in range(20)]
        bank = EstimatorBank()
        walks = 0
        for _ in range(40):
            _step_both(bank, scalar, _cycle(rng, len(scalar), noise))
            assert _all_bits([bank[str(k)] for k in range(len(scalar))]) == _all_bits(scalar)
            walks += sum(e.filters["flow_m3h"].walk is not None for e in scalar)
        assert walks > 20  # the drift chains' samples were compared too


def test_the_bank_gates_spikes_by_the_pooled_noise_as_its_inlets_alone() -> None:
    """As above with the network's pooled noise given to every filter each cycle (as the
    controller pools it): a meter learnt a little quieter than the network has its spike
    gate widened by pooled ÷ own (``gate_ratio``, §8.2.5); the bank's rows and the inlets
    stepped alone take and reject the same readings."""
    rng = random.Random(7)
    scalar = _apart(300)
    bank = EstimatorBank()
    widened = 0
    for _ in range(30):
        bank.pool_noise(POOL_PRIOR_SAMPLES, MIN_POOLED)
        reference = _pooled_reference(scalar)
        for est in scalar:
            for name, filt in est.filters.items():
                filt.pooled = reference[name]
        _step_both(bank, scalar, _cycle(rng, len(scalar), 0.03))
        assert _all_bits([bank[str(k)] for k in range(len(scalar))]) == _all_bits(scalar)
        widened += sum(f.gate_ratio() > 1.0 for e in scalar for f in e.filters.values())
    assert widened > 100  # the widened gate was compared, not only the plain one


def test_the_banks_learnt_sigmas_are_each_filters_sigma() -> None:
    """``learnt_sigmas`` (the identification's gate, §3.0.7-1, read for every inlet at once)
    gives per inlet exactly the filter's own ``sigma()`` where its noise was learnt and 0.0
    where not: own noise shrunk toward the pooled level, before any pooled level toward the
    prior, on 300 seeded inlets over 20 cycles, compared by their bits."""
    rng = random.Random(11)
    bank, compared = EstimatorBank(), 0
    ids = [str(k) for k in range(300)]
    for cycle in range(20):
        if cycle >= 10:  # the second half with the network's pooled level
            bank.pool_noise(POOL_PRIOR_SAMPLES, MIN_POOLED)
        jump, args = _cycle(rng, len(ids), 0.03)
        bank.step(bank.rows(ids), _inputs(args, jump))
        for name in SIGNALS:
            got = bank.learnt_sigmas(name)
            assert list(got) == ids
            for iid in ids:
                filt = bank[iid].filters[name]
                want = filt.sigma() if filt.noise is not None else 0.0
                assert type(got[iid]) is float
                assert got[iid].hex() == want.hex(), (cycle, iid, name)
                compared += filt.noise is not None
    assert compared > 1000  # learnt noise was compared, not only the 0.0 of the unlearnt


def test_the_bank_stores_and_restores_as_the_scalar_estimators() -> None:
    """The Store layout is the scalar one: ``to_dicts`` is every ``to_dict``; a restored
    bank steps on exactly as the restored scalar estimators."""
    rng = random.Random(5)
    scalar = [InletEstimator() for _ in range(120)]
    bank = EstimatorBank()
    for _ in range(12):
        _step_both(bank, scalar, _cycle(rng, len(scalar), 0.02))
    stored = json.loads(json.dumps(bank.to_dicts()))
    assert stored == json.loads(json.dumps({str(k): e.to_dict() for k, e in enumerate(scalar)}))
    again = EstimatorBank()
    again.load(stored)
    restored = [InletEstimator.from_dict(stored[str(k)]) for k in range(len(scalar))]
    for _ in range(6):
        _step_both(again, restored, _cycle(rng, len(restored), 0.02))
        assert all(_bits(again[str(k)]) == _bits(e) for k, e in enumerate(restored))


def test_a_view_reads_and_writes_its_filter() -> None:
    """The readers' per-inlet view: a write through it is what the next step starts from,
    ``setdefault`` hands back the banked view (as a dict's stored value), a copied-in
    estimator's fields come back equal."""
    bank = EstimatorBank()
    filt = bank.setdefault("a", InletEstimator()).filters["flow_m3h"]
    filt.value, filt.var, filt.noise, filt.learnt = 2.0, 0.01, 0.03, 4
    assert bank["a"].filters["flow_m3h"].value == 2.0
    assert bank.get("a").filters["flow_m3h"].sigma() == filt.sigma()
    assert bank["a"].filters["supply_c"].value is None
    assert "b" not in bank
    est = InletEstimator()
    est.step(InletReading(flow_m3h=1.0, supply_c=60.0), moved=False, jump=0.0)
    bank["b"] = est
    assert _bits(bank["b"]) == _bits(est)
    assert list(bank) == ["a", "b"]


def _pooled_reference(estimators: list[InletEstimator]) -> dict[str, float | None]:
    """``Controller._pool_noise`` as it was: a Python sum over the filters in order."""
    out = {}
    for name in SIGNALS:
        n = total = 0.0
        for est in estimators:
            filt = est.filters[name]
            if filt.noise is not None and filt.learnt > 0:
                weight = min(float(filt.learnt), 1.0 / LEARN_WEIGHT_MIN)
                n += weight
                total += weight * (filt.noise * filt.noise)
        prior = PRIOR_NOISE["relative" if name in RELATIVE else "absolute"]
        total += POOL_PRIOR_SAMPLES * (prior * prior)
        out[name] = math.sqrt(total / (n + POOL_PRIOR_SAMPLES)) if n >= MIN_POOLED else None
    return out


def test_the_pooled_noise_is_the_sum_in_the_inlets_order() -> None:
    rng = random.Random(6)
    scalar = [InletEstimator() for _ in range(200)]
    bank = EstimatorBank()
    for _ in range(5):
        _step_both(bank, scalar, _cycle(rng, len(scalar), 0.03))
    bank.pool_noise(POOL_PRIOR_SAMPLES, MIN_POOLED)
    reference = _pooled_reference(scalar)
    assert reference["flow_m3h"] is not None
    for name in SIGNALS:
        assert {bank[str(k)].filters[name].pooled for k in range(200)} == {reference[name]}


def test_a_controllers_stored_estimators_read_back_unchanged(builtin: Any) -> None:
    """A controller's Store (the scalar layout) restores into the bank and stores again the
    very same state."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    run(network, ctl, 6, sigma=0.02)
    stored = json.loads(json.dumps(ctl.as_dict()))
    assert stored["estimators"]
    again = _controller(network, ControllerConfig(), stored)
    assert json.loads(json.dumps(again.as_dict())) == stored


def test_a_restore_builds_one_meter_check(builtin: Any, monkeypatch: Any) -> None:
    """``Controller.from_dict`` builds only the stored meter check (a fresh one built and
    thrown away cost 0.03 s at 23k), on the controller's own network copy, and a damaged
    stored check still restarts alone."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    run(network, ctl, 4, sigma=0.02)
    stored = json.loads(json.dumps(ctl.as_dict()))
    built: list[Any] = []
    init = meters.MeterCheck.__init__

    def counted(self: Any, net: Any, *args: Any, **kwargs: Any) -> None:
        built.append(net)
        init(self, net, *args, **kwargs)

    monkeypatch.setattr(meters.MeterCheck, "__init__", counted)
    again = Controller.from_dict(network, stored)
    assert len(built) == 1
    assert built[0] is again.network
    assert again.meters.as_dict() == ctl.meters.as_dict()
    damaged = Controller.from_dict(network, {**stored, "meters": 7})
    assert damaged.estimators.to_dicts() == stored["estimators"]
