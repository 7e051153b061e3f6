"""Estimation before action (issue 9, §3.0.7-1): filters, learnt noise, gating, no feedback.

The filter tests feed known signals; the closed-loop ones run the engine controller against
the real Simulator (estate12, all valves open at the start) with noisy readings.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.controller import (
    ASSUMED_COMMAND,
    ASSUMED_CONFIGURED,
    make_controller,
)
from custom_components.heatbalance.engine.control.estimation import (
    InletEstimator,
    SignalFilter,
)
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import STEP_S, all_open, apply, first_held_band, run


def test_filter_learns_the_noise_level_and_narrows_the_estimate() -> None:
    """Covariance matching: 3 % relative noise on a steady 10 m³/h is learnt from the data."""
    rng = np.random.default_rng(3)
    filt = SignalFilter(relative=True)
    for _ in range(80):
        filt.predict()
        filt.update(10.0 * (1.0 + 0.03 * rng.standard_normal()), quiet=True)
    assert filt.noise == pytest.approx(0.03, rel=0.35)
    assert filt.value == pytest.approx(10.0, rel=0.015)
    assert filt.std() is not None
    assert filt.std() < 0.03 * 10.0 / 2  # much better than one reading


def test_a_spike_is_ignored_once_and_a_real_change_taken_when_it_repeats() -> None:
    filt = SignalFilter(relative=True)
    for _ in range(10):
        filt.predict()
        filt.update(10.0, quiet=True)
    filt.predict()
    filt.update(30.0, quiet=True)  # a spike
    assert filt.value == pytest.approx(10.0, rel=0.01)
    filt.predict()
    filt.update(30.0, quiet=True)  # again: the plant changed
    assert filt.value == pytest.approx(30.0)


def test_a_missing_reading_keeps_the_estimate_with_growing_uncertainty() -> None:
    est = InletEstimator()
    est.step(InletReading(flow_m3h=5.0, return_c=45.0), moved=False, jump=0.0)
    before = est.std("flow_m3h")
    est.step(None, moved=False, jump=0.0)
    est.step(InletReading(flow_m3h=math.nan), moved=False, jump=0.0)
    assert est.value("flow_m3h") == 5.0
    assert est.age("flow_m3h") == 2
    assert before is not None
    assert est.std("flow_m3h") > before


def test_estimator_state_round_trips_and_refuses_corrupt_entries() -> None:
    est = InletEstimator()
    est.step(InletReading(flow_m3h=5.0, dp_available_kpa=40.0), moved=False, jump=0.0)
    data = json.loads(json.dumps(est.to_dict()))
    back = InletEstimator.from_dict(data)
    assert back.value("flow_m3h") == 5.0
    assert back.value("dp_available_kpa") == 40.0
    data["flow_m3h"][0] = "nonsense"
    data["return_c"] = 42
    again = InletEstimator.from_dict(data)
    assert again.value("flow_m3h") is None  # started afresh, nothing raised
    assert again.value("dp_available_kpa") == 40.0
    assert InletEstimator.from_dict([1, 2]).value("flow_m3h") is None  # type: ignore[arg-type]


def test_noise_does_not_make_valves_hunt(builtin) -> None:
    """After settling, ≤0.2 valve moves per inlet per step at 2 % flow-meter noise.

    (Measured over seeds 5–9: 0.03–0.17; at 3 % noise it is 0.04–0.35, so not asserted.)
    """
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    verdicts, _, history = run(network, ctl, 16, sigma=0.02, seed=5)
    late = history[8:]
    moves = sum(len(c.openings) for c in late) / (len(ctl.ids) * len(late))
    assert moves <= 0.2
    assert verdicts[-1] is True


def test_a_valve_without_position_feedback_is_regulated_from_assumed_positions(builtin) -> None:
    """Issue 9 item 2: no feedback → the configured opening, then the last command."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())

    def blind(k: int, meas: Measurements) -> None:
        for reading in meas.inlets.values():
            reading.opening = None

    verdicts, _, history = run(network, ctl, 6, tamper=blind)
    assert history[0].assumed["B001"] == ASSUMED_CONFIGURED
    assert history[0].openings  # commands from the very first step
    assert history[1].assumed["B001"] == ASSUMED_COMMAND
    with_feedback = make_controller(network, ControllerConfig())
    reference, _, _ = run(network, with_feedback, 6)
    blind_step, seen_step = first_held_band(verdicts), first_held_band(reference)
    assert blind_step is not None
    assert seen_step is not None
    assert abs(blind_step - seen_step) <= 1


def test_a_stuck_valve_is_named_and_left_out_of_the_plan(builtin) -> None:
    """Issue 9 item 3: feedback that does not follow two commands → stuck, out of the plan."""
    network = all_open(builtin("estate12"))
    sim = Simulator(network, outdoor_c=-5.0)
    sim.inject_fault("B005", "stuck", at=1.0)
    ctl = make_controller(network, ControllerConfig())
    state = sim.state()
    history = []
    for _ in range(6):
        cmds = ctl.step(Measurements.from_plant(state))
        history.append(cmds)
        apply(sim, cmds)
        state = sim.step(STEP_S)
    # commanded twice, followed never (once could be a command that was not dispatched)
    assert not history[1].faults
    assert history[2].faults["B005"].startswith("stuck")
    assert all("B005" not in c.openings for c in history[2:])  # no more commands to it
    others = [s.flow_m3h / s.design_flow_m3h for i, s in state.inlets.items() if i != "B005"]
    assert min(others) >= 0.99
