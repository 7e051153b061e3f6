"""bench_product's CLI column reads what HA's simulated source reads, draw for draw (issue 10).

``bench_product --noise`` compares HA's steps to band with the CLI's; the comparison is like
with like only if the CLI's control loop reads the same noisy values and the same lost inlets
as the entry's simulated plant (``simulated_noise``, ``simulated_dropout``,
``simulated_seed``). Before, the CLI column read exact flows against HA's noisy plant.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchmarks.bench_product import InstrumentedCli, Instruments
from custom_components.heatbalance.engine.cli_balance import Decision
from custom_components.heatbalance.engine.simulator import PlantState
from tests.integration.test_simulated_instruments import _acquire


def test_the_cli_column_reads_the_simulated_sources_draws() -> None:
    """1 % noise, 30 % lost, seed 5: every signal HA's simulated source reads at a building
    is what the CLI's loop is handed; a lost inlet is lost on both sides; the substation too."""
    options = {"simulated_noise": 1.0, "simulated_dropout": 30, "simulated_seed": 5}
    ha, exact = _acquire(options), _acquire({})
    handed: list[PlantState] = []

    def loop(state: PlantState, _rng: Any) -> Decision:
        handed.append(state)
        return Decision()

    cli = InstrumentedCli(loop, Instruments(0.01, 0.3, 5), "simulated")
    cli(exact.plant, np.random.default_rng(0))
    read = handed[0]
    lost = 0
    for iid, reading in ha.inlets.items():
        cli_reading = read.inlets[iid]
        if reading.received == 0:
            assert math.isnan(cli_reading.flow_m3h)
            assert math.isnan(cli_reading.opening)
            lost += 1
            continue
        for name in ("flow_m3h", "supply_c", "return_c", "room_c", "dp_available_kpa"):
            assert getattr(cli_reading, name) == getattr(reading, name), (iid, name)
        assert cli_reading.opening == reading.opening
        assert math.isnan(cli_reading.heat_kwh)  # the simulated source reads no counter
    assert 0 < lost < len(ha.inlets)
    assert read.supply_c == ha.plant.supply_c
    assert read.pump.flow_m3h == ha.plant.pump.flow_m3h
