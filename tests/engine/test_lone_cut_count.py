"""A lone cut above the goal is judged against the count of inlets watched (§8.2.4 advanced band,
§8.2.5; issue 9 goal at 2 % noise; ``Controller._cut_by_chance``).

The gates judge one inlet's estimate, but the lone cut is made at the inlet whose estimate lies
furthest above its goal of all the network's: among many inlets truly in band the noise puts
one there (the winner's curse). Traced at 2 % noise, each cut landed an inlet truly in band
below it for 10–12 cycles: district120 seed 0, B116 truly +1.84 %, estimated +5.41 ± 0.86 %
(4.2 σ above its goal, not "likely outside"); households1200 seed 15, B033H06 truly +1.36 %,
estimated +5.85 ± 1.38 % (2.9 σ; its shrunk estimate +5.05 %: "likely outside").
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchmarks import bench_robust as br
from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import (
    SIGNIFICANCE_Z_ABOVE,
    Controller,
    lone_cut_z,
    make_controller,
    typical_max_z,
)
from custom_components.heatbalance.engine.control.estimator_bank import InletEstimator
from custom_components.heatbalance.engine.control.model_based import InletView
from custom_components.heatbalance.engine.model import Network

INLET = "B116"  # a street-level leaf of district120


def _at(ctl: Controller, deviation: float, sigma: float) -> None:
    """INLET's goal at +2 % over its set flow, its flow estimate ``deviation`` over the set
    flow, known to ``sigma`` (a share of the set flow)."""
    set_flow = 1.0
    ctl.aim = 1.02
    ctl.goals[INLET] = set_flow * ctl.aim
    filt = ctl.estimators.setdefault(INLET, InletEstimator()).filters["flow_m3h"]
    filt.value, filt.var = set_flow * (1.0 + deviation), (sigma * set_flow) ** 2


def _z(ctl: Controller) -> float:
    value, std = ctl._gate_estimate(INLET)
    assert value is not None
    assert std is not None
    return (value - ctl.goals[INLET]) / std


def test_a_significant_estimate_is_not_cut_when_the_count_explains_it(
    builtin: Callable[[str], Network],
) -> None:
    """B116's case: 4.05 σ above its goal passes one inlet's gate (``SIGNIFICANCE_Z_ABOVE``)
    and is cut as one of 12 inlets; as the most extreme of 120 it is what noise alone gives
    once in a few hundred cycles, and it stays."""
    ctl = make_controller(builtin("district120"), ControllerConfig())
    _at(ctl, 0.054, 0.0084)
    view = InletView(0.6, True, None, None)
    assert SIGNIFICANCE_Z_ABOVE < _z(ctl) < lone_cut_z(120)
    assert ctl._significant(INLET, view)  # the one-inlet gate asks for the cut …
    assert not ctl._likely_outside(INLET)
    assert not ctl._cut_by_chance(INLET, 12)  # … made among a few
    assert ctl._cut_by_chance(INLET, 120)  # … not among many


def test_a_likely_outside_estimate_is_not_cut_when_the_count_explains_it(
    builtin: Callable[[str], Network],
) -> None:
    """B033H06's case: an estimate so wide that its shrunk value lies beyond the band's upper
    edge while it is only 3.1 σ above its goal: cut as one of 120 (the largest of their
    noise is ~2.5 σ in half the cycles), not as one of 1,240 (3.26 σ)."""
    ctl = make_controller(builtin("district120"), ControllerConfig())
    _at(ctl, 0.02 + 3.1 * 0.02, 0.02)
    assert ctl._likely_outside(INLET)
    assert typical_max_z(120) < _z(ctl) < typical_max_z(1240)
    assert not ctl._cut_by_chance(INLET, 120)
    assert ctl._cut_by_chance(INLET, 1240)


def test_a_flow_far_above_its_goal_or_below_it_is_not_judged_by_the_count(
    builtin: Callable[[str], Network],
) -> None:
    """Beyond the count's bound the cut stands; a raise is never held by it."""
    ctl = make_controller(builtin("district120"), ControllerConfig())
    _at(ctl, 0.08, 0.0075)  # 8 σ above
    assert not ctl._cut_by_chance(INLET, 23_870)
    _at(ctl, -0.03, 0.0075)  # below its goal
    assert not ctl._cut_by_chance(INLET, 23_870)


@pytest.mark.parametrize(
    ("watched", "cut", "typical"),
    [(1, 4.0, 0.0), (12, 4.0, 1.59), (60, 4.15, 2.27), (120, 4.31, 2.53), (1240, 4.80, 3.26)],
)
def test_the_bounds_grow_with_the_count(watched: int, cut: float, typical: float) -> None:
    """One inlet keeps its own gates (4 σ; a shrunk estimate beyond the edge); the bounds
    grow with the count as the largest of that many normal draws does."""
    assert lone_cut_z(watched) == pytest.approx(cut, abs=0.005)
    assert typical_max_z(watched) == pytest.approx(typical, abs=0.005)


def test_district120_seed_0_holds_the_advanced_band_from_step_6() -> None:
    """bench_robust's own run (``run_one``, the loop with the hold): B116 was cut at step 6
    from a true +1.84 % to −0.80 % and the band held only from step 18."""
    net = next(n for n in br.networks(False) if n.name == "district120")
    scenario = next(s for s in br.SCENARIOS if s.name == "noise 2%")
    run = br.run_one(net, scenario, 0)
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 6, run.advanced
