"""Which network an entry describes: its file or built-in, plus inlets added in the UI.

Blocking (file reads, validation of large networks): call from the executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .const import CONF_INLETS, CONF_NETWORK, CONF_PATH
from .engine.loader import load_network, network_to_dict, parse_network
from .engine.model import Network


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
    network = load_network(source)
    extra = [dict(d) for d in definitions]
    if not extra:
        return network
    data = network_to_dict(network)
    ids = {d["id"] for d in extra}
    data["inlets"] = [i for i in data["inlets"] if i["id"] not in ids] + extra
    return parse_network(data, source=network.name)


def building_inlets(network: Network) -> list[str]:
    """Inlets that get a subentry (and a device) by default: buildings and units.

    Households stay aggregated in their building so a 1,200-household network does not make
    1,200 devices; an operator adds a household subentry where one needs watching.
    """
    return [i.id for i in network.inlets.values() if i.parent is None]
