"""The pump loop on the estimated flows (issue 9 pump goal, §8.2.4, §5.3.6-3).

A pump speed change moves every flow by one factor (affinity laws, valves standing), so
once the network is quiet the controller slows the pump until the worst-served inlet's
estimate less two standard errors meets its set flow — without landing any valve again.
How far it goes is set by how well the flows are known: far with exact meters, not at all
while an inlet is not known.
"""

from __future__ import annotations

import json
from itertools import pairwise
from statistics import NormalDist

import numpy as np
import pytest

from custom_components.heatbalance.engine.control import controller as control
from custom_components.heatbalance.engine.control import targets
from custom_components.heatbalance.engine.control.base import ControllerConfig, Measurements
from custom_components.heatbalance.engine.control.controller import (
    TRIM_QUIET,
    TRIM_STEP,
    TRIM_Z,
    Controller,
    make_controller,
)
from custom_components.heatbalance.engine.control.targets import (
    POOL_CAP_Z,
    POOL_MIN,
    POOL_TAIL_MIN,
    SIMULTANEOUS,
    joint_bound,
    worst_lower_bound,
)
from custom_components.heatbalance.engine.evaluation import BALANCED, BalanceStateMachine
from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig
from custom_components.heatbalance.engine.oracle import oracle
from custom_components.heatbalance.engine.simulator import Simulator

from .dispatching import send
from .test_control_closed_loop import all_open, run

STEPS = 16


def test_exact_meters_let_the_pump_bring_every_flow_near_set_flow(builtin) -> None:
    """Exact flow readings: every flow ends within 1 % above its set flow, none below, and
    the pump at ≤1.03 × the oracle's power (without the loop: the 1.5 % aim, 1.045×)."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    verdicts, sim, history = run(network, ctl, STEPS, sigma=0.0)
    state = sim.state()
    ratios = [state.inlets[i].flow_m3h / n.design_flow_m3h for i, n in network.inlets.items()]
    assert min(ratios) >= 1.0, ratios
    assert max(ratios) < 1.01, ratios
    assert ctl.trim < 1.0
    best = oracle(network, outdoor_c=-5.0).pump_power_w
    assert state.pump.power_w / best <= 1.03
    assert all(verdicts[-4:])
    # the loop moved the pump alone: its last slow-down sent no valve command
    scaled = [c for c in history if c.pump_speed is not None and not c.openings]
    assert scaled, "the pump loop never slowed the pump on its own"


def test_noisy_meters_slow_the_pump_less(builtin) -> None:
    """2 % meters: the estimates are less sure, so the loop leaves more above set flow."""
    trims = []
    for sigma in (0.0, 0.02):
        network = all_open(builtin("estate12"))
        ctl = make_controller(network, ControllerConfig())
        run(network, ctl, STEPS, sigma=sigma)
        trims.append(ctl.trim)
    assert trims[0] < trims[1] <= 1.0


def test_an_inlet_without_an_estimate_holds_the_loop(builtin) -> None:
    """A building never read (its flow unknown) could be starved by a slower pump: the loop
    does not slow it (§5.3.6-3 fail-safe)."""

    def silence(_: int, meas: Measurements) -> None:
        meas.inlets.pop("B004", None)

    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    run(network, ctl, STEPS, sigma=0.0, tamper=silence)
    assert ctl.trim == 1.0


def test_the_loop_state_round_trips(builtin) -> None:
    """A restarted controller keeps where the loop has brought the goals."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    _, sim, _ = run(network, ctl, STEPS, sigma=0.0)
    copy_ = Controller.from_dict(network, json.loads(json.dumps(ctl.as_dict())))
    assert copy_.trim == pytest.approx(ctl.trim)
    assert copy_.quiet == ctl.quiet
    assert (copy_.trim_way, copy_.trim_age) == (ctl.trim_way, ctl.trim_age)  # _trim_step
    meas = Measurements.from_plant(sim.state())
    a, b = ctl.step(meas), copy_.step(meas)
    assert a.openings == pytest.approx(b.openings)
    assert a.pump_speed == pytest.approx(b.pump_speed)


