"""Cross-check against pandapipes on the built-in networks (issue 2: flows 0.5 %, temps 0.2 K).

The pandapipes model is built from the same network file and the operating point
heatbalance solved (tests/engine/pandapipes_model.py says how). Agreement shows the pipe
friction, the node mixing, the pipe heat losses and the return mixing are right.
"""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.heatbalance.engine.cli import steady_state
from custom_components.heatbalance.engine.loader import load_network

pandapipes_model = pytest.importorskip("tests.engine.pandapipes_model")


@pytest.mark.parametrize("name", ["estate12", "district120", "households1200", "loop8"])
def test_flows_and_temperatures_match_pandapipes(name) -> None:
    net = load_network(name)
    hyd, th = steady_state(net, pump_speed=None)
    model = pandapipes_model.build(net, hyd, th)
    pandapipes_model.run(model)
    ids = hyd.inlet_ids
    theirs = pandapipes_model.inlet_flows_m3h(model, ids)
    rel = np.abs(theirs - hyd.inlet_flow_m3h) / hyd.inlet_flow_m3h
    assert rel.max() < 0.005, f"worst flow deviation {rel.max():.4%} at {ids[int(rel.argmax())]}"
    supply = pandapipes_model.inlet_supply_c(model, ids)
    assert np.abs(supply - th.supply_c).max() < 0.2
    assert abs(pandapipes_model.network_return_c(model) - th.network_return_c) < 0.2
