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

Also reported: the aim, the lowest and median true flow ratio, the critical inlet's opening.

    .venv/ha2026/bin/python -m benchmarks.bench_pump --seeds 3 [--quick] [--jobs 2]
        [--scenario "noise 2%"]
"""

from __future__ import annotations

import argparse
import copy
from concurrent.futures import ProcessPoolExecutor

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
from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.oracle import oracle
from custom_components.heatbalance.engine.simulator import Simulator

SCENARIO = next(s for s in SCENARIOS if s.name == "noise 1%")


def decompose(
    network: Network, seed: int, scenario: Scenario = SCENARIO, loop: bool = True
) -> dict[str, float | str]:
    """One 24-step run (default 1 % noise) and the factors of its pump power over the oracle's
    (``loop``, the default: through the engine's ControlLoop, as the CLI and HA run it;
    ``--bare``: ``Controller.step`` alone)."""
    plant = all_open(network)
    sim = Simulator(plant, outdoor_c=plant.design.outdoor_c)
    driven = Driven(plant, ControllerConfig(), loop)
    control = driven.controller
    rng = np.random.default_rng(seed)
    victim = victim_of(plant)
    state = sim.state()
    for _ in range(STEPS):
        cmds = driven.step(measure(state, scenario, victim, rng))
        for iid, opening in cmds.openings.items():
            sim.set_opening(iid, opening)
        if cmds.pump_speed is not None:
            sim.set_pump_speed(cmds.pump_speed)
        sim.advance(STEP_S)
        state = sim.state()
    aim = float(getattr(control, "aim", 1.0))
    ratios = {
        iid: state.inlets[iid].flow_m3h / (i.design_flow_m3h * i.weight)
        for iid, i in plant.inlets.items()
    }
    leaves = {iid: r for iid, r in ratios.items() if not _is_parent(plant, iid)}
    best = oracle(plant).pump_power_w
    at_aim = oracle(plant, weights={iid: aim * i.weight for iid, i in plant.inlets.items()})
    at_flows = oracle(
        plant, weights={iid: ratios[iid] * i.weight for iid, i in plant.inlets.items()}
    )
    worst = min(leaves, key=leaves.__getitem__)
    return {
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
        "speed_needed": at_flows.pump_speed,
        "worst": worst,
        "open_max": max(
            (state.inlets[iid].opening or 0.0) for iid in leaves if iid in state.inlets
        ),
    }


def _is_parent(network: Network, iid: str) -> bool:
    return any(i.parent == iid for i in network.inlets.values())


def _task(args: tuple[Network, int, Scenario, bool]) -> dict[str, float | str]:
    return decompose(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four networks")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--networks", help="comma-separated names")
    parser.add_argument("--scenario", default=SCENARIO.name, help="a noise scenario's name")
    add_loop_flags(parser)
    args = parser.parse_args()
    scenario = next(s for s in SCENARIOS if s.name == args.scenario)
    nets = networks(args.quick)
    if args.networks:
        nets = [n for n in nets if n.name in args.networks.split(",")]
    tasks = [(copy.deepcopy(n), s, scenario, args.loop) for n in nets for s in range(args.seeds)]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(_task, tasks))
    else:
        rows = [_task(t) for t in tasks]
    cols = ("network", "seed", "pump/oracle", "aim", "scatter", "head", "aim value")
    cols += ("min / median flow", "speed / needed", "max opening")
    print("| " + " | ".join(cols) + " |")
    print("|---" * 10 + "|")
    for r in rows:
        print(
            f"| {r['network']} | {r['seed']} | {r['total']:.3f} | {r['aim']:.3f} | "
            f"{r['scatter']:.3f} | {r['head']:.3f} | {r['aim_value']:.4f} | "
            f"{r['min_ratio']:.4f} / {r['median_ratio']:.4f} | "
            f"{r['speed']:.4f} / {r['speed_needed']:.4f} | {r['open_max']:.3f} |"
        )


if __name__ == "__main__":
    main()
