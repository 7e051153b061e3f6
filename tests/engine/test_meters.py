"""Meter consistency (engine/meters.py, §3.0.7-1/-5): flow meter vs heat meter vs mass balance.

Closed loops on the real simulator with the engine controller, which runs the check on its
readings; meters are read with relative noise, the heat meter's counter as it counts.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.heatbalance.engine.control.base import (
    ControllerConfig,
    InletReading,
    Measurements,
)
from custom_components.heatbalance.engine.control.controller import Controller, make_controller
from custom_components.heatbalance.engine.evaluation import BANDS
from custom_components.heatbalance.engine.meters import SUBSTATION, MeterCheck, checks_fed
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from custom_components.heatbalance.engine.simulator import Simulator

from .test_control_closed_loop import STEP_S, all_open, apply


def _loop(
    net: Network,
    steps: int,
    *,
    sigma: float = 0.0,
    bias: tuple[str, float, int] | None = None,
    seed: int = 0,
    temp_sigma: float = 0.0,
    kv: tuple[str, float] | None = None,
    pressures: bool = True,
    dp_sigma: float = 0.0,
) -> tuple[Controller, list[list[tuple[str, str]]], Simulator]:
    """Closed loop; ``bias`` = (inlet, factor, from step) on that inlet's flow meter;
    ``temp_sigma`` relative noise on the supply and return temperatures; ``kv`` = (inlet,
    factor) a plant valve passing that share of its characteristic's Kv (dirt, tolerance);
    ``pressures`` False: no ΔP is read (a plant behind Home Assistant entities);
    ``dp_sigma`` relative noise on the available and the valve's ΔP.

    Returns the controller, the (inlet, kind) findings of every step and the plant.
    """
    ctl = make_controller(net, ControllerConfig())
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    if kv is not None:
        sim.inject_fault(kv[0], "blockage", factor=kv[1])
    rng = np.random.default_rng(seed)
    state = sim.state()
    seen = []
    for k in range(1, steps + 1):
        meas = Measurements.from_plant(state)
        meas.pump_flow_m3h = _noisy(meas.pump_flow_m3h, sigma, rng)
        for iid, r in meas.inlets.items():
            r.flow_m3h = _noisy(r.flow_m3h, sigma, rng)
            r.supply_c = _noisy(r.supply_c, temp_sigma, rng)
            r.return_c = _noisy(r.return_c, temp_sigma, rng)
            r.dp_available_kpa = _noisy(r.dp_available_kpa, dp_sigma, rng)
            r.valve_dp_kpa = _noisy(r.valve_dp_kpa, dp_sigma, rng)
            if not pressures:
                r.dp_available_kpa = r.valve_dp_kpa = None
            if bias and iid == bias[0] and k >= bias[2]:
                r.flow_m3h = (r.flow_m3h or 0.0) * bias[1]
        apply(sim, ctl.step(meas))
        seen.append([(f.inlet_id, f.kind) for f in ctl.meter_findings])
        state = sim.step(STEP_S)
    return ctl, seen, sim


def _noisy(value: float | None, sigma: float, rng: np.random.Generator) -> float | None:
    return None if value is None else value * (1.0 + sigma * rng.standard_normal())


def _read_biased(sim: Simulator, rng: np.random.Generator, victim: str) -> Measurements:
    """The plant read with 1 % noise on flow and temperatures, ``victim``'s flow meter +10 %."""
    meas = Measurements.from_plant(sim.state())
    for iid, r in meas.inlets.items():
        r.flow_m3h = _noisy(r.flow_m3h, 0.01, rng)
        r.supply_c = _noisy(r.supply_c, 0.01, rng)
        r.return_c = _noisy(r.return_c, 0.01, rng)
        if iid == victim:
            r.flow_m3h = (r.flow_m3h or 0.0) * 1.1
    return meas


def test_healthy_plant_raises_nothing(builtin) -> None:
    """Two simulated days, 2 % flow noise: no meter is blamed."""
    _, seen, _ = _loop(all_open(builtin("loop8")), 96, sigma=0.02)
    assert not any(seen)


def test_biased_flow_meter_named_within_six_steps(builtin) -> None:
    """+10 % from step 6 on: the inlet is named within 6 steps, nothing else is."""
    net = all_open(builtin("loop8"))
    _, seen, _ = _loop(net, 14, sigma=0.01, bias=("B4", 1.1, 6))
    first = next(k for k, found in enumerate(seen, start=1) if found)
    assert 6 <= first <= 6 + 5
    assert {iid for found in seen for iid, _ in found} == {"B4"}


def test_noisy_supply_sensors_pooled_bias_named_within_six_steps(builtin) -> None:
    """1 % noise on flow *and* temperatures (0.6 K on the supply, ΔT ≈ 15 K), bias from
    step 30 (after the first half day): named within 6 steps in every seed, nothing false
    before. One supply sensor alone makes a cycle's ΔT ≈5 % uncertain (named after 7–15
    steps, measured); the common supply with each inlet's learned offset halves that."""
    net = all_open(builtin("loop8"))
    for seed in range(3):
        _, seen, _ = _loop(net, 36, sigma=0.01, temp_sigma=0.01, bias=("B5", 1.1, 30), seed=seed)
        assert not any(seen[:29]), seed
        first = next((k for k, found in enumerate(seen, start=1) if found), 99)
        assert first <= 30 + 5, (seed, first)
        assert {iid for found in seen for iid, _ in found} == {"B5"}


