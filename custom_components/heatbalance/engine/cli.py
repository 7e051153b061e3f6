"""``scripts/heatbalance``: the engine on the command line (docs/cli.md).

The commands call the same functions the integration and the benchmarks call, so what an
operator sees here is what the integration computes. Errors in what the user gave (unknown
network, bad file, bad option) print one line and exit with 1 (bad network or data) or 2
(bad usage), never a traceback. ``--json`` prints one JSON object whose fields are
documented in docs/cli.md and kept stable (``format`` names the version).

Subcommands live in modules that each provide ``register(subparsers)``: this module registers
``list``, ``validate``, ``solve`` and ``simulate``; modules named in
:data:`SUBCOMMAND_MODULES` add theirs (``balance``, ``commission``) and may use
:class:`CliError`, :func:`load`, :func:`add_network_argument` and :func:`print_json`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .hydraulics import HydraulicError, HydraulicResult, solve_hydraulics
from .model import Network
from .thermal import ThermalResult, solve_thermal

if TYPE_CHECKING:
    from .simulator import PlantState

SOLVE_FORMAT = "heatbalance.solve/1"
SIMULATE_FORMAT = "heatbalance.simulate/1"
# Modules beside this one that add subcommands, each with ``register(subparsers)``. A name
# whose module does not exist (yet) is skipped, so a command can be listed before it lands.
SUBCOMMAND_MODULES: tuple[str, ...] = ("cli_balance", "cli_archive")
_OUTDOOR_RANGE_C = (-60.0, 50.0)  # plausible outdoor temperatures in a profile file


class CliError(Exception):
    """A problem with what the user gave: printed as one line, exit code 1."""


# --- helpers for every subcommand module ----------------------------------------------------
def load(source: str) -> Network:
    """A built-in network by name or a network file; every failure becomes a CliError."""
    from .loader import NetworkError, load_network

    try:
        return load_network(source)
    except NetworkError as err:
        raise CliError(str(err)) from err
    except FileNotFoundError as err:
        raise CliError(
            f"{source}: no such built-in network or file (built-ins: `heatbalance list`)"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"{source}: cannot read: {err}") from err


def add_network_argument(parser: argparse.ArgumentParser) -> None:
    """The positional NETWORK argument every network command takes."""
    parser.add_argument("network", metavar="NETWORK", help="network file or built-in name")


def print_json(obj: Any) -> None:
    """Print one JSON object on one line (non-ASCII names stay readable)."""
    print(json.dumps(obj, ensure_ascii=False, allow_nan=False))


def _positive(text: str) -> float:
    """argparse type: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number above zero")
    return value


