"""Day-ahead load forecasting over a simulated heating season (issue 3 item 4, §3.0.7-2).

Each built-in network runs a 150-day season (synthetic outdoor profile, hourly steps, the
substation on its heating curve, valves where the network file left them). A
:class:`ForecastBank` learns online from the hourly readings (network heat and every
inlet's heat); every midnight it forecasts the next 24 hours from a weather forecast

    forecast outdoor(h) = actual(h) + e(h),  e a random walk with σ(e(24 h)) = 1.5 K,

so the error grows with the horizon and is correlated across the day, as a real forecast's
is. Scored with ASHRAE Guideline 14 (p = 1) over every forecast hour once the models are
ready, against a persistence baseline (tomorrow = today). Goal: CV(RMSE) ≤ 10 %. Not a
timed test:

    .venv/ha2026/bin/python -m benchmarks.bench_forecast
"""

from __future__ import annotations

import statistics

import numpy as np

from custom_components.heatbalance.engine.forecast import HOURS, ForecastBank, metrics
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.simulator import SEASON_DAYS, Simulator, outdoor_profile

NETWORKS = ("estate12", "district120")
SIGMA_24H_K = 1.5
METER_NOISE = 0.02  # hourly heat-meter reading error (1σ), a class-2 meter's order


def simulate(name: str, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Hourly outdoor temperature and hourly mean heat (kW) per key, over a season."""
    outdoor = outdoor_profile(days=SEASON_DAYS, seed=seed)
    sim = Simulator(load_network(name), outdoor=outdoor, seed=seed)
    top = list(sim.ids)
    loads: dict[str, list[float]] = {"network": []}
    loads.update({iid: [] for iid in top})
    kwh = dict.fromkeys(top, 0.0)
    total = 0.0
    for _ in range(SEASON_DAYS * HOURS):
        sim.advance(3600.0)
        state = sim.state()
        loads["network"].append(state.heat_kwh - total)  # mean kW over the hour
        total = state.heat_kwh
        for iid in top:
            meter = state.inlets[iid].heat_kwh
            loads[iid].append(meter - kwh[iid])
            kwh[iid] = meter
    return outdoor, {k: np.array(v) for k, v in loads.items()}


def weather_forecast(actual: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Actual temperatures plus a random-walk error reaching ``sigma`` at 24 h."""
    steps = rng.normal(0.0, sigma / np.sqrt(HOURS), HOURS)
    return actual + np.cumsum(steps)


def evaluate(
    name: str, outdoor: np.ndarray, loads: dict[str, np.ndarray], sigma: float, seed: int = 0
) -> None:
    """Learn over the season, forecasting every midnight; print G14 metrics."""
    rng = np.random.default_rng(seed + 100)
    bank = ForecastBank()
    predicted: dict[str, list[float]] = {k: [] for k in loads}
    actual: dict[str, list[float]] = {k: [] for k in loads}
    naive: list[float] = []
    for day in range(SEASON_DAYS):
        start = day * HOURS
        if day > 0:
            # the hour ending at h+1 is observed at its middle (its mean load and temperature)
            wx = weather_forecast(outdoor[start : start + HOURS], rng, sigma)
            out = bank.forecast(start * 3600.0, wx)
            if all(v is not None for v in out.values()) and out:
                for key, pred in out.items():
                    predicted[key] += list(pred)  # type: ignore[arg-type]
                    actual[key] += list(loads[key][start : start + HOURS])
                naive += list(loads["network"][start - HOURS : start])
        for h in range(start, start + HOURS):
            bank.observe(
                h * 3600.0 + 1800.0, float(outdoor[h]), {k: float(v[h]) for k, v in loads.items()}
            )
    cv, nmbe = metrics(actual["network"], predicted["network"])
    cv_naive, _ = metrics(actual["network"], naive)
    inlets = [metrics(actual[k], predicted[k])[0] for k in loads if k != "network"]
    days = len(actual["network"]) // HOURS
    print(
        f"{name:12s} σ24h={sigma:.1f} K  days forecast {days:3d}  network CV(RMSE) {cv:6.1%} "
        f"NMBE {nmbe:+6.2%}  (persistence {cv_naive:6.1%})  inlets CV(RMSE) median "
        f"{statistics.median(inlets):6.1%} worst {max(inlets):6.1%}",
        flush=True,
    )


def main() -> None:
    for seed, name in enumerate(NETWORKS):
        outdoor, loads = simulate(name, seed=seed)
        for sigma in (0.0, SIGMA_24H_K):
            evaluate(name, outdoor, loads, sigma)
        rng = np.random.default_rng(seed + 7)
        noisy = {k: v * (1 + rng.normal(0, METER_NOISE, v.shape)) for k, v in loads.items()}
        print(f"  with {METER_NOISE:.0%} hourly meter noise on the learned and scored loads:")
        evaluate(name, outdoor, noisy, SIGMA_24H_K)


if __name__ == "__main__":
    main()