def test_bias_from_the_start_named_on_heat_balance_and_valve_together(builtin) -> None:
    """1 % noise on flow and temperatures, +10 % or −10 % from the first step, valve position
    and ΔP read: the pair and the valve's own Kv·√ΔP both shift, so the flow meter is named
    as such after a few cycles (the heat balance alone took 10–14), and the controller
    regulates on the corrected flow: the building ends in the advanced flow band (§8.2.4-1,
    0…+5 % of design), where the uncorrected reading would leave it about ∓10 % off."""
    band = BANDS[("advanced", "flow")]
    net = all_open(builtin("estate12"))
    for seed, factor in ((0, 1.1), (1, 0.9), (2, 1.1)):
        _, seen, sim = _loop(
            net, 12, sigma=0.01, temp_sigma=0.01, bias=("B007", factor, 1), seed=seed
        )
        first = next((k for k, found in enumerate(seen, start=1) if found), 99)
        assert first <= 9, (seed, first)
        assert {f for found in seen for f in found} == {("B007", "flow_meter_bias")}
        true = sim.state().inlets["B007"].flow_m3h / net.inlets["B007"].design_flow_m3h
        assert band.lower <= 100.0 * (true - 1.0) <= band.upper, (seed, true)


def test_bias_from_the_start_named_within_six_steps_in_most_seeds(builtin) -> None:
    """±10 % from the first step, 1 % noise on flow and temperatures, six seeds each: named
    as the flow meter (nobody else) within 6 steps in ≥9 of 12 runs per network. What every
    inlet's heat balance shares in a cycle (the common supply's error) is taken out, and the
    pair noise is learnt across the inlets within each cycle: with neither, 6 and 5 of 12
    (medians 6.5 and 7 steps; measured)."""
    for name, victim in (("estate12", "B007"), ("loop8", "B5")):
        net = all_open(builtin(name))
        firsts = []
        for seed in range(6):
            for factor in (1.1, 0.9):
                _, seen, _ = _loop(
                    net, 9, sigma=0.01, temp_sigma=0.01, bias=(victim, factor, 1), seed=seed
                )
                firsts.append(next((k for k, found in enumerate(seen, start=1) if found), 99))
                assert {f for found in seen for f in found} <= {(victim, "flow_meter_bias")}
        assert sum(k <= 6 for k in firsts) >= 9, (name, firsts)


def test_a_bias_that_starts_mid_run_is_corrected_by_its_full_size(builtin) -> None:
    """+10 % from step 12 (sound readings before): named, and the correction is the bias'
    size — estimated over the span that shows it best, not the longest significant one,
    which diluted it with the sound cycles before it began (this seed: the building ended
    5.4 % short of its design flow, measured). It ends within 3 % of its design flow."""
    net = all_open(builtin("loop8"))
    _, seen, sim = _loop(net, 24, sigma=0.01, temp_sigma=0.01, bias=("B5", 1.1, 12), seed=3)
    assert not any(seen[:11])
    assert {f for found in seen for f in found} == {("B5", "flow_meter_bias")}
    true = sim.state().inlets["B5"].flow_m3h / net.inlets["B5"].design_flow_m3h
    assert true == pytest.approx(1.0, abs=0.03), true


def test_a_valve_off_its_characteristic_is_not_a_meter(builtin) -> None:
    """A plant valve passing 85 % of its characteristic's Kv (dirt) with sound meters: the
    valve residual shifts alone, the heat balance does not — no meter is blamed in a day."""
    net = all_open(builtin("loop8"))
    for seed in range(2):
        _, seen, _ = _loop(net, 48, sigma=0.01, temp_sigma=0.01, kv=("B4", 0.85), seed=seed)
        assert not any(seen), seed


def test_a_dirty_valve_is_not_a_meter_with_noisy_dp(builtin) -> None:
    """A plant valve passing 85 % of its Kv, 1 % noise on flow, temperatures and ΔPs, a
    day: the circuit's ΔP agrees with the meter, so the valve explains its residual alone —
    no meter is blamed."""
    net = all_open(builtin("loop8"))
    _, seen, _ = _loop(net, 48, sigma=0.01, temp_sigma=0.01, dp_sigma=0.01, kv=("B4", 0.85), seed=0)
    assert not any(seen)


def test_without_valve_dp_the_network_model_is_the_witness(builtin) -> None:
    """No ΔP read (flow, temperatures and valve position only, as behind HA entities): the
    network model's flow at the read positions is the witness. +10 % or −10 % from the
    first step is named as the flow meter (not a disagreement) and regulated away; a valve
    passing 85 % of its Kv beside sound meters blames nothing in a day. Without the model
    witness the pair alone needs 5 standard errors and stays undecided for ≥10 steps."""
    net = all_open(builtin("estate12"))
    for seed, factor in ((0, 1.1), (1, 0.9)):
        ctl, seen, sim = _loop(
            net, 12, sigma=0.01, temp_sigma=0.01, bias=("B007", factor, 1), seed=seed,
            pressures=False,
        )  # fmt: skip
        first = next((k for k, found in enumerate(seen, start=1) if found), 99)
        assert first <= 8, (seed, first)
        assert {f for found in seen for f in found} == {("B007", "flow_meter_bias")}
        assert ctl.meters.witnesses["model"].get("B007")  # the model witness spoke
        true = sim.state().inlets["B007"].flow_m3h / net.inlets["B007"].design_flow_m3h
        assert true == pytest.approx(1.0, abs=0.03), (seed, true)
    loop = all_open(builtin("loop8"))
    _, seen, _ = _loop(
        loop, 48, sigma=0.01, temp_sigma=0.01, kv=("B4", 0.85), seed=0, pressures=False
    )
    assert not any(seen)


