"""One cycle's instrument noise and lost readings, drawn in one order wherever they are drawn.

The engine's closed-loop benchmark (``bench_robust.measure``), the field plant behind Home
Assistant entities (:mod:`devtools.field_plant`) and the integration's own simulated plant
(``plant.py``, a demo that should read like a real plant) all take their noise from this one
function, so a seed gives them the same numbers in the same order: HA's run and the engine's
run of the same network, fault and seed read the same noisy values, and
``bench_product_faults`` can compare them seed by seed (issue 10: "steps to band in HA equal
the CLI's ±1"). Before, the field drew 4 values per mapped inlet and the engine 6 per inlet
(households and ΔP included) plus the substation's, so one seed number gave each side
another draw; HA's simulated plant read exact values, lost signal by signal from seed 0.

The order, per cycle: for every inlet of the plant (households too, whether read or not), in
the plant's order, the flow, supply, return, room temperature, available ΔP and valve ΔP
(each ``value × (1 + N(0, noise))`` when the value exists and the noise is positive, then
``garble`` when given, which may draw too), then one uniform draw deciding whether the inlet's
readings are lost (only when ``missing`` > 0); then the substation's supply, return, flow and
head, noisy as an inlet's signal (never garbled).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .simulator import PlantState

INLET_SIGNALS = ("flow_m3h", "supply_c", "return_c", "room_c", "dp_available_kpa", "valve_dp_kpa")
NETWORK_SIGNALS = ("supply_c", "return_c", "pump_flow_m3h", "pump_head_m")

Value = float | None


@dataclass
class Drawn:
    """What the instruments read this cycle, before any fault that is not noise or a loss."""

    inlets: dict[str, dict[str, Value]]  # inlet → signal (INLET_SIGNALS) → value read
    lost: set[str]  # inlets whose readings did not arrive this cycle
    network: dict[str, Value]  # NETWORK_SIGNALS → value read


def draw(
    state: PlantState,
    noise: float,
    missing: float,
    rng: np.random.Generator,
    garble: Callable[[Value], Value] | None = None,
) -> Drawn:
    """This cycle's readings of ``state``: noisy, some lost (see the module's order)."""

    def noisy(value: Value) -> Value:
        if value is None or noise <= 0:
            return value
        return float(value * (1.0 + rng.normal(0.0, noise)))

    def read(value: Value) -> Value:
        return noisy(value) if garble is None else garble(noisy(value))

    inlets: dict[str, dict[str, Value]] = {}
    lost: set[str] = set()
    for iid, s in state.inlets.items():
        inlets[iid] = {name: read(getattr(s, name)) for name in INLET_SIGNALS}
        if missing > 0 and rng.random() < missing:
            lost.add(iid)
    exact = {
        "supply_c": state.supply_c,
        "return_c": state.return_c,
        "pump_flow_m3h": state.pump.flow_m3h,
        "pump_head_m": state.pump.head_m,
    }
    network = {name: noisy(exact[name]) for name in NETWORK_SIGNALS}
    return Drawn(inlets, lost, network)
