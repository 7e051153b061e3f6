"""``scripts/heatbalance``: the engine on the command line.

Subcommands live in modules that each provide ``register(subparsers)``; the commands are the
same functions the integration and the benchmarks call. Errors print one line and exit with
1 (bad network or data) or 2 (bad usage), never a traceback. ``--json`` output is one JSON
object, documented in docs/cli.md and kept stable.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .hydraulics import HydraulicError, HydraulicResult, solve_hydraulics
from .model import Network
from .thermal import ThermalResult, solve_thermal


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 1."""


def load(source: str) -> Network:
    """A built-in network by name or a network file, with loader errors as CliError."""
    from .loader import NetworkError, load_network

    try:
        return load_network(source)
    except NetworkError as err:
        raise CliError(str(err)) from err
    except FileNotFoundError as err:
        raise CliError(f"{source}: no such built-in network or file") from err


def steady_state(
    network: Network, pump_speed: float | None
) -> tuple[HydraulicResult, ThermalResult]:
    """One steady state with rooms at their setpoints."""
    try:
        hyd = solve_hydraulics(network, pump_speed=pump_speed)
    except HydraulicError as err:
        raise CliError(str(err)) from err
    rooms = np.full(len(hyd.inlet_ids), np.nan)
    outdoor = network.design.outdoor_c
    supply = network.substation.supply_temperature_c(outdoor)
    return hyd, solve_thermal(network, hyd, supply_c=supply, outdoor_c=outdoor, room_c=rooms)


def solve_report(network: Network, pump_speed: float | None = None) -> dict[str, Any]:
    """The ``solve --json`` object."""
    hyd, th = steady_state(network, pump_speed)
    inlets = []
    for k, iid in enumerate(hyd.inlet_ids):
        inlet = network.inlets[iid]
        design = inlet.design_flow_m3h
        inlets.append(
            {
                "id": iid,
                "type": inlet.type,
                "parent": inlet.parent,
                "flow_m3h": round(float(hyd.inlet_flow_m3h[k]), 4),
                "design_flow_m3h": round(design, 4),
                "flow_ratio": round(float(hyd.inlet_flow_m3h[k]) / design, 4),
                "supply_c": round(float(th.supply_c[k]), 3),
                "return_c": round(float(th.return_c[k]), 3),
                "heat_kw": round(float(th.heat_w[k]) / 1000, 3),
                "dp_available_kpa": round(float(hyd.dp_available_kpa[k]), 3),
                "valve_dp_kpa": round(float(hyd.valve_dp_kpa[k]), 3),
                "opening": inlet.device.opening,
            }
        )
    return {
        "network": network.name,
        "inlets": inlets,
        "pump": {
            "head_m": round(hyd.pump_head_m, 3),
            "flow_m3h": round(hyd.pump_flow_m3h, 3),
            "power_w": round(hyd.pump_power_w, 1),
            "speed": hyd.pump_speed,
        },
        "supply_c": round(th.network_supply_c, 3),
        "return_c": round(th.network_return_c, 3),
        "pipe_loss_kw": round(th.pipe_loss_w / 1000, 3),
        "iterations": hyd.iterations,
    }


