"""Which network an entry describes: its file or built-in, plus inlets added in the UI.

A network file is YAML/JSON in the file format, or a building list (CSV/XLSX) from which the
engine estimates the network (engine/building_list.py). Paths are resolved against HA's
configuration folder, so ``heatbalance/street.xlsx``, ``/config/heatbalance/street.xlsx`` (the
path as the add-on and Docker installs see it) and a folder holding one network file work.

Blocking (file reads, validation of large networks): call from the executor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from .const import CONF_INLETS, CONF_NETWORK, CONF_PATH
from .engine.building_list import estimate_network, network_file, read_building_list
from .engine.loader import (
    NetworkError,
    load_network,
    network_data,
    network_to_dict,
    parse_network,
)
from .engine.model import Network

LOADED = "heatbalance_loaded"  # hass.data: unique id → the network the config flow just read
NETWORK_SUFFIXES = (".yaml", ".yml", ".json")
TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm")
FOLDER = "heatbalance"  # under HA's configuration folder: uploaded and generated files


def network_source(data: Mapping[str, Any]) -> str:
    """The loader's source for an entry: a file path, else the built-in name."""
    return str(data.get(CONF_PATH) or data[CONF_NETWORK])


def unique_id_for(data: Mapping[str, Any]) -> str:
    """One entry per network file or built-in network."""
    path = data.get(CONF_PATH)
    return f"file:{path}" if path else f"builtin:{data[CONF_NETWORK]}"


def definitions(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Inlets an entry adds to its network file (defined in the UI or imported from CSV)."""
    return [dict(d) for d in data.get(CONF_INLETS, [])]


def build_network(source: str, definitions: Iterable[Mapping[str, Any]] = ()) -> Network:
    """Load ``source`` and add (or replace by id) the inlets the entry defines.

    Raises the loader's ``NetworkError`` (every problem, by element) or ``OSError``.
    """
    network = load_source(source)
    extra = [dict(d) for d in definitions]
    if not extra:
        return network
    data = network_to_dict(network)
    ids = {d["id"] for d in extra}
    data["inlets"] = [i for i in data["inlets"] if i["id"] not in ids] + extra
    return parse_network(data, source=network.name)


def hand_over(store: MutableMapping[Any, Any], unique_id: str, network: Network) -> None:
    """Keep the network the config flow read for the setup that follows at once (``store`` is
    ``hass.data``): a first add reads the file once, not twice (a 23k-household network
    takes seconds to load and validate)."""
    store.setdefault(LOADED, {})[unique_id] = network


def handed_over(store: MutableMapping[Any, Any], unique_id: str | None) -> Network | None:
    """The network :func:`hand_over` kept for this entry, taken (None: load it)."""
    return store.get(LOADED, {}).pop(unique_id, None) if unique_id else None


def building_inlets(network: Network) -> list[str]:
    """Inlets that get a subentry (and a device) by default: buildings and units.

    Households stay aggregated in their building so a 1,200-household network does not make
    1,200 devices; an operator adds a household subentry where one needs watching.
    """
    return [i.id for i in network.inlets.values() if i.parent is None]


def load_source(source: str) -> Network:
    """A built-in network, a network file, or the network estimated from a building list."""
    path = Path(source)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        return load_network(source)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no such file")
    buildings = read_building_list(path.read_bytes(), path.name)
    return estimate_network(buildings, name=path.stem).network


def resolve_path(config_dir: str, text: str) -> Path:
    """The file a form's path means, found the way an operator expects.

    Relative paths start at the configuration folder; ``/config/…`` that does not exist on
    this host (HA Core, a venv) is tried below the configuration folder; a folder stands for
    the one network file in it. Raises ``FileNotFoundError`` naming what was tried.
    """
    given = Path(text.strip()).expanduser()
    config = Path(config_dir)
    candidates = [given] if given.is_absolute() else [config / given]
    if given.is_absolute() and given.parts[1:2] == ("config",):
        candidates.append(config.joinpath(*given.parts[2:]))
    for candidate in candidates:
        if candidate.is_dir():
            return _single_file(candidate)
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no such file: {tried}")


def _single_file(folder: Path) -> Path:
    """The one network file or building list in ``folder``."""
    found = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in NETWORK_SUFFIXES + TABLE_SUFFIXES
    )
    if len(found) == 1:
        return found[0]
    names = ", ".join(p.name for p in found) or "none"
    raise FileNotFoundError(f"{folder} is a folder; name one file in it (found: {names})")


def store_upload(config_dir: str, filename: str, content: bytes) -> Path:
    """Check an uploaded file and keep it under ``<config>/heatbalance/``; returns its path.

    A network file is kept as uploaded; a building list becomes the estimated network file
    (YAML with its ``estimates:``), so the operator can read and edit what was estimated.
    Raises the loader's ``NetworkError`` or ``BuildingListError`` with every problem.
    Uploading the same content again reuses its file (and so finds the existing entry).
    """
    name = Path(unquote(filename)).name  # some clients percent-encode non-ASCII names
    stem = re.sub(r"[^\w.-]+", "_", Path(name).stem).strip("._") or "network"
    suffix = Path(name).suffix.lower()
    if suffix in TABLE_SUFFIXES:
        estimated = estimate_network(read_building_list(content, name), name=stem)
        text = yaml.safe_dump(network_file(estimated), allow_unicode=True, sort_keys=False)
        return _keep(Path(config_dir) / FOLDER, stem, ".yaml", text.encode("utf-8"))
    if suffix not in NETWORK_SUFFIXES:
        raise NetworkError(
            name, [f"unknown file type {suffix or '(none)'}: use YAML, JSON, CSV or XLSX"]
        )
    _check_network_bytes(name, content)
    return _keep(Path(config_dir) / FOLDER, stem, suffix, content)


def _check_network_bytes(name: str, content: bytes) -> None:
    """Validate a YAML/JSON network file's content the way the loader will read it."""
    data = network_data(name, content)
    if data.get("inlets_csv"):
        raise NetworkError(
            name, ["inlets_csv: upload a file with its inlets inside, or give a path"]
        )
    parse_network(data, name=Path(name).stem, source=name)


def _keep(folder: Path, stem: str, suffix: str, content: bytes) -> Path:
    """Write ``content`` to a new file in ``folder`` (or reuse one with the same content)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if path.is_file() and path.read_bytes() == content:
            return path
        if not path.exists():
            path.write_bytes(content)
            return path
    raise OSError(f"{folder}: too many files named {stem}")
