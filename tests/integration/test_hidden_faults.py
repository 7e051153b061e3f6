"""Faults of the HA entities themselves, found by running the product path on networks and
faults it had not seen (10x, ninth session; ``bench_product_faults --combined``).

A simulated "field" plant stands behind HA entities (``devtools.field_plant``); its valves
are real entities of HA's valve component. Here one of them refuses every command.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from benchmarks.bench_robust import with_pipes
from custom_components.heatbalance.engine.evaluation import band
from custom_components.heatbalance.engine.loader import load_network, network_to_dict
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.networks.generator import generate_network
from devtools.field_plant import (
    FieldPlant,
    Instruments,
    async_all_open_and_fresh,
    async_field_in_auto,
    async_map_to_field,
)
from devtools.field_plant import async_field_cycles as _run

from .conftest import RaisedAlarms, add_network, polling_off

OUTDOOR = "sensor.field_outdoor"
VICTIM = "B007"
BLOCKED_ID = "B007"  # gen12-unequal's middle building (bench_robust.victim_of)


async def _field_entry(hass: HomeAssistant) -> tuple[Any, FieldPlant]:
    """estate12, AI controller, every building on the field's entities (1 % noise)."""
    network = load_network("estate12")
    hass.states.async_set(OUTDOOR, str(network.design.outdoor_c), {"unit_of_measurement": "°C"})
    options = {"algorithm": "ai", "outdoor_entity": OUTDOOR, "mode": "manual"}
    entry = await add_network(hass, options=options)
    return entry, await async_field_in_auto(hass, entry, network, Instruments(noise=0.01))


def _refusing(field: FieldPlant, error: Exception) -> None:
    """The victim's valve entity raises ``error`` on every position command."""
    valve = field.valves[field.inlets.index(VICTIM)]

    async def refuse(position: int) -> None:
        raise error

    valve.async_set_valve_position = refuse


@pytest.mark.parametrize(
    "error",
    [
        HomeAssistantError("valve in local mode"),  # as HA asks integrations to refuse
        ConnectionError("no response from the valve's controller"),  # a bare error let through
    ],
    ids=["ha_error", "bare_error"],
)
async def test_a_valve_refusing_commands_is_named_and_the_others_regulate(
    hass: HomeAssistant, error: Exception
) -> None:
    """A valve entity that refuses every command (§5.3.8-4): every cycle completes, the
    other valves are moved, and a command/feedback alarm names that valve within
    ``alarm_cycles`` + 2 cycles; no other valve is named.

    Before: a bare error (not ``HomeAssistantError``) ended the coordinator's cycle in the
    middle of the dispatch — the valves after it got nothing, what had been sent was not
    recorded, and the other buildings were pushed out of band (false deviation alarms on
    gen15-tree4); a refused command was only logged, so the valve was named only by its
    deviation after 12 cycles, or never where its flow happened to lie in band. And the
    command/feedback alarm (the gateway's too) carried its answer as ``status``, which
    overwrote the event's own ``status``: "raised" never reached the bus, the event entity
    or automations."""
    entry, field = await _field_entry(hass)
    coordinator = entry.runtime_data.coordinator
    _refusing(field, error)
    raised = RaisedAlarms(hass)
    n = coordinator.settings.alarm_cycles + 2
    moved: set[str] = set()
    for k in range(1, n + 1):
        raised.cycle = k
        before = len(field.moves)
        await _run(hass, entry, field, 1)
        assert coordinator.last_update_success, f"cycle {k} failed"
        moved |= {iid for iid, _, _ in field.moves[before:]}
    assert moved - {VICTIM}, "no other valve was moved"
    unconfirmed = [a for _, a in raised if a["reason"] == "command_unconfirmed"]
    assert unconfirmed, raised
    assert {a["location"] for a in unconfirmed} == {VICTIM}
    assert unconfirmed[0]["answer"] == "refused"
    assert "was not confirmed (refused)" in unconfirmed[0]["description"]
    assert field.opening(VICTIM) == pytest.approx(1.0)  # it never moved


