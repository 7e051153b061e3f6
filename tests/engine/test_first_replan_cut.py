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

from benchmarks import bench_robust as br
from custom_components.heatbalance.engine.networks.generator import generate_network


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
