"""A coordinated re-plan does not cut a street inlet just raised on its own, whose estimate lies
in its band below its goal (§8.2.4 advanced band, §8.2.5, §3.0.7-3; issue 9 goal "pipe model
×0.5 or ×1.5: advanced band within 12 steps" without ΔP; ``Controller._low_in_band``).

Without ΔP readings a drawing's error stays in the model's absolute openings: lone corrections
move a valve from where it stands (``Controller._trim``) and reach the band, and the next
coordinated re-plan (a 0.1 % pump nudge is enough) cut a valve moved last cycle back to the
plan's opening although its own estimate lay below its goal (gen15-comb1500m, branch pipes
drawn ×2/×0.5, seed 4: B009 true +1.19 % → −1.72 %). After a plan's landing the cut still
stands: the re-plan then corrects the error the plan left (seed 3 with a building hung on
another branch). bench_robust's own runs (``run_one``, the loop with the hold) and the rule's
parts on loop8's controller.
"""

from __future__ import annotations

import dataclasses

from benchmarks import bench_robust as br
from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import Controller, make_controller
from custom_components.heatbalance.engine.control.estimator_bank import InletEstimator
from custom_components.heatbalance.engine.control.model_based import InletView
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import all_open

LEAF = "B2"  # a street-level leaf of loop8
OPENING = 0.8


def _leaf_at(builtin, deviation: float, sigma: float) -> tuple[Controller, InletView]:
    """loop8's controller with its leaf estimated ``deviation`` off its set flow to ``sigma``
    (shares of the set flow), its goal 2 % above the set flow, its valve moved last cycle."""
    net = all_open(builtin("loop8"))
    ctl = make_controller(net, ControllerConfig())
    set_flow = Simulator(net, outdoor_c=-5.0).state().inlets[LEAF].flow_m3h
    ctl.aim = 1.02
    ctl.goals[LEAF] = set_flow * ctl.aim
    filt = ctl.estimators.setdefault(LEAF, InletEstimator()).filters["flow_m3h"]
    filt.value, filt.var = set_flow * (1.0 + deviation), (sigma * set_flow) ** 2
    ctl.shifted = {LEAF}
    return ctl, InletView(OPENING, True, None, None)


def test_a_lone_landing_below_the_goal_asks_no_cut(builtin) -> None:
    """B009's figures: +0.98 ± 0.63 % against a goal above it, moved last cycle on its own.
    Its own estimate asks for no cut, so the re-plan spares it (keeps its flow against the
    others' moves); not when last cycle's commands were a plan's landing."""
    ctl, view = _leaf_at(builtin, 0.0098, 0.0063)
    assert not ctl._significant(LEAF, view)
    assert ctl._low_in_band(LEAF)
    assert ctl._lone_landing({LEAF: view})
    assert ctl._asks_no_cut(LEAF, view, OPENING, landed=False, lone=True)
    assert not ctl._asks_no_cut(LEAF, view, OPENING, landed=False, lone=False)


def test_a_lone_landing_above_the_goal_is_still_cut(builtin) -> None:
    """In band above its goal a just-moved inlet's cut stands (gen15-comb1500m at 2 % noise,
    seed 16: B001 raised alone twice rested at +5.3 % when spared)."""
    ctl, view = _leaf_at(builtin, 0.035, 0.0063)
    assert not ctl._low_in_band(LEAF)
    assert not ctl._asks_no_cut(LEAF, view, OPENING, landed=False, lone=True)


def test_a_plans_landing_or_an_inlet_far_outside_is_no_lone_landing(builtin) -> None:
    """Most inlets moved last cycle (a plan's landing), an inlet estimated beyond 4 σ outside
    its band (the last plan's error), or a diagnosed fault: the re-plan's cuts stand."""
    ctl, view = _leaf_at(builtin, 0.0098, 0.0063)
    ctl.shifted = set(ctl.ids)
    assert not ctl._lone_landing({LEAF: view})
    ctl, view = _leaf_at(builtin, 0.0098, 0.0063)
    ctl.faults["B1"] = "blocked"
    assert not ctl._lone_landing({LEAF: view})
    ctl, view = _leaf_at(builtin, 0.09, 0.0063)
    assert not ctl._lone_landing({LEAF: view})


def _comb_without_dp(scenario: str, seed: int) -> br.Run:
    """bench_robust's gen15-comb1500m, no ΔP read, one seed, through the loop with the hold."""
    net = generate_network(15, seed=22, branch_len=1, trunk_m=(90.0, 110.0), name="gen15-comb1500m")
    listed = next(s for s in br.SCENARIOS if s.name == scenario)
    return br.run_one(net, dataclasses.replace(listed, pressures=False), seed)


def test_a_replan_does_not_undo_a_lone_raise_on_the_comb() -> None:
    """Seed 4, branch pipes drawn ×2/×0.5: B009 cut back below the band at step 11, the
    advanced band held from 13 (goal: ≤12)."""
    run = _comb_without_dp("pipe model branches x2/x0.5", 4)
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 12, run.advanced


def test_a_replan_after_a_plans_landing_still_cuts_on_the_comb() -> None:
    """Seed 3, a building hung on another branch: the first plan left B001 +64 %, B008
    +23 %; sparing the just-landed B010 and B012 there too held the band from 19, not 9."""
    run = _comb_without_dp("plant: file hangs a building on another branch", 3)
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 12, run.advanced
