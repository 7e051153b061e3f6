"""bench_robust's selection and bookkeeping (issue 9): what the benchmark counts must be what
its table says. No controller runs here."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmarks import bench_robust as br
from custom_components.heatbalance.engine import meters, plausibility
from custom_components.heatbalance.engine.cleaning import CleanResult
from custom_components.heatbalance.engine.control.base import Commands, Measurements
from custom_components.heatbalance.engine.diagnosis import Finding
from custom_components.heatbalance.engine.loader import load_network
from custom_components.heatbalance.engine.networks.generator import generate_network


def _selected(only: str) -> list[str]:
    return [s.name for s in br.SCENARIOS if br.selects(only, s.name)]


def test_only_matches_whole_words_not_parts_of_them() -> None:
    assert _selected("no") == [
        "blockage x0.3, no ΔP read",
        "meter bias +10%, no ΔP read",
        "no position feedback",
        "shut, no record",
        "shut, no record, valves without feedback",
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


def _found(inlet: str, kind: str) -> Finding:
    return Finding(inlet, kind, "warning", "", 0.0)


def test_a_healthy_week_counts_every_meter_finding_not_only_the_meter_checks() -> None:
    """§5.3.7, §5.3.8-2: a false ``meter_frozen`` or ``flow_meter_dead`` is a false meter
    alarm as much as a false ``flow_meter_bias``; the pump's finding and the diagnoser's
    are not about a meter. The kinds are read from the code, never copied."""
    assert set(meters.KINDS) <= set(br.METER_KINDS)
    assert {"meter_frozen", "flow_meter_dead", "sensors_swapped"} <= set(br.METER_KINDS)
    assert set(br.METER_KINDS) <= set(meters.KINDS) | set(plausibility.KINDS)
    assert "pump_not_following" not in br.METER_KINDS
    cycle = [
        _found("B1", "meter_frozen"),
        _found("B2", "flow_meter_dead"),
        _found("B3", meters.KINDS[0]),
        _found("B4", "pump_not_following"),
        _found("B5", "blockage"),
    ]
    assert br.meter_kinds(cycle) == {
        "B1:meter_frozen",
        "B2:flow_meter_dead",
        f"B3:{meters.KINDS[0]}",
    }


class _Loop:
    """What the week reads of a loop besides its result: no design-load warning."""

    def __init__(self) -> None:
        self.design_loads = SimpleNamespace(flagged={})


class _Driven:
    """A driven loop (no controller runs): ``meter_frozen`` at B001 in every other cycle,
    the pump's finding in every cycle, nothing from the meter check."""

    def __init__(self, *_: object) -> None:
        self.loop = _Loop()
        self.controller = SimpleNamespace(meter_findings=[])  # the meter check: silent
        self.result: SimpleNamespace | None = None
        self.cycle = 0

    def step(self, meas: Measurements) -> Commands:
        self.cycle += 1
        found = [_found("B001", "meter_frozen")] if self.cycle % 2 else []
        self.result = SimpleNamespace(findings=[*found, _found("B002", "pump_not_following")])
        return Commands()