def test_through_the_loop_a_building_meter_off_its_households_sum_is_named() -> None:
    """Through the control loop (cleaning first, as the CLI ``balance`` and HA run it): a
    building's flow meter +10 % fails the cleaning's one-cycle sum check against its
    households every cycle, so the controllers do without it — and the meter check still
    judges it and names it (within 6 cycles; 4 measured). Before, the flagged reading never
    reached the check: not named in 12 cycles."""
    from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig

    net = all_open(generate_network(10, 8, seed=23, name="gen10x8"))
    victim = "B006"
    loop = ControlLoop(net, LoopConfig(ControllerConfig()), cycle_s=STEP_S)
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    rng = np.random.default_rng(0)
    named = []
    for k in range(1, 9):
        meas = _read_biased(sim, rng, victim)
        out = loop.step(meas)
        assert "flow_m3h" in out.measurements.inlets[victim].flagged  # the sum check's
        named += [(k, f.inlet_id, f.kind) for f in out.findings if "meter" in f.kind]
        apply(sim, out.commands)
        loop.commanded(out.commands.openings)
        sim.advance(STEP_S)
    assert named, "never named"
    assert named[0][0] <= 6, named
    assert {iid for _, iid, _ in named} == {victim}


def test_a_building_meter_is_corrected_by_its_households() -> None:
    """A building's biased flow meter: named, and the controller gets the consistent flow."""
    net = all_open(generate_network(4, 4, seed=5, name="gen4x4"))
    ctl, seen, sim = _loop(net, 14, sigma=0.01, bias=("B002", 1.1, 3))
    # Its pair (heat meter = households' heat) or its households' sum names its flow meter.
    assert seen[-1]
    assert {kind for _, kind in seen[-1]} <= {"flow_meter_bias", "parent_meter_bias"}
    assert all(iid == "B002" for found in seen for iid, _ in found)
    meas = Measurements.from_plant(sim.state())
    true_flow = meas.inlets["B002"].flow_m3h
    meas.inlets["B002"].flow_m3h = (true_flow or 0.0) * 1.1
    fixed = ctl.meters.corrected(meas).inlets["B002"]
    assert fixed.flow_m3h == pytest.approx(true_flow, rel=0.03)
    assert "flow_m3h_corrected" in fixed.flagged
    assert fixed.get("flow_m3h") is not None  # still used: it is the consistent value


def _pair(flow: float, heat_kwh: float) -> InletReading:
    return InletReading(flow_m3h=flow, supply_c=60.0, return_c=45.0, heat_kwh=heat_kwh)


def test_flow_or_heat_meter_decided_by_the_substation_balance() -> None:
    """Two equal buildings: the balance tells which of a disagreeing pair lies."""
    net = generate_network(2, seed=1, name="two")
    ids = list(net.inlets)
    q = 10.0
    kwh_per_step = q / 3600.0 * 983.2 * 4186.0 * 15.0 / 3.6e6 * 3600.0  # 1 h at 15 K
    for liar, expected in (("flow", "flow_meter_bias"), ("heat", "heat_meter_bias")):
        check = MeterCheck(net)
        for k in range(12):
            t = 3600.0 * k
            energy = kwh_per_step * k
            first = _pair(q * (1.1 if liar == "flow" else 1.0), energy)
            if liar == "heat":
                first.heat_kwh = energy / 1.1
            meas = Measurements(
                inlets={ids[0]: first, ids[1]: _pair(q, energy)},
                pump_flow_m3h=2 * q,
                time_s=t,
            )
            found = check.update(meas)
        assert [(f.inlet_id, f.kind) for f in found] == [(ids[0], expected)]
        # Either way the controller now sees the true flow: corrected, or never wrong.
        assert check.corrected(meas).inlets[ids[0]].flow_m3h == pytest.approx(q, rel=1e-6)


def test_without_a_parent_meter_the_pair_is_only_named() -> None:
    net = generate_network(2, seed=1, name="two")
    ids = list(net.inlets)
    check = MeterCheck(net)
    kwh_per_hour = 10.0 / 3600.0 * 983.2 * 4186.0 * 15.0 / 1000.0  # 10 m³/h at 15 K
    for k in range(16):  # one pair alone: its noise prior needs a dozen cycles to fade
        energy = kwh_per_hour * k
        meas = Measurements(
            inlets={
                ids[0]: InletReading(flow_m3h=11.0, supply_c=60, return_c=45, heat_kwh=energy),
                ids[1]: InletReading(flow_m3h=10.0, supply_c=60, return_c=45),
            },
            time_s=3600.0 * k,
        )
        found = check.update(meas)
    assert [f.kind for f in found] == ["meter_disagreement"]
    # Not known which one lies: the geometric mean of the two (11 and 10 m³/h).
    fixed = check.corrected(meas).inlets[ids[0]]
    assert fixed.flow_m3h == pytest.approx((11.0 * 10.0) ** 0.5, rel=1e-3)
    assert "flow_m3h_corrected" in fixed.flagged


def test_state_survives_a_restart_and_bad_state_starts_afresh(builtin) -> None:
    net = all_open(builtin("loop8"))
    ctl, seen, _ = _loop(net, 12, bias=("B4", 1.1, 1))
    assert seen[-1]
    restored = Controller.from_dict(ctl.network, json.loads(json.dumps(ctl.as_dict())))
    assert restored.meters.findings() == ctl.meters.findings()
    assert MeterCheck.from_dict(net, {"threshold": "x"}).findings() == []
    with pytest.raises(ValueError, match="threshold"):
        MeterCheck(net, threshold=0.0)


def test_readings_without_time_or_meters_do_nothing(builtin) -> None:
    net = builtin("loop8")
    check = MeterCheck(net)
    assert check.update(Measurements()) == []
    garbage = Measurements(
        inlets={"B1": InletReading(flow_m3h=float("nan"), heat_kwh=-1.0)}, time_s=0.0
    )
    assert check.update(garbage) == []
    assert check.update(Measurements(inlets={}, time_s=float("inf"))) == []


