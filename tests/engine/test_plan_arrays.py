"""The model's per-inlet answers built from whole arrays (issue 10, speed at 23k): the same
values, as Python floats, as the element-by-element loops they replace.

numpy's element access costs about ten times a list's, and ``move_factors`` and the plan's
leaf flows read it per inlet (23,870 at 23k). A speed change must not move a decision
(``devtools.loop_fingerprint``), so each value must equal the old loop's to the bit.
"""

from __future__ import annotations

import math

import numpy as np

from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.control.planner import _leaf_flows
from custom_components.heatbalance.engine.networks.generator import generate_network


def test_leaf_flows_as_element_by_element() -> None:
    rng = np.random.default_rng(3)
    ids = [f"i{k}" for k in range(500)]
    leaf = rng.random(500) < 0.8
    flows = rng.lognormal(size=500) * rng.choice([1e-9, 1.0, 1e6], size=500)
    flows[:3] = [0.0, -0.0, math.nan]
    leaf[:3] = True
    got = _leaf_flows(ids, leaf, flows)
    want = {iid: float(flows[k]) for k, iid in enumerate(ids) if leaf[k]}
    assert list(got) == list(want)  # the same inlets in the same order
    for iid, value in want.items():
        assert type(got[iid]) is float  # not np.float64: it is stored and compared later
        assert math.copysign(1.0, got[iid]) == math.copysign(1.0, value)
        assert got[iid] == value or (math.isnan(value) and math.isnan(got[iid]))


def test_move_factors_as_element_by_element() -> None:
    """A building and two households moved (one shut), the pump slowed: every inlet's
    ratio is the two forward solves' quotient, and an inlet with no positive finite flow
    before or after is left out — as the per-inlet loop gave them."""
    network = generate_network(4, 3, seed=13, name="households")
    ctl = make_controller(network, ControllerConfig())
    model, pl = ctl.model, ctl.model.planner
    ids = sorted(ctl.ids)
    building = next(i for i in ids if any(network.inlets[k].parent == i for k in ids))
    kids = [k for k in ids if network.inlets[k].parent == building]
    moves = {building: (1.0, 0.7), kids[0]: (1.0, 0.0), kids[1]: (1.0, 0.9)}
    positions = dict.fromkeys(ctl.ids, 1.0)
    got = model.move_factors(positions, moves, (1.0, 0.95))
    assert got is not None
    before = np.array([positions.get(i, math.nan) for i in pl.ids])
    after = before.copy()
    for iid, (_was, now) in moves.items():
        after[pl.index[iid]] = now
    kv = model._kv_factors(before)
    old = pl.forward.solve(before, 1.0, kv_factor=kv, tol=1e-7)
    new = pl.forward.solve(after, 0.95, old, kv_factor=kv, tol=1e-7)
    q0, q1 = old.inlet_flow_m3h, new.inlet_flow_m3h
    want = {
        iid: float(q1[k] / q0[k])
        for k, iid in enumerate(pl.ids)
        if q0[k] > 0 and q1[k] > 0 and math.isfinite(q0[k]) and math.isfinite(q1[k])
    }
    assert list(got) == list(want)
    assert all(type(v) is float for v in got.values())
    assert got == want  # to the bit
    assert got[kids[1]] != 1.0  # the moves did move flows
