"""Building-list benchmark (issue 14): balancing a network the operator only has as a list.

For each seeded list (names, heated areas, order along the street; some lists also give
distances), the engine estimates the network (engine/building_list.py). The *true* plant is
that network with every pipe's resistance multiplied by a factor drawn uniformly from
0.5…1.5 (the diameter scaled by factor^(-1/5)); scenario ``+circuits`` also draws every
building's internal pressure drop from 0.5…1.5 × the estimate. The model-based controller is
configured with the estimated network only and runs against the true plant in the engine
simulator (:func:`run_balance`), 30-minute cycles, 1 % flow-meter noise, from all valves open.

Reported per run: the first cycle from which the intermediate band (§8.2.3, flow −5…+10 %)
and the advanced flow band (§8.2.4, 0…+5 %) hold to the end of 30 cycles. Goals: intermediate
within 12 cycles, advanced within 24.

    PYTHONPATH=. .venv/ha2026/bin/python -m benchmarks.bench_building_list [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from custom_components.heatbalance.engine.building_list import (
    Building,
    estimate_network,
)
from custom_components.heatbalance.engine.cli_balance import (
    Disturbances,
    make_controller,
    run_balance,
    steps_to_band,
)
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.plant_variation import varied_network

CYCLES = 30
GOAL_INTERMEDIATE, GOAL_ADVANCED = 12, 24


def building_list(count: int, seed: int, distances: bool) -> list[Building]:
    """A list as an operator has it: names, areas, order; distances if ``distances``."""
    rng = np.random.default_rng(seed)
    return [
        Building(
            row=k + 1,
            name=f"Building {k}",
            heated_area_m2=round(float(rng.uniform(1500, 12000))),
            order=float(k),
            distance_m=round(float(rng.uniform(20, 90))) if distances else None,
        )
        for k in range(1, count + 1)
    ]


def true_plant(estimated: Network, seed: int, circuits: bool) -> Network:
    """The unseen plant: pipe resistances (and building circuits) off by up to ±50 %."""
    return varied_network(estimated, seed, pipes=0.5, circuits=0.5 if circuits else 0.0)


def run(count: int, seed: int, distances: bool, circuits: bool) -> tuple[int | None, int | None]:
    """Cycles to the intermediate and to the advanced flow band (None: not held at the end)."""
    estimated = estimate_network(building_list(count, seed, distances), f"list{count}-s{seed}")
    plant = true_plant(estimated.network, seed, circuits)
    controller = make_controller(estimated.network, "model", level="advanced", target="flow")
    report = run_balance(
        plant,
        level="intermediate",
        target="flow",
        steps=CYCLES,
        controller=controller,
        disturbances=Disturbances(noise=0.01),
        seed=seed,
        also=[("advanced", "flow")],
    )
    advanced_rows = [
        {"step": r["step"], "in_band": r["also"]["advanced:flow"]} for r in report["steps"]
    ]
    return report["steps_to_band"], steps_to_band(advanced_rows)


def main() -> None:
    """Every case, a line each, then the summary against the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four seeds instead of ten")
    args = parser.parse_args()
    seeds = range(4 if args.quick else 10)
    started = time.perf_counter()
    print(f"{'case':<34}{'intermediate':>13}{'advanced':>10}")
    for count in (12, 40):
        for distances in (False, True):
            for circuits in (False, True):
                label = (
                    f"{count} bldg, {'distances' if distances else 'order only'}, "
                    f"pipes{'+circuits' if circuits else ''}"
                )
                results = [run(count, s, distances, circuits) for s in seeds]
                inter = [r[0] for r in results]
                adv = [r[1] for r in results]
                print(f"{label:<34}{_summary(inter):>13}{_summary(adv):>10}")
                ok_i = sum(x is not None and x <= GOAL_INTERMEDIATE for x in inter)
                ok_a = sum(x is not None and x <= GOAL_ADVANCED for x in adv)
                print(
                    f"{'':<4}goals met: intermediate ≤{GOAL_INTERMEDIATE} in {ok_i}/{len(inter)}, "
                    f"advanced ≤{GOAL_ADVANCED} in {ok_a}/{len(adv)}; per seed {inter} / {adv}"
                )
    print(f"wall time {time.perf_counter() - started:.0f} s")


def _summary(values: list[int | None]) -> str:
    """Median and worst cycles; ``—`` where a run never held the band."""
    reached = [v for v in values if v is not None]
    if not reached:
        return "—"
    worst = "—" if len(reached) < len(values) else str(max(reached))
    return f"{statistics.median(reached):g}/{worst}"


if __name__ == "__main__":
    main()