def test_valve_strokes_still_count_with_their_uncertainty() -> None:
    """A valve that strokes every cycle (flow 10 ↔ 14 m³/h): each cycle's heat balance is
    still used, with the stroke's share of the cycle as extra uncertainty, so a pair
    disagreeing by 10 % is named (such cycles were skipped: never named)."""
    net = generate_network(2, seed=1, name="two")
    ids = list(net.inlets)
    check = MeterCheck(net)
    per_m3h = 983.2 * 4186.0 * 15.0 / 3.6e6  # kWh per hour per m³/h at 15 K
    energy, found = 0.0, []
    for k in range(16):
        q = 10.0 if k % 2 else 14.0
        energy += q * per_m3h if k else 0.0  # the hour since the last reading, at this flow
        meas = Measurements(
            inlets={
                ids[0]: InletReading(flow_m3h=1.1 * q, supply_c=60, return_c=45, heat_kwh=energy),
                # a steady, consistent pair beside it: the noise is learnt from steady cycles
                ids[1]: InletReading(
                    flow_m3h=10.0, supply_c=60, return_c=45, heat_kwh=10.0 * per_m3h * k
                ),
            },
            time_s=3600.0 * k,
        )
        found = check.update(meas)
    assert [(f.inlet_id, f.kind) for f in found] == [(ids[0], "meter_disagreement")]
    assert check.inlets[ids[0]].ratio.extras[-1] > 0  # the stroke's uncertainty was added


def test_undecided_pair_is_corrected_by_the_balance_evidence_so_far() -> None:
    """A small inlet behind the substation meter: the balance cannot yet decide which of a
    disagreeing pair lies, but it leans to the flow meter; the controller's flow moves past
    the two meters' geometric mean toward the heat meter's (the expected true flow)."""
    net = generate_network(20, seed=3, name="twenty")
    ids = sorted(net.inlets)
    rng = np.random.default_rng(4)
    check = MeterCheck(net)
    per_m3h = 983.2 * 4186.0 * 15.0 / 3.6e6
    for k in range(12):
        inlets = {}
        for iid in ids:
            liar = 1.1 if iid == ids[0] else 1.0
            flow = 5.0 * liar * (1.0 + 0.01 * rng.standard_normal())
            inlets[iid] = InletReading(
                flow_m3h=flow, supply_c=60, return_c=45, heat_kwh=5.0 * per_m3h * k
            )
        meas = Measurements(inlets=inlets, pump_flow_m3h=5.0 * len(ids), time_s=3600.0 * k)
        found = check.update(meas)
    assert [(f.inlet_id, f.kind) for f in found] == [(ids[0], "meter_disagreement")]
    share = check.flow_share(ids[0])
    assert 0.5 < share < 1.0
    fixed = check.corrected(meas).inlets[ids[0]].flow_m3h
    read = meas.inlets[ids[0]].flow_m3h
    assert fixed is not None
    assert read is not None
    assert 5.0 < fixed < (read * 5.0) ** 0.5


def test_flows_whose_ratio_under_or_overflows_are_no_evidence(builtin) -> None:
    """A subnormal or huge but finite flow beside a normal one makes their quotient 0 or
    inf; the check skips such a cycle instead of raising (found by the loop's property
    test with every reading of a cycle lost but one)."""
    net = builtin("loop8")
    check = MeterCheck(net)
    kids = sorted(net.inlets)
    for k, flow in enumerate((2.0, 5e-324, 1e308, 2.0)):
        readings = {
            iid: InletReading(flow_m3h=flow, supply_c=70.0, return_c=50.0, heat_kwh=10.0 + k)
            for iid in kids
        }
        readings[kids[0]] = InletReading(flow_m3h=1e-320 if k % 2 else 1e300)
        meas = Measurements(inlets=readings, time_s=900.0 * k, pump_flow_m3h=1e-310)
        assert check.update(meas) == []


def test_a_stroke_the_valve_explains_counts_a_spike_does_not() -> None:
    """The first cycle after a valve stroke has no earlier ratio to agree with; it counts
    when the valve's Kv·√ΔP moved with the flow (the same valve residual), with the
    stroke's extra uncertainty. A flow reading ×3 with the valve where it was does not."""
    net = generate_network(3, seed=1, name="three")
    ids = sorted(net.inlets)
    per_m3h = 983.2 * 4186.0 * 15.0 / 3.6e6  # kWh per hour per m³/h at 15 K
    kvs = 40.0  # the generator's valves, here fully open

    def reading(flow: float, read: float, energy: float) -> InletReading:
        return InletReading(
            flow_m3h=read,
            supply_c=60.0,
            return_c=45.0,
            heat_kwh=energy,
            opening=1.0,
            valve_dp_kpa=100.0 * (flow / kvs) ** 2,  # what this flow needs across the valve
        )

    counted = {}
    for case, (flow, read) in {"stroke": (6.0, 6.0), "spike": (10.0, 30.0)}.items():
        check = MeterCheck(net)
        for k in range(2):
            q, r = (flow, read) if k else (10.0, 10.0)
            inlets = {iid: reading(10.0, 10.0, 10.0 * per_m3h * k) for iid in ids}
            inlets[ids[0]] = reading(q, r, q * per_m3h * k)
            check.update(Measurements(inlets=inlets, time_s=3600.0 * k))
        counted[case] = check.inlets[ids[0]].ratio
    assert counted["stroke"].values == [pytest.approx(0.0, abs=1e-9)]
    assert counted["stroke"].extras[-1] > 0  # with the stroke's uncertainty
    assert counted["spike"].values == []