def _finite(text: str) -> float:
    """argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number")
    return value


# --- steady state ---------------------------------------------------------------------------
def steady_state(
    network: Network,
    pump_speed: float | None = None,
    *,
    outdoor_c: float | None = None,
    supply_c: float | None = None,
) -> tuple[HydraulicResult, ThermalResult]:
    """One steady state with every room at its setpoint.

    Outdoor defaults to the network's design outdoor temperature, supply to what the
    substation gives there (fixed or heating curve).
    """
    pump = network.substation.pump
    if pump_speed is not None and not pump.min_speed <= pump_speed <= pump.max_speed:
        raise CliError(
            f"pump speed {pump_speed:g} is outside the pump's VFD range "
            f"{pump.min_speed:g}…{pump.max_speed:g}"
        )
    try:
        hyd = solve_hydraulics(network, pump_speed=pump_speed)
    except HydraulicError as err:
        raise CliError(str(err)) from err
    outdoor = network.design.outdoor_c if outdoor_c is None else outdoor_c
    supply = network.substation.supply_temperature_c(outdoor) if supply_c is None else supply_c
    rooms = np.full(len(hyd.inlet_ids), np.nan)  # NaN: each inlet's room setpoint
    try:
        th = solve_thermal(network, hyd, supply_c=supply, outdoor_c=outdoor, room_c=rooms)
    except ValueError as err:  # what the thermal model cannot represent, by inlet
        raise CliError(f"{network.name}: {err}") from err
    return hyd, th


def solve_report(
    network: Network,
    pump_speed: float | None = None,
    *,
    outdoor_c: float | None = None,
    supply_c: float | None = None,
) -> dict[str, Any]:
    """The ``solve --json`` object (docs/cli.md)."""
    hyd, th = steady_state(network, pump_speed, outdoor_c=outdoor_c, supply_c=supply_c)
    top = [k for k, iid in enumerate(hyd.inlet_ids) if network.inlets[iid].parent is None]
    return {
        "format": SOLVE_FORMAT,
        "network": network.name,
        "outdoor_c": network.design.outdoor_c if outdoor_c is None else outdoor_c,
        "supply_c": round(th.network_supply_c, 3),
        "return_c": round(th.network_return_c, 3),
        "heat_kw": round(float(th.heat_w[top].sum()) / 1000, 3),
        "pipe_loss_kw": round(th.pipe_loss_w / 1000, 3),
        "pump": {
            "head_m": round(hyd.pump_head_m, 3),
            "flow_m3h": round(hyd.pump_flow_m3h, 3),
            "power_w": round(hyd.pump_power_w, 1),
            "speed": round(hyd.pump_speed, 4),
        },
        "iterations": hyd.iterations,
        "converged": hyd.converged,
        "inlets": [_inlet_row(network, hyd, th, k) for k in range(len(hyd.inlet_ids))],
    }


def _inlet_row(network: Network, hyd: HydraulicResult, th: ThermalResult, k: int) -> dict[str, Any]:
    """One inlet of the ``solve`` report."""
    inlet = network.inlets[hyd.inlet_ids[k]]
    flow = float(hyd.inlet_flow_m3h[k])
    return {
        "id": inlet.id,
        "name": inlet.name,
        "type": inlet.type,
        "parent": inlet.parent,
        "device": inlet.device.type,
        "opening": round(inlet.device.opening, 4),
        "flow_m3h": round(flow, 4),
        "design_flow_m3h": round(inlet.design_flow_m3h, 4),
        "flow_ratio": round(flow / inlet.design_flow_m3h, 4),
        "supply_c": round(float(th.supply_c[k]), 3),
        "return_c": round(float(th.return_c[k]), 3),
        "heat_kw": round(float(th.heat_w[k]) / 1000, 3),
        "dp_available_kpa": round(float(hyd.dp_available_kpa[k]), 3),
        "valve_dp_kpa": round(float(hyd.valve_dp_kpa[k]), 3),
    }


# --- list, validate, solve ------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    """Print the built-in network names, one a line."""
    from .networks import builtin_names

    for name in builtin_names():
        print(name)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Load a network and say what it holds (the loader's checks are the validation)."""
    net = load(args.network)
    kinds: dict[str, int] = {}
    for inlet in net.inlets.values():
        kinds[inlet.type] = kinds.get(inlet.type, 0) + 1
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"OK {net.name}: {len(net.nodes)} nodes, {len(net.pipes)} pipes, inlets: {counts}")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    """One steady state as an aligned table or as JSON."""
    report = solve_report(
        load(args.network), args.pump_speed, outdoor_c=args.outdoor, supply_c=args.supply
    )
    if args.json:
        print_json(report)
    else:
        _print_solve_table(report)
    return 0


_SOLVE_COLUMNS = (  # header, key, width, format (text columns are left-aligned)
    ("type", "type", 10, "<"),
    ("flow", "flow_m3h", 9, ".2f"),
    ("design", "design_flow_m3h", 9, ".2f"),
    ("ratio", "flow_ratio", 7, ".2f"),
    ("supply", "supply_c", 8, ".1f"),
    ("return", "return_c", 8, ".1f"),
    ("heat", "heat_kw", 9, ".1f"),
    ("ΔP avail", "dp_available_kpa", 10, ".1f"),
    ("valve ΔP", "valve_dp_kpa", 10, ".1f"),
)