def test_a_held_cycle_keeps_the_goals_where_they_were(builtin) -> None:
    """A balanced plant is left alone (§8.2.5: the loop holds every command, ControlLoop.held):
    the pump loop's goals stay where the pump really is. Without that they sank cycle after
    cycle while the pump stood, to set flow itself, the next plan's goals on the band's edge."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    _, sim, _ = run(network, ctl, 3, sigma=0.0)
    before = ctl.trim
    for _ in range(12):  # the network is quiet: the loop would slow the pump every 3rd cycle
        ctl.step(Measurements.from_plant(sim.state()))
        ctl.held()
        sim.step(1800.0)
    assert ctl.trim == before


def test_a_slowdown_the_plan_asks_for_is_left_to_the_loop_once_it_holds_the_pump(builtin) -> None:
    """Once the pump loop has slowed the pump (trim < 1), a plan asking for less still is the
    model's error (a re-plan would land every valve with it, §8.2.5); a speed-up (someone
    short), a plan at full speed or one before the loop acted are sent as before."""
    ctl = make_controller(all_open(builtin("estate12")), ControllerConfig())
    assert not ctl._loop_holds_slowdown(0.95, 0.97, False, {})  # the loop has not acted
    ctl.trim = 0.995
    assert ctl._loop_holds_slowdown(0.95, 0.97, False, {})
    assert not ctl._loop_holds_slowdown(0.99, 0.97, False, {})  # faster: sent
    assert not ctl._loop_holds_slowdown(0.95, 0.97, True, {})  # full speed needed: sent


def _estimates(
    true: np.ndarray, sigma: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    return [(float(t + sigma * rng.standard_normal()), sigma) for t in true]


def test_many_inlets_are_judged_together_not_each_by_its_own_worst_draw() -> None:
    """400 inlets truly at 1.01 of set flow, estimated to σ 0.3 %: the lowest estimate lies
    ≈3 σ low by chance, so each inlet's own bound allows ≈0.995; judged together (the
    lowest estimate less 1 σ at most) the estimates allow ≈0.998 — below every true flow."""
    rng = np.random.default_rng(4)
    assert POOL_TAIL_MIN > 400  # the capped prior (from POOL_TAIL_MIN on: its tail, below)
    ratios = _estimates(np.full(400, 1.01), 0.003, rng)
    alone = min(r - 2.0 * s for r, s in ratios)
    bound = worst_lower_bound(ratios, 2.0)
    assert bound is not None
    assert alone < 1.0
    assert bound == pytest.approx(min(r for r, _ in ratios) - POOL_CAP_Z * 0.003)
    assert bound > alone + 0.002
    assert bound < 1.01


def test_an_inlet_far_below_the_others_is_judged_on_its_own() -> None:
    """One inlet truly 1.5 % below 199 others (a far inlet the plan lands short): its estimate
    is not weighted toward theirs, so the bound stays below its true flow."""
    rng = np.random.default_rng(5)
    true = np.full(200, 1.01)
    true[17] = 0.995
    bound = worst_lower_bound(_estimates(true, 0.003, rng), 2.0)
    assert bound is not None
    assert bound < 0.995


def test_the_network_bound_holds_the_worst_true_flow_in_about_95_percent_of_draws() -> None:
    """True flows scattered by 0.2 % (landing errors), estimates by 0.3 %: over 300 draws of
    60 inlets the bound lies above the lowest true flow in at most ~5 % of them."""
    rng = np.random.default_rng(6)
    misses = 0
    for _ in range(300):
        true = 1.01 + 0.002 * rng.standard_normal(POOL_MIN + 10)
        bound = worst_lower_bound(_estimates(true, 0.003, rng), 2.0)
        assert bound is not None
        misses += bound > true.min()
    assert misses <= 0.07 * 300


def test_a_small_network_is_judged_together_too() -> None:
    """12 inlets landed together at 1.012 of set flow, estimated to σ 0.3 % (estate12 at 1 %
    meters): the lowest of 12 estimates lies ≈1.6 σ low by chance, and judged each alone
    the pump stopped there (gen30-loop: the binding inlet's 17 readings averaged 2.6 σ
    low). Judged together the bound lies ≥ 0.5 σ higher on average, and still below the
    lowest true flow in ≥ 93 % of 300 draws."""
    rng = np.random.default_rng(12)
    sigma, gain, misses = 0.003, 0.0, 0
    assert POOL_MIN <= 12
    for _ in range(300):
        true = 1.012 + 0.001 * rng.standard_normal(12)
        ratios = _estimates(true, sigma, rng)
        bound = worst_lower_bound(ratios, 2.0)
        assert bound is not None
        gain += bound - min(r - 2.0 * s for r, s in ratios)
        misses += bound > true.min()
    assert gain / 300 >= 0.5 * sigma
    assert misses <= 0.07 * 300


def test_an_absurd_ratio_is_judged_on_its_own_without_overflow() -> None:
    """A flow estimate 1e155 times its set flow (a set flow of 1e-155 m³/h in a network
    file, say): its deviation squared overflowed ``**`` (OverflowError in the cycle, found
    by 23b); as a product it is infinite, the inlet lies beyond every outlier bound and is
    judged on its own, and the others' bound stands."""
    ratios = [(1.0, 0.01), (1.01, 0.01), (1e155, 0.01)]
    assert worst_lower_bound(ratios, 2.0) == pytest.approx(1.0 - 0.02)