def test_a_valve_that_cannot_decide_still_weighs_the_correction() -> None:
    """Neighbours' valves scatter ±5 % around their characteristic, so a 7 % flow-meter bias
    is no clear outlier to the valve: the pair is named ``meter_disagreement``, and the
    valve's leaning (toward the flow meter) moves the correction past the geometric mean."""
    net = generate_network(4, seed=1, name="four")
    ids = sorted(net.inlets)
    per_m3h = 983.2 * 4186.0 * 15.0 / 3.6e6  # kWh per hour per m³/h at 15 K
    scatter = {ids[0]: 0.0, ids[1]: -0.05, ids[2]: 0.0, ids[3]: 0.05}  # ln(flow ÷ valve)
    check = MeterCheck(net)
    for k in range(16):
        inlets = {}
        for iid in ids:
            kv = net.inlets[iid].device.kv(1.0)
            inlets[iid] = InletReading(
                flow_m3h=10.0 * (1.07 if iid == ids[0] else 1.0),
                supply_c=60.0,
                return_c=45.0,
                heat_kwh=10.0 * per_m3h * k,
                opening=1.0,
                valve_dp_kpa=100.0 * (10.0 / (kv * math.exp(scatter[iid]))) ** 2,
            )
        meas = Measurements(inlets=inlets, time_s=3600.0 * k)
        found = check.update(meas)
    assert [(f.inlet_id, f.kind) for f in found] == [(ids[0], "meter_disagreement")]
    assert 0.5 < check.flow_share(ids[0]) < 1.0  # exactly ½ without the valve
    fixed = check.corrected(meas).inlets[ids[0]].flow_m3h
    assert fixed is not None
    assert 10.0 < fixed < (10.7 * 10.0) ** 0.5


def test_pipe_losses_place_each_inlet_supply_offset() -> None:
    """Two far buildings' water arrives 0.4 K cooler (pipe losses), every meter sound, no
    noise. From the inlets' readings alone each offset is shrunk toward the others' (the
    far ones' heat balances read ≈1 % high from the first cycle on); told the network
    model's losses, the check places each offset where the model says and every pair
    agrees (§3.0.7-1)."""
    net = generate_network(8, seed=3, name="eight")
    ids = list(net.inlets)
    far = set(ids[-2:])
    kwh_per_hour = 10.0 / 3600.0 * 983.2 * 4186.0 * 15.0 / 1000.0  # 10 m³/h at 15 K

    def ratios(losses: dict[str, float] | None) -> dict[str, float]:
        check = MeterCheck(net)
        for k in range(4):
            inlets = {}
            for iid in ids:
                supply = 60.0 - (0.4 if iid in far else 0.0)
                inlets[iid] = InletReading(
                    flow_m3h=10.0,
                    supply_c=supply,
                    return_c=supply - 15.0,
                    heat_kwh=kwh_per_hour * k,
                )
            meas = Measurements(inlets=inlets, supply_c=60.0, time_s=3600.0 * k)
            check.update(meas, losses=losses if k == 0 else None)
        return {iid: check.inlets[iid].ratio.values[-1] for iid in ids}

    alone = ratios(None)
    assert min(alone[iid] for iid in far) > 0.005  # shrunk toward the near ones' offset
    told = ratios({iid: 0.4 if iid in far else 0.0 for iid in ids})
    assert max(abs(r) for r in told.values()) < 1e-3


def test_the_controller_tells_the_meter_check_its_pipe_losses(builtin) -> None:
    """The controller's network model gives each inlet's supply offset from the common
    supply; on the simulated plant (same pipes) they match the water's real ones."""
    net = all_open(builtin("loop8"))
    ctl = make_controller(net, ControllerConfig())
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    state = sim.state()
    ctl.step(Measurements.from_plant(state))
    real = [i.supply_c for i in state.inlets.values()]
    common = float(np.median([*real, state.supply_c]))
    expected = ctl.meters.expected_offsets
    assert set(expected) == set(state.inlets)
    for iid, inlet in state.inlets.items():
        assert expected[iid] == pytest.approx(inlet.supply_c - common, abs=0.02), iid
    assert min(expected.values()) < -0.3  # loop8's far buildings, 0.37 K cooler


def test_the_parents_balance_weighs_in_for_its_own_share_only() -> None:
    """The joint test's third witness (§3.0.7-1): a flow meter +10 % on an inlet with an
    eighth of its group's flow moves the parent's balance by ≈1.2 %. A balance that moved
    so adds evidence (≈½ of its squared standard score); one that moved far more than the
    inlet's share can explain (the parent's own meter off) adds none, so a household under
    a biased building meter is not named for it; a sound balance speaks against."""
    from custom_components.heatbalance.engine.meters import _flow_evidence

    p, sp, h, sh = 0.09, 0.022, 0.095, 0.021  # pair and valve after four cycles, +10 %
    _, alone = _flow_evidence(p, sp, h, sh)
    _, shifted = _flow_evidence(p, sp, h, sh, (0.125 * 0.095, 0.005, 0.125))
    assert shifted - alone == pytest.approx(0.5 * (0.125 * 0.095 / 0.005) ** 2, rel=0.35)
    _, parent_off = _flow_evidence(p, sp, h, sh, (-0.1, 0.005, 0.125))
    assert parent_off <= alone + 1e-9
    _, quiet = _flow_evidence(p, sp, h, sh, (0.0, 0.005, 0.125))
    assert quiet < alone  # a sound balance speaks against the flow meter
    # the parent's meter off *and* this flow meter: the pair and valve still name it, at
    # the price of the second fault (never below what they show alone, less EVIDENCE)
    b, both = _flow_evidence(0.12, 0.015, 0.12, 0.021, (-0.1, 0.005, 0.125))
    _, without = _flow_evidence(0.12, 0.015, 0.12, 0.021)
    assert both >= 8.0
    assert both >= without - 8.0 - 1e-9
    assert b == pytest.approx(0.12)  # sized by pair and valve, not by that balance


