"""Development and test only: simulate a plant that is not the network model.

An entry's simulated plant is normally its network itself, so a demo balances a plant its
controller knows exactly. To watch (and test) balancing of a plant the controller does not
know — an estimated building list against the real street — a developer starts Home
Assistant with the environment variable ``HEATBALANCE_TRUE_PLANTS`` set to a folder
(``scripts/develop --true-plants DIR``). A network named ``N`` then simulates its plant from
``DIR/N.yaml`` (or ``.yml``, ``.json``) when that file exists; the controller's model stays
the entry's network. Nothing in the UI reaches this: an operator's HA never sets the variable.

The true network must have the model's inlets (same ids); its pipes, circuits, pump and
buildings may differ (engine/plant_variation.py makes such a network). Blocking: executor.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .engine.loader import NetworkError
from .engine.model import Network
from .network_setup import NETWORK_SUFFIXES, build_network

_LOGGER = logging.getLogger(__name__)
ENV = "HEATBALANCE_TRUE_PLANTS"


def true_plant_file(name: str) -> Path | None:
    """The true network's file for network ``name``, when development mode names one."""
    folder = os.environ.get(ENV)
    if not folder:
        return None
    for suffix in NETWORK_SUFFIXES:
        path = Path(folder) / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def plant_network(model: Network, definitions: Iterable[Mapping[str, Any]] = ()) -> Network:
    """The network the simulator runs: the true one when configured, else the model itself.

    The entry's UI-defined inlets join the true network as they join the model. Raises the
    loader's ``NetworkError`` when the true network's inlets are not the model's.
    """
    path = true_plant_file(model.name)
    if path is None:
        return model
    plant = build_network(str(path), definitions)
    if differ := sorted(set(model.inlets) ^ set(plant.inlets)):
        shown = ", ".join(differ[:10]) + (" …" if len(differ) > 10 else "")
        raise NetworkError(
            str(path), [f"true plant: inlets not in both it and the model's network: {shown}"]
        )
    _LOGGER.warning(
        "%s: the simulated plant runs the true network %s (development mode, %s); "
        "the controller's model is the entry's network",
        model.name,
        path,
        ENV,
    )
    return plant
