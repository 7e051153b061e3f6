"""A damaged Store never stops the coordinator's setup (brief: bad stored data never crashes
the coordinator; ``persistence.restore_state`` runs in ``_async_setup``, unguarded).

Before: text or NaN as a stored valve opening, pump speed or plant time raised (``float``, the
simulator's finite check), a balance state stored as a list raised AttributeError (only
TypeError and ValueError were caught), and a damaged alarm raised TypeError. Now each damaged
value is left as the fresh plant has it and the rest is restored.
"""

from __future__ import annotations

import math

from custom_components.heatbalance.engine.alarms import AlarmBook
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.simulator import Simulator
from custom_components.heatbalance.persistence import PLANT_CLOCK, restore_state


def test_damaged_plant_values_are_left_and_the_rest_restored() -> None:
    simulator = Simulator(load_network("estate12"))
    fresh = Simulator(load_network("estate12"))
    stored = {
        "plant": {
            "openings": {"B001": "x", "B002": math.nan, "B003": 0.4},
            "pump_speed": "fast",
            "time_s": math.nan,
        },
        "balance": [],
        "alarms": {"active": [{"colour": "red"}]},
    }
    restore_state(stored, AlarmBook(), PLANT_CLOCK, simulator)
    ids = list(simulator.network.inlets)
    openings = dict(zip(ids, simulator.openings, strict=True))
    assert openings["B003"] == 0.4
    before = dict(zip(ids, fresh.openings, strict=True))
    assert [openings["B001"], openings["B002"]] == [before["B001"], before["B002"]]
    assert simulator.pump_speed == fresh.pump_speed
    assert simulator.time_s == fresh.time_s
