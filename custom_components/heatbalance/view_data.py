"""What the network view (the sidebar panel) draws, as plain JSON-ready data.

Pure Python (no Home Assistant): :func:`topology` once per subscription, :func:`live` after
every cycle, :func:`history_point` into the panel's charts. §5.3.5-1 asks for the topology with
live monitoring data; each inlet carries its band state (in band / short / over / no data /
fault / manual), flow deviation, return temperature, valve position and available ΔP.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

from .engine.alarms import EMERGENCY, AlarmBook  # an emergency draws its inlet as a fault
from .engine.control.setpoints import flow_setpoint
from .engine.design_loads import KIND as DESIGN_LOAD
from .engine.evaluation import Band, band, flow_deviation_pct
from .engine.hydraulics.topology import pipe_tree
from .estimates import is_estimated, rejected

if TYPE_CHECKING:
    from .cycle import CycleResult, InletResult
    from .engine.model import Network
    from .settings import InletConfig, Settings

HISTORY_POINTS = 720  # cycles kept for the charts (15 days at 30 min)
STATES = ("in_band", "short", "over", "no_data", "fault", "manual")  # the panel's colours
# the view's columns and the reading field each shows (flow deviation follows the flow)
SHOWN = {
    "flow_m3h": "flow_m3h",
    "flow_dev": "flow_m3h",
    "return_c": "return_c",
    "opening": "opening",
    "dp_kpa": "dp_available_kpa",
}


def topology(network: Network) -> dict[str, Any]:
    """The network as a tree from the substation (§5.3.5-1), with the loops' closing pipes.

    The engine's spanning tree of the pipes (:func:`~.engine.hydraulics.topology.pipe_tree`)
    gives each node a parent and its distance along the pipes; the pipes it leaves out close
    loops and are drawn apart. Building inlets hang on their street node, households on
    their building.
    """
    tree = pipe_tree(network)
    ids = list(network.nodes)
    dist = {ids[k]: d for k, d in tree.distances_m(network).items()}
    root = network.substation.node
    loops = [[network.pipes[k].from_node, network.pipes[k].to_node] for k in tree.chords]
    inlets = []
    kids = network.children_by_parent()
    for inlet in network.inlets.values():
        if inlet.parent is not None:
            continue
        inlets.append(
            {
                "id": inlet.id,
                "name": inlet.name or inlet.id,
                "node": inlet.node,
                "dist_m": round(dist.get(inlet.node, math.nan), 1),
                "households": [h.id for h in kids.get(inlet.id, ())],
            }
        )
    return {
        "name": network.name,
        "substation": {"id": network.substation.id, "name": network.substation.name, "node": root},
        "nodes": [
            [ids[k], ids[tree.up[k]] if tree.up[k] >= 0 else None, round(dist[ids[k]], 1)]
            for k in tree.order
        ],
        "loops": loops,
        "inlets": inlets,
    }


def inlet_state(result: InletResult | None, manual: bool, fault: bool) -> str:
    """The inlet's colour: fault beats missing data beats manual beats the band verdict.

    Positive deviation means more heat than set (flow above set, return/room warmer): "over".
    The verdict is the one on the engine's estimate (``InletResult.in_band``, issue 9 item
    1), its sign the estimate's; "no_data" where no estimate stands in for the readings.
    """
    if fault:
        return "fault"
    if result is None or result.in_band is None:
        return "no_data"
    if manual:
        return "manual"
    if result.in_band:
        return "in_band"
    deviation = result.estimate_deviation
    deviation = result.deviation if deviation is None else deviation
    return "over" if (deviation or 0.0) > 0 else "short"


def live(
    network: Network,
    result: CycleResult,
    inlets: dict[str, InletConfig],
    settings: Settings,
    alarms: AlarmBook,
    flows: dict[str, tuple[float, float]] | None,
) -> dict[str, Any]:
    """The network after one cycle: its figures, every inlet's, every household's.

    ``flows`` is the simulated plant's (flow, design flow) per inlet as the cycle acquired it
    (households of a demo network are drawn from it); None for a real plant, whose households
    are drawn as "no data" unless they are managed.
    """
    # a design load the file gets wrong is the file's fault, not the inlet's devices'
    faults = {f.inlet_id for f in result.findings if f.kind != DESIGN_LOAD}
    flow_band = band(settings.level, "flow")  # households are drawn by their flow
    rows: dict[str, dict[str, Any]] = {}
    for iid, res in result.inlets.items():
        cfg = inlets.get(iid)
        hand = cfg is not None and not cfg.auto  # held by hand: no command reaches it
        manual = not settings.auto or hand
        active = alarms.at(iid)
        shown = _shown(res)
        rows[iid] = {
            "state": inlet_state(
                res, manual, iid in faults or any(a.grade == EMERGENCY for a in active)
            ),
            "flow_dev": _num(res.flow_deviation),
            "deviation": _num(res.deviation),
            "return_c": _num(shown["return_c"]),
            "flow_m3h": _num(shown["flow_m3h"], 3),
            "opening": _num(None if shown["opening"] is None else shown["opening"] * 100.0),
            # what goes out (automatic) or what "Confirm proposal" sends (manual); a valve
            # held by hand gets neither: the plan's opening for it stands apart (§5.3.6-6)
            **_command(res.command, hand),
            "dp_kpa": _num(shown["dp_available_kpa"]),
            "alarms": len(active),
            "quality": _num(res.success_rate),
            "flagged": sorted(c for c, n in SHOWN.items() if rejected(n, res.reading, res.flagged)),
            "estimated": _estimated(res),
        }
    households: dict[str, str] = {}
    for inlet in network.inlets.values():
        if inlet.parent is None or inlet.id in rows:
            continue
        flow = flows.get(inlet.id) if flows is not None else None
        households[inlet.id] = _household_state(flow, flow_setpoint(inlet, inlet.weight), flow_band)
    return {
        "time_s": result.time_s,
        "balanced": result.balanced,
        "share_in_band": _num(result.share_in_band),  # already in %, on the estimates
        "share_in_band_readings": _num(result.share_in_band_readings),  # … on the readings
        "supply_c": _num(result.supply_c),
        "return_c": _num(result.return_c),
        "outdoor_c": _num(result.outdoor_c),
        # the network model's figures on a real plant (supply, return, outdoor: marked ≈)
        "estimated": sorted(
            n for n in ("supply_c", "return_c", "outdoor_c") if n in result.modelled
        ),
        "auto": settings.auto,
        # manual mode: a proposal still to confirm, its pump speed beside the openings
        # (rows' ``command``); the panel's proposal card (§5.3.6-6, §5.3.5-2)
        "proposal": not settings.auto and result.proposes,
        "pump_command": _num(None if result.pump_command is None else result.pump_command * 100),
        "band": _band(result),
        "alarms": len(alarms.active),
        "inlets": rows,
        "households": households,
    }


def _command(command: float | None, hand: bool) -> dict[str, Any]:
    """A row's ``command`` (%): what is sent, or sent on confirming a manual proposal —
    None for a valve held by hand (its inlet's automatic switch off, §5.3.6-6), which the
    engine plans (``Commands.proposed``) but never commands (``Dispatch`` leaves it out).
    Its plan's opening is ``planned``, and ``hand`` marks it: the proposal card lists it
    apart as held by hand, so confirming sends exactly the valves the card says move."""
    pct = None if command is None else _num(command * 100.0)
    return {"command": None if hand else pct, "hand": hand, "planned": pct if hand else None}


def _shown(res: InletResult) -> dict[str, float | None]:
    """The values the view shows: the reading's, else the engine's estimate (marked ≈, as
    the entities' ``estimate``, estimates.py); a reading the engine rejected is not shown
    (its column is in ``flagged``)."""
    out: dict[str, float | None] = {}
    for name in set(SHOWN.values()):
        value = None if name in res.flagged else getattr(res.reading, name)
        out[name] = res.filled.get(name) if value is None else value
    return out


def _estimated(res: InletResult) -> list[str]:
    """The view's columns that show an estimate, not a measurement (issue 10 item 3); an
    inlet planned without a flow reading has its band state judged on the plan's flow."""
    columns = [c for c, name in SHOWN.items() if is_estimated(name, res.reading, res.filled)]
    if "deviation" in res.filled:
        columns += ["deviation", "state"]
    return columns


def history_point(result: CycleResult, balance_state: str, head_m: float | None) -> dict[str, Any]:
    """One cycle's point for the charts (share in band, pump, forecast against actual)."""
    heat = result.network_heat()
    return {
        "t": result.time_s,
        "share": _num(result.share_in_band),
        "state": balance_state,
        "head_m": _num(head_m),
        "power_w": _num(result.pump_power_w, 0),
        "flow_m3h": _num(result.pump_flow_m3h),
        "forecast_kw": _num(result.forecast_kw),
        # a measured figure only (the substation meter's, or a sum with every inlet
        # trusted): the chart draws no under-reported sum as the actual load; an estimate
        # goes apart, drawn ≈ (dashed) — never as the actual line
        "heat_kw": None if heat.estimated else _num(heat.kw),
        "heat_estimate_kw": _num(heat.kw) if heat.estimated else None,
    }


def new_history() -> deque[dict[str, Any]]:
    """The panel's per-network chart buffer."""
    return deque(maxlen=HISTORY_POINTS)


def _household_state(flow: tuple[float, float] | None, set_flow: float, flow_band: Band) -> str:
    """A simulated household's band state: its flow (model data) against its set flow on the
    level's flow band (§8.2.2-1, §8.2.3-1, §8.2.4-1), judged as the engine judges an inlet."""
    deviation = flow_deviation_pct(flow[0] if flow and flow[1] else None, set_flow)
    if deviation is None:
        return "no_data"
    if flow_band.miss(deviation) == 0.0:
        return "in_band"
    return "over" if deviation > 0 else "short"


def _band(result: CycleResult) -> dict[str, Any] | None:
    """The acceptance band the verdicts used (unit, limits, clause)."""
    if result.evaluation is None:
        return None
    band = result.evaluation.band
    return {"lower": band.lower, "upper": band.upper, "unit": band.unit, "clause": band.clause}


def _num(value: float | None, digits: int = 1) -> float | None:
    """Rounded for the wire; NaN and infinity become None (JSON has neither)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)
