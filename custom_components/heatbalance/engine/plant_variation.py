"""A plant that differs from its network model, as real plants differ from their drawings.

A network file — above all one estimated from a building list — is never the plant: pipes
are rougher or smoother than drawn, a building's circuit drops more or less than assumed,
the building itself is bigger or smaller than the sheet says. Benchmarks and the browser
test balance such a *true* plant while the controller only knows the model (§3.0.7-3: the
self-learning model corrects the file's values from data). Draws are seeded: the same seed
gives the same plant.
"""

from __future__ import annotations

import copy

import numpy as np

from .model import Network


def varied_network(
    network: Network,
    seed: int,
    pipes: float = 0.5,
    circuits: float = 0.0,
    buildings: float = 0.0,
) -> Network:
    """A copy of ``network`` with every value drawn off its model value.

    ``pipes``: each pipe's hydraulic resistance × U(1 − pipes, 1 + pipes) (the inner diameter
    scaled by factor^(−1/5), so the pipe stays where it was); ``circuits``: each inlet's
    circuit drop × U(1 − circuits, 1 + circuits); ``buildings``: each building inlet's size —
    design load, heated area, envelope UA and heat capacity — × U(1 − buildings,
    1 + buildings). The model is not changed. Draw order is fixed (pipes, circuits,
    buildings), so a zero range draws nothing and leaves the other draws as they were.
    """
    rng = np.random.default_rng(10_000 + seed)
    plant = copy.deepcopy(network)
    for pipe in plant.pipes:
        pipe.inner_diameter_mm *= float(rng.uniform(1.0 - pipes, 1.0 + pipes)) ** (-1 / 5)
    if circuits:
        for inlet in plant.inlets.values():
            inlet.internal_dp_kpa *= float(rng.uniform(1.0 - circuits, 1.0 + circuits))
    if buildings:
        for inlet in plant.inlets.values():
            if inlet.parent is not None:
                continue
            size = float(rng.uniform(1.0 - buildings, 1.0 + buildings))
            inlet.design_load_kw *= size
            inlet.heating_area_m2 *= size
            inlet.envelope.ua_w_k *= size
            inlet.envelope.heat_capacity_kj_k *= size
    return plant