def test_too_few_inlets_to_pool_are_each_judged_on_their_own() -> None:
    """Below ``POOL_MIN`` inlets (one: nothing to pool with) each is judged on its own."""
    ratios = [(1.012, 0.003)]
    assert worst_lower_bound(ratios, 2.0) == pytest.approx(1.012 - 0.006)
    assert worst_lower_bound([], 2.0) is None


def test_pooling_never_lifts_an_inlet_above_its_own_estimate_less_one_sigma() -> None:
    """One inlet truly 0.7 % below 99 others whose estimate came out 1.2 σ high: pooled
    without a limit it was weighted toward them and the pump slowed it below set flow
    (gen10x8-households at 2 % noise: 4 of 10 seeds held the band, was 10); limited, the
    bound stays at its estimate less ``POOL_CAP_Z`` σ."""
    rng = np.random.default_rng(9)
    ratios = _estimates(np.full(100, 1.012), 0.003, rng)
    low = 1.005 + 1.2 * 0.003
    ratios[40] = (low, 0.003)
    bound = worst_lower_bound(ratios, 2.0)
    assert bound is not None
    assert bound <= low - POOL_CAP_Z * 0.003 + 1e-12


def test_the_lowest_of_many_draws_is_no_outlier_but_a_far_inlet_still_is() -> None:
    """Among 1,000 estimates the lowest lies ≈3.3 σ below the median by chance
    (households1200 at 1 % meters: 3.7 σ, 1.0 % under the median); judged an outlier at a
    fixed 3 σ it kept its own 2 σ bound and the loop never slowed the pump (bound 0.998 at
    every quiet cycle). The outlier line is where the most extreme of n draws reaches
    (3.9 σ at 1,000), so it is pooled — its bound above its own 2 σ one (limited at its
    estimate − 1 σ below ``POOL_TAIL_MIN`` inlets, 400 here); one 6 σ off is still judged
    on its own."""
    rng = np.random.default_rng(10)
    sigma = 0.003
    for n in (400, 1000):
        ratios = _estimates(np.full(n, 1.015), sigma, rng)
        ratios = [(min(max(r, 1.015 - 3.0 * sigma), 1.015 + 3.0 * sigma), s) for r, s in ratios]
        low = 1.015 - 3.5 * sigma
        ratios[7] = (low, sigma)
        bound = worst_lower_bound(ratios, 2.0)
        assert bound is not None
        assert bound > low - 2.0 * sigma + 1e-6
        if n < POOL_TAIL_MIN:
            assert bound == pytest.approx(low - POOL_CAP_Z * sigma)
        far = 1.015 - 6.0 * sigma
        ratios[7] = (far, sigma)
        assert worst_lower_bound(ratios, 2.0) == pytest.approx(far - 2.0 * sigma)


