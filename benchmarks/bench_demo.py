"""The demo's figures, measured through Home Assistant: what ``scripts/develop`` shows.

Adds the built-in network the way ``scripts/develop`` does (config flow, the form's defaults:
level intermediate, target flow, 30-min cycles at 180× = one cycle every 10 s of wall time),
then runs the real coordinator cycle by cycle (``coordinator.async_refresh()``) and reads the
entities an operator sees: ``inlets_in_band``, ``flow_deviation_spread`` and
``balance_state``. The entry's first refresh at setup is cycle 1; on the demo, cycle k runs
(k − 1) × 10 s after it (the timer's interval; the cycle's own time comes on top).

    .venv/ha2026/bin/python benchmarks/bench_demo.py                      # estate12, PI
    .venv/ha2026/bin/python benchmarks/bench_demo.py --algorithm ai --network district120

Not a test: a measurement script; it runs itself under pytest to get HA's harness.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import pytest  # noqa: E402

import custom_components.heatbalance  # noqa: E402, F401  (the harness finds it first)

SECONDS_PER_CYCLE = 30 * 60 / 180  # the demo's default cycle and acceleration


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/heatbalance."""


def _state(hass: Any, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    return state.state if state else "absent"


def _rounded(state: str) -> str:
    try:
        return f"{float(state):.1f}"
    except ValueError:
        return state


async def test_demo(hass: Any) -> None:
    """One demo run; prints a JSON line per cycle."""
    from homeassistant import config_entries

    from custom_components.heatbalance.const import CONF_NETWORK, DOMAIN

    network = os.environ.get("BENCH_DEMO_NETWORK", "estate12")
    algorithm = os.environ.get("BENCH_DEMO_ALGORITHM", "traditional")
    cycles = int(os.environ.get("BENCH_DEMO_CYCLES", "16"))
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: network}
    )
    entry = result["result"]
    await hass.async_block_till_done()
    if algorithm != "traditional":  # the demo's default; the select changes it live
        options = dict(entry.options) | {"algorithm": algorithm}
        hass.config_entries.async_update_entry(entry, options=options)
        await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    rows = []
    before = coordinator.simulator.openings.copy()
    for k in range(1, cycles + 1):
        if k > 1:
            before = coordinator.simulator.openings.copy()
            await coordinator.async_refresh()
            await hass.async_block_till_done()
        moved = coordinator.simulator.openings != before
        rows.append(
            {
                "cycle": k,
                "wall_s": (k - 1) * SECONDS_PER_CYCLE,
                "in_band": _rounded(_state(hass, f"sensor.{network}_inlets_in_band")),
                "flow_deviation_spread": _rounded(
                    _state(hass, f"sensor.{network}_flow_deviation_spread")
                ),
                "balance_state": _state(hass, f"sensor.{network}_balance_state"),
                "moved": int(moved.sum()) if k > 1 else "—",  # valves the plant moved
            }
        )
    out = Path(os.environ["BENCH_DEMO_OUT"])
    out.write_text(json.dumps(rows))


def main() -> int:
    """Run the demo under pytest in a fresh process and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", default="estate12")
    parser.add_argument("--algorithm", default="traditional", choices=["traditional", "ai"])
    parser.add_argument("--cycles", type=int, default=16)
    args = parser.parse_args()
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_demo_{os.getpid()}.json"
    env = os.environ | {
        "BENCH_DEMO_NETWORK": args.network,
        "BENCH_DEMO_ALGORITHM": args.algorithm,
        "BENCH_DEMO_CYCLES": str(args.cycles),
        "BENCH_DEMO_OUT": str(out),
    }
    cmd = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-W", "ignore"]
    run = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if not out.exists():
        print(run.stdout[-3000:], run.stderr[-2000:])
        return 1
    rows = json.loads(out.read_text())
    out.unlink()
    print(
        f"{args.network}, {args.algorithm}, demo defaults (cycle every {SECONDS_PER_CYCLE:.0f} s)"
    )
    print(
        "| cycle | after the first cycle | inlets in band % | flow deviation spread % "
        "| state | valves moved |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        wall = f"{r['wall_s'] // 60:.0f} min {r['wall_s'] % 60:.0f} s"
        print(
            f"| {r['cycle']} | {wall} | {r['in_band']} | {r['flow_deviation_spread']} "
            f"| {r['balance_state']} | {r['moved']} |"
        )
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
