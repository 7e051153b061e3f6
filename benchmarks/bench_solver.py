"""Hydraulic solver benchmark: heatbalance against pandapipes 0.16, side by side in one run.

For each network size it prints: inlets; heatbalance one-shot time (``solve_hydraulics``:
validate, expand the topology, solve from a cold start — what the CLI does); the cold solve
of a prepared ``HydraulicModel`` (same, without validation and expansion); the warm re-solve
after 10 % of the valves moved (what the simulator and the controllers do thousands of
times); pandapipes' hydraulic ``pipeflow`` for the same network at equal accuracy
(tolerances 1e-7, Colebrook to 1e-10; building its tables with ``create_*`` not counted; numba
not installed, as pinned); the ratios pandapipes ÷ one-shot and pandapipes ÷ prepared cold
solve; Newton iterations; and the worst per-inlet flow deviation between the two. Also the
engine import time in a fresh interpreter.

Figures, not assertions. The machines here are shared and busy, so both solvers run
interleaved and each figure is the *minimum* over the repeats (the least-disturbed run, the
usual estimate of intrinsic cost under noise); the ratio compares those minima.

    .venv/ha2026/bin/python -m benchmarks.bench_solver [--skip-pandapipes-above N] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from custom_components.heatbalance.engine.hydraulics import HydraulicModel, solve_hydraulics
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from devtools import pandapipes_model as ppm


def _timed(fn: Callable[[], object]) -> float:
    """Wall time of one call in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def import_time(module: str, repeats: int = 5) -> float:
    """Median seconds to import ``module`` in a fresh interpreter (interpreter start excluded)."""
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    return statistics.median(runs)


def _cases(quick: bool) -> list[tuple[str, Network]]:
    """Built-ins and generated networks, smallest first."""
    cases = [(name, load_network(name)) for name in ("estate12", "district120", "households1200")]
    if not quick:
        cases.append(("generated 167×30", generate_network(167, 30, seed=3)))
        cases.append(("generated 767×30", generate_network(767, 30, seed=3)))
    return cases


def _resolve_calls(net: Network, repeats: int) -> Callable[[], object]:
    """A warm re-solve after 10 % of the valves moved (a controller's step), new each call."""
    model = HydraulicModel(net)
    base = model.solve()
    rng = np.random.default_rng(0)
    openings = []
    for _ in range(repeats):
        o = model.openings()
        moved = rng.random(len(o)) < 0.1
        o[moved] = rng.uniform(0.2, 1.0, moved.sum())
        openings.append(o)
    it = iter(openings)
    return lambda: model.solve(next(it), warm_start=base)


def _row(name: str, net: Network, skip_above: int) -> str:
    """One table row (markdown): heatbalance and pandapipes interleaved, minima compared."""
    n = len(net.inlets)
    hyd = solve_hydraulics(net)
    rounds, inner = (5, 5) if n < 5000 else (2, 3)
    resolve = _resolve_calls(net, rounds * inner)
    skip = n > skip_above
    model = None if skip else ppm.build(net, hyd, pump="curve")
    prepared = HydraulicModel(net)
    ours, cold, again, theirs = [], [], [], []
    for _ in range(rounds):
        if model is not None:
            theirs.append(_timed(lambda: ppm.run_hydraulics(model)))
        for _ in range(inner):
            ours.append(_timed(lambda: solve_hydraulics(net)))
            cold.append(_timed(prepared.solve))
            again.append(_timed(resolve))
    households = sum(1 for i in net.inlets.values() if i.parent)
    label = f"{name} ({households} households)" if households else name
    best = min(ours), min(cold), min(again)
    head = f"| {label} | {n} | " + " | ".join(f"{t * 1e3:.1f}" for t in best) + " |"
    if model is None:
        return f"{head} skipped | – | – | {hyd.iterations} | – |"
    flows = ppm.inlet_flows_m3h(model, hyd.inlet_ids)
    dev = float(np.max(np.abs(flows / hyd.inlet_flow_m3h - 1))) * 100
    pp_ms = min(theirs)
    return (
        f"{head} {pp_ms * 1e3:.0f} | {pp_ms / best[0]:.0f}× | {pp_ms / best[1]:.0f}× "
        f"| {hyd.iterations} | {dev:.3f} % |"
    )


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-pandapipes-above", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="built-in networks only")
    args = parser.parse_args()
    imp = import_time("custom_components.heatbalance.engine.hydraulics")
    imp_all = import_time("custom_components.heatbalance.engine.simulator")
    print(f"import engine.hydraulics: {imp:.3f} s; engine.simulator (whole plant): {imp_all:.3f} s")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}")
    print()
    print(
        "| network | inlets | heatbalance one-shot ms | prepared cold solve ms | warm re-solve ms "
        "| pandapipes ms | ratio one-shot | ratio prepared | Newton iterations | worst flow dev. |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, net in _cases(args.quick):
        print(_row(name, net, args.skip_pandapipes_above), flush=True)


if __name__ == "__main__":
    main()