def cmd_list(args: argparse.Namespace) -> int:
    """Print the built-in network names."""
    from .networks import builtin_names

    for name in builtin_names():
        print(name)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Load a network and print what it holds."""
    net = load(args.network)
    kinds: dict[str, int] = {}
    for inlet in net.inlets.values():
        kinds[inlet.type] = kinds.get(inlet.type, 0) + 1
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"OK {net.name}: {len(net.nodes)} nodes, {len(net.pipes)} pipes, inlets: {counts}")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    """One steady state as a table or JSON."""
    report = solve_report(load(args.network), args.pump_speed)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    head = f"{'inlet':<14}{'type':<10}{'flow':>8}{'design':>8}{'ratio':>7}{'supply':>8}"
    head += f"{'return':>8}{'ΔP avail':>10}{'valve ΔP':>10}"
    print(f"network {report['network']}  (m³/h, °C, kPa)")
    print(head)
    for row in report["inlets"]:
        print(
            f"{row['id']:<14}{row['type']:<10}{row['flow_m3h']:>8.2f}{row['design_flow_m3h']:>8.2f}"
            f"{row['flow_ratio']:>7.2f}{row['supply_c']:>8.1f}{row['return_c']:>8.1f}"
            f"{row['dp_available_kpa']:>10.1f}{row['valve_dp_kpa']:>10.1f}"
        )
    pump = report["pump"]
    print(
        f"pump: {pump['flow_m3h']:.1f} m³/h at {pump['head_m']:.2f} m, {pump['power_w']:.0f} W "
        f"(speed {pump['speed']:.2f}); supply {report['supply_c']:.1f} °C, "
        f"return {report['return_c']:.1f} °C"
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Step the plant through time and print one row per step (or JSON)."""
    from .simulator import Simulator, outdoor_profile

    net = load(args.network)
    steps = max(1, round(args.hours * 60 / args.step_min))
    if args.outdoor == "season":
        hourly = outdoor_profile(days=max(1, int(np.ceil(args.hours / 24))), seed=args.seed)
    else:
        try:
            hourly = np.full(int(np.ceil(args.hours)) + 1, float(args.outdoor))
        except ValueError as err:
            raise CliError(f"--outdoor: {args.outdoor!r} is neither a number nor 'season'") from err
    sim = Simulator(net, outdoor_c=float(hourly[0]), seed=args.seed)
    rows = []
    for step in range(1, steps + 1):
        hour = min(int(step * args.step_min / 60), len(hourly) - 1)
        sim.set_outdoor(float(hourly[hour]))
        state = sim.step(args.step_min * 60.0)
        rooms = [i.room_c for i in state.inlets.values()]
        ratios = [i.flow_m3h / i.design_flow_m3h for i in state.inlets.values()]
        rows.append(
            {
                "hour": round(state.time_s / 3600, 3),
                "outdoor_c": round(state.outdoor_c, 2),
                "supply_c": round(state.supply_c, 2),
                "return_c": round(state.return_c, 2),
                "heat_kw": round(
                    sum(s.heat_w for iid, s in state.inlets.items() if not net.inlets[iid].parent)
                    / 1000,
                    2,
                ),
                "room_min_c": round(min(rooms), 2),
                "room_max_c": round(max(rooms), 2),
                "flow_ratio_min": round(min(ratios), 3),
                "flow_ratio_max": round(max(ratios), 3),
                "pump_power_w": round(state.pump.power_w, 1),
            }
        )
    if args.plot:
        _plot(rows, Path(args.plot), net.name)
    if args.json:
        print(json.dumps({"network": net.name, "step_min": args.step_min, "steps": rows}))
        return 0
    print(f"network {net.name}: {steps} steps of {args.step_min} min")
    print(
        f"{'hour':>7}{'outdoor':>9}{'supply':>8}{'return':>8}{'heat kW':>10}"
        f"{'room min':>10}{'room max':>10}"
    )
    for r in rows:
        print(
            f"{r['hour']:>7.1f}{r['outdoor_c']:>9.1f}{r['supply_c']:>8.1f}{r['return_c']:>8.1f}"
            f"{r['heat_kw']:>10.0f}{r['room_min_c']:>10.1f}{r['room_max_c']:>10.1f}"
        )
    return 0


def _plot(rows: list[dict[str, float]], path: Path, name: str) -> None:
    """Temperatures over time as a PNG (matplotlib is an optional extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise CliError("--plot needs matplotlib (pip install matplotlib)") from err
    hours = [r["hour"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4))
    for key, label in (
        ("outdoor_c", "outdoor"),
        ("supply_c", "supply"),
        ("return_c", "return"),
        ("room_min_c", "coldest room"),
        ("room_max_c", "warmest room"),
    ):
        ax.plot(hours, [r[key] for r in rows], label=label)
    ax.set_xlabel("hour")
    ax.set_ylabel("°C")
    ax.set_title(f"heatbalance simulate {name}")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def register(sub: Any) -> None:
    """The engine's own subcommands."""
    sub.add_parser("list", help="built-in network names").set_defaults(func=cmd_list)
    p = sub.add_parser("validate", help="check a network file")
    p.add_argument("network")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("solve", help="one steady state")
    p.add_argument("network")
    p.add_argument("--json", action="store_true")
    p.add_argument("--pump-speed", type=float, default=None)
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("simulate", help="step the plant through time")
    p.add_argument("network")
    p.add_argument("--hours", type=float, required=True)
    p.add_argument("--outdoor", default="-5", help="constant °C or 'season'")
    p.add_argument("--step-min", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--plot", default=None, help="write a PNG of the temperatures")
    p.set_defaults(func=cmd_simulate)


def _registrars() -> list[Callable[[Any], None]]:
    """Every module's ``register``; add a subcommand module here."""
    registrars: list[Callable[[Any], None]] = [register]
    if importlib.util.find_spec(f"{__package__}.cli_balance") is not None:
        registrars.append(importlib.import_module(f"{__package__}.cli_balance").register)
    return registrars


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = argparse.ArgumentParser(prog="heatbalance", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for reg in _registrars():
        reg(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as err:
        print(f"heatbalance: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
