"""Network shapes for the hidden checks (issue 9, 9x): plants none of the built-in or
benchmark networks looks like, built from the engine's seeded generator
(:func:`~custom_components.heatbalance.engine.networks.generator.generate_network`).

Each builder returns a valid network file whose valves all start open (the generator's
unbalanced start). ``bench_robust --hidden`` runs them; ``--networks NAME`` picks one.

* :func:`spread` — building loads 200× apart (100…20,000 m²): the smallest valve sits at the
  bottom of its range while the largest needs every kPa;
* :func:`one_branch` — one branch line with every building on it (no trunk to share the
  drop): the far end is served through all the others' pipes;
* :func:`strong_pump` — the pump's head ×``factor`` (two pumps' worth in series): every valve
  must throttle far down, where its characteristic is steep;
* :func:`households_loop` — buildings over households on a branch line tied back to its
  trunk node: a loop inside a network of households;
* :func:`tiny` — one building over one household: two inlets, one of them the other's
  parent (no common mode to learn from, no median of others);
* :func:`design_off` — the file's design loads (so its design flows) ×``factor`` where the
  plant's pump and pipes were sized for the real ones: ×1.3 asks more than the pump gives
  (every inlet short, §5.3.6-5 decides the shares), alternating ×1.3/×0.7 misplaces the
  flow with the same total.

Four more for the product path (10x, ninth session; ``bench_product_faults``):

* :func:`deep_tree` — a binary tree of trunk pipes four levels deep, a building at every node:
  inlets sit behind 1–4 shared pipes, so a move at the root shifts every level differently;
* :func:`two_buildings` — two building inlets only (a median of one other);
* :func:`unequal` — building loads ≈40× apart on one network (seeded draw, checked);
* :func:`looped_main` — a long looped main (250–350 m a section) with households;
* :func:`far_building` — one building at the end of a 1.2 km line, far beyond the others: it
  sets the pump's head and the others must throttle hard.
"""

from __future__ import annotations

from custom_components.heatbalance.engine.model import Network, Pipe
from custom_components.heatbalance.engine.networks.generator import (
    _design_head_m,
    _size_pipes,
    generate_network,
)


def spread(buildings: int = 20, seed: int = 51, ratio: float = 200.0) -> Network:
    """Building areas drawn from 100 m² … ``ratio`` × 100 m²."""
    return generate_network(
        buildings, seed=seed, area_m2=(100.0, 100.0 * ratio), name=f"gen{buildings}-spread200"
    )


def one_branch(buildings: int = 30, seed: int = 52) -> Network:
    """All buildings on one branch line off the first trunk node."""
    return generate_network(
        buildings, seed=seed, branch_len=buildings, name=f"gen{buildings}-onebranch"
    )


def strong_pump(buildings: int = 20, seed: int = 53, factor: float = 2.0) -> Network:
    """A generated network whose pump gives ``factor`` × the head it needs."""
    net = generate_network(buildings, seed=seed, name=f"gen{buildings}-head{factor:g}x")
    pump = net.substation.pump
    pump.design_head_m = round(pump.design_head_m * factor, 2)
    pump.shutoff_head_m = round(pump.shutoff_head_m * factor, 2)
    return net


def households_loop(buildings: int = 9, households: int = 6, seed: int = 54) -> Network:
    """Buildings over households; the second branch line's end tied back to its trunk node."""
    net = generate_network(
        buildings, households, seed=seed, branch_len=3, name=f"gen{buildings}x{households}-loop"
    )
    end = max((p for p in net.pipes if p.to_node.startswith("N2_")), key=lambda p: p.to_node)
    net.pipes.append(Pipe("PHL", end.to_node, "T2", 120.0, end.inner_diameter_mm))
    return net


def tiny(seed: int = 56) -> Network:
    """One building feeding one household."""
    return generate_network(1, 1, seed=seed, name="gen1x1-tiny")


def design_off(
    buildings: int = 20, seed: int = 55, factor: float = 1.3, alternate: bool = False
) -> Network:
    """The file's design loads × ``factor`` (``alternate``: every other building ×
    ``2 − factor`` instead), pump and pipes as sized for the real loads. Households follow
    their building."""
    label = f"±{factor - 1:.0%}" if alternate else f"x{factor:g}"
    net = generate_network(buildings, seed=seed, name=f"gen{buildings}-design{label}")
    buildings_ids = sorted(i.id for i in net.inlets.values() if i.parent is None)
    scale = {
        bid: (2.0 - factor if alternate and k % 2 else factor)
        for k, bid in enumerate(buildings_ids)
    }
    for inlet in net.inlets.values():
        inlet.design_load_kw = round(inlet.design_load_kw * scale[inlet.parent or inlet.id], 2)
    return net


def _resized(net: Network) -> Network:
    """Pipes and pump sized again for a re-drawn network, as the generator sizes them."""
    _size_pipes(net.pipes, net.inlets)
    pump = net.substation.pump
    head = _design_head_m(net.nodes, net.pipes, net.inlets)
    pump.design_head_m = round(head, 2)
    pump.shutoff_head_m = round(1.25 * head, 2)
    return net


def deep_tree(levels: int = 4, seed: int = 57) -> Network:
    """2**levels − 1 buildings, one per trunk node; trunk node t hangs off node t // 2."""
    buildings = 2**levels - 1
    net = generate_network(buildings, seed=seed, branch_len=1, name=f"gen{buildings}-tree{levels}")
    for pipe in net.pipes:
        if pipe.id.startswith("PT") and pipe.id != "PT1":
            pipe.from_node = f"T{int(pipe.id[2:]) // 2}"
    return _resized(net)


def two_buildings(seed: int = 58) -> Network:
    """Two building inlets on one branch."""
    return generate_network(2, seed=seed, name="gen2-pair")


def unequal(seed: int = 67) -> Network:
    """12 buildings of 300…12,000 m² (this seed draws loads 43× apart)."""
    return generate_network(12, seed=seed, area_m2=(300.0, 12000.0), name="gen12-unequal")


def looped_main(buildings: int = 8, households: int = 4, seed: int = 60) -> Network:
    """A comb of buildings over households on a long main tied back to the substation."""
    return generate_network(
        buildings,
        households,
        seed=seed,
        loop=True,
        branch_len=1,
        trunk_m=(250.0, 350.0),
        name=f"gen{buildings}x{households}-loopmain",
    )


def far_building(buildings: int = 10, seed: int = 62, length_m: float = 1200.0) -> Network:
    """The last building's service line ``length_m`` long (the others 30–60 m)."""
    net = generate_network(buildings, seed=seed, name=f"gen{buildings}-far")
    far = net.inlets[f"B{buildings:03d}"].node
    next(p for p in net.pipes if p.to_node == far).length_m = length_m
    return _resized(net)


def product_shapes() -> list[Network]:
    """The shapes the product path's hidden check runs (10x)."""
    return [deep_tree(), two_buildings(), unequal(), looped_main(), far_building()]


def hidden_shapes() -> list[Network]:
    """The shapes above at their default sizes (9x, 7 Dec)."""
    return [
        spread(),
        one_branch(),
        strong_pump(),
        households_loop(),
        tiny(),
        design_off(),
        design_off(alternate=True),
    ]
