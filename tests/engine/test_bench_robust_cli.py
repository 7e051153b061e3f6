"""bench_robust's selection and bookkeeping (issue 9): what the benchmark counts must be what
its table says. No controller runs here."""

from __future__ import annotations

from benchmarks import bench_robust as br
from custom_components.heatbalance.engine.cleaning import CleanResult
from custom_components.heatbalance.engine.networks.generator import generate_network


def _selected(only: str) -> list[str]:
    return [s.name for s in br.SCENARIOS if br.selects(only, s.name)]


def test_only_matches_whole_words_not_parts_of_them() -> None:
    assert _selected("no") == [
        "blockage x0.3, no ΔP read",
        "meter bias +10%, no ΔP read",
        "no position feedback",
    ]
    assert _selected("noise 2%") == ["noise 2%"]
    assert _selected("missing 30") == ["missing 30%"]  # a number up to its unit
    assert _selected("noise 1") == ["noise 1%"]
    assert all(name.startswith("plant:") for name in _selected("plant:"))
    assert len(_selected("plant:")) == sum(s.name.startswith("plant:") for s in br.SCENARIOS)
    assert _selected("") == [s.name for s in br.SCENARIOS]


def test_a_part_that_selects_nothing_is_named() -> None:
    assert br.unmatched("noise 2%,nosie,no") == ["nosie"]
    assert br.unmatched(None) == []


def test_a_reading_never_made_is_not_counted_as_rejected() -> None:
    flags = {
        "B1.flow_m3h": ("ok",),
        "B1.dp_available_kpa": ("missing", "gap_too_long"),  # no transmitter (--no-dp)
        "B2.flow_m3h": ("spike", "filled"),
        "B2.dp_available_kpa": ("missing", "filled"),
    }
    cleaning = CleanResult(0.0, dict.fromkeys(flags), flags)
    assert br.rejected_share(cleaning) == 0.5  # one of the two values read
    nothing = {"B1.dp_available_kpa": ("missing", "gap_too_long")}
    assert br.rejected_share(CleanResult(0.0, dict.fromkeys(nothing), nothing)) == 0.0


def test_leaving_a_faulty_building_out_judges_the_same_inlets_otherwise() -> None:
    """Table 3.0.4: the intermediate band judges buildings; leaving the faulty one out must
    not add the other buildings' households to it (it did: they had no regulation there)."""
    net = generate_network(4, 3, seed=13)
    victim = br.victim_of(net)
    scope = br._scope(net, victim)
    assert scope is not None
    judged = br._judged(net, "intermediate", scope)
    assert judged is not None
    buildings = [i for i in net.inlets.values() if i.type != "household"]
    assert sorted(judged) == sorted(i.id for i in buildings if i.id != victim)
    assert br._judged(net, "advanced", scope) == scope  # households judged there, as always
    assert br._judged(net, "intermediate", None) is None
