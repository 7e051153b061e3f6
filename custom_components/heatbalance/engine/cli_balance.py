"""``balance`` and ``commission``: closed-loop balancing and presettings on the command line.

``balance`` runs a controller against the real :class:`~.simulator.Simulator` from the
network's initial (unbalanced) state, one control step per cycle, and judges every step with
the acceptance band of the chosen level and target (§8.2.2–§8.2.4, :mod:`.evaluation`) on the
plant's true state; the controller only sees measurements, with flow-meter noise and
dropouts if asked. The oracle (:mod:`.oracle`) is reported beside it. ``commission`` prints
the §7.2.5 presettings and the §7.2.6 record (:mod:`.commissioning`). The benchmark
(``benchmarks/bench_balance.py``) calls :func:`run_balance`, so its figures are this code's.
"""

from __future__ import annotations

import argparse
import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .alarms import NETWORK, Alarm, AlarmBook
from .cli import CliError, add_network_argument, load, print_json
from .commissioning import CommissioningError, CommissioningRecord, commission
from .control.base import ControllerConfig, Measurements
from .evaluation import LEVELS, TARGETS, Evaluation, band, evaluate
from .hydraulics import HydraulicError
from .loop import ControlLoop, LoopConfig
from .model import Network
from .oracle import oracle
from .simulator import PlantState, Simulator

BALANCE_FORMAT = "heatbalance.balance/1"
ALGORITHMS = ("model", "traditional")
ALARM_CYCLES = 4  # the integration's default ``alarm_cycles`` (settings.py), §5.3.8


@dataclass
class Decision:
    """What one control step sends to the plant."""

    openings: dict[str, float] = field(default_factory=dict)
    pump_speed: float | None = None
    setpoints: dict[str, float] = field(default_factory=dict)


Controller = Callable[[PlantState, np.random.Generator], Decision]


@dataclass
class Disturbances:
    """What the plant and its instruments do to the controller (benchmark scenarios).

    ``noise`` is the flow meters' relative standard deviation (0.01 = 1 %); ``dropout`` the
    share of inlet readings lost per cycle; ``faults`` are ``(kind, inlet, value)`` for
    :meth:`Simulator.inject_fault`; ``outdoor_step`` is ``(step, kelvin)``: the outdoor
    temperature changes by that much after that many steps.
    """

    noise: float = 0.0
    dropout: float = 0.0
    faults: list[tuple[str, str, float | None]] = field(default_factory=list)
    outdoor_step: tuple[int, float] | None = None


