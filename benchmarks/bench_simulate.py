"""Season simulation speed (issue 2 item 5): 150 days at 1 h steps, per built-in network.

Valves stay as they are; the outdoor temperature follows the synthetic season, so every step
re-solves the thermal state (hydraulics are reused). Prints seconds per season.

    .venv/ha2026/bin/python -m benchmarks.bench_simulate
"""

from __future__ import annotations

import time

from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.model import HeatingCurve
from custom_components.heatbalance.engine.simulator import Simulator, outdoor_profile


def season_seconds(name: str, days: int = 150) -> tuple[float, int]:
    """Wall time of one season of ``name`` with a heating curve, and the step count."""
    net = load_network(name)
    net.substation.heating_curve = HeatingCurve([(10.0, 40.0), (-9.0, 60.0)])
    profile = outdoor_profile(days=days, seed=0)
    sim = Simulator(net, outdoor_c=float(profile[0]))
    start = time.perf_counter()
    for t_out in profile:
        sim.set_outdoor(float(t_out))
        sim.step(3600.0)
    return time.perf_counter() - start, len(profile)


def main() -> None:
    """Print the table."""
    print(f"{'network':<16}{'inlets':>7}{'steps':>7}{'season':>10}{'per step':>10}")
    for name in ("estate12", "district120", "households1200"):
        seconds, steps = season_seconds(name)
        inlets = len(load_network(name).inlets)
        print(f"{name:<16}{inlets:>7}{steps:>7}{seconds:>9.1f}s{seconds / steps * 1e3:>8.2f}ms")


if __name__ == "__main__":
    main()