def _print_solve_table(report: dict[str, Any]) -> None:
    """Human output of ``solve``: one aligned row per inlet, then the plant."""
    width = max([5, *(len(r["id"]) for r in report["inlets"])]) + 2
    print(f"network {report['network']}  (flow m³/h, temperature °C, heat kW, ΔP kPa)")
    head = "".join(f"{h:{'<' if f == '<' else '>'}{w}}" for h, _k, w, f in _SOLVE_COLUMNS)
    print(f"{'inlet':<{width}}{head}")
    for row in report["inlets"]:
        cells = "".join(
            f"{row[k]:<{w}}" if f == "<" else f"{row[k]:>{w}{f}}" for _h, k, w, f in _SOLVE_COLUMNS
        )
        print(f"{row['id']:<{width}}{cells}")
    pump = report["pump"]
    print(
        f"pump: {pump['flow_m3h']:.1f} m³/h at {pump['head_m']:.2f} m, {pump['power_w']:.0f} W "
        f"(speed {pump['speed']:.2f}); supply {report['supply_c']:.1f} °C, "
        f"return {report['return_c']:.1f} °C, heat {report['heat_kw']:.0f} kW, "
        f"pipe loss {report['pipe_loss_kw']:.1f} kW"
    )


# --- simulate -------------------------------------------------------------------------------
def outdoor_hourly(spec: str, hours: float, *, seed: int = 0, start_day: float = 0.0) -> np.ndarray:
    """Hourly outdoor temperatures covering ``hours`` from ``--outdoor`` (docs/cli.md).

    ``spec`` is a constant (°C), ``season`` (the built-in synthetic northern-China heating
    season, seeded, starting ``start_day`` days into it) or a profile file.
    """
    need = math.ceil(hours) + 1  # values at hour 0 … ceil(hours), for interpolation
    try:
        return np.full(need, _finite(spec))
    except argparse.ArgumentTypeError:
        pass
    if spec == "season":
        from .simulator import SEASON_DAYS, outdoor_profile

        first = round(start_day * 24)
        if first < 0 or first + need > SEASON_DAYS * 24 + 1:
            raise CliError(
                f"--outdoor season: day {start_day:g} + {hours:g} h leaves the "
                f"{SEASON_DAYS}-day heating season"
            )
        season = outdoor_profile(days=SEASON_DAYS, seed=seed)
        return np.append(season, season[-1])[first : first + need]
    path = Path(spec)
    if not path.is_file():
        raise CliError(f"--outdoor: {spec!r} is not a number, 'season', or a profile file")
    values = read_profile(path)
    if len(values) < need:
        raise CliError(
            f"--outdoor: {path.name} holds {len(values)} hourly values; "
            f"{hours:g} h need {need} (hour 0 to hour {need - 1})"
        )
    return values[:need]


