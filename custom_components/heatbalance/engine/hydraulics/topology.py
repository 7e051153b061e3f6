"""Expansion of a :class:`~..model.Network` into hydraulic nodes and links, with validation.

Every network node becomes a supply node ``S`` and a return node ``R``; every building that
feeds households gets one more node, its building supply node ``B``. Links, in this order:

=============  ==========================  =========================================
links          from → to                   law
=============  ==========================  =========================================
supply pipes   S(from_node) → S(to_node)   Darcy–Weisbach + ζ
return pipes   R(to_node) → R(from_node)   Darcy–Weisbach + ζ
inlets         S(node) → R(node)           device + internal circuit
               S(node) → B(building)       building with households: device + service
               B(parent) → R(node)         household
substation     R(sub) → S(sub)             pump curve − heat-exchanger drop
=============  ==========================  =========================================

The return header R(sub) is the fixed-pressure node. Everything here is computed once per
:class:`~.solver.HydraulicModel`; bad input raises :class:`~.errors.HydraulicError` naming the
element and the problem, never a bare ``KeyError`` or ``ZeroDivisionError`` later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inlet_columns import DEVICE_TYPES, InletColumns, inlet_columns
from ..model import Network
from ..validation import network_problems
from .errors import HydraulicError

__all__ = [
    "DEVICE_TYPES",
    "InletColumns",
    "PipeTree",
    "Topology",
    "build_topology",
    "inlet_columns",
    "pipe_tree",
]
MAX_LISTED_PROBLEMS = 10


@dataclass
class Topology:
    """Index arrays of the expanded graph (links ordered: supply pipes, return pipes, inlets,
    substation), plus a spanning tree of the pipe graph for building initial guesses."""

    node_ids: list[str]
    pipe_ids: list[str]
    inlet_ids: list[str]
    n_hyd: int  # hydraulic nodes: 2·nodes + building supply nodes
    start: np.ndarray
    end: np.ndarray
    fixed_node: int
    source_link: int
    inlet_up: np.ndarray  # node whose pressure the inlet is offered (S or the building's B)
    inlet_down: np.ndarray  # return node the inlet discharges to
    inlet_node: np.ndarray  # network node index of each inlet
    parent: np.ndarray  # inlet index of the parent building, −1 for none
    is_parent: np.ndarray
    depth: np.ndarray  # 0 for inlets on the street, 1 for households, …
    elevation: np.ndarray  # per network node, m
    sub_node: int
    tree_levels: list[np.ndarray]  # network nodes by BFS depth from the substation (no root)
    tree_up: np.ndarray  # BFS parent node of each network node (−1 for the root)
    tree_pipe: np.ndarray  # pipe joining a node to its BFS parent (−1 for the root)
    tree_sign: np.ndarray  # +1 if supply flow from parent to node is the pipe's positive sense
    chords: np.ndarray  # pipes outside the spanning tree (they close loops)
    columns: InletColumns

    @property
    def n_pipes(self) -> int:
        """Number of pipe pairs."""
        return len(self.pipe_ids)

    @property
    def n_links(self) -> int:
        """Number of hydraulic links."""
        return len(self.start)

    def inlet_links(self) -> slice:
        """Slice of the inlet links in the link arrays."""
        p = 2 * self.n_pipes
        return slice(p, p + len(self.inlet_ids))

    def link_name(self, link: int) -> str:
        """Human name of a link, for error messages."""
        p = self.n_pipes
        if link < p:
            return f"pipe {self.pipe_ids[link]} (supply)"
        if link < 2 * p:
            return f"pipe {self.pipe_ids[link - p]} (return)"
        if link == self.source_link:
            return "substation pump"
        return f"inlet {self.inlet_ids[link - 2 * p]}"


def build_topology(network: Network) -> Topology:
    """Validate ``network`` and expand it; raises :class:`HydraulicError` listing every problem."""
    cols = inlet_columns(network)
    _raise(network, network_problems(network, columns=cols))
    node_index = {nid: k for k, nid in enumerate(network.nodes)}
    inlet_ids = cols.ids
    parent, depth = _parents(network, cols)
    n = len(node_index)
    pipes = network.pipes
    p_from = np.array([node_index[p.from_node] for p in pipes], dtype=np.int64)
    p_to = np.array([node_index[p.to_node] for p in pipes], dtype=np.int64)
    inlet_node = np.array([node_index[n] for n in cols.node], dtype=np.int64)
    is_parent = np.zeros(len(inlet_ids), dtype=bool)
    is_parent[parent[parent >= 0]] = True
    b_node = np.full(len(inlet_ids), -1, dtype=np.int64)
    b_node[is_parent] = 2 * n + np.arange(int(is_parent.sum()))
    has_parent = parent >= 0
    up = np.where(has_parent, b_node[np.maximum(parent, 0)], inlet_node)
    down = np.where(is_parent, b_node, inlet_node + n)
    sub = node_index[network.substation.node]
    start = np.concatenate([p_from, p_to + n, up, [sub + n]])
    end = np.concatenate([p_to, p_from + n, down, [sub]])
    tree = _spanning_tree(network, node_index)
    return Topology(
        node_ids=list(network.nodes),
        pipe_ids=[p.id for p in pipes],
        inlet_ids=inlet_ids,
        n_hyd=2 * n + int(is_parent.sum()),
        start=start.astype(np.int64),
        end=end.astype(np.int64),
        fixed_node=sub + n,
        source_link=len(start) - 1,
        inlet_up=up,
        inlet_down=down,
        inlet_node=inlet_node,
        parent=parent,
        is_parent=is_parent,
        depth=depth,
        elevation=np.array([node.elevation_m for node in network.nodes.values()], dtype=float),
        sub_node=sub,
        columns=cols,
        **tree,  # type: ignore[arg-type]
    )


def _raise(network: Network, problems: list[str]) -> None:
    """Raise one error that lists the first problems found."""
    if not problems:
        return
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    tail = f"\n  … and {more} more" if more else ""
    raise HydraulicError(
        f"network {network.name!r} cannot be solved:\n  " + "\n  ".join(shown) + tail
    )


def _parents(network: Network, cols: InletColumns) -> tuple[np.ndarray, np.ndarray]:
    """Parent index and depth of every inlet; a cycle of parents is an error."""
    inlet_ids = cols.ids
    index = {iid: k for k, iid in enumerate(inlet_ids)}
    parent = np.array([-1 if p is None else index[p] for p in cols.parent], dtype=np.int64)
    depth = np.zeros(len(inlet_ids), dtype=np.int64)
    current = parent.copy()
    for _ in range(len(inlet_ids) + 1):
        climbing = current >= 0
        if not climbing.any():
            return parent, depth
        depth[climbing] += 1
        current = np.where(climbing, parent[np.maximum(current, 0)], -1)
    looped = inlet_ids[int(np.flatnonzero(current >= 0)[0])]
    raise HydraulicError(
        f"network {network.name!r} cannot be solved:\n  inlet {looped}: "
        "its chain of parents loops back on itself"
    )


@dataclass(frozen=True)
class PipeTree:
    """The breadth-first spanning tree of the pipe graph (pipes undirected) from the
    substation, by network node index: the solver's initial guesses and the panel's drawing
    (§5.3.5-1) walk the same tree. Pipes outside it close loops (:attr:`chords`)."""

    order: list[int]  # reached network nodes, breadth-first, the substation first
    up: list[int]  # parent node of each network node (−1: the root, or not reached)
    via: list[int]  # pipe joining a node to its parent (−1: the root, or not reached)
    sign: list[float]  # +1 if supply flow from parent to node is the pipe's positive sense
    chords: list[int]  # pipes outside the tree

    def distances_m(self, network: Network) -> dict[int, float]:
        """Each reached node's length of pipe from the substation along the tree."""
        dist = {self.order[0]: 0.0}
        for node in self.order[1:]:
            dist[node] = dist[self.up[node]] + network.pipes[self.via[node]].length_m
        return dist