def _scatter_draws(
    n: int, low: float | None, draws: int, seed: int
) -> list[tuple[float, list[tuple[float, float]]]]:
    """households1200 at 1 % meters: true flows 1.01 ± 0.165 % (its landing scatter),
    estimates σ 0.33 %; ``low``: one inlet's true flow that far below 1.01 (B006H15)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        true = 1.01 + 0.00165 * rng.standard_normal(n)
        if low is not None:
            true[0] = 1.01 - low
        out.append((float(true.min()), _estimates(true, 0.0033, rng)))
    return out


def test_a_large_network_is_bounded_with_a_tail_not_by_its_lowest_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1,240 inlets landed alike: the lowest estimate lies ≈ 3.3 σ low by its noise, and the
    1 σ cap on it kept the bound ≈ 1 % under the lowest true flow (households1200: 1.036 ×
    the oracle's pump power). With the prior's tail (from ``POOL_TAIL_MIN`` inlets) the
    bound lies ≥ 0.2 % nearer the lowest true flow on average, and below it in every draw."""
    draws = _scatter_draws(1240, None, 40, 31)
    tail = [worst_lower_bound(ratios, 2.0) for _, ratios in draws]
    with monkeypatch.context() as patch:
        patch.setattr(targets, "POOL_TAIL_MIN", 10**9)
        capped = [worst_lower_bound(ratios, 2.0) for _, ratios in draws]
    assert all(b is not None and b < low for b, (low, _) in zip(tail, draws, strict=True))
    gain = np.mean(np.subtract(tail, capped))  # type: ignore[arg-type]
    assert gain >= 0.002


def test_the_tail_keeps_a_truly_low_inlet_among_many(monkeypatch: pytest.MonkeyPatch) -> None:
    """One inlet truly 0.9 % below 1,239 others (households1200 s1: B006H15, a part-open
    valve 5 τ below the others; 22b's order-statistic lift put the bound above its true flow
    in 88 % of draws and it lost the band): its estimate reads like a low draw. Without the
    caps and without the tail (the others' scatter alone) the bound lies above its true flow
    in over a third of 40 draws; with the tail in ≤ 5 %."""

    def misses() -> int:
        bounds = [worst_lower_bound(ratios, 2.0) for _, ratios in draws]
        return sum(b is None or b > low for b, (low, _) in zip(bounds, draws, strict=True))

    draws = _scatter_draws(1240, 0.009, 40, 32)
    assert misses() <= 0.05 * len(draws)
    with monkeypatch.context() as patch:
        patch.setattr(targets, "OFF_COUNT", 0.0)
        assert misses() > len(draws) / 3


def _loop_on_estimates(
    ctl: Controller, ratios: list[tuple[float, float]], level: float
) -> tuple[float, float]:
    """The pump loop's bound and its trim once every flow filter holds ``ratios`` (estimate
    and σ over set flow) shifted so the bound lies at ``level``: estimates as real filters
    hold them, the network quiet."""
    shift = level - (worst_lower_bound(ratios, TRIM_Z) or 0.0)
    for (r, s), (iid, inlet) in zip(ratios, ctl.network.inlets.items(), strict=True):
        set_flow = ctl.config.set_flow(inlet)
        filt = ctl.estimators.setdefault(iid).filters["flow_m3h"]
        filt.value, filt.var, filt.age = (r + shift) * set_flow, (s * set_flow) ** 2, 0
    ctl.quiet = TRIM_QUIET
    shifted = [(r + shift, s) for r, s in ratios]
    return worst_lower_bound(shifted, TRIM_Z) or 0.0, ctl._pump_trim(list(ctl.network.inlets))


