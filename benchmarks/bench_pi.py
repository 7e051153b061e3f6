"""Traditional PI (the integration's default algorithm): steps to band on every network.

The same plants, instruments and judging as :mod:`benchmarks.bench_robust` (its networks,
its noise on every analogue signal, its lost readings, its true-state bands), with the
controller set to ``algorithm="traditional"`` — what an HA user gets without changing a setting.
From all valves open, ``STEPS`` 30-minute cycles. Per network × scenario, over the seeds:

* *int.* / *adv.* — median steps until the intermediate (flow −5…+10 %, §8.2.3) / advanced
  (flow 0…+5 %, §8.2.4) flow band holds at every inlet **to the end** (— when fewer than half
  the seeds hold it); *max* — the worst seed (— : a seed never holds it);
* *int. ≤12* — share of seeds holding intermediate from step ≤ 12 (the issue's goal);
* *moves* — valve commands per inlet per step in the second half of the run (hunting shows
  here).

    .venv/ha2026/bin/python -m benchmarks.bench_pi [--seeds 5] [--noise 0,0.01,0.02]
        [--missing 0.1] [--only estate] [--jobs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from benchmarks.bench_robust import (
    Driven,
    Scenario,
    _held_from,
    _in_band,
    add_loop_flags,
    all_open,
    measure,
    networks,
)
from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.simulator import Simulator

STEPS = 36
STEP_S = 1800.0
GOAL = 12
INTERMEDIATE = (("intermediate", "flow"),)
ADVANCED = (("advanced", "flow"),)


@dataclass
class Run:
    """One seed's figures."""

    intermediate: int | None
    advanced: int | None
    moves: float


def run_one(
    network: Network, scn: Scenario, seed: int, loop: bool = True, hold: bool = True
) -> Run:
    """One closed-loop run of the engine's PI controller (``loop``, the default: through the
    engine's ControlLoop — cleaning, diagnosis, alarm rules — as the CLI and HA run it;
    ``--bare``: ``Controller.step`` alone)."""
    plant = all_open(network)
    sim = Simulator(plant, outdoor_c=plant.design.outdoor_c)
    driven = Driven(plant, ControllerConfig(algorithm="traditional"), loop, hold)
    rng = np.random.default_rng(seed)
    state = sim.state()
    held_int, held_adv = [], []
    moves = 0
    for k in range(1, STEPS + 1):
        cmds = driven.step(measure(state, scn, "", rng))
        if k > STEPS // 2:
            moves += len(cmds.openings)
        for iid, opening in cmds.openings.items():
            sim.set_opening(iid, opening)
        sim.advance(STEP_S)
        state = sim.state()
        held_int.append(_in_band(sim.network, state, INTERMEDIATE, None))
        held_adv.append(_in_band(sim.network, state, ADVANCED, None))
    return Run(
        _held_from(held_int),
        _held_from(held_adv),
        moves / (max(1, len(driven.controller.ids)) * (STEPS - STEPS // 2)),
    )


def _task(args: tuple[Network, Scenario, int, bool, bool]) -> tuple[str, str, Run]:
    net, scn, seed, loop, hold = args
    return net.name, scn.name, run_one(net, scn, seed, loop, hold)


def _median(values: list[int | None]) -> str:
    if sum(v is None for v in values) * 2 > len(values):
        return "—"
    return f"{statistics.median([STEPS + 1 if v is None else v for v in values]):g}"


def _worst(values: list[int | None]) -> str:
    return "—" if any(v is None for v in values) else str(max(values))  # type: ignore[type-var]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--noise", default="0,0.01,0.02")
    parser.add_argument("--missing", type=float, default=0.0)
    parser.add_argument("--quick", action="store_true", help="bench_robust's four networks")
    parser.add_argument("--only", help="networks whose name contains this text")
    parser.add_argument("--jobs", type=int, default=1)
    add_loop_flags(parser)
    args = parser.parse_args()
    start = time.perf_counter()
    scns = [
        Scenario(f"noise {float(x) * 100:g}%", noise=float(x), missing=args.missing)
        for x in args.noise.split(",")
    ]
    nets = [n for n in networks(args.quick) if not args.only or args.only in n.name]
    tasks = [
        (net, scn, seed, args.loop, args.hold)
        for net in nets
        for scn in scns
        for seed in range(args.seeds if scn.seeded else 1)
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        done = list(pool.map(_task, tasks)) if args.jobs > 1 else [_task(t) for t in tasks]
    print(f"PI, {STEPS} steps, missing readings {args.missing:.0%}, {args.seeds} seeds")
    print("| network | scenario | int. | int. max | int. ≤12 | adv. | adv. max | moves |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for net in nets:
        for scn in scns:
            runs = [r for n, s, r in done if n == net.name and s == scn.name]
            ints = [r.intermediate for r in runs]
            advs = [r.advanced for r in runs]
            ok = sum(v is not None and v <= GOAL for v in ints) / len(runs)
            moves = statistics.median(r.moves for r in runs)
            print(
                f"| {net.name} | {scn.name} | {_median(ints)} | {_worst(ints)} | {ok:.0%} "
                f"| {_median(advs)} | {_worst(advs)} | {moves:.2f} |"
            )
    print(f"\n{len(tasks)} runs in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
