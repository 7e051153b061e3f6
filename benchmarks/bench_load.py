"""Load + first solve of large network files: the loader's and the validator's cost.

Writes generated networks the way the built-ins are written (YAML for substation, nodes and
pipes; the inlets in a CSV table beside it, ``inlets_csv``), then times ``load_network`` and
the first ``solve_hydraulics`` of the loaded network (validation, topology, cold Newton solve)
— what the CLI, the config flow and the integration's start do. Modules are imported first
(their import time is bench_solver's figure). Each figure is the minimum over the repeats
(the least-disturbed run on a shared machine), as wall time and as the process's CPU time.

Figures, not assertions. Goal (issue 9): load + first solve of a 23,000-household network
≤ 1 s.

    .venv/ha2026/bin/python -m benchmarks.bench_load [--repeats 5] [--sizes 40x30,767x30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from custom_components.heatbalance.engine.hydraulics import solve_hydraulics
from custom_components.heatbalance.engine.loader import load_network, network_to_dict
from custom_components.heatbalance.engine.networks.build_builtins import _write_csv
from custom_components.heatbalance.engine.networks.generator import generate_network


def write_network(buildings: int, households: int, folder: Path) -> Path:
    """A generated network as ``net.yaml`` + ``net.csv`` in ``folder``."""
    net = generate_network(buildings, households, seed=3, name="bench")
    data = network_to_dict(net)
    _write_csv(folder / "net.csv", data.pop("inlets"))
    data["inlets_csv"] = "net.csv"
    path = folder / "net.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def measure(path: Path, repeats: int) -> tuple[int, list[tuple[float, float]]]:
    """Inlets, and (wall, cpu) minima of load, first solve and both together."""
    runs = []
    n = 0
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        net = load_network(path)
        w1, c1 = time.perf_counter(), time.process_time()
        solve_hydraulics(net)
        w2, c2 = time.perf_counter(), time.process_time()
        runs.append(((w1 - w0, c1 - c0), (w2 - w1, c2 - c1), (w2 - w0, c2 - c0)))
        n = len(net.inlets)
    best = [(min(r[k][0] for r in runs), min(r[k][1] for r in runs)) for k in range(3)]
    return n, best


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="40x30,200x30,767x30", help="buildings x households")
    args = parser.parse_args()
    solve_hydraulics(load_network("estate12"))  # imports and first-call set-up out of the way
    print("| network | inlets | load s (wall / CPU) | first solve s | load + first solve s |")
    print("|---|---:|---:|---:|---:|")
    for size in args.sizes.split(","):
        buildings, households = (int(x) for x in size.split("x"))
        with tempfile.TemporaryDirectory() as folder:
            n, best = measure(write_network(buildings, households, Path(folder)), args.repeats)
        cells = " | ".join(f"{wall:.3f} / {cpu:.3f}" for wall, cpu in best)
        print(f"| generated {buildings}×{households} | {n} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