def test_the_loop_slows_a_large_network_only_past_its_bounds_own_noise(
    builtin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From ``POOL_TAIL_MIN`` inlets the bound lies at the lowest estimates (the prior's tail,
    no cap), and it carries their noise: households1200 at 2 % noise, seed 13, sat at
    1.0000–1.0005 for three cycles, one cycle's readings lifted it to 1.0020, the loop slowed
    0.2 % and the truly lowest household (estimated 1.4 σ high) fell to −0.18 % for seven
    cycles. At 2 % meters (σ 0.6 %) a bound 0.25 % above set flow — past the loop's 0.2 %
    step, within 1.5 σ of the lowest of 1,240 estimates' noise (0.31 %) — slows nothing; 1 %
    above, the loop slows to it. At 1 % meters (σ 0.3 %) the same 0.25 % slows: the margin
    follows the estimates' σ (there it stays under the step, so 1 % meters lose nothing)."""
    network = builtin("households1200")
    assert len(network.inlets) >= POOL_TAIL_MIN
    rng = np.random.default_rng(13)
    true = 1.01 + 0.003 * rng.standard_normal(len(network.inlets))
    noisy2, noisy1 = _estimates(true, 0.006, rng), _estimates(true, 0.003, rng)
    ctl = make_controller(network, ControllerConfig())
    bound, trim = _loop_on_estimates(ctl, noisy2, 1.0025)
    assert bound == pytest.approx(1.0025, abs=1e-6)
    assert trim == 1.0  # held: the bound's own noise
    with monkeypatch.context() as patch:
        patch.setattr(control, "TRIM_WALK_Z", 0.0)  # a slow-down at the first 0.2 % (before)
        assert _loop_on_estimates(ctl, noisy2, 1.0025)[1] < 1.0 - TRIM_STEP
    assert _loop_on_estimates(ctl, noisy2, 1.01)[1] == pytest.approx(1.0 / 1.01, rel=1e-6)
    assert _loop_on_estimates(ctl, noisy1, 1.0025)[1] == pytest.approx(1.0 / 1.0025, rel=1e-6)


def test_the_pump_loop_goes_on_while_a_balanced_network_is_held(builtin) -> None:
    """§8.2.5 as Home Assistant runs it (the loop's :class:`BalanceStateMachine`): once the
    network reads balanced its valves are left alone, but the pump loop's trim still goes
    out on its own (``Dispatch.valves_held``) — the substation pump is no balancing device
    (§2.0.4) and a trim lands no valve. Held with the valves, the pump stayed where the
    landing's 1.5 % aim left it (exact meters: 1.045 × the oracle for good)."""
    network = all_open(builtin("estate12"))
    loop = ControlLoop(network, LoopConfig(ControllerConfig()), cycle_s=1800.0)
    sim = Simulator(network, outdoor_c=network.design.outdoor_c)
    machine = BalanceStateMachine()
    trims = 0
    for _ in range(STEPS):
        state = sim.state()
        out = loop.step(Measurements.from_plant(state), balance=machine, clock_s=state.time_s)
        dispatch = out.dispatch
        if machine.state == BALANCED:
            assert not dispatch.openings, "a valve moved while the network was balanced"
            trims += dispatch.held is None and dispatch.pump_speed is not None
        send(loop, sim, out.dispatch)
        sim.advance(1800.0)
    state = sim.state()
    assert machine.state == BALANCED
    assert trims >= 1
    ratios = [state.inlets[i].flow_m3h / n.design_flow_m3h for i, n in network.inlets.items()]
    assert min(ratios) >= 1.0, ratios  # §8.2.4: the band's lower edge still held
    best = oracle(network).pump_power_w
    assert state.pump.power_w / best <= 1.03


@pytest.mark.parametrize("seed", [1, 3])
def test_the_pump_loop_does_not_undo_its_last_move_on_noise(builtin, seed: int) -> None:
    """§8.2.5 no hunting: a pump loop move is decided where the estimates' noise lifted (or
    dropped) its bound, and the next readings pull the bound back by about that noise. With
    one 0.2 % step both ways the loop went back at its next decision (estate12 at 1 %
    meters, 96 cycles: 3 and 8 speed changes undone within four cycles on seeds 1 and 3);
    a move back that soon must exceed the estimates' σ (``Controller._trim_step``). The
    loop still slows the pump, and the band's lower edge holds. At most two (one until the
    drift chains ran on to 17 readings, 13b: seed 1 went 1 → 2 of 12 moves; over seeds 0–9
    of this run 3 → 3 undone, 84 → 74 pump moves — the noise's draw, not more hunting)."""
    network = all_open(builtin("estate12"))
    ctl = make_controller(network, ControllerConfig())
    verdicts, sim, history = run(network, ctl, 96, sigma=0.01, seed=seed)
    moves: list[tuple[int, int]] = []  # (cycle, +1 faster / −1 slower) of every speed change
    speed = None
    for k, cmds in enumerate(history):
        if cmds.pump_speed is None:
            continue
        if speed is not None and abs(cmds.pump_speed - speed) > 1e-6:
            moves.append((k, 1 if cmds.pump_speed > speed else -1))
        speed = cmds.pump_speed
    undone = [
        (k0, k1)
        for (k0, w0), (k1, w1) in pairwise(moves)
        if w0 != w1 and k1 - k0 <= TRIM_QUIET + 2 and k1 >= 8
    ]
    assert len(undone) <= 2, (undone, moves)
    assert ctl.trim < 0.998  # the loop still slows the pump
    state = sim.state()
    ratios = [state.inlets[i].flow_m3h / n.design_flow_m3h for i, n in network.inlets.items()]
    assert min(ratios) >= 1.0, ratios
    assert all(verdicts[-8:])


def test_the_network_chance_goes_to_the_inlets_near_the_band_edge() -> None:
    """§8.2.4 jointly: the chance ``SIMULTANEOUS`` that some inlet lies below the bound is
    spread by how near each inlet is, not α/n apiece. One inlet near the edge among 119
    far above it takes (almost) all of α: its bound is its posterior less 1.64 σ, not the
    3.34 σ of an even split over 120 (district120 at 1 % meters: the even split kept the
    pump at the landing's aim, 1.038 × the oracle on seed 0; spread, 1.029). Equal
    inlets are still each at α/n."""
    sd = 0.002
    posts = [(1.010, sd)] + [(1.030, sd)] * 119
    even = NormalDist().inv_cdf(1.0 - SIMULTANEOUS / 120)
    near = NormalDist().inv_cdf(1.0 - SIMULTANEOUS)
    # to 1 % of σ: the normal tail is approximated to 0.3 % of its size (targets._upper_tail)
    assert joint_bound(posts, even) == pytest.approx(1.010 - near * sd, abs=0.01 * sd)
    assert joint_bound([(1.010, sd)] * 120, even) == pytest.approx(1.010 - even * sd, abs=0.01 * sd)
    assert joint_bound(posts, even) > 1.010 - 0.5 * (near + even) * sd


def test_landing_scatter_is_judged_jointly_and_still_holds_the_worst_true_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """True flows scattered 0.4 % by their landings (as large as the estimates' σ, district120
    at 1 % meters), 120 inlets: the bound lies on average ≥ 0.05 % nearer the lowest true
    flow than with each pooled inlet at α/n (the even split before 6 Dec), and below it
    in ≥ 95 % of 200 draws."""
    rng = np.random.default_rng(21)
    draws = []
    for _ in range(200):
        true = 1.012 + 0.004 * rng.standard_normal(120)
        draws.append((true.min(), _estimates(true, 0.003, rng)))
    joint = [worst_lower_bound(ratios, 2.0) for _, ratios in draws]
    with monkeypatch.context() as patch:
        patch.setattr(targets, "joint_bound", lambda posts, z: min(m - z * s for m, s in posts))
        even = [worst_lower_bound(ratios, 2.0) for _, ratios in draws]
    assert all(b is not None for b in joint + even)
    misses = sum(b > low for b, (low, _) in zip(joint, draws, strict=True))  # type: ignore[operator]
    assert misses <= 0.05 * len(draws)
    gain = np.mean(np.subtract(joint, even))  # type: ignore[arg-type]
    assert gain >= 0.0005
