"""What a network keeps over a restart of Home Assistant, in its ``Store``.

The cycle's memory (heat counters, the engine loop's learning and transmission counts), the
active alarms with their acknowledgements, the §8.2.5/§8.2.6 balance state with the clock it
counts on, and the simulated plant's valves, pump and time. A damaged or foreign part starts
afresh; nothing worse (regulation restarts, no crash).
"""

from __future__ import annotations

from typing import Any

from .cycle import CycleMemory
from .engine.alarms import AlarmBook
from .engine.evaluation import BalanceStateMachine
from .engine.simulator import Simulator

STORE_VERSION = 1
SAVE_DELAY_S = 30
PLANT_CLOCK = "plant"  # §8.2.6 timer on the simulated plant's time
WALL_CLOCK = "wall"  # §8.2.6 timer on wall-clock time (real plants)


def stored_state(
    memory: dict[str, Any],
    alarms: AlarmBook,
    balance: BalanceStateMachine,
    clock: str,
    simulator: Simulator,
) -> dict[str, Any]:
    """Everything the Store keeps (JSON); ``memory`` is the cycle memory already serialised
    (in the executor: the controller's learning is large on big networks)."""
    sim = simulator
    return {
        "memory": memory,
        "alarms": alarms.as_dict(),
        "balance": balance.as_dict(),
        "balance_clock": clock,
        "plant": {
            "time_s": sim.time_s,
            "pump_speed": sim.pump_speed,
            "openings": {iid: float(sim.openings[k]) for k, iid in enumerate(sim.ids)},
        },
    }


def restore_state(
    stored: dict[str, Any], alarms: AlarmBook, clock: str, simulator: Simulator
) -> tuple[CycleMemory, BalanceStateMachine]:
    """Read back :func:`stored_state`: alarms and the simulated plant in place; returns the
    cycle's memory and the balance state (fresh when it counted another clock's seconds)."""
    memory = CycleMemory.from_dict(stored.get("memory", {}))
    alarms.restore(stored.get("alarms", {}))
    try:
        balance = BalanceStateMachine.from_dict(stored.get("balance", {}))
    except (TypeError, ValueError):  # a damaged store restarts regulation, nothing worse
        balance = BalanceStateMachine()
    if stored.get("balance_clock", PLANT_CLOCK) != clock:
        balance = BalanceStateMachine()
    plant = stored.get("plant", {})
    for iid, opening in plant.get("openings", {}).items():
        if iid in simulator.network.inlets:
            simulator.set_opening(iid, float(opening))
    if "pump_speed" in plant:
        simulator.set_pump_speed(float(plant["pump_speed"]))
    simulator.time_s = float(plant.get("time_s", 0.0))
    return memory, balance