def test_a_diagnosed_meter_is_regulated_also_when_its_reading_looks_balanced(builtin) -> None:
    """Automatic mode holds a balanced network (§8.2.5). A building whose flow meter reads
    +10 % looks balanced while it is 9 % short: the hold must rest on the consistent
    signals (§3.0.7-1), or the building stays short after its meter is named (loop8
    through Home Assistant ended at 0.915 of design). PI regulates on the reading, so it
    drives the building short first; 1 % noise on flow and temperatures. Without the
    consistent verdict: held from cycle 5 at 0.948 of design (measured)."""
    from custom_components.heatbalance.engine.evaluation import BalanceStateMachine
    from custom_components.heatbalance.engine.loop import ControlLoop, LoopConfig

    net = all_open(builtin("loop8"))
    config = ControllerConfig(algorithm="traditional", level="intermediate")
    loop = ControlLoop(net, LoopConfig(config), cycle_s=STEP_S)
    machine = BalanceStateMachine()
    sim = Simulator(net, outdoor_c=net.design.outdoor_c)
    rng = np.random.default_rng(0)
    named = None
    for k in range(1, 17):
        meas = _read_biased(sim, rng, "B5")
        out = loop.step(meas, balance=machine, clock_s=k * STEP_S)
        if named is None and any(f.inlet_id == "B5" for f in loop.controller.meter_findings):
            named = k
        if out.dispatch.held is None:  # sent, as the coordinator sends it
            for iid, opening in out.dispatch.openings.items():
                sim.set_opening(iid, opening)
            if out.dispatch.pump_speed is not None:
                sim.set_pump_speed(out.dispatch.pump_speed)
            loop.commanded(dict(out.dispatch.openings))
        sim.advance(STEP_S)
    assert named is not None
    assert named <= 8
    assert machine.state == "balanced"  # held again, now on the consistent flow
    true = sim.state().inlets["B5"].flow_m3h / net.inlets["B5"].design_flow_m3h
    assert true == pytest.approx(1.0, abs=0.03)  # regulated, not just named


def _chance_excursion(buildings: int, households: int = 0) -> list[str]:
    """A sound inlet whose meters draw by chance what households1200's healthy week drew at
    B003H23 in cycles 106–109 (seed 0: a 4-cycle mean 5.3σ off, from standard scores of
    1 % noise of about return +3.6, +2.6, +1.8, +2.0 and flow +0.6, −1.6, −2.1, +0.3),
    among sound inlets read with 1 % noise on flow and temperatures (a building's flow is
    its households'): the inlets the meter check names after those cycles."""
    net = generate_network(buildings, households, seed=3, name="many")
    check = MeterCheck(net)
    rng = np.random.default_rng(5)
    ids = sorted(net.inlets)
    odd = ids[-1]  # a household where there are households
    excursion = {36: (0.6, 4.0), 37: (-1.6, 2.9), 38: (-2.1, 2.0), 39: (0.3, 2.2)}
    size = {iid: sum(i.parent == iid for i in net.inlets.values()) or 1 for iid in ids}
    supply, ret = 60.0, 45.0
    kwh = 1.0 / 3600.0 * 983.2 * 4186.0 * (supply - ret) / 3.6e6 * STEP_S  # 1 m³/h a cycle
    found = []
    for k in range(40):
        inlets_read = {}
        for iid in ids:
            flow_z, supply_z, return_z = rng.standard_normal(3)
            if iid == odd and k in excursion:
                flow_z, return_z = excursion[k]
            inlets_read[iid] = InletReading(
                flow_m3h=size[iid] * (1.0 + 0.01 * flow_z),
                supply_c=supply * (1.0 + 0.01 * supply_z),
                return_c=ret * (1.0 + 0.01 * return_z),
                heat_kwh=size[iid] * kwh * k,
            )
        found = check.update(Measurements(inlets=inlets_read, supply_c=supply, time_s=STEP_S * k))
    return [f.inlet_id for f in found]


def test_a_chance_excursion_among_many_pairs_is_not_a_bias() -> None:
    """The false diagnosis of households1200's healthy week (B003H23, 10 of 336 cycles):
    a 5.3σ mean of 4 cycles is rare for one pair but expected about once in a week among
    1,240 pairs tested over 5 spans each cycle. The significance a bias needs grows with
    the number of pairs tested (a family-wise rate: per network, what it was where the
    threshold was set), so the readings that name a pair among 120 are chance among 1,240."""
    assert _chance_excursion(120) == ["B120"]  # 120 pairs: 5.3σ is a bias
    assert _chance_excursion(40, 30) == []  # 40 buildings × 30 households: chance


def test_checks_fed_names_the_mass_balances_the_check_runs(builtin) -> None:
    """What the integration's diagnostics state (``checks_fed``) is what the check does: a
    household without its flow leaves its building's group incomplete, a street building
    without its flow the substation's (§3.0.7-1)."""
    net = builtin("households1200")
    meas = Measurements.from_plant(Simulator(net).state())
    kids = net.children_by_parent()
    building, other = [iid for iid in kids if net.inlets[iid].parent is None][:2]
    meas.inlets[kids[building][0].id].flow_m3h = None
    for street_complete in (True, False):
        if not street_complete:
            meas.inlets[other].flow_m3h = None  # the substation's group is incomplete now
        check = MeterCheck(net)
        check.update(meas)
        delivered = {iid: {"flow"} for iid, r in meas.inlets.items() if r.flow_m3h is not None}
        fed = checks_fed(net, delivered, substation_metered=True)
        ran = set(check.balances)
        assert ran, "some group is complete"
        for iid, checks in fed.items():
            parent = net.inlets[iid].parent or SUBSTATION
            assert ("mass_balance" in checks) == (parent in ran), iid
        assert building not in ran
        assert (SUBSTATION in ran) is street_complete
    heat = {"flow", "heat", "supply", "return"}
    assert checks_fed(net, {building: heat}, substation_metered=False) == {
        building: ["heat_balance"]
    }


