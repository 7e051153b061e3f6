"""An estimate resting at a band edge is moved toward the band's middle (§8.2.4, §3.0.7-3).

The gates judge a flow's deviation from its goal against its estimate's σ. An inlet truly just
outside the band with the edge inside its estimate's interval is never significant and rested
outside for good (gen15-comb1500m without ΔP, a building drawn on another branch, seed 0:
far-end B014 truly +5.4…+6.1 % for 15 steps, estimated +4.8…+5.8 ± 0.75 %). After
``EDGE_REST_CYCLES`` cycles at the edge it gets a move toward the band's middle, bounded so its
landing's z σ stays inside the opposite edge — 2 σ for one inlet, more for many: among many
inlets truly in band the noise alone rests the most extreme at an edge (``edge_rest_z``).
"""

from __future__ import annotations

from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import (
    EDGE_REST_CYCLES,
    EDGE_REST_Z,
    Controller,
    edge_rest_z,
    make_controller,
)
from custom_components.heatbalance.engine.control.estimator_bank import InletEstimator
from custom_components.heatbalance.engine.control.model_based import InletView
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import all_open

LEAF = "B2"  # a street-level leaf of loop8


def _at(ctl: Controller, iid: str, flow: float, deviation: float, sigma: float) -> float:
    """Give ``iid`` a goal at the aim on a set flow ``deviation`` below ``flow``, and a flow
    estimate ``flow`` known to ``sigma`` (a share of the set flow); returns the set flow."""
    set_flow = flow / (1.0 + deviation)
    ctl.aim = 1.02  # learnt: 2.5 settled σ above set flow
    ctl.goals[iid] = set_flow * ctl.aim
    filt = ctl.estimators.setdefault(iid, InletEstimator()).filters["flow_m3h"]
    filt.value, filt.var = flow, (sigma * set_flow) ** 2
    return set_flow


def _count(ctl: Controller, iid: str, cycles: int, moved: bool = False) -> None:
    """``cycles`` cycles with a fresh reading and the valve standing (or just moved)."""
    views = {iid: InletView(0.5, True, None, None)}
    for _ in range(cycles):
        ctl.fresh, ctl.shifted = {iid}, ({iid} if moved else set())
        ctl._count_edge_rests([iid], views)


def test_an_estimate_resting_just_above_the_band_is_moved_toward_its_middle(builtin) -> None:
    """+5.4 % estimated to ±0.9 %: not significant against a +2 % goal (4 σ above), its
    shrunk estimate inside the band — the old gates held it. After ``EDGE_REST_CYCLES``
    cycles at the edge the move lands it in the plant inside the band, nearer the middle."""
    net = all_open(builtin("loop8"))
    sim = Simulator(net, outdoor_c=-5.0)
    opening = 0.8
    sim.set_opening(LEAF, opening)
    flow = sim.state().inlets[LEAF].flow_m3h
    ctl = make_controller(net, ControllerConfig())
    view = InletView(opening, True, None, None)
    set_flow = _at(ctl, LEAF, flow, 0.054, 0.009)
    assert not ctl._significant(LEAF, view)
    assert not ctl._likely_outside(LEAF)
    _count(ctl, LEAF, EDGE_REST_CYCLES - 1)
    assert not ctl._resting_outside(LEAF, True)  # two cycles: not yet
    _count(ctl, LEAF, 1)
    assert ctl._resting_outside(LEAF, True)
    moved = ctl._edge_rest_move(LEAF, opening)
    assert moved < opening - ctl.config.opening_deadband
    sim.set_opening(LEAF, moved)
    landed = sim.state().inlets[LEAF].flow_m3h / set_flow - 1.0
    assert 0.0 <= landed < 0.04  # inside the band, nearer its middle than +5.4 %
    assert abs(landed - 0.025) < 0.01


def test_an_estimate_resting_below_the_band_is_raised_only_when_the_plan_is_not_short(
    builtin,
) -> None:
    """The lower edge alike (−0.4 % ± 0.9 %), but a plan sharing a shortfall raises nobody
    alone: a raise would take from the others (§5.3.6-5)."""
    net = all_open(builtin("loop8"))
    ctl = make_controller(net, ControllerConfig())
    flow = Simulator(net, outdoor_c=-5.0).state().inlets[LEAF].flow_m3h
    _at(ctl, LEAF, flow, -0.004, 0.009)
    _count(ctl, LEAF, EDGE_REST_CYCLES)
    assert ctl.edge_rests[LEAF] == -EDGE_REST_CYCLES
    assert ctl._resting_outside(LEAF, True)
    assert not ctl._resting_outside(LEAF, False)


