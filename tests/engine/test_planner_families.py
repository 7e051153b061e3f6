"""Every building's households at once in the planner (issue 10, speed): same bits as one
building at a time.

The plan asks each building's household sum, worst household and first constraining
household seven times a plan (770 buildings at 23k); :class:`Families` answers for all
buildings in a few array steps. A speed change must not move a decision
(``devtools.loop_fingerprint``), so the sums must be numpy's per-building ``sum`` to the
bit — which ``np.add.reduceat`` (in-order addition) is not for groups of 8 or more.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from custom_components.heatbalance.engine.control.planner import Families, HydraulicPlanner
from custom_components.heatbalance.engine.networks.generator import generate_network


def _kids(rng: np.random.Generator, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Buildings with 1…40 households each (groups across numpy's 8-wide pairwise blocks),
    households at random places among ``n`` inlets, each building's ascending."""
    sizes = rng.integers(1, 41, size=30)
    slots = rng.permutation(n)
    parents, taken = slots[:30], 30
    kids = [np.zeros(0, dtype=np.intp) for _ in range(n)]
    for b, size in zip(parents.tolist(), sizes.tolist(), strict=True):
        kids[b] = np.sort(slots[taken : taken + size])
        taken += size
    return kids, np.sort(parents)


def test_families_match_one_building_at_a_time_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        kids, parents = _kids(rng, 1200)
        fam = Families(kids, parents)
        values = rng.lognormal(size=1200) * rng.choice([1e-3, 1.0, 1e3], size=1200)
        mask = rng.random(1200) < 0.7
        found, first = fam.first(mask)
        for j, b in enumerate(parents.tolist()):
            members = kids[b]
            assert fam.sums(values)[j] == values[members].sum()  # exact, not approx
            inside = members[mask[members]]
            assert found[j] == bool(len(inside))
            assert fam.any(mask)[j] == bool(np.any(mask[members]))
            if len(inside):
                assert first[j] == inside[0]
                assert fam.max_where(values, mask)[j] == np.max(values[inside])
        # the reason for the class: in-order sums differ in the last bits
        ordered = np.add.reduceat(values[fam.members], np.cumsum(fam.sizes) - fam.sizes)
        assert np.any(ordered != fam.sums(values))


def test_planner_parent_drops_as_per_building() -> None:
    """The planned drop across every building's valve (households' flows and needs) equals
    the per-building formula, movable and held buildings alike."""
    network = generate_network(6, 12, 3, name="fam")
    planner = HydraulicPlanner(network)
    rng = np.random.default_rng(3)
    n = len(planner.ids)
    flows = rng.uniform(0.05, 1.5, size=n)
    dp = rng.uniform(10.0, 80.0, size=n)
    resistance = rng.uniform(0.5, 30.0, size=n)
    movable = rng.random(n) < 0.5

    data = SimpleNamespace(resistance=resistance, movable=movable)  # the fields it reads
    drops = planner._parent_drops(data, dp, flows)  # type: ignore[arg-type]
    parents = np.flatnonzero(planner.is_parent)
    assert len(parents) == 6
    for b in parents.tolist():
        kids = planner.kids[b]
        at_limit = float(flows[kids].sum()) ** 2 * resistance[b]
        want = at_limit
        if movable[b]:
            want = max(at_limit, dp[kids[0]] - float(np.max(flows[kids] ** 2 * resistance[kids])))
        assert np.all(drops[kids] == want)
