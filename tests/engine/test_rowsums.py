"""Python's ``sum`` and ``x * x`` over many lists at once, bit for bit (engine/rowsums.py).

The meter check's supply-offset prior (§3.0.7-1) runs on every inlet's day of offsets each
cycle; its array form must give exactly what the per-inlet Python loop gave, or a speed
change would move a decision (issue 10).
"""

from __future__ import annotations

import math
import random

import numpy as np

from custom_components.heatbalance.engine.meters import (
    PRIOR_WEIGHT,
    SPREAD_FLOOR_K,
    SPREAD_PRIOR_K,
    SUPPLY_PRIOR_K,
    MeterCheck,
    _Inlet,
    _median,
)
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.rowsums import columns, python_sums, squares


def _number(rng: random.Random) -> float:
    """Mixed magnitudes, cancellations and the odd special value."""
    k = rng.random()
    if k < 0.4:
        return rng.gauss(0.0, 1.0)
    if k < 0.6:
        return rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-20, 20)
    if k < 0.65:
        return rng.choice([0.0, -0.0, 1e308, -1e308, 1e-320, math.inf, -math.inf, math.nan])
    return rng.uniform(-3.0, 3.0) + rng.choice([1e16, -1e16, 0.0])


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)  # -0.0 is not 0.0


def test_row_sums_and_squares_are_pythons_bit_for_bit() -> None:
    rng = random.Random(5)
    lists = [[_number(rng) for _ in range(rng.randint(0, 60))] for _ in range(1000)]
    matrix, lengths = columns(lists)
    got = python_sums(matrix, lengths).tolist()
    assert all(_same(g, float(sum(row))) for g, row in zip(got, lists, strict=True))
    flat = [rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-5, 5) for _ in range(50_000)]
    # x * x, not x ** 2 (libm's pow) nor np.power (numpy's AVX-512 code differs from libm)
    assert squares(np.array(flat)).tolist() == [x * x for x in flat]


def _prior_as_the_loop(check: MeterCheck) -> tuple[float, float, float]:
    """The supply-offset prior as the per-inlet loop computed it before (17f's code)."""
    sq, count = SUPPLY_PRIOR_K**2 * PRIOR_WEIGHT, PRIOR_WEIGHT
    means = []
    for iid in check.inlets:
        offsets = check.offsets.get(iid)
        n = len(offsets)
        if n:
            mean = sum(offsets) / n
            means.append((mean - check.expected_offsets.get(iid, 0.0), n))
            sq += sum([(o - mean) * (o - mean) for o in offsets])
            count += n - 1
    noise_var = sq / count
    if not means:
        return 0.0, SPREAD_PRIOR_K**2, noise_var
    centre = _median(sorted(m for m, _ in means))
    excess = sum((m - centre) * (m - centre) - noise_var / n for m, n in means)
    spread = (SPREAD_PRIOR_K**2 * PRIOR_WEIGHT + excess) / (PRIOR_WEIGHT + len(means))
    return centre, max(spread, SPREAD_FLOOR_K**2), noise_var


def test_the_offset_prior_is_the_per_inlet_loops_bit_for_bit() -> None:
    rng = random.Random(11)
    check = MeterCheck(generate_network(4, 2, 1))
    assert tuple(check._offset_prior()) == _prior_as_the_loop(check)  # no inlet yet
    for i in range(400):  # a day's window, a young inlet, one without a supply reading
        pipe = rng.uniform(-1.0, 0.0)
        n = rng.choice([0, 1, 2, 5, 48, 48, 48])
        check.inlets[f"B{i}"] = _Inlet()
        check.offsets.set(f"B{i}", [pipe + rng.gauss(0.0, 0.3) for _ in range(n)])
        if i % 3:
            check.expected_offsets[f"B{i}"] = pipe + rng.gauss(0.0, 0.05)
    assert tuple(check._offset_prior()) == _prior_as_the_loop(check)