def run_balance(
    network: Network,
    *,
    level: str,
    target: str,
    steps: int = 12,
    algorithm: str = "model",
    disturbances: Disturbances | None = None,
    step_min: float = 30.0,
    outdoor_c: float | None = None,
    seed: int = 0,
    controller: Controller | None = None,
    also: Sequence[tuple[str, str]] = (),
    pipe_model: float = 1.0,
    alarm_cycles: int = ALARM_CYCLES,
) -> dict[str, Any]:
    """Closed-loop run; the ``balance --json`` object (docs/cli.md).

    ``also`` names further (level, target) bands to judge every step by (the benchmark asks
    for the intermediate and the advanced ones in one run); each row then has ``also``.
    """
    for lvl, tgt in ((level, target), *also):
        band(lvl, tgt)  # a level/target the standard has no band for fails here, clearly
    dist = disturbances or Disturbances()
    outdoor = network.design.outdoor_c if outdoor_c is None else outdoor_c
    sim = Simulator(network, outdoor_c=outdoor, seed=seed)
    for kind, inlet_id, value in dist.faults:
        _inject(sim, kind, inlet_id, value)
    if controller is None:
        drawn = pipes_scaled(sim.network, pipe_model)  # the controller's (maybe wrong) drawing
        controller = make_controller(
            drawn,
            algorithm,
            level=level,
            target=target,
            step_min=step_min,
            alarm_cycles=alarm_cycles,
        )
    control = controller
    rng = np.random.default_rng(seed)
    state = sim.state()
    rows = [_row(sim.network, state, 0, level, target, also)]
    for k in range(1, steps + 1):
        _apply(sim, control(_measured(state, dist, rng), rng))
        sim.advance(step_min * 60.0)
        if dist.outdoor_step is not None and k == dist.outdoor_step[0]:
            sim.set_outdoor(sim.outdoor_c + dist.outdoor_step[1])
        state = sim.state()
        rows.append(_row(sim.network, state, k, level, target, also))
    ref = oracle(sim.network, outdoor_c=sim.outdoor_c, level=level)
    # call k judged the readings of step k − 1 (the last step is judged by none)
    for row, verdicts in zip(rows, getattr(control, "shown", ()), strict=False):
        row["shown"] = verdicts
    raised = getattr(control, "alarms", None)
    for row, active in zip(rows, raised or (), strict=False):
        row["alarms"] = [a["reason"] for a in active]
    return {
        "format": BALANCE_FORMAT,
        "network": network.name,
        "level": level,
        "target": target,
        "algorithm": algorithm,
        "step_min": step_min,
        "noise": dist.noise,
        "dropout": dist.dropout,
        "faults": [
            f"{kind}:{iid}" + ("" if v is None else f":{v:g}") for kind, iid, v in dist.faults
        ],
        "steps": rows,
        "steps_to_band": steps_to_band(rows),
        # what the loop showed: its verdict on its estimates, and on the readings (issue 9)
        "steps_to_band_shown": shown_steps(rows),
        "oracle": {"pump_power_w": round(ref.pump_power_w, 1), "spread_k": round(ref.spread_k, 3)},
        "final": {
            "pump_speed": round(sim.pump_speed, 6),
            "openings": dict(zip(sim.ids, np.round(sim.openings, 6).tolist(), strict=True)),
        },
        "pipe_model": pipe_model,
        "learned": learned_of(control),
        "alarms": None if raised is None else network_alarms(raised),
    }


