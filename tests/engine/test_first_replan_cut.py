"""A street inlet a plan just landed is not cut on its first reading by a re-plan that nobody
far outside the band asked for (§8.2.4 advanced band, §8.2.5; issue 9 goal at 2 % noise;
``Controller._asks_no_cut``).

After the first plan's large move every inlet's estimate rests on one reading (σ ≈ 2 % at
2 % meters, 40 % of the band's width). A small re-plan (the pump's, or noise's) that cut such
an inlet because that one reading was high landed it below the band, and the §8.2.5 hold
kept it there; a re-plan after a real error of the last plan, or of an inlet's own lone
move, must still cut. bench_robust's own runs (``run_one``, the loop with the hold).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks import bench_robust as br
from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import make_controller
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator


def _gen60_at_two_percent(seed: int) -> br.Run:
    """bench_robust's gen60 at 2 % noise, one seed, through the loop with the hold."""
    net = generate_network(60, seed=24, area_m2=(1500.0, 9000.0), name="gen60")
    scenario = next(s for s in br.SCENARIOS if s.name == "noise 2%")
    return br.run_one(net, scenario, seed)


def test_a_pump_replan_does_not_cut_a_just_landed_inlet_on_one_high_reading() -> None:
    """Seed 11: the first plan landed B060 at +0.75 %; a pump speed-up made step 2's re-plan
    coordinated and cut it on one reading (estimated +3.61 ± 1.97 %) to +0.06 %, and just
    moved, again at step 3 to −0.65 %: the advanced band held only from step 7."""
    run = _gen60_at_two_percent(11)
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 6, run.advanced


def test_a_replan_after_a_real_landing_error_still_cuts() -> None:
    """Seed 13: one inlet stood at +117 % after the first plan; the re-plan that corrects it
    shifts every neighbour, and its cuts of the just-landed inlets stand. Sparing them too
    left them at +5…+8 % (the band never held)."""
    run = _gen60_at_two_percent(13)
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 6, run.advanced


def test_an_inlet_just_raised_on_its_own_is_still_cut_by_a_replan() -> None:
    """gen15-comb1500m seed 16: B001, raised twice alone on low readings, truly +5.1 % when
    the aim's change re-planned everyone at step 4; its estimate lay in the band above its
    goal. Only a plan's landing (last cycle's commands touched most inlets) is spared: spared
    here too, it rested at +5.3 % (held from 24)."""
    net = generate_network(15, seed=22, branch_len=1, trunk_m=(90.0, 110.0), name="gen15-comb1500m")
    scenario = next(s for s in br.SCENARIOS if s.name == "noise 2%")
    run = br.run_one(net, scenario, 16)
    assert run.advanced is not None, "the advanced band not held at the end"
    assert run.advanced <= 6, run.advanced


def _landing_judged(
    builtin: Callable[[str], Network], misses: dict[str, float], read: bool = True
) -> tuple[bool, int]:
    """estate12's controller after one step: every inlet moved last cycle, read this cycle
    at its plan's flow × (1 + miss) (``misses`` per inlet, others 0); whether
    ``Controller._landed_well`` calls that a landing as planned, and how many inlets the
    plan predicted (``read`` False: this cycle's readings all lost)."""
    network = builtin("estate12")
    ctl = make_controller(network, ControllerConfig())
    meas = Measurements.from_plant(Simulator(network, outdoor_c=-5.0).state())
    ctl.step(meas)
    ctl.raw = meas if read else Measurements()
    ctl.shifted = set(meas.inlets)
    ctl.landing = {
        iid: r.flow_m3h / (1.0 + misses.get(iid, 0.0))
        for iid, r in meas.inlets.items()
        if r.flow_m3h
    }
    return ctl._landed_well(), len(ctl.landing)


def test_a_plan_landed_within_its_meters_noise_counts_as_landed(
    builtin: Callable[[str], Network],
) -> None:
    """Misses of one reading's noise σ (the 2 % prior) or less on every read inlet: landed."""
    landed, read = _landing_judged(builtin, {"B001": 0.04, "B002": -0.04, "B003": 0.02})
    assert read >= 10
    assert landed


def test_one_inlet_far_from_its_plan_makes_a_poor_landing(
    builtin: Callable[[str], Network],
) -> None:
    """One inlet read 10 % above its plan's flow (5 σ of 2 % meters; the bound for 12
    readings is 2.9 σ) makes the landing poor, as district120's first plan at 1 % noise
    (B003 read 10.5 % above it): no just-landed inlet is then spared; nothing read, no
    landing is known either."""
    assert not _landing_judged(builtin, {"B001": 0.10})[0]
    assert not _landing_judged(builtin, {"B007": -0.10})[0]
    assert not _landing_judged(builtin, {}, read=False)[0]
