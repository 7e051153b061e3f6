"""Where the model-based controller's pump power above the oracle comes from (issue 9).

Runs the ``noise 1%`` scenario of :mod:`benchmarks.bench_robust` (same plant, readings and
controller) and splits the last step's pump power over the weighted oracle's into factors
that multiply to it, each measured with the oracle itself (lowest head for given flows):

* *aim* — the oracle asked for every set flow × the controller's aim (the margin it plans
  with inside the band) over the oracle at set flows;
* *scatter* — the oracle asked for the flows the plant really has at the end (each inlet's
  own ratio) over the oracle at the aim: what the plan's error and the significance gates
  leave around the aim (positive when flows sit above the aim where it costs);
* *head* — the plant's pump power over the oracle at those same flows: the head the pump
  gives beyond what those flows need (the critical valve not fully open, a speed change
  held back by the pump deadband, the plan's pressure error at the critical circuit).

Also reported: the aim, the lowest and median true flow ratio, the critical inlet's opening;
*est. σ* — the median relative standard error of the leaves' flow estimates at the end;
*drift* — the flows' drift per step the estimator learnt from the readings
(``Controller.drift``, ``DriftLearner``: its floor where the plant is steady);
*loop bound / est. min* — the pump loop's own joint lower bound on every flow over set flow
(``targets.worst_lower_bound`` at ``TRIM_Z``, what ``Controller._pump_trim`` steers to 1)
and the lowest estimate: the true lowest flow less the bound is the margin the estimates
cost, split into the lowest-of-N draw (true min − est. min) and the bound's own σ
(est. min − bound);
*pump-only flow* — the factor by which a pump speed change alone (every flow scaled
together, no valve re-landed) could move every flow before the worst inlet's lower bound,
estimate − 2 σ, meets its set flow (below 1: a pump loop on the estimates could slow the
pump that much; above 1: it would have to speed up); *oracle flows* — the weighted oracle's
lowest and highest flow over set flow (design × weight, §5.3.6-5): 1 when it is fair;
*cycles below* — cycles after the sixth in which some leaf's true flow was under its set
flow (§8.2.4's lower edge: what a slower pump risks); *walked* — the leaves' realised flow
walk per cycle where nothing moved (0 on the steady plant; ``--walk`` makes the plant's
flows wander, to test an estimator's claim that the plant is steady, 17g).

    .venv/ha2026/bin/python -m benchmarks.bench_pump --seeds 3 [--quick] [--jobs 2]
        [--scenario "noise 2%"] [--steps 48] [--walk 0.01]
"""

from __future__ import annotations

import argparse
import copy
import math
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise

import numpy as np

from benchmarks.bench_robust import (
    SCENARIOS,
    STEP_S,
    STEPS,
    Driven,
    Scenario,
    add_loop_flags,
    all_open,
    measure,
    networks,
    victim_of,
)
from custom_components.heatbalance.engine.commissioning import apply_presettings, presettings
from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import TRIM_Z, Controller
from custom_components.heatbalance.engine.control.targets import worst_lower_bound
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.oracle import oracle, weighted
from custom_components.heatbalance.engine.simulator import PlantState, Simulator

SCENARIO = next(s for s in SCENARIOS if s.name == "noise 1%")
PUMP_Z = 2.0  # the controller's significance bar (controller.SIGNIFICANCE_Z)