def test_a_wandering_estimate_drains_and_a_move_starts_the_count_again(builtin) -> None:
    """An estimate well inside the band takes a cycle off the count (an inlet truly in band
    that strays to the edge now and then is not moved); its own valve's move starts it again
    (the landing is no rest); an estimate inside the band is never resting."""
    net = all_open(builtin("loop8"))
    ctl = make_controller(net, ControllerConfig())
    flow = Simulator(net, outdoor_c=-5.0).state().inlets[LEAF].flow_m3h
    _at(ctl, LEAF, flow, 0.052, 0.009)
    _count(ctl, LEAF, EDGE_REST_CYCLES - 1)
    _at(ctl, LEAF, flow, 0.03, 0.009)  # well inside: one off
    _count(ctl, LEAF, 1)
    assert ctl.edge_rests[LEAF] == EDGE_REST_CYCLES - 2
    assert not ctl._resting_outside(LEAF, True)
    _at(ctl, LEAF, flow, 0.052, 0.009)
    _count(ctl, LEAF, 1, moved=True)
    assert LEAF not in ctl.edge_rests
    _count(ctl, LEAF, 2 * EDGE_REST_CYCLES + 3)
    assert ctl.edge_rests[LEAF] == 2 * EDGE_REST_CYCLES  # capped: it drains in a few cycles


def test_no_move_when_the_estimate_is_too_unsure_to_stay_clear_of_the_other_edge(
    builtin,
) -> None:
    """±3 % at +5.4 %: its −2 σ already reaches the band's lower edge, so no move toward the
    middle is sure to stay inside (§8.2.4); the valve stays."""
    net = all_open(builtin("loop8"))
    ctl = make_controller(net, ControllerConfig())
    flow = Simulator(net, outdoor_c=-5.0).state().inlets[LEAF].flow_m3h
    _at(ctl, LEAF, flow, 0.054, 0.03)
    assert ctl._edge_rest_move(LEAF, 0.8) == 0.8
    _at(ctl, LEAF, flow, 0.054, 0.009)
    assert ctl._edge_rest_move(LEAF, 0.8) < 0.8


def test_the_bound_widens_with_the_inlets_watched() -> None:
    """One inlet: 21c's 2 σ; many: the one-sided tail shared among them (Šidák), growing."""
    assert abs(edge_rest_z(1) - EDGE_REST_Z) < 1e-9
    assert edge_rest_z(0) == edge_rest_z(1)
    zs = [edge_rest_z(n) for n in (1, 15, 60, 120, 1200)]
    assert zs == sorted(zs)
    assert len(set(zs)) == len(zs)
    assert 3.4 < edge_rest_z(120) < 3.7


def test_an_edge_rest_by_noise_among_many_inlets_is_not_cut_below_the_band(builtin) -> None:
    """district120 at 2 % noise, seed 17: B076's six readings after the first plan averaged
    3.0 % above its true +2.15 %, so its estimate rested at +5.24 ± 0.92 % — the most extreme
    of 120 inlets. One inlet's 2 σ bound cut it below the band there (here, on loop8's
    model, to +0.1 %: the lower edge); judged as one of 120 the cut is smaller and the plant
    keeps half a percent inside the band (the same estimate, the real Simulator)."""
    net = all_open(builtin("loop8"))
    sim = Simulator(net, outdoor_c=-5.0)
    opening = 0.8
    sim.set_opening(LEAF, opening)
    flow = sim.state().inlets[LEAF].flow_m3h
    landed = {}
    for watched in (1, 120):
        ctl = make_controller(net, ControllerConfig())
        set_flow = _at(ctl, LEAF, flow, 0.0215, 0.0092)
        ctl.estimators[LEAF].filters["flow_m3h"].value = set_flow * 1.0524
        _count(ctl, LEAF, EDGE_REST_CYCLES)
        assert ctl._resting_outside(LEAF, True)
        ctl.edge_watched = watched
        moved = ctl._edge_rest_move(LEAF, opening)
        sim.set_opening(LEAF, moved)
        landed[watched] = sim.state().inlets[LEAF].flow_m3h / set_flow - 1.0
    assert landed[1] < 0.005  # one inlet's bound: cut to the lower edge
    assert 0.005 < landed[120] < 0.0215  # one of 120: cut, but well inside the band


def test_a_household_resting_at_the_edge_is_left_to_the_gates() -> None:
    """A household's move shifts its siblings (they share the building valve's drop), and a
    household filter ran 2 σ high for cycles at 2 % noise (gen10x8-households seed 2): the
    rule moves street-level leaves only."""
    net = generate_network(6, 4, seed=13, name="households")
    ctl = make_controller(net, ControllerConfig())
    hid = next(i for i in ctl.ids if net.inlets[i].parent is not None)
    flow = Simulator(net, outdoor_c=-5.0).state().inlets[hid].flow_m3h
    _at(ctl, hid, flow, 0.054, 0.009)
    _count(ctl, hid, EDGE_REST_CYCLES)
    assert hid not in ctl.edge_rests
    ctl.edge_rests[hid] = EDGE_REST_CYCLES
    assert not ctl._resting_outside(hid, True)


def test_the_edge_rests_survive_a_restart(builtin) -> None:
    """The count is learnt between cycles: a restart keeps it (issue 10, bit for bit)."""
    net = all_open(builtin("loop8"))
    ctl = make_controller(net, ControllerConfig())
    flow = Simulator(net, outdoor_c=-5.0).state().inlets[LEAF].flow_m3h
    _at(ctl, LEAF, flow, 0.054, 0.009)
    _count(ctl, LEAF, 2)
    stored = ctl.as_dict()
    assert stored["edge_rests"] == {LEAF: 2}
    assert Controller.from_dict(net, stored).edge_rests == {LEAF: 2}
    assert "edge_rests" not in make_controller(net, ControllerConfig()).as_dict()
