"""Season simulation speed (issue 2 item 5): 150 days at 1 h steps, per built-in network.

The substation follows a heating curve and the outdoor temperature the synthetic season,
so every step solves the water temperatures and every room again; the valves stay where
they are, so the hydraulics are solved once. Two ways of driving the plant are timed:
``step`` builds the full :class:`PlantState` every hour (what a controller loop does),
``advance`` reads the state once a day (what a season study does). Not a timed test:

    .venv/ha2026/bin/python -m benchmarks.bench_simulate
"""

from __future__ import annotations

import time

from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.model import HeatingCurve
from custom_components.heatbalance.engine.simulator import SEASON_DAYS, Simulator, outdoor_profile

NETWORKS = ("estate12", "district120", "households1200")


def season_seconds(name: str, *, daily_state: bool) -> tuple[float, int, float]:
    """Wall time of one season, the number of steps, and the heat delivered (MWh)."""
    net = load_network(name)
    net.substation.heating_curve = HeatingCurve([(10.0, 40.0), (-9.0, 60.0)])
    sim = Simulator(net, outdoor=outdoor_profile(days=SEASON_DAYS, seed=0))
    steps = SEASON_DAYS * 24
    start = time.perf_counter()
    for k in range(steps):
        if daily_state:
            sim.advance(3600.0)
            if k % 24 == 23:
                sim.state()
        else:
            sim.step(3600.0)
    return time.perf_counter() - start, steps, sim.state().heat_kwh / 1000.0


def main() -> None:
    """Print the table."""
    print(f"{'network':<16}{'inlets':>7}{'steps':>7}{'step()':>10}{'advance()':>11}{'heat':>11}")
    for name in NETWORKS:
        hourly, steps, heat = season_seconds(name, daily_state=False)
        daily, _steps, _heat = season_seconds(name, daily_state=True)
        inlets = len(load_network(name).inlets)
        print(f"{name:<16}{inlets:>7}{steps:>7}{hourly:>9.1f}s{daily:>10.1f}s{heat:>7.0f} MWh")


if __name__ == "__main__":
    main()