def read_profile(path: Path) -> np.ndarray:
    """Hourly outdoor temperatures from a text/CSV file: the last column of each line.

    Blank lines and ``#`` comments are skipped, and so is a first line that is a header.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(f"{path.name}: cannot read: {err}") from err
    values: list[float] = []
    header_allowed = True
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].replace(";", ",").replace(",", " ").strip()
        if not text:
            continue
        cell = text.split()[-1]
        try:
            value = float(cell)
        except ValueError:
            if header_allowed:
                header_allowed = False
                continue
            raise CliError(f"{path.name}: line {number}: {cell!r} is not a temperature") from None
        header_allowed = False
        low, high = _OUTDOOR_RANGE_C
        if not low <= value <= high:
            raise CliError(
                f"{path.name}: line {number}: {value:g} °C is not an outdoor temperature"
            )
        values.append(value)
    if not values:
        raise CliError(f"{path.name}: no temperatures in the file")
    return np.array(values)


def simulate_report(
    network: Network,
    hourly: np.ndarray,
    *,
    hours: float,
    step_min: float,
    every_min: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Step the plant and summarise it every ``every_min`` minutes (the ``--json`` object)."""
    from .simulator import Simulator

    steps = max(1, round(hours * 60.0 / step_min))
    every = max(1, round((every_min or max(step_min, 60.0)) / step_min))
    dt = step_min * 60.0
    try:
        sim = Simulator(network, seed=seed, outdoor=hourly)
    except (ValueError, HydraulicError) as err:
        raise CliError(f"{network.name}: {err}") from err
    state = sim.state()
    rows = [_sim_row(network, state, 0.0)]
    reported_kwh = 0.0
    for k in range(1, steps + 1):
        sim.advance(dt)
        if k % every == 0 or k == steps:
            state = sim.state()
            rows.append(_sim_row(network, state, state.heat_kwh - reported_kwh))
            reported_kwh = state.heat_kwh
    return {
        "format": SIMULATE_FORMAT,
        "network": network.name,
        "hours": round(steps * step_min / 60.0, 6),
        "step_min": step_min,
        "every_min": every * step_min,
        "rows": rows,
        "totals": {
            "heat_mwh": round(state.heat_kwh / 1000.0, 4),
            "pump_kwh": round(state.pump_kwh, 3),
        },
    }


def _sim_row(network: Network, state: PlantState, energy_kwh: float) -> dict[str, float]:
    """One summary line of ``simulate``: room and flow ranges over the end users (a building
    with households is their sum)."""
    from .simulator import ranges

    parents = {i.parent for i in network.inlets.values() if i.parent}
    spread = ranges(s for iid, s in state.inlets.items() if iid not in parents)
    assert spread is not None  # a network has inlets (validation)
    return {
        "hour": round(state.time_s / 3600.0, 4),
        "outdoor_c": round(state.outdoor_c, 2),
        "supply_c": round(state.supply_c, 2),
        "return_c": round(state.return_c, 2),
        "flow_m3h": round(state.pump.flow_m3h, 2),
        "heat_kw": round(state.heat_w / 1000.0, 2),
        "energy_kwh": round(energy_kwh, 3),
        "room_min_c": round(spread.room_min_c, 2),
        "room_mean_c": round(spread.room_mean_c, 2),
        "room_max_c": round(spread.room_max_c, 2),
        "flow_ratio_min": round(spread.flow_ratio_min, 3),
        "flow_ratio_max": round(spread.flow_ratio_max, 3),
        "pump_power_w": round(state.pump.power_w, 1),
    }


def cmd_simulate(args: argparse.Namespace) -> int:
    """Step the plant through time; a summary row per hour (or ``--every``), or JSON."""
    net = load(args.network)
    hourly = outdoor_hourly(args.outdoor, args.hours, seed=args.seed, start_day=args.start_day)
    report = simulate_report(
        net, hourly, hours=args.hours, step_min=args.step_min, every_min=args.every, seed=args.seed
    )
    if args.plot:
        plot_simulation(report, Path(args.plot))
    if args.json:
        print_json(report)
        return 0
    print(
        f"network {net.name}: {report['hours']:g} h in steps of {args.step_min:g} min, "
        f"outdoor {args.outdoor}"
    )
    print(
        f"{'hour':>8}{'outdoor':>9}{'supply':>8}{'return':>8}{'heat kW':>10}"
        f"{'room min':>10}{'mean':>7}{'max':>7}{'flow ratio':>13}"
    )
    for r in report["rows"]:
        print(
            f"{r['hour']:>8.1f}{r['outdoor_c']:>9.1f}{r['supply_c']:>8.1f}{r['return_c']:>8.1f}"
            f"{r['heat_kw']:>10.0f}{r['room_min_c']:>10.1f}{r['room_mean_c']:>7.1f}"
            f"{r['room_max_c']:>7.1f}{r['flow_ratio_min']:>7.2f}–{r['flow_ratio_max']:<5.2f}"
        )
    totals = report["totals"]
    print(f"heat delivered {totals['heat_mwh']:.2f} MWh, pump energy {totals['pump_kwh']:.1f} kWh")
    return 0