def _named(
    seed: int,
    factor: float = 1.1,
    cycles: int = 10,
    available: float | None = None,
    *,
    sigma: float = 0.01,
    dirty: tuple[float, float] | None = None,
) -> list[tuple[int, list[tuple[str, str]]]]:
    """Eight buildings, valve position and ΔP read, ``sigma`` relative noise on flow,
    temperatures and ΔP, the fourth building's flow meter × ``factor``: every cycle with a
    finding (1-based) and the findings then, over ``cycles`` cycles. ``available``: the
    inlets' available ΔP is read too (kPa, same noise), its circuit drawn to take what the
    valve leaves. ``dirty`` = (Kv share, circuit share): the fourth building's valve
    passes that share of its Kv and its circuit takes that share of its available ΔP at
    the flow it then gets (a throttled circuit beside a dirty valve)."""
    net = generate_network(8, seed=3, name="eight")
    ids = sorted(net.inlets)
    if available is not None:
        for inlet in net.inlets.values():
            q = inlet.device.kv(0.5) * math.sqrt(0.2)
            inlet.internal_dp_kpa = (available - 20.0) * (inlet.design_flow_m3h / q) ** 2
    kv, circuit_dp = 1.0, {}
    if available is not None:
        circuit_dp = dict.fromkeys(ids, available - 20.0)
    if dirty is not None and available is not None:
        kv, share = dirty
        victim = net.inlets[ids[3]]
        circuit_dp[ids[3]] = 20.0 * share / (1.0 - share)  # at the dirty valve's flow
        q = victim.device.kv(0.5) * math.sqrt(0.2) * kv
        victim.internal_dp_kpa = circuit_dp[ids[3]] * (victim.design_flow_m3h / q) ** 2
    check = MeterCheck(net)
    rng = np.random.default_rng(seed)
    supply, ret = 60.0, 45.0
    kwh = 1.0 / 3600.0 * 983.2 * 4186.0 * (supply - ret) / 3.6e6 * STEP_S  # 1 m³/h a cycle
    out = []
    for k in range(cycles):
        read = {}
        for iid in ids:
            q = net.inlets[iid].device.kv(0.5) * math.sqrt(0.2)  # 20 kPa, valve half open
            q *= kv if iid == ids[3] else 1.0
            flow_z, supply_z, return_z, dp_z = rng.standard_normal(4)
            avail = None
            if available is not None:
                avail = (20.0 + circuit_dp[iid]) * (1.0 + sigma * rng.standard_normal())
            read[iid] = InletReading(
                flow_m3h=q * (1.0 + sigma * flow_z) * (factor if iid == ids[3] else 1.0),
                supply_c=supply * (1.0 + sigma * supply_z),
                return_c=ret * (1.0 + sigma * return_z),
                heat_kwh=q * kwh * k,
                opening=0.5,
                valve_dp_kpa=20.0 * (1.0 + sigma * dp_z),
                dp_available_kpa=avail,
            )
        found = check.update(Measurements(inlets=read, supply_c=supply, time_s=STEP_S * k))
        if found:
            out.append((k + 1, [(f.inlet_id, f.kind) for f in found]))
    return out


def _first_named(seed: int) -> tuple[int | None, list[tuple[str, str]]]:
    """The cycle :func:`_named`'s meter is first named and the findings then."""
    return next(iter(_named(seed)), (None, []))


def test_the_joint_test_weighs_every_cycle_it_has() -> None:
    """The first heat balance comes at the second cycle, so at the sixth there are five
    pair values; the joint test's spans were 2, 3, 4, 6, … and left the oldest out. With a
    span of 5 (seed 45): named at cycle 6; without it at 7 (measured). Seed 35 showed this
    until the valves' scatter was learnt (see the 5 % test below); it is now named at 3."""
    assert _first_named(45) == (6, [("B004", "flow_meter_bias")])


def test_a_five_percent_meter_is_named_as_the_flow_meter() -> None:
    """Issue 9 item 4: a flow meter ±5 % off is diagnosed, and named as the flow meter.
    The valve's Kv·√ΔP is the witness that tells a flow meter from a heat meter; its
    neighbours' scatter was floored at 2 %, so a 5 % meter stood 2.5 of its standard
    errors off the others' valves — "the heat meter lies" lost by at most 3 of the 8
    log-likelihood the joint test needs, and the pair's own 5σ test named a
    ``meter_disagreement`` at best. The scatter is now learnt from the valves (a prior of
    2 % worth four inlets, empirical Bayes): eight valves agreeing within 0.3 % say their
    characteristics do. Over 16 seeds × ±5 %, 24 cycles: named as the flow meter in 21 of
    32 (before: 0; named at all 15 of 32), nothing else named (measured)."""
    flow, wrong = 0, set()
    for seed in range(16):
        for factor in (1.05, 0.95):
            named = _named(seed, factor, cycles=24)
            flow += any(("B004", "flow_meter_bias") in found for _, found in named)
            wrong |= {f for _, found in named for f in found if f[0] != "B004"}
    assert flow >= 18
    assert not wrong


