"""How many heat balances a biased flow meter needs before the meter check names it (17h).

The meter check (``engine/meters.py``, §3.0.7-1, §5.3.8-2) names a flow meter when its
joint test's log-likelihood ratio beats every single other fault by ``EVIDENCE``. The
binding alternative is "the valve is off its characteristic": it explains the valve's
residual, so only the heat/flow pair (and, where the available ΔP is read, the circuit)
is left to tell the two apart. This script puts numbers on both sides of that test with the
pair alone (the circuit only adds, so the power here is a lower bound):

* **false names** — a healthy week (336 cycles of 30 min) beside one valve off its
  characteristic: pair values N(0, 1), the test's spans ``VALVE_WINDOWS`` every cycle, one
  side (the valve's); the week's largest ½z². Its 95 % quantile is the evidence a week
  allows for a ≤5 % chance of one false name per such valve;
* **power** — a meter off by ``b``: pair values N(b + e₀, σ²) with a shared supply-offset
  error e₀ ~ N(0, s₀²) (``MeterCheck._persistent``), z over a span of n = mean ÷
  √(σ²/n + s₀²); the step (heat balances + 1: the first cycle has none) at which some
  span's ½z² first reaches ``EVIDENCE``.

    PYTHONPATH=. .venv/ha2026/bin/python -m devtools.meter_power [--runs 4000]

σ and s₀ per sensor noise are the values ``MeterCheck`` learnt in ``bench_robust`` runs
(estate12, district120; docs/benchmark-balance.md, 17h). Not a test: a model of the rule.
"""

from __future__ import annotations

import argparse

import numpy as np

from custom_components.heatbalance.engine.meters import EVIDENCE, VALVE_WINDOWS

WEEK = 336  # 30-minute cycles
HORIZON = 24  # bench_robust's steps
# (label, pair σ per heat balance, shared offset error s₀): learnt in bench_robust runs
SENSORS = (
    ("0.5 %", 0.019, 0.0045),
    ("1 %", 0.032, 0.006),
    ("1 %, district120", 0.044, 0.002),
    ("2 %", 0.061, 0.010),
)


def weekly_largest(rng: np.random.Generator, weeks: int) -> np.ndarray:
    """The largest one-sided ½z² of a healthy week's pair, per simulated week."""
    out = np.empty(weeks)
    for w in range(weeks):
        sums = np.concatenate([[0.0], np.cumsum(rng.standard_normal(WEEK))])
        best = 0.0
        for n in VALVE_WINDOWS:
            z = (sums[n:] - sums[:-n]) / np.sqrt(n)
            best = max(best, float(np.max(z, initial=0.0)))
        out[w] = 0.5 * best**2
    return out


def naming_steps(
    rng: np.random.Generator, bias: float, sigma: float, shared: float, runs: int
) -> np.ndarray:
    """The step at which a meter off by ``bias`` is first named (HORIZON + 1: not within)."""
    out = np.full(runs, HORIZON + 1)
    for r in range(runs):
        values = bias + shared * rng.standard_normal() + sigma * rng.standard_normal(HORIZON)
        for t in range(2, HORIZON):  # t heat balances at step t + 1
            spans = {min(n, t) for n in VALVE_WINDOWS}
            means = [values[t - n : t].mean() for n in spans]
            scores = [
                0.5 * m * m / (sigma**2 / n + shared**2)
                for m, n in zip(means, spans, strict=True)
                if m * bias > 0
            ]
            if max(scores, default=0.0) >= EVIDENCE:
                out[r] = t + 1
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000, help="simulated weeks and runs")
    args = parser.parse_args()
    rng = np.random.default_rng(17)
    week = weekly_largest(rng, args.runs)
    q50, q95, q99 = np.quantile(week, (0.5, 0.95, 0.99))
    print(
        f"healthy week beside a valve off its characteristic: largest ½z² median {q50:.1f}, "
        f"95 % {q95:.1f}, 99 % {q99:.1f}"
    )
    for evidence in (6.0, 7.0, EVIDENCE):
        print(
            f"  evidence {evidence:.0f}: a false name in {np.mean(week >= evidence):.1%} of weeks"
        )
    print("\n| sensors | pair σ | s₀ | bias | median step | named ≤6 | ≤12 | ≤24 |")
    print("|---|---|---|---|---|---|---|---|")
    for label, sigma, shared in SENSORS:
        for bias in (0.05, 0.10):
            steps = naming_steps(rng, bias, sigma, shared, args.runs)
            median = np.median(steps)
            shares = " | ".join(f"{np.mean(steps <= k):.0%}" for k in (6, 12, HORIZON))
            shown = f"{median:.0f}" if median <= HORIZON else "—"
            print(f"| {label} | {sigma:.1%} | {shared:.2%} | {bias:.0%} | {shown} | {shares} |")


if __name__ == "__main__":
    main()
