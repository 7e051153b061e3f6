"""Regenerate the built-in network files: ``python -m …engine.networks.build_builtins``.

Kept beside the files so anyone can see (and reproduce) where they come from. ``loop8.yaml``
is not generated: it is written by hand as the worked example of docs/network-format.md.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from ..loader import CSV_FIELDS, network_to_dict
from . import HERE
from .generator import generate_network

BUILTINS = {
    # name: (buildings, households per building, seed, looped trunk, description)
    "estate12": (
        12,
        0,
        5,  # of seeds 1–8 the clearest far-end starvation (0.75) with valves open
        False,
        "A 12-building estate with electric valves (intermediate level).",
    ),
    "district120": (120, 0, 1, False, "A 120-building district on a branched tree."),
    "households1200": (
        40,
        30,
        1,
        False,
        "40 buildings × 30 households with IoT valves "
        "(advanced level, §4.3.6); inlets in households1200.csv.",
    ),
}


def write(name: str, folder: Path = HERE) -> Path:
    """Generate built-in ``name`` and write its file(s) into ``folder``."""
    buildings, households, seed, loop, text = BUILTINS[name]
    net = generate_network(buildings, households, seed, name=name, loop=loop)
    net.description = text
    data = network_to_dict(net)
    if households:
        inlets = data.pop("inlets")
        data["inlets_csv"] = f"{name}.csv"
        _write_csv(folder / f"{name}.csv", inlets)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _write_csv(path: Path, inlets: list[dict[str, Any]]) -> None:
    """Inlets as the flat CSV table that import_inlets_csv reads."""
    flat_names = {v: k for k, v in CSV_FIELDS.items()}
    rows = []
    for inlet in inlets:
        row = {k: v for k, v in inlet.items() if not isinstance(v, dict)}
        for group in ("device", "envelope", "emitter"):
            for key, value in inlet.get(group, {}).items():
                row[flat_names[(group, key)]] = value
        rows.append(row)
    header = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    for builtin in BUILTINS:
        print(write(builtin))