def decompose(
    network: Network,
    seed: int,
    scenario: Scenario = SCENARIO,
    loop: bool = True,
    hold: bool = True,
    steps: int = STEPS,
    walk: float = 0.0,
) -> dict[str, float | str]:
    """One run of ``steps`` cycles (default bench_robust's 24, 1 % noise) and the factors of
    its pump power over the oracle's (``loop``, the default: through the engine's
    ControlLoop, as the CLI and HA run it; ``--bare``: ``Controller.step`` alone).

    ``walk``: the plant's flows wander between commands (§3.0.7-1: residents' radiator
    valves) — every leaf's heated-circuit resistance takes a random-walk step of ``walk``
    (log σ) each cycle (``Simulator.set_circuit``); the flows follow by the circuit's share
    of the pressure (balanced valves take most: 0.01 walks flows ≈0.1 %), so the realised
    flow walk is reported (``walked``)."""
    plant = all_open(network)
    sim = Simulator(plant, outdoor_c=plant.design.outdoor_c)
    driven = Driven(plant, ControllerConfig(), loop, hold)
    control = driven.controller
    rng = np.random.default_rng(seed)
    victim = victim_of(plant)
    state = sim.state()
    wander = np.random.default_rng(10_000 + seed)  # the measurement draws stay the same
    circuits = {iid: 1.0 for iid in plant.inlets if not _is_parent(plant, iid)}
    trail: list[tuple[bool, np.ndarray]] = []  # (valves moved, leaves' true flow ratios)
    below = 0  # cycles after the sixth with some leaf's true flow under its set flow
    for k in range(steps):
        cmds = driven.step(measure(state, scenario, victim, rng))
        for iid, opening in cmds.openings.items():
            sim.set_opening(iid, opening)
        if cmds.pump_speed is not None:
            sim.set_pump_speed(cmds.pump_speed)
        if walk > 0:
            for iid, factor in circuits.items():
                circuits[iid] = factor * math.exp(walk * wander.standard_normal())
                sim.set_circuit(iid, circuits[iid])
        sim.advance(STEP_S)
        state = sim.state()
        now = np.array([_set_ratio(plant, state, iid) for iid in circuits])
        trail.append((bool(cmds.openings), now))
        below += k >= 6 and bool(np.min(now) < 1.0)
    aim = float(getattr(control, "aim", 1.0)) * float(getattr(control, "trim", 1.0))
    ratios = {
        iid: state.inlets[iid].flow_m3h / (i.design_flow_m3h * i.weight)
        for iid, i in plant.inlets.items()
    }
    leaves = {iid: r for iid, r in ratios.items() if not _is_parent(plant, iid)}
    best = oracle(plant).pump_power_w  # weighted: set flow = design × weight (§5.3.6-5)
    at_aim = oracle(plant, weights={iid: aim * i.weight for iid, i in plant.inlets.items()})
    at_flows = oracle(
        plant, weights={iid: ratios[iid] * i.weight for iid, i in plant.inlets.items()}
    )
    worst = min(leaves, key=leaves.__getitem__)
    fair = _oracle_flows(plant)
    return {
        **_uncertainty(control, plant, leaves),
        **loop_bound(control),
        "oracle_min": min(fair),
        "oracle_max": max(fair),
        "network": network.name,
        "seed": seed,
        "total": state.pump.power_w / best,
        "aim": at_aim.pump_power_w / best,
        "scatter": at_flows.pump_power_w / at_aim.pump_power_w,
        "head": state.pump.power_w / at_flows.pump_power_w,
        "aim_value": aim,
        "min_ratio": min(leaves.values()),
        "median_ratio": float(np.median(list(leaves.values()))),
        "flow_total": state.pump.flow_m3h / at_flows.pump_flow_m3h,
        "speed": state.pump.speed,
        "drift": control.drift.sigma() if hasattr(control, "drift") else math.nan,
        "speed_needed": at_flows.pump_speed,
        "below": below,
        "walked": _walked(trail),
        "worst": worst,
        "open_max": max(
            (state.inlets[iid].opening or 0.0) for iid in leaves if iid in state.inlets
        ),
    }


def _uncertainty(control: Controller, plant: Network, leaves: dict[str, float]) -> dict[str, float]:
    """How far the estimates would let the pump slow every flow together (issue 9, 9p).

    A pump speed change scales every flow by about the same factor without re-landing any
    valve, so the lowest pump the estimates allow is where the worst inlet's lower bound
    (estimate − ``PUMP_Z`` σ) meets its set flow: ``allowed`` is that flow factor (below 1:
    the pump could slow by that much; above 1: it would have to speed up). ``sigma`` is
    the median relative σ of the leaves' flow estimates at the end of the run.
    """
    bounds, sigmas = [], []
    for iid in leaves:
        est = control.estimators.get(iid)
        value = est.value("flow_m3h") if est is not None else None
        std = est.std("flow_m3h") if est is not None else None
        inlet = plant.inlets[iid]
        set_flow = inlet.design_flow_m3h * inlet.weight
        if value is None or std is None or value <= 0 or set_flow <= 0:
            continue
        bounds.append((value - PUMP_Z * std) / set_flow)
        sigmas.append(std / value)
    if not bounds:
        return {"allowed": math.nan, "sigma": math.nan}
    return {"allowed": 1.0 / min(bounds), "sigma": float(np.median(sigmas))}