def test_the_week_counts_the_loops_plausibility_findings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The week's new column counts what the loop raised (here ``meter_frozen`` in 2 of 4
    cycles) while the meter-check columns keep their meaning (0: it named nothing)."""
    monkeypatch.setattr(br, "WEEK_STEPS", 4)
    monkeypatch.setattr(br, "Driven", _Driven)
    week = br.meter_week(load_network("estate12"), 0.01, 0)
    assert week[:2] == (0, [])
    assert week[4:] == ({"meter_frozen": 2}, ["B001:meter_frozen"])


def test_the_week_table_has_every_meter_finding_per_kind_per_network() -> None:
    healthy: br.WeekResult = ("estate12", 0.01, 0, 0, [], 0, [], {}, [])
    frozen: br.WeekResult = (
        "loop8",
        0.01,
        0,
        0,
        [],
        0,
        [],
        {"meter_frozen": 3},
        ["B5:meter_frozen"],
    )
    dead: br.WeekResult = (
        "loop8",
        0.01,
        1,
        1,
        ["B2:flow_meter_bias"],
        0,
        [],
        {"flow_meter_dead": 1, "flow_meter_bias": 1, "meter_frozen": 2},
        ["B2:flow_meter_bias", "B6:flow_meter_dead", "B7:meter_frozen"],
    )
    bare: br.WeekResult = ("loop8", 0.02, 0, 0, [], 0, [], None, [])
    lines = br.week_table(["estate12", "loop8"], [healthy, frozen, dead, bare])
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[-1] == "every meter finding (check + plausibility): cycles per kind"
    assert header[3] == "runs with a false meter diagnosis"  # the meter check's, as before
    assert len(lines[1].split("|")) == len(lines[0].split("|"))
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line for line in lines[2:]}

    def cells(net: str, noise: str) -> list[str]:
        return [c.strip() for c in rows[(net, noise)].strip("|").split("|")]

    assert cells("estate12", "1%")[-1] == "0"
    loop8 = cells("loop8", "1%")
    assert loop8[3:5] == ["1", "1 of 672"]  # the meter check's columns: its own finding only
    assert loop8[-1] == ("flow_meter_bias 1 (B2); flow_meter_dead 1 (B6); meter_frozen 5 (B5, B7)")
    assert cells("loop8", "2%")[-1] == "—"  # bare: no plausibility rules ran


def test_a_row_whose_supply_is_too_cold_is_reported_out_of_reach() -> None:
    """21f: "outdoor -10K, fixed supply" ends with the supply 60 °C below the ≈62 °C the
    rooms need: the summary says its return and room bands are out of reach and that the
    loop named the cause (``supply_too_cold``); its companion onto the design day is
    reachable and gets no such line. The table's own columns are not touched."""
    scenarios = {s.name: s for s in br.SCENARIOS}
    net = load_network("estate12")
    rows = []
    for name in ("outdoor -10K, fixed supply", "outdoor -10K onto design, fixed supply"):
        run = br.run_one(net, scenarios[name], 0)
        rows.append(br.Row("estate12", name, 6, [run]))
    cold, onto = rows[0].runs[0], rows[1].runs[0]
    assert cold.supply_short
    assert cold.cause_step is not None
    assert cold.advanced is None  # the band's own verdict stays what the plant did
    assert not onto.supply_short
    assert onto.cause_step is None
    lines = br.supply_summary(rows)
    assert len(lines) == 1
    assert lines[0].startswith("estate12 / outdoor -10K, fixed supply: return and room bands")
    assert "too cold for the load" in lines[0]
    assert "raised in 1/1 seeds" in lines[0]


def test_a_fixed_supply_3_k_below_design_is_named_by_the_loop() -> None:
    """22g: "outdoor -3K, fixed supply" — the supply still heats the rooms but only with
    ≈1.7× the set flow: the loop raises ``supply_low_for_flow`` (after its window and HA's
    persistence), its summary line says so; the onto-design row gets the line with 0/1."""
    scenarios = {s.name: s for s in br.SCENARIOS}
    net = load_network("estate12")
    rows = []
    for name in ("outdoor -3K, fixed supply", "outdoor -10K onto design, fixed supply"):
        rows.append(br.Row("estate12", name, 6, [br.run_one(net, scenarios[name], 0)]))
    low, onto = rows[0].runs[0], rows[1].runs[0]
    assert low.low_step is not None
    assert low.low_step > 6
    assert not low.supply_short  # not too cold for any flow: the other alarm's case
    assert onto.low_step is None
    lines = br.low_summary(rows)
    assert lines[0].startswith(
        "estate12 / outdoor -3K, fixed supply: `supply_low_for_flow` raised in 1/1 seeds"
    )
    assert "raised in 0/1 seeds" in lines[1]