def plot_simulation(report: dict[str, Any], path: Path) -> None:
    """Temperatures and heat over time as a PNG (matplotlib is an optional extra)."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise CliError("--plot needs matplotlib (pip install matplotlib)") from err
    rows = report["rows"]
    hours = [r["hour"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for key, label in (
        ("supply_c", "supply"),
        ("return_c", "return"),
        ("room_max_c", "warmest room"),
        ("room_mean_c", "mean room"),
        ("room_min_c", "coldest room"),
        ("outdoor_c", "outdoor"),
    ):
        top.plot(hours, [r[key] for r in rows], label=label)
    top.set_ylabel("°C")
    top.set_title(f"heatbalance simulate {report['network']}")
    top.legend(loc="best", fontsize="small", ncol=3)
    bottom.plot(hours, [r["heat_kw"] for r in rows], label="heat kW")
    bottom.set_xlabel("hour")
    bottom.set_ylabel("kW")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as err:
        raise CliError(f"--plot: cannot write {path}: {err}") from err
    finally:
        plt.close(fig)


# --- the parser -----------------------------------------------------------------------------
def register(sub: Any) -> None:
    """The engine's own subcommands (list, validate, solve, simulate)."""
    sub.add_parser("list", help="built-in network names").set_defaults(func=cmd_list)
    p = sub.add_parser("validate", help="check a network file")
    add_network_argument(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("solve", help="one steady state: flows, temperatures, pump duty")
    add_network_argument(p)
    p.add_argument("--json", action="store_true", help="one JSON object (docs/cli.md)")
    p.add_argument("--pump-speed", type=_positive, metavar="S", help="relative pump speed")
    p.add_argument("--outdoor", type=_finite, metavar="C", help="°C (default: design outdoor)")
    p.add_argument("--supply", type=_finite, metavar="C", help="substation supply °C")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("simulate", help="step the plant through time")
    add_network_argument(p)
    p.add_argument("--hours", type=_positive, required=True, metavar="H")
    p.add_argument(
        "--outdoor",
        default="-5",
        metavar="PROFILE|CONSTANT",
        help="°C, 'season' (synthetic heating season) or a file of hourly °C (default -5)",
    )
    p.add_argument("--step-min", type=_positive, default=60.0, metavar="M")
    p.add_argument("--every", type=_positive, metavar="MIN", help="minutes between rows")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic season")
    p.add_argument("--start-day", type=float, default=0.0, help="day of the season to start")
    p.add_argument("--json", action="store_true", help="one JSON object (docs/cli.md)")
    p.add_argument("--plot", metavar="FILE.png", help="write a PNG (needs matplotlib)")
    p.set_defaults(func=cmd_simulate)


def registrars() -> list[Callable[[Any], None]]:
    """``register`` of this module and of every present module in SUBCOMMAND_MODULES."""
    found: list[Callable[[Any], None]] = [register]
    for name in SUBCOMMAND_MODULES:
        full = f"{__package__}.{name}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as err:
            if err.name != full:
                raise  # the module exists but needs something missing: a real error
            continue
        found.append(module.register)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The full parser, subcommands of every module included."""
    parser = argparse.ArgumentParser(
        prog="heatbalance", description="heatbalance engine: networks, steady states, simulation"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for reg in registrars():
        reg(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (0 ok, 1 bad network or data, 2 bad usage)."""
    from .loader import NetworkError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args.func(args))
    except (CliError, NetworkError, HydraulicError) as err:
        print(f"heatbalance: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("heatbalance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes it at exit
        return 0


if __name__ == "__main__":
    # Run the package's copy of this module, not ``__main__``: subcommand modules import
    # ``.cli``, and its CliError must be the class main() catches.
    sys.exit(importlib.import_module("custom_components.heatbalance.engine.cli").main())
