"""Write a "true" plant for a network or building list (``scripts/develop --true-plants``).

Development and test only (custom_components/heatbalance/true_plant.py): the simulated plant
of a network named N runs ``DIR/N.yaml`` instead of the network itself, so the controller
balances a plant it does not know exactly. This script makes such a file: the network (a
network file, a built-in name, or the network estimated from a CSV/XLSX building list, named
like the upload would name it) with every pipe's resistance, circuit and building size drawn
off its value (engine/plant_variation.py).

    python scripts/develop_true_plant.py street40.xlsx config/true-plants --seed 1
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from custom_components.heatbalance.engine.building_list import (  # noqa: E402
    estimate_network,
    read_building_list,
)
from custom_components.heatbalance.engine.loader import load_network, network_to_dict  # noqa: E402
from custom_components.heatbalance.engine.model import Network  # noqa: E402
from custom_components.heatbalance.engine.plant_variation import varied_network  # noqa: E402

TABLES = (".csv", ".xlsx", ".xlsm")


def model_of(source: str) -> Network:
    """The network the integration will make of ``source`` (upload naming for lists)."""
    path = Path(source)
    if path.suffix.lower() not in TABLES:
        return load_network(source)
    stem = re.sub(r"[^\w.-]+", "_", path.stem).strip("._") or "network"
    return estimate_network(read_building_list(path.read_bytes(), path.name), name=stem).network


def write_true_plant(
    model: Network,
    folder: Path,
    seed: int,
    pipes: float = 0.5,
    circuits: float = 0.5,
    buildings: float = 0.2,
) -> Path:
    """The varied network as ``folder/<model name>.yaml``; returns its path."""
    plant = varied_network(model, seed, pipes=pipes, circuits=circuits, buildings=buildings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model.name}.yaml"
    text = yaml.safe_dump(network_to_dict(plant), allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    """Command line: source, folder, draws."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="network file, built-in name, or CSV/XLSX building list")
    parser.add_argument("folder", type=Path, help="the HEATBALANCE_TRUE_PLANTS folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pipes", type=float, default=0.5, help="±share of pipe resistance")
    parser.add_argument("--circuits", type=float, default=0.5, help="±share of circuit drop")
    parser.add_argument("--buildings", type=float, default=0.2, help="±share of building size")
    args = parser.parse_args()
    path = write_true_plant(
        model_of(args.source), args.folder, args.seed, args.pipes, args.circuits, args.buildings
    )
    print(f"true plant written: {path}")


if __name__ == "__main__":
    main()