def network_alarms(per_call: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The network alarms the loop raised in the run (pump short of water §5.3.6-5, supply
    too cold §4.1.1/§5.3.8-3, …), each once: grade, the steps whose readings had it active
    (call k judged step k − 1) and its message's figures at the last of them."""
    out: dict[str, dict[str, Any]] = {}
    for step, active in enumerate(per_call):
        for alarm in active:
            seen = out.setdefault(alarm["reason"], {**alarm, "first_step": step})
            seen.update(values=alarm["values"], last_step=step)
    return list(out.values())


def pipes_scaled(network: Network, factor: float) -> Network:
    """A copy whose pipe resistances are ``factor`` times the plant's (a wrong drawing)."""
    if factor == 1.0:
        return network
    out = copy.deepcopy(network)
    for pipe in out.pipes:
        pipe.length_m *= factor
        pipe.zeta *= factor
    return out


def learned_of(control: Any) -> dict[str, Any] | None:
    """The engine controller's learnt corrections (§3.0.7-3), None for other controllers."""
    engine = getattr(control, "controller", None)
    learned = getattr(engine, "learned_corrections", None)
    return learned() if callable(learned) else None


SHOWN_BASES = ("estimate", "readings")


def shown_verdicts(estimate: Evaluation | None, readings: Evaluation | None) -> dict[str, Any]:
    """The loop's band verdict on its estimates and on the readings, with the shares of
    inlets in band (0…1; None: no verdict), as an operator is shown them (issue 9 item 1)."""
    return {
        "estimate": None if estimate is None else estimate.in_band,
        "readings": None if readings is None else readings.in_band,
        "estimate_share": None if estimate is None else _share(estimate.share_in_band),
        "readings_share": None if readings is None else _share(readings.share_in_band),
    }


def _share(share: float | None) -> float | None:
    return None if share is None else round(share, 4)


def shown_steps(rows: Sequence[dict[str, Any]]) -> dict[str, int | None] | None:
    """Steps to band as the loop showed it, on its estimates and on the readings (the rows a
    later call judged); None where no call reported its verdicts (another controller)."""
    judged = [r for r in rows if "shown" in r]
    if not judged:
        return None
    return {
        basis: steps_to_band([{"step": r["step"], "in_band": r["shown"][basis]} for r in judged])
        for basis in SHOWN_BASES
    }


def steps_to_band(rows: Sequence[dict[str, Any]]) -> int | None:
    """First step from which every later step is in band (None if the last one is not)."""
    first = None
    for row in reversed(rows):
        if not row["in_band"]:
            break
        first = row["step"]
    return first


# --- controllers ----------------------------------------------------------------------------
def make_controller(
    network: Network,
    algorithm: str,
    *,
    level: str = "advanced",
    target: str = "flow",
    step_min: float = 30.0,
    alarm_cycles: int = ALARM_CYCLES,
) -> Controller:
    """The engine's control loop for ``algorithm`` (``model``: coordinated, ``traditional``: PI).

    The same :class:`~.loop.ControlLoop` the integration runs (cleaning, the controller of
    ``control.controller.make_controller``, diagnosis; §3.0.6/§3.0.7), configured for
    ``level`` and ``target``, behind a plant-state adapter; the loop's alarm conditions
    are graded by an :class:`~.alarms.AlarmBook` after ``alarm_cycles`` cycles, as in HA.
    """
    if algorithm not in ALGORITHMS:
        raise CliError(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    try:
        config = ControllerConfig(algorithm=algorithm, target=target, level=level)
        loop = ControlLoop(
            copy.deepcopy(network), LoopConfig(controller=config), cycle_s=step_min * 60.0
        )
        return _EngineController(loop, alarm_cycles)
    except ValueError as err:
        raise CliError(str(err)) from err


class _EngineController:
    """Adapter: plant state → ``Measurements`` → the engine's control loop → :class:`Decision`."""

    def __init__(self, loop: ControlLoop, alarm_cycles: int = ALARM_CYCLES) -> None:
        self.loop = loop
        self.controller = loop.controller
        self.shown: list[dict[str, Any]] = []  # per call, the verdicts on what it was given
        self.book, self.alarm_cycles = AlarmBook(), alarm_cycles
        self.alarms: list[list[dict[str, Any]]] = []  # per call, the active network alarms

    def __call__(self, state: PlantState, rng: np.random.Generator) -> Decision:
        """One step; lost readings arrive as NaN, which the vocabulary treats as missing."""
        out = self.loop.step(Measurements.from_plant(state))
        self.shown.append(shown_verdicts(out.estimate_evaluation, out.evaluation))
        self.book.update(out.conditions, self.alarm_cycles, state.time_s)
        self.alarms.append([_alarm(a) for a in self.book.at(NETWORK)])
        send = out.dispatch  # the loop's answer, as in HA (no §8.2.5 state: every step regulates)
        if send.held is not None:
            return Decision()
        self.loop.commanded(dict(send.openings))
        return Decision(
            openings=dict(send.openings),
            pump_speed=send.pump_speed,
            setpoints=dict(out.commands.setpoints),
        )


def _alarm(alarm: Alarm) -> dict[str, Any]:
    """One active network alarm as the report gives it (type, grade, reason, figures)."""
    return {
        "reason": alarm.reason,
        "type": alarm.type,
        "grade": alarm.grade,
        "values": dict(alarm.values),
    }


# --- plant side -----------------------------------------------------------------------------
def _inject(sim: Simulator, kind: str, inlet_id: str, value: float | None) -> None:
    """Inject a fault, every problem as a CliError."""
    try:
        if kind == "stuck":
            sim.inject_fault(inlet_id, "stuck", at=value)
        else:
            sim.inject_fault(inlet_id, kind, factor=0.3 if value is None else value)
    except (KeyError, ValueError) as err:
        raise CliError(f"--fault {kind}:{inlet_id}: {str(err).strip(chr(39))}") from err


def _apply(sim: Simulator, decision: Decision) -> None:
    """Send one step's commands to the plant."""
    for iid, opening in decision.openings.items():
        sim.set_opening(iid, opening)
    for iid, value in decision.setpoints.items():
        sim.set_setpoint(iid, value)
    if decision.pump_speed is not None:
        sim.set_pump_speed(decision.pump_speed)


def _measured(state: PlantState, dist: Disturbances, rng: np.random.Generator) -> PlantState:
    """What the instruments report: flows with meter noise, some readings lost."""
    if dist.noise <= 0 and dist.dropout <= 0:
        return state
    out = PlantState(state.time_s, state.outdoor_c, state.supply_c, state.return_c, state.pump, {})
    for iid, s in state.inlets.items():
        reading = replace(s)
        if dist.dropout > 0 and rng.random() < dist.dropout:
            reading.flow_m3h = math.nan
            reading.opening = math.nan
            reading.dp_available_kpa = math.nan
            reading.valve_dp_kpa = math.nan
        elif dist.noise > 0:
            reading.flow_m3h = s.flow_m3h * (1.0 + rng.normal(0.0, dist.noise))
        out.inlets[iid] = reading
    return out


def _row(
    network: Network,
    state: PlantState,
    step: int,
    level: str,
    target: str,
    also: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """One step of the run: band verdict, spread, worst flow deviation, pump power."""
    ev = evaluate(network, state, level=level, target=target)
    spread = evaluate(network, state, level=level, target="return").return_spread_k
    worst = ev.worst_flow_deviation_pct
    row: dict[str, Any] = {
        "step": step,
        "hour": round(state.time_s / 3600.0, 3),
        "in_band": bool(ev.in_band),
        "in_band_share": round(ev.share_in_band or 0.0, 4),
        "spread_k": round(spread or 0.0, 3),
        "worst_flow_deviation": round((worst or 0.0) / 100.0, 5),
        "worst_inlet": ev.worst_inlet,
        "pump_power_w": round(state.pump.power_w, 1),
        "pump_speed": round(state.pump.speed, 4),
    }
    if also:
        row["also"] = {
            f"{lvl}:{tgt}": bool(evaluate(network, state, level=lvl, target=tgt).in_band)
            for lvl, tgt in also
        }
    return row


# --- commands -------------------------------------------------------------------------------
def parse_fault(text: str) -> tuple[str, str, float | None]:
    """``KIND:INLET[:VALUE]``: ``stuck:B003:0.3`` (stuck at 30 %), ``blockage:B003:0.3``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] not in ("stuck", "blockage") or not parts[1]:
        raise CliError(f"--fault {text!r}: use stuck:INLET[:OPENING] or blockage:INLET[:FACTOR]")
    value = None
    if len(parts) == 3:
        try:
            value = float(parts[2])
        except ValueError:
            raise CliError(f"--fault {text!r}: {parts[2]!r} is not a number") from None
        if not math.isfinite(value):
            raise CliError(f"--fault {text!r}: {parts[2]!r} is not a finite number")
    return parts[0], parts[1], value


def cmd_balance(args: argparse.Namespace) -> int:
    """Closed-loop balancing from the unbalanced start; a row per step, or JSON."""
    if args.level not in LEVELS:
        raise CliError(f"unknown level {args.level!r}; use one of {', '.join(LEVELS)}")
    if args.target not in TARGETS:
        raise CliError(f"unknown target {args.target!r}; use one of {', '.join(TARGETS)}")
    if not 0.0 <= args.noise < 1.0 or not 0.0 <= args.dropout < 1.0:
        raise CliError("--noise and --dropout are shares within 0…1 (0.01 = 1 %)")
    if args.steps < 1:
        raise CliError(f"--steps must be at least 1, not {args.steps}")
    if args.alarm_cycles < 1:
        raise CliError(f"--alarm-cycles must be at least 1, not {args.alarm_cycles}")
    if not 0.1 <= args.pipe_model <= 10.0:
        raise CliError(f"--pipe-model is a factor within 0.1…10, not {args.pipe_model:g}")
    net = load(args.network)
    dist = Disturbances(
        noise=args.noise, dropout=args.dropout, faults=[parse_fault(f) for f in args.fault]
    )
    try:
        report = run_balance(
            net,
            level=args.level,
            target=args.target,
            steps=args.steps,
            algorithm=args.algorithm,
            disturbances=dist,
            step_min=args.step_min,
            outdoor_c=args.outdoor,
            seed=args.seed,
            pipe_model=args.pipe_model,
            alarm_cycles=args.alarm_cycles,
        )
    except (ValueError, CommissioningError, HydraulicError) as err:
        raise CliError(f"{net.name}: {err}") from err
    if args.json:
        print_json(report)
    else:
        _print_balance(report)
    return 0


def _print_balance(report: dict[str, Any]) -> None:
    """Human output of ``balance``."""
    print(
        f"network {report['network']}: {report['algorithm']} control, {report['level']} band, "
        f"target {report['target']}, a step every {report['step_min']:g} min"
    )
    print(
        f"{'step':>5}{'in band':>9}{'spread K':>10}{'worst flow':>12}{'pump W':>11}"
        f"{'shown':>8}{'readings':>10}"
    )
    for r in report["steps"]:
        shown = r.get("shown") or {}
        print(
            f"{r['step']:>5}{r['in_band_share']:>9.0%}{r['spread_k']:>10.2f}"
            f"{r['worst_flow_deviation']:>+12.1%}{r['pump_power_w']:>11.0f}"
            f"{_pct(shown.get('estimate_share')):>8}{_pct(shown.get('readings_share')):>10}"
        )
    o = report["oracle"]
    reached = report["steps_to_band"]
    print(
        "in band from step "
        + (str(reached) if reached is not None else "— (not in band at the end)")
        + f"; oracle: pump {o['pump_power_w']:.0f} W, spread {o['spread_k']:.2f} K"
    )
    seen = report.get("steps_to_band_shown")
    if seen:
        print(
            f"shown in band from step {_step(seen['estimate'])} on the estimates, "
            f"{_step(seen['readings'])} on the readings (issue 9: the loop's own verdicts)"
        )
    for alarm in report.get("alarms") or ():
        _print_alarm(alarm)
    learned = report.get("learned")
    if learned:
        _print_learned(learned)


def _print_alarm(alarm: dict[str, Any]) -> None:
    """One network alarm the loop raised, with its grade and its message's figures
    (the text HA shows is the translation of ``reason`` with these values)."""
    figures = ", ".join(f"{k} {v}" for k, v in alarm["values"].items())
    print(
        f"alarm ({alarm['grade']}, {alarm['type']}): {alarm['reason']} on the network, "
        f"steps {alarm['first_step']}–{alarm['last_step']}" + (f": {figures}" if figures else "")
    )


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share:.0%}"


def _step(step: int | None) -> str:
    return "—" if step is None else str(step)


def _print_learned(learned: dict[str, Any]) -> None:
    """The self-learning model's corrections to the network file (§3.0.7-3)."""
    print(
        f"learned: pipe resistances ×{learned['pipe_resistance_factor']:.3f} of the network "
        f"file (from {learned['pipe_samples']} steps)"
    )
    lines = learned.get("pipe_groups") or {}
    for name, group in sorted(lines.items(), key=lambda kv: -abs(kv[1]["factor"] - 1.0))[:5]:
        if abs(group["factor"] - learned["pipe_resistance_factor"]) > 0.1:
            print(f"learned: pipes {name} ×{group['factor']:.2f} of the network file")
    residuals = learned["pressure_residuals_kpa"]
    if residuals:
        worst = max(residuals, key=lambda k: abs(residuals[k]))
        print(f"learned: largest pressure residual {residuals[worst]:+.1f} kPa at {worst}")
    off = {k: b for k, b in learned["branches"].items() if abs(b["kv_factor"] - 1.0) > 0.1}
    for iid, b in sorted(off.items()):
        print(
            f"learned: {iid} valve passes ×{b['kv_factor']:.2f} of its Kv, circuit "
            f"×{b['circuit_factor']:.2f} ({b['samples']} samples)"
        )
    drawn = (learned.get("drawing_valve_factors") or {}).items()
    for iid, factor in sorted((i, f) for i, f in drawn if f != 1.0):  # 1: a series only
        print(
            f"learned: {iid} passes its flow as a valve of ×{1.0 / math.sqrt(factor):.2f} "
            "the file's Kv (no ΔP read: its Kvs or its place in the file is off)"
        )
    for iid, series in sorted((learned.get("drawing_series_resistances") or {}).items()):
        print(
            f"learned: {iid} has {series:+.4g} kPa/(m³/h)² in series with its valve beyond "
            "the file's (no ΔP read: its pipes or its place in the file are off)"
        )
    for iid, suspect in sorted((learned.get("suspected_drawings") or {}).items()):
        parts = ", ".join(f"{name} ×{f:.2f}" for name, f in suspect["parts"].items())
        print(
            f"learned: {iid} may be drawn in the wrong place: its flow fit no pipe correction "
            f"when {parts} was learnt (check where the file connects it)"
        )


def cmd_commission(args: argparse.Namespace) -> int:
    """The §7.2.5 presettings and the §7.2.6 record."""
    net = load(args.network)
    try:
        record = commission(net, basis=args.basis)
    except CommissioningError as err:
        raise CliError(str(err)) from err
    if args.json:
        print_json(record.as_dict())
    else:
        _print_record(record)
    return 0


def _setting_text(row: Any) -> str:
    """The presetting of one inlet in words a fitter reads."""
    if row.opening is not None:
        text = f"opening {row.opening:.0%} (Kv {row.kv:.2f})"
        if row.turns is not None:
            text += f", {row.turns:.1f} turns"
        if row.mixing_ratio is not None:
            text += f", mixing ratio {row.mixing_ratio:.2f}"
        return text
    if row.setpoint is not None:
        return f"setpoint {row.setpoint:.2f} {row.setpoint_unit}"
    if row.speed is not None:
        return f"pump {row.frequency_hz:.1f} Hz (speed {row.speed:.2f})"
    return row.note or "—"


def _print_record(record: CommissioningRecord) -> None:
    """Human output of ``commission``."""
    width = max([5, *(len(r.inlet_id) for r in record.inlets)]) + 2
    print(f"commissioning record {record.network}, {record.date} (flow m³/h, ΔP kPa)")
    print(f"{'inlet':<{width}}{'device':<17}{'target':>9}{'expected':>10}{'ΔP avail':>10}  setting")
    for r in record.inlets:
        print(
            f"{r.inlet_id:<{width}}{r.device_type:<17}{r.target_flow_m3h:>9.2f}"
            f"{r.expected_flow_m3h:>10.2f}{r.expected_dp_available_kpa:>10.1f}  {_setting_text(r)}"
        )
    p = record.pump
    print(
        f"pump: speed {p.speed:.3f} ({p.frequency_hz:.1f} Hz), {p.flow_m3h:.1f} m³/h at "
        f"{p.head_m:.2f} m, {p.power_w:.0f} W"
    )
    for note in record.notes:
        print(f"note: {note}")


def register(sub: Any) -> None:
    """``balance`` and ``commission`` (called by cli.build_parser)."""
    p = sub.add_parser("balance", help="closed-loop balancing in the simulator")
    add_network_argument(p)
    p.add_argument("--level", default="advanced", help=f"one of {', '.join(LEVELS)}")
    p.add_argument("--target", default="flow", help=f"one of {', '.join(TARGETS)}")
    p.add_argument("--algorithm", default="model", help=f"one of {', '.join(ALGORITHMS)}")
    p.add_argument("--steps", type=int, default=12, help="control steps (default 12)")
    p.add_argument("--step-min", type=float, default=30.0, metavar="M", help="minutes a step")
    p.add_argument("--noise", type=float, default=0.0, metavar="σ", help="flow-meter noise")
    p.add_argument("--dropout", type=float, default=0.0, help="share of readings lost")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND:INLET[:VALUE]",
        help="stuck:B003:0.3 or blockage:B003:0.3 (repeatable)",
    )
    p.add_argument("--outdoor", type=float, metavar="C", help="°C (default: design outdoor)")
    p.add_argument("--seed", type=int, default=0, help="seed of noise and dropouts")
    p.add_argument(
        "--pipe-model",
        type=float,
        default=1.0,
        metavar="F",
        help="the controller's drawing has pipe resistances F × the plant's (default 1)",
    )
    p.add_argument(
        "--alarm-cycles",
        type=int,
        default=ALARM_CYCLES,
        metavar="N",
        help=f"cycles a condition lasts before its alarm is raised (default {ALARM_CYCLES})",
    )
    p.add_argument("--json", action="store_true", help="one JSON object (docs/cli.md)")
    p.set_defaults(func=cmd_balance)

    p = sub.add_parser("commission", help="device presettings and the commissioning record")
    add_network_argument(p)
    p.add_argument("--basis", default="load", choices=("load", "area"), help="target flows from")
    p.add_argument("--json", action="store_true", help="one JSON object (docs/cli.md)")
    p.set_defaults(func=cmd_commission)
