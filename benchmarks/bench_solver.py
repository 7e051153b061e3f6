"""Solver benchmark: heatbalance against pandapipes, side by side in one run (issue 2).

Prints, per network: inlets, heatbalance hydraulic solve time (median of repeats, warm
import, fresh HydraulicModel each time as a one-shot user would), pandapipes hydraulic solve
time for the same network at the same operating point, the ratio, and the accuracy
(worst flow deviation %, worst inlet supply-temperature and network return difference K).
Also the engine import time in a fresh interpreter. Figures, not assertions: this machine is
shared and noisy, so read ratios, and run it more than once.

    .venv/ha2026/bin/python -m benchmarks.bench_solver [--skip-pandapipes-above N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

from custom_components.heatbalance.engine.cli import steady_state
from custom_components.heatbalance.engine.hydraulics import HydraulicModel
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.networks.generator import generate_network
from tests.engine import pandapipes_model as ppm


def _time(fn, repeats: int) -> float:
    """Median wall time of ``fn`` in seconds."""
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def _import_time() -> float:
    """Seconds to import the engine's solver and simulator in a fresh interpreter."""
    code = (
        "import time; t=time.perf_counter(); "
        "import custom_components.heatbalance.engine.simulator; "
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    """Run the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-pandapipes-above", type=int, default=5000)
    args = parser.parse_args()
    cases = [(n, load_network(n)) for n in ("loop8", "estate12", "district120", "households1200")]
    cases.append(("generated 767x30", generate_network(767, 30, seed=3)))
    print(f"engine import: {_import_time():.3f} s")
    print(
        f"{'network':<18}{'inlets':>7}{'heatbalance':>13}{'pandapipes':>12}{'ratio':>8}"
        f"{'flow dev':>10}{'supply dK':>10}{'return dK':>10}"
    )
    for name, net in cases:
        n = len(net.inlets)
        ours = _time(lambda net=net: HydraulicModel(net).solve(), 7 if n < 5000 else 3)
        if n > args.skip_pandapipes_above:
            print(f"{name:<18}{n:>7}{ours * 1e3:>11.1f}ms{'skipped':>12}")
            continue
        hyd, th = steady_state(net, pump_speed=None)
        model = ppm.build(net, hyd, th)
        theirs = _time(lambda model=model: ppm.run_hydraulics(model), 3)
        ppm.run(model)
        flows = ppm.inlet_flows_m3h(model, hyd.inlet_ids)
        dev = np.max(np.abs(flows - hyd.inlet_flow_m3h) / hyd.inlet_flow_m3h) * 100
        sup = np.max(np.abs(ppm.inlet_supply_c(model, hyd.inlet_ids) - th.supply_c))
        ret = abs(ppm.network_return_c(model) - th.network_return_c)
        print(
            f"{name:<18}{n:>7}{ours * 1e3:>11.1f}ms{theirs * 1e3:>10.0f}ms{theirs / ours:>7.0f}x"
            f"{dev:>9.3f}%{sup:>10.4f}{ret:>10.4f}"
        )


if __name__ == "__main__":
    main()