def loop_bound(control: Controller) -> dict[str, float]:
    """The pump loop's joint lower bound over every regulated inlet (as
    ``Controller._pump_trim`` forms it) and the lowest estimate, both over set flow."""
    ratios = []
    for iid in control.ids:
        est = control.estimators.get(iid)
        filt = est.filters["flow_m3h"] if est is not None else None
        set_flow = control.config.set_flow(control.network.inlets[iid])
        if iid in control.faults or filt is None or filt.value is None or set_flow <= 0:
            continue
        ratios.append((filt.value / set_flow, math.sqrt(max(filt.var, 0.0)) / set_flow))
    bound = worst_lower_bound(ratios, TRIM_Z)
    if bound is None:
        return {"bound": math.nan, "est_min": math.nan}
    return {"bound": bound, "est_min": min(r for r, _ in ratios)}


def _oracle_flows(plant: Network) -> list[float]:
    """Every inlet's flow over its set flow (design × weight) in the weighted oracle's plant:
    the oracle is fair when these are all 1 (nobody above the band's lower edge, nobody
    below it), with the manual weights of §5.3.6-5 applied as the evaluation applies them."""
    settled = apply_presettings(plant, presettings(weighted(plant)))
    state = Simulator(settled, outdoor_c=settled.design.outdoor_c).state()
    return [
        state.inlets[iid].flow_m3h / (i.design_flow_m3h * i.weight)
        for iid, i in settled.inlets.items()
    ]


def _set_ratio(plant: Network, state: PlantState, iid: str) -> float:
    inlet = plant.inlets[iid]
    return float(state.inlets[iid].flow_m3h / (inlet.design_flow_m3h * inlet.weight))


def _walked(trail: list[tuple[bool, np.ndarray]]) -> float:
    """The leaves' realised flow walk per cycle (relative σ) over cycles no valve moved
    in: each cycle's log change less its median (a pump move scales every flow alike)."""
    steps = [
        np.log(b / a) - np.median(np.log(b / a))
        for (_, a), (moved, b) in pairwise(trail)
        if not moved
    ]
    return float(np.std(np.concatenate(steps))) if steps else math.nan


def _is_parent(network: Network, iid: str) -> bool:
    return any(i.parent == iid for i in network.inlets.values())


def _task(
    args: tuple[Network, int, Scenario, bool, bool, int, float],
) -> dict[str, float | str]:
    return decompose(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four networks")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--networks", help="comma-separated names")
    parser.add_argument("--scenario", default=SCENARIO.name, help="a noise scenario's name")
    parser.add_argument("--steps", type=int, default=STEPS, help="cycles run (judged at the last)")
    parser.add_argument(
        "--walk",
        type=float,
        default=0.0,
        help="σ of each circuit resistance's log walk a cycle (0.01: flows ≈0.1 %%)",
    )
    add_loop_flags(parser)
    args = parser.parse_args()
    scenario = next(s for s in SCENARIOS if s.name == args.scenario)
    nets = networks(args.quick)
    if args.networks:
        nets = [n for n in nets if n.name in args.networks.split(",")]
    tasks = [
        (copy.deepcopy(n), s, scenario, args.loop, args.hold, args.steps, args.walk)
        for n in nets
        for s in range(args.seeds)
    ]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(_task, tasks))
    else:
        rows = [_task(t) for t in tasks]
    cols: tuple[str, ...] = (
        "network",
        "seed",
        "pump/oracle",
        "aim",
        "scatter",
        "head",
        "aim value",
    )
    cols += (
        "min / median flow",
        "speed / needed",
        "max opening",
        "est. σ",
        "drift",
        "pump-only flow",
        "loop bound / est. min",
        "cycles below",
        "walked",
    )
    cols += ("oracle flows",)
    print("| " + " | ".join(cols) + " |")
    print("|---" * len(cols) + "|")
    for r in rows:
        print(
            f"| {r['network']} | {r['seed']} | {r['total']:.3f} | {r['aim']:.3f} | "
            f"{r['scatter']:.3f} | {r['head']:.3f} | {r['aim_value']:.4f} | "
            f"{r['min_ratio']:.4f} / {r['median_ratio']:.4f} | "
            f"{r['speed']:.4f} / {r['speed_needed']:.4f} | {r['open_max']:.3f} | "
            f"{r['sigma']:.2%} | {r['drift']:.2%} | {r['allowed']:.4f} | "
            f"{r['bound']:.4f} / {r['est_min']:.4f} | {r['below']} | {r['walked']:.2%} | "
            f"{r['oracle_min']:.4f}…{r['oracle_max']:.4f} |"
        )


if __name__ == "__main__":
    main()