def test_the_circuits_dp_tells_a_five_percent_meter_from_its_valve() -> None:
    """A valve of authority ⅓ (20 of 60 kPa available; the heated circuit takes the rest),
    1 % noise on flow, temperatures and both ΔPs, ±5 % from the first cycle, 8 seeds. One
    cycle's heat balance scatters ≈3.6 % (the return sensor's 0.47 K over ΔT ≈ 13 K) and
    was the only witness telling a flow meter from a valve off its characteristic: named
    within 6 cycles in 2 of 16 runs without the available ΔP (measured). The circuit passes
    what its ΔP says whatever the valve: a flow meter shifts the circuit's residual with
    the valve's, a dirty valve does not — 11 of 16 with it, every one by cycle 8, as the
    flow meter, nothing else named."""
    firsts, wrong = [], set()
    for seed in range(8):
        for factor in (1.05, 0.95):
            named = _named(seed, factor, cycles=8, available=60.0)
            firsts.append(next((k for k, _ in named), 99))
            wrong |= {f for _, found in named for f in found if f != ("B004", "flow_meter_bias")}
    assert sum(k <= 6 for k in firsts) >= 9, firsts
    assert not wrong


def test_a_dirty_valve_before_a_throttled_circuit_is_not_a_biased_meter() -> None:
    """A valve passing 88 % of its Kv before a circuit that takes only 18 % of its available
    ΔP, 2 % noise on flow, temperatures and both ΔPs, a week of 30-min cycles, 4 seeds: the
    valve's residual is 13 % off while the meter, the heat meter and the circuit agree —
    the valve's fault, no meter's. The circuit's ΔP is the difference of two readings of
    nearly the same size there (≈8 % noise a reading at 2 % transmitters); judged with the
    noise level of circuits taking ⅔ of their ΔP it drifted toward the valve by chance
    and named a sound flow meter (12c's first circuit witness: 5 and 7 of 336 cycles on
    estate12 and the comb with the same fault in bench_robust)."""
    for seed in range(4):
        named = _named(seed, 1.0, cycles=336, available=60.0, sigma=0.02, dirty=(0.88, 0.18))
        assert not [f for _, found in named for f in found if f[1] == "flow_meter_bias"], seed


def test_past_heat_balances_stand_on_the_newest_supply_offset() -> None:
    """Each heat balance once carried the supply offset known when it was computed; the
    early ones' poorer offsets bounded every span's standard error (a 5 % meter stayed
    under 4 of them however long it was watched). Moved onto the newest offset, they share
    its error alone. Over the 64 seeds of :func:`_named` (+10 %): named later than cycle 6
    in 4, named as the flow meter by cycle 6 in 59 (before: 6 and 58, main 480c8b4); seed
    15 is now named at cycle 5 as a disagreement and as the flow meter at 7 (before: at 6
    as the flow meter) — the sum is measured, not each seed."""
    late = flow_by_6 = 0
    for seed in range(64):
        named = _named(seed)
        late += not named or named[0][0] > 6
        flow_by_6 += any(k <= 6 and ("B004", "flow_meter_bias") in f for k, f in named)
    assert late <= 4
    assert flow_by_6 >= 59


def _two_behind_a_meter(seed: int, liar: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Two equal buildings behind a substation flow meter, 1 % noise on every meter and
    temperature, each building's readings lost in 30 % of the cycles, ``liar``'s flow meter
    off (the first building's +10 %, or the substation's −10 %): every id named in 16
    cycles, and the findings at the end."""
    net = generate_network(2, seed=1, name="two")
    ids = sorted(net.inlets)
    check = MeterCheck(net)
    rng = np.random.default_rng(seed)
    q, supply, ret = 10.0, 60.0, 45.0
    kwh = q / 3600.0 * 983.2 * 4186.0 * (supply - ret) / 3.6e6 * STEP_S  # a cycle's heat
    named: set[str] = set()
    found: list[tuple[str, str]] = []
    for k in range(16):
        read = {}
        for iid in ids:
            if rng.random() < 0.3:
                continue  # this building's readings lost this cycle
            read[iid] = InletReading(
                flow_m3h=_noisy(q * (1.1 if iid == liar else 1.0), 0.01, rng),
                supply_c=_noisy(supply, 0.01, rng),
                return_c=_noisy(ret, 0.01, rng),
                heat_kwh=kwh * k,
            )
        station = _noisy(2 * q * (0.9 if liar == SUBSTATION else 1.0), 0.01, rng)
        meas = Measurements(inlets=read, supply_c=supply, pump_flow_m3h=station, time_s=STEP_S * k)
        found = [(f.inlet_id, f.kind) for f in check.update(meas)]
        named |= {iid for iid, _ in found}
    return named, found


def test_a_building_meter_is_not_blamed_on_the_substation_meter() -> None:
    """gen2-pair through HA (10x): a +10 % building meter among two moves the substation's
    mass balance by 5 %, which two buildings' meters make significant before the building's
    own pair test has the cycles to speak (no valve witness: fewer than three inlets), and
    the substation's meter was alarmed (the engine, 30 % missing: 9 of 10 seeds). While a
    child's own pair is off the same way, nearer the bias that explains the balance than
    none, the parent waits for it. Over 12 seeds the substation was named in 8 (measured
    before), now in none; the building is in 7 (the others are not named within the 16
    cycles: the lost heat readings keep its pair short). The substation's own −10 % meter
    is still named in all 12, and no building for it."""
    building = [_two_behind_a_meter(seed, "B001")[0] for seed in range(12)]
    assert not [ids for ids in building if ids - {"B001"}], building
    assert sum("B001" in ids for ids in building) >= 6, building
    station = [_two_behind_a_meter(seed, SUBSTATION) for seed in range(12)]
    assert not [ids for ids, _ in station if ids - {SUBSTATION}], station
    assert sum((SUBSTATION, "parent_meter_bias") in found for _, found in station) >= 11, station
