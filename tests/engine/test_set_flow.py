"""One set flow per inlet (§5.3.6-5 weights): the plan, the verdict, the minimum-flow guard
and the minimum-flow alarm all read ``ControllerConfig.set_flow`` — design flow × the
operator's weight (the network file's when the operator set none)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.control.setpoints import return_setpoint
from custom_components.heatbalance.engine.evaluation import evaluate
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator

WEIGHTS = {"B008": 1.6, "B011": 0.6}  # all valves open: B008 at 1.01, B011 at 0.88 × design


def test_set_flow_is_design_times_the_operators_weight(
    builtin: Callable[[str], Network],
) -> None:
    network = builtin("estate12")
    config = ControllerConfig(weights=WEIGHTS)
    b008, b002 = network.inlets["B008"], network.inlets["B002"]
    assert config.set_flow(b008) == pytest.approx(1.6 * b008.design_flow_m3h)
    assert config.set_flow(b002) == pytest.approx(b002.weight * b002.design_flow_m3h)


def test_verdict_and_alarm_judge_the_set_flow_the_controller_aims_at(
    builtin: Callable[[str], Network],
) -> None:
    """An operator's weight moves the evaluation's reference and flow deviation, the
    minimum-flow alarm and the plan's targets alike (before, the verdict's flow deviation
    and the alarm read the network file's weight while the plan read the operator's)."""
    network = builtin("estate12")
    limits = SafetyLimits(min_flow_ratio=0.9)
    config = ControllerConfig(weights=WEIGHTS, limits=limits, algorithm="model")
    loop = ControlLoop(network, LoopConfig(controller=config), cycle_s=1800.0)
    result = loop.step(Measurements.from_plant(Simulator(network).step(1800.0)))
    ev = result.evaluation
    assert ev is not None
    for iid, inlet in network.inlets.items():
        judged, flow = ev.inlets[iid], result.measurements.inlets[iid].flow_m3h
        assert flow is not None
        set_flow = config.set_flow(inlet)
        assert judged.reference == pytest.approx(set_flow)
        assert judged.flow_deviation_pct == pytest.approx(100.0 * (flow - set_flow) / set_flow)
    low = {c.location for c in result.conditions if c.reason == "flow_low"}
    starving = {
        iid
        for iid, inlet in network.inlets.items()
        if (result.measurements.inlets[iid].flow_m3h or 0.0) < 0.9 * config.set_flow(inlet)
    }
    assert low == starving
    assert "B008" in low  # at its design flow: 1/1.6 of its set flow
    assert "B011" not in low  # 0.88 × design is 1.46 × its set flow
    aims = {
        iid: target / config.set_flow(network.inlets[iid])
        for iid, target in result.commands.targets.items()
    }
    assert aims
    assert max(aims.values()) == pytest.approx(min(aims.values()))


def test_temperature_setpoints_follow_the_operators_weight(
    builtin: Callable[[str], Network],
) -> None:
    network = builtin("estate12")
    state = Simulator(network, outdoor_c=-5.0).step(1800.0)
    ev = evaluate(network, state, level="intermediate", target="return", weights=WEIGHTS)
    inlet = network.inlets["B008"]
    expected = return_setpoint(network, inlet, state.outdoor_c, state.supply_c, 1.6)
    assert ev.inlets["B008"].reference == pytest.approx(expected)
    unweighted = evaluate(network, state, level="intermediate", target="return")
    assert unweighted.inlets["B008"].reference != pytest.approx(expected)