def pipe_tree(network: Network, node_index: dict[str, int] | None = None) -> PipeTree:
    """:class:`PipeTree` of ``network``; pipes to unknown nodes are left out (validation
    names them)."""
    index = node_index if node_index is not None else {n: k for k, n in enumerate(network.nodes)}
    n = len(index)
    adjacency: list[list[tuple[int, int, float]]] = [[] for _ in range(n)]
    for k, pipe in enumerate(network.pipes):
        a, b = index.get(pipe.from_node), index.get(pipe.to_node)
        if a is not None and b is not None:
            adjacency[a].append((b, k, 1.0))
            adjacency[b].append((a, k, -1.0))
    root = index[network.substation.node]
    up, via, sign = [-1] * n, [-1] * n, [1.0] * n
    reached = [False] * n
    reached[root] = True
    order = [root]
    for a in order:  # breadth-first: the list grows while it is walked
        for b, k, s in adjacency[a]:
            if not reached[b]:
                reached[b], up[b], via[b], sign[b] = True, a, k, s
                order.append(b)
    in_tree = set(via)
    chords = [k for k in range(len(network.pipes)) if k not in in_tree]
    return PipeTree(order=order, up=up, via=via, sign=sign, chords=chords)


def _spanning_tree(network: Network, node_index: dict[str, int]) -> dict[str, object]:
    """:func:`pipe_tree` as the solver's index arrays (validation saw every node reached)."""
    tree = pipe_tree(network, node_index)
    level = [-1] * len(node_index)
    for node in tree.order:
        level[node] = 0 if tree.up[node] < 0 else level[tree.up[node]] + 1
    depth = np.array(level, dtype=np.int64)
    order = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[order], np.arange(1, int(depth.max(initial=0)) + 2))
    return {
        "tree_levels": [order[bounds[d] : bounds[d + 1]] for d in range(len(bounds) - 1)],
        "tree_up": np.array(tree.up, dtype=np.int64),
        "tree_pipe": np.array(tree.via, dtype=np.int64),
        "tree_sign": np.array(tree.sign, dtype=float),
        "chords": np.array(tree.chords, dtype=np.int64),
    }
