"""The entry's simulated plant reads like the engine's benchmarks' plants (issue 10).

HA's simulated source (the default a new user runs: ``scripts/develop``, the demo network)
read exact values, lost signal by signal, from seed 0 whatever the run's seed, while the
engine's benchmark reads 1 % noise and loses whole inlets (``bench_robust.measure``): the
two could not be compared seed by seed. Now it draws from ``engine/instruments.py`` —
the same draws in the same order as the engine's benchmark and the field plant — with the
entry's noise level and seed (``simulated_noise``, ``simulated_seed``).
"""

from __future__ import annotations

import numpy as np

from custom_components.heatbalance.engine.instruments import draw
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.simulator import Simulator
from custom_components.heatbalance.plant import SIM_SIGNALS, Plant
from custom_components.heatbalance.reading import Acquisition
from custom_components.heatbalance.settings import DEFAULT_OPTIONS, InletConfig, Settings


def _acquire(options: dict[str, float]) -> Acquisition:
    """One cycle of estate12's simulated plant with ``options``, every building managed."""
    network = load_network("estate12")
    settings = Settings.from_options(DEFAULT_OPTIONS | options)
    inlets = {
        iid: InletConfig(subentry_id=iid, inlet_id=iid)
        for iid, inlet in network.inlets.items()
        if inlet.parent is None
    }
    plant = Plant(Simulator(network), inlets, settings)
    return plant._step_and_read(None, list(inlets), {}, True)


def test_the_simulated_plant_draws_the_engines_noise_and_losses_from_its_seed() -> None:
    """1 % noise and 30 % lost, seed 5: every reading is ``instruments.draw``'s for the same
    plant state and seed; a lost inlet delivers none of its signals (§6.0.6 counts it)."""
    options = {"simulated_noise": 1.0, "simulated_dropout": 30, "simulated_seed": 5}
    noisy, exact = _acquire(options), _acquire({})
    drawn = draw(exact.plant, 0.01, 0.3, np.random.default_rng(5))
    assert drawn.lost  # the seed loses some inlets this cycle …
    assert set(drawn.lost) < set(exact.plant.inlets)  # … not all
    for iid, reading in noisy.inlets.items():
        assert reading.attempted == len(SIM_SIGNALS)
        if iid in drawn.lost:
            assert reading.received == 0
            assert reading.flow_m3h is None
            assert reading.opening is None
            continue
        read = drawn.inlets[iid]
        assert reading.flow_m3h == read["flow_m3h"]
        assert reading.supply_c == read["supply_c"]
        assert reading.return_c == read["return_c"]
        assert reading.room_c == read["room_c"]
        assert reading.flow_m3h != exact.inlets[iid].flow_m3h  # noisy, not the plant's
    # the substation is read by instruments too (drawn after the inlets)
    assert noisy.plant.supply_c == drawn.network["supply_c"]
    assert noisy.plant.pump.flow_m3h == drawn.network["pump_flow_m3h"]


def test_another_seed_reads_other_values_and_the_defaults_read_exact() -> None:
    """The seed is the entry's (it was 0 whatever the run); without noise and losses the
    plant reads exact, as before."""
    one = _acquire({"simulated_noise": 1.0, "simulated_seed": 1})
    two = _acquire({"simulated_noise": 1.0, "simulated_seed": 2})
    exact = _acquire({})
    assert one.inlets["B001"].flow_m3h != two.inlets["B001"].flow_m3h
    assert exact.inlets["B001"].flow_m3h == exact.plant.inlets["B001"].flow_m3h