async def test_a_wrong_drawing_without_transmitters_reaches_the_band(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The network file's pipes are 1.5× the field's (§3.0.7-3) and no ΔP transmitter is
    mapped (the controller gets the plant model's ΔP, flagged estimated): under the AI
    controller every building of genf36 (36 buildings, bench_product_faults' generated
    network) is truly in the intermediate band (§8.2.3) from cycle 4 on.

    Before, the estimated ΔP was learnt as each inlet's own residual and never for the
    pipes, so genf36 drifted from 28 % to 0 % in band (bench_product_faults: never in 12
    cycles, 35 deviation alarms; estate12 4 and 3 cycles against the engine's 1). Now it
    is inferred from the flow as where no ΔP exists (``model_based.flow_pressure``): the
    drawing's error is learnt as one pipe factor."""
    field_network = generate_network(36, seed=101, area_m2=(1000.0, 14000.0), name="genf36")
    drawing = with_pipes(field_network, 1.5)  # the file's pipes: the real ones × 1.5
    entry, field = await _ai_without_transmitters(hass, tmp_path, field_network, drawing)
    shares = await _run(hass, entry, field, 10)
    assert min(shares[3:]) == 1.0, shares


async def test_a_wrong_drawing_over_unmetered_households_reaches_the_band(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The network file's pipes 1.5× the field's, building meters only (households have
    none: the intermediate level's plant, Table 3.0.4), no ΔP transmitter: under the AI
    controller every building of gen8x4-loopmain (8 buildings × 4 households on a looped
    main, bench_product_faults' shape) is truly in the intermediate band (§8.2.3) from
    cycle 3 on.

    Before, pipes and residuals were learnt only where half the households' flows were
    read: nothing was learnt after the first plan, B001 stayed at −10 % and B008 at +16 %
    with nothing moving (bench_product_faults: never in 12 cycles, 50 % in band, 3
    deviation alarms; the engine, which read every household meter, 2 steps)."""
    from devtools.network_shapes import looped_main

    field_network = looped_main()
    drawing = with_pipes(field_network, 1.5)  # the file's pipes: the real ones × 1.5
    entry, field = await _ai_without_transmitters(hass, tmp_path, field_network, drawing)
    shares = await _run(hass, entry, field, 6)
    assert min(shares[2:]) == 1.0, shares


async def test_a_building_landed_just_outside_the_band_is_not_held_there(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """gen10-far (its last building at the end of a 1.2 km line, bench_product_faults'
    shape), the network file's pipes 1.5× the field's, no ΔP transmitter, 1 % noise, AI:
    every building is truly in the intermediate band (§8.2.3) from cycle 6 on.

    The first plan lands B003 and B008 at +10.8 %, just above the band. Their estimates
    right after the move (+9.5 ± 4.1 %, 2 σ) are in band, so the §8.2.5 hold engages; it
    was left only when an estimate lay outside the band beyond its 2 σ, while the controller
    asked to cut them every cycle (+10.9 ± 1.8 %: far beyond its gate above the goal).
    Before, the hold dropped those cuts for good (bench_product_faults: 80 % in band, never
    in 12 cycles; the engine 5)."""
    from devtools.network_shapes import far_building

    field_network = far_building()
    drawing = with_pipes(field_network, 1.5)  # the file's pipes: the real ones × 1.5
    entry, field = await _ai_without_transmitters(hass, tmp_path, field_network, drawing)
    shares = await _run(hass, entry, field, 10)
    assert min(shares[5:]) == 1.0, shares


async def test_a_blocked_building_without_transmitters_is_isolated_not_learnt_as_pipes(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A building valve blocked to 30 % Kv (§5.3.7-3) where no ΔP transmitter is mapped, under
    the AI controller: named at cycle 2 and left out of the plan at what it can get; every
    other building truly in the intermediate band (§8.2.3) from cycle 3 on.

    gen12-unequal (loads 43× apart, bench_product_faults' shape). With the ΔP inferred from
    the flow, the all-open first cycle taught the pipes ×1.05 from the blocked building not
    yet named, and the plan then kept it "passing its share" at 0.9989 of its travel: every
    other building at −15…−18 % until cycle 12, 11 false deviation alarms (what kept
    the flow-only path off main in the ninth session)."""
    field_network = generate_network(12, seed=67, area_m2=(300.0, 12000.0), name="gen12-unequal")
    drawing = copy.deepcopy(field_network)
    for inlet in drawing.inlets.values():  # the file's valves all open (the benchmark's)
        inlet.device.opening = inlet.device.max_opening
    entry, field = await _ai_without_transmitters(
        hass, tmp_path, field_network, drawing, blocked=BLOCKED_ID
    )
    raised = RaisedAlarms(hass)
    flow_band = band("intermediate", "flow")  # −5…+10 % of set flow (§8.2.3-1)
    held: list[bool] = []  # per cycle: every other building in that band
    for k in range(1, 9):
        raised.cycle = k
        await _run(hass, entry, field, 1)
        state = field.sim.state().inlets
        deviations = [
            100.0 * (s.flow_m3h / s.design_flow_m3h - 1.0)
            for iid, s in state.items()
            if iid != BLOCKED_ID
        ]
        held.append(flow_band.lower <= min(deviations) and max(deviations) <= flow_band.upper)
    named = [
        k for k, a in raised if a["location"] == BLOCKED_ID and a["reason"] == "equipment_fault"
    ]
    assert named, raised
    assert named[0] <= 2, raised
    assert all(held[2:]), held
    assert {a["location"] for _, a in raised if a["reason"] == "deviation"} <= {BLOCKED_ID}


@pytest.mark.parametrize("seed", [0, 1])
async def test_a_biased_building_meter_named_while_balanced_is_brought_into_the_band(
    hass: HomeAssistant, tmp_path: Path, seed: int
) -> None:
    """gen2-pair: B002's flow meter reads +10 % (§3.0.7-1), heat meters and the substation
    flow meter mapped (1 % noise, bench_product_faults' "meter bias +10%"). On the biased
    reading the pair looks balanced and the §8.2.5 hold engages with B002 truly at −7 %;
    once the meter check names the meter, B002 is truly in the intermediate band
    (§8.2.3) within 4 cycles and to the end.

    Before (seed 1), the corrected estimate sat at −5.1 % with its uncertainty reaching into
    the band: the hold's hysteresis, there against noise, kept the verdict the biased reading
    had made, and B002 stayed at −6.7 % for good (bench_product_faults: never in 20 cycles;
    the engine 6)."""
    from devtools.network_shapes import two_buildings

    field_network = two_buildings()
    drawing = copy.deepcopy(field_network)
    for inlet in drawing.inlets.values():  # the file's valves all open (the benchmark's)
        inlet.device.opening = inlet.device.max_opening
    path = tmp_path / "gen2-pair-file.json"
    path.write_text(json.dumps(network_to_dict(drawing)))
    entry = await _add_file(hass, path)
    options = {"algorithm": "ai", "mode": "manual"}
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await hass.async_block_till_done()
    instruments = Instruments(noise=0.01, bias=("B002", 1.1), meters=True)
    inlets = list(entry.runtime_data.coordinator.inlets)
    field = FieldPlant(hass, field_network, inlets, instruments, seed)
    await field.async_add_valves()
    await async_map_to_field(hass, entry, field)
    options = {"substation_flow_entity": field.SUBSTATION_FLOW, "mode": "auto"}
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await hass.async_block_till_done()
    await async_all_open_and_fresh(hass, entry, field)
    named, ratios = await _named_and_flows(hass, entry, field, "B002", 20)
    after = ratios[named[0] + 3 :]
    assert after, (named, ratios)
    assert all(0.95 <= r <= 1.10 for r in after), (named, ratios)


async def test_a_blocked_building_with_lost_readings_leaves_no_stale_residual(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """gen2-pair, B002's valve blocked to 30 % Kv (§5.3.7-3), 30 % of the readings lost
    (B002's in the first cycle), no ΔP transmitter, AI controller: B001 is truly in the
    intermediate band (§8.2.3) from two cycles after B002 is named, to the end.

    Before, B001 learnt +39 kPa while B002's blockage was not yet in the model; the
    residual decayed by the smoothing alone after B002 was named, and B001 stayed at
    −34…−9 % for 12 cycles (bench_product_faults --combined: never; the engine 1 step)."""
    from devtools.network_shapes import two_buildings

    field_network = two_buildings()
    drawing = copy.deepcopy(field_network)
    for inlet in drawing.inlets.values():  # the file's valves all open (the benchmark's)
        inlet.device.opening = inlet.device.max_opening
    path = tmp_path / "gen2-pair-file.json"
    path.write_text(json.dumps(network_to_dict(drawing)))
    entry = await _add_file(hass, path)
    hass.config_entries.async_update_entry(
        entry, options=dict(entry.options) | {"algorithm": "ai", "mode": "manual"}
    )
    await hass.async_block_till_done()
    inlets = list(entry.runtime_data.coordinator.inlets)
    field = FieldPlant(hass, field_network, inlets, Instruments(noise=0.01, missing=0.3))
    field.sim.inject_fault("B002", "blockage", factor=0.3)
    await field.async_add_valves()
    await async_map_to_field(hass, entry, field)
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | {"mode": "auto"})
    await hass.async_block_till_done()
    await async_all_open_and_fresh(hass, entry, field)
    named, ratios = await _named_and_flows(hass, entry, field, "B001", 12)
    after = ratios[named[0] + 1 :]
    assert after, (named, ratios)
    assert all(0.95 <= r <= 1.10 for r in after), (named, ratios)


async def _manual_ai_entry(
    hass: HomeAssistant, path: Path, drawing: Network, outdoor_c: float
) -> Any:
    """An entry for ``drawing`` written to ``path`` (the operator's network file), AI
    controller in manual mode, the outdoor entity at ``outdoor_c`` (the field's design)."""
    path.write_text(json.dumps(network_to_dict(drawing)))
    entry = await _add_file(hass, path)
    hass.states.async_set(OUTDOOR, str(outdoor_c), {"unit_of_measurement": "°C"})
    options = {"algorithm": "ai", "outdoor_entity": OUTDOOR, "mode": "manual"}
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await hass.async_block_till_done()
    return entry


async def _ai_without_transmitters(
    hass: HomeAssistant,
    tmp_path: Path,
    field_network: Network,
    drawing: Network,
    blocked: str | None = None,
) -> tuple[Any, FieldPlant]:
    """An entry for ``drawing`` (the network file) over a field plant of ``field_network``
    mapped through HA entities without ΔP transmitters, AI controller in manual mode, the
    field's valves all open and a fresh control loop (the benchmarks' unbalanced start);
    ``blocked``: that valve passes 30 % of its Kv from the start."""
    entry = await _manual_ai_entry(
        hass, tmp_path / f"{drawing.name}-file.json", drawing, field_network.design.outdoor_c
    )
    field = await async_field_in_auto(hass, entry, field_network, Instruments(noise=0.01))
    if blocked is not None:
        field.sim.inject_fault(blocked, "blockage", factor=0.3)
    await async_all_open_and_fresh(hass, entry, field)
    return entry, field


async def _named_and_flows(
    hass: HomeAssistant, entry: Any, field: FieldPlant, watched: str, cycles: int
) -> tuple[list[int], list[float]]:
    """Run ``cycles`` cycles: the cycles at which B002 was alarmed as an equipment fault
    (asserted to happen) and ``watched``'s true flow ÷ design flow after each cycle."""
    raised = RaisedAlarms(hass)
    ratios: list[float] = []
    for k in range(1, cycles + 1):
        raised.cycle = k
        await _run(hass, entry, field, 1)
        state = field.sim.state().inlets[watched]
        ratios.append(state.flow_m3h / state.design_flow_m3h)
    named = [k for k, a in raised if a["location"] == "B002" and a["reason"] == "equipment_fault"]
    assert named, raised
    return named, ratios


async def _add_file(hass: HomeAssistant, path: Path) -> Any:
    """An entry for a network file (the config flow's path step)."""
    from homeassistant import config_entries

    from custom_components.heatbalance.const import CONF_PATH, DOMAIN

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PATH: str(path)}
    )
    await hass.async_block_till_done()
    return result["result"]


@pytest.mark.parametrize(
    ("shape", "scenario", "seed", "steps"),
    [
        ("gen10-far", "pipe model x1.5", 0, 8),
        ("gen2-pair", "blockage x0.3 + missing 30%", 1, 8),
        ("gen2-pair", "meter bias +10%", 2, 10),
    ],
)
async def test_through_ha_the_band_comes_within_a_step_of_the_engines(
    hass: HomeAssistant, tmp_path: Path, shape: str, scenario: str, seed: int, steps: int
) -> None:
    """Issue 10's goal "steps to band in HA equal the CLI's ±1", seed by seed: the field
    plant behind HA's entities (1 % noise, no ΔP transmitter, AI) and the engine's closed
    loop (``bench_product_faults.engine_run``: bench_robust with HA's controller
    configuration) read the same noise for the same seed (``devtools.noise_draws``) on the
    same plant (valves in whole percent), and the intermediate band (§8.2.3) is truly held
    by every judged building from the same step ±1.

    Before, the field drew 4 noise values per mapped inlet, the engine 6 per inlet and the
    substation's: gen10-far ×1.5 seed 0 reached the band at 6 through HA, 3 in the engine,
    with nothing wrong in the product path. gen2-pair with a blocked building and 30 %
    lost readings, seed 1: both sides sent B001 0.837, HA's valve went to 84 % (0.951 of
    design flow, in band at 2), the engine's to 0.837 (0.944, held out of band until 5).
    gen2-pair's +10 % meter, seed 2 (heat meters and the substation flow meter mapped): HA
    reached the band at 9, the engine at 7 — HA handed the engine the network model's
    substation supply as a reading, the engine read a noisy sensor; now both take the
    model's supply as a flagged estimate (``Measurements.estimated``), 9 and 9."""
    from benchmarks import bench_product_faults as bpf
    from benchmarks import bench_robust as br
    from devtools.field_plant import async_map_to_field

    scn = bpf.SCENARIOS[scenario]
    field_network = br.all_open(bpf._network(shape))
    victim = br.victim_of(field_network)
    pipes = scn.value if scn.fault == "pipes" else 1.0
    drawing = br.with_pipes(field_network, pipes)
    entry = await _manual_ai_entry(
        hass, tmp_path / f"{shape}-file.json", drawing, field_network.design.outdoor_c
    )
    field = bpf._field(hass, field_network, list(entry.runtime_data.coordinator.inlets), scn, seed)
    await field.async_add_valves()
    await async_map_to_field(hass, entry, field)
    options = dict(entry.options) | {"mode": "auto"}
    if field.instruments.meters:  # the substation flow meter, as engine_run reads it
        options["substation_flow_entity"] = field.SUBSTATION_FLOW
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()
    await polling_off(hass, entry)  # no timer cycle after the rewind, nor before the field answers
    coordinator = entry.runtime_data.coordinator
    await bpf._start_all_open(hass, coordinator, field)  # the engine's start, draws rewound
    scope = br._scope(field_network, victim if scn.isolate else None)
    held = []
    for _ in range(steps):
        field.publish()
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        field.follow_and_advance(coordinator.plant.cycle_s)
        held.append(br._in_band(field.sim.network, field.sim.state(), br.INTERMEDIATE, scope))
    engine = bpf.engine_run(shape, scenario, "ai", seed, steps, "entities").intermediate
    ha = br._held_from(held)
    assert ha is not None, held
    assert engine is not None
    assert abs(ha - engine) <= 1, (ha, engine, held)
