"""Safety of every valve move through Home Assistant (§5.3.6-3), on a plant whose sources
change and whose valves report no position.

The field plant (``devtools.field_plant``) stands behind HA entities; its valves record every
command they receive, with where they truly stood (``FieldPlant.moves``). Each test judges
the moves against the field's true positions, never against what the integration believes.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.engine.loader import load_network
from devtools.field_plant import FieldPlant, Instruments, async_field_in_auto
from devtools.field_plant import async_field_cycles as field_cycles

from .conftest import add_network, cycles

OUTDOOR = "sensor.field_outdoor"
SLACK = 0.01  # valve entities take whole percent


def outside_limits(field: FieldPlant, entry: Any) -> list[tuple[str, float, float]]:
    """The moves that left the opening range or moved further than the step limit from
    where the field valve truly stood (§5.3.6-3)."""
    s = entry.runtime_data.coordinator.settings
    lo, hi, step = s.min_opening_pct / 100, s.max_opening_pct / 100, s.max_step_pct / 100
    return [
        (iid, before, to)
        for iid, before, to in field.moves
        if not lo - SLACK <= to <= hi + SLACK or abs(to - before) > step + SLACK
    ]


async def demo_then_field(
    hass: HomeAssistant, instruments: Instruments, algorithm: str = "ai", demo_cycles: int = 4
) -> tuple[Any, FieldPlant]:
    """estate12 regulating its own simulated plant first (the demo moves its valves away
    from the network file's openings), then every building re-mapped to a field whose
    valves stand at the network file's openings (commissioned), and back to automatic.

    The mapping is made in manual mode: each subentry change may reload the entry, and a
    reload's first cycle would regulate a half-mapped field on readings it never refreshes
    (the test's field advances only in ``field_cycles``)."""
    network = load_network("estate12")
    hass.states.async_set(OUTDOOR, str(network.design.outdoor_c), {"unit_of_measurement": "°C"})
    entry = await add_network(hass, options={"algorithm": algorithm})
    await cycles(hass, entry, demo_cycles)
    sim = entry.runtime_data.coordinator.simulator
    demo_moved = [
        iid
        for iid, inlet in network.inlets.items()
        if abs(float(sim.openings[sim.ids.index(iid)]) - inlet.device.opening) > 0.3
    ]
    assert demo_moved  # the demo left valves far from where the field's stand
    options = {"outdoor_entity": OUTDOOR, "mode": "manual"}
    hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
    await hass.async_block_till_done()
    return entry, await async_field_in_auto(hass, entry, network, instruments)


async def test_remapped_valves_without_position_move_within_the_step_limit(
    hass: HomeAssistant,
) -> None:
    """After the demo plant regulated, the inlets are mapped to real valves that report no
    position: the controller assumes each at its configured opening (flagged), not where the
    demo's valve stood, so no move exceeds the step limit from the real valve's position;
    the learnt estimates restart; at least 11 of 12 buildings are in band after 6 cycles."""
    entry, field = await demo_then_field(hass, Instruments(noise=0.01, position=False))
    shares = await field_cycles(hass, entry, field, 6)
    assert field.moves
    assert not outside_limits(field, entry), field.moves
    coordinator = entry.runtime_data.coordinator
    shown = hass.states.get("valve.b001_balancing_valve")
    assert shown.attributes["estimated"] is True  # the position is assumed, and says so
    assert all(r.reading.opening is None for r in coordinator.data.inlets.values())
    # 11 of 12 on HA 2025 (12 on 2026): the network model keeps the demo's positions of
    # valves without feedback until commands move them (see docs/integration.md)
    assert shares[-1] >= 11 / 12 - 1e-9, shares


@pytest.mark.parametrize(("algorithm", "band_from"), [("ai", 8), ("traditional", 10)])
async def test_lost_readings_and_valves_without_position_reach_the_band(
    hass: HomeAssistant, algorithm: str, band_from: int
) -> None:
    """Issue 10 item 8 on an imperfect plant: 30 % of the inlets' readings unavailable each
    cycle, 1 % noise, valves without position, mapped after the demo regulated. Every
    building is truly in the intermediate band from cycle ``band_from`` (measured: AI 2–7,
    PI 7–10 over three seeds), valves move ≤0.2 times per inlet per cycle once there, no
    command leaves the safety limits, and the missing feedback is no lost transmission."""
    entry, field = await demo_then_field(
        hass, Instruments(noise=0.01, missing=0.3, position=False), algorithm
    )
    moves: list[int] = []
    shares = await field_cycles(hass, entry, field, 12, moves)
    assert all(share == 1.0 for share in shares[band_from - 1 :]), shares
    settled = moves[band_from - 1 :]
    assert sum(settled) / (len(field.inlets) * len(settled)) <= 0.2, moves
    assert not outside_limits(field, entry), field.moves
    for iid, result in entry.runtime_data.coordinator.data.inlets.items():
        assert result.reading.opening is None  # nothing invented as feedback
        assert result.reading.attempted == 4, iid  # flow, supply, return, room: not the valve


async def test_confirmed_proposal_is_limited_from_where_a_valve_was_moved_by_hand(
    hass: HomeAssistant,
) -> None:
    """Manual mode: "Balance now" shows a proposal; the operator then moves a valve by hand
    far from where the proposal started; "Confirm proposal" does not swing that valve
    further than the step limit from where it now stands (§5.3.6-3, §5.3.6-6), and every
    other valve gets what was shown."""
    entry = await add_network(hass, options={"algorithm": "ai", "mode": "manual"})
    coordinator = entry.runtime_data.coordinator
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.estate12_balance_now"}, blocking=True
    )
    shown = dict(coordinator.data.commands)
    assert "B001" in shown
    step = coordinator.settings.max_step_pct / 100
    by_hand = 100 if shown["B001"] < 0.5 else coordinator.settings.min_opening_pct
    await hass.services.async_call(
        "valve",
        "set_valve_position",
        {"entity_id": "valve.b001_balancing_valve", "position": by_hand},
        blocking=True,
    )
    sim = coordinator.simulator
    assert float(sim.openings[sim.ids.index("B001")]) == by_hand / 100
    assert abs(shown["B001"] - by_hand / 100) > step  # the proposal would jump
    await hass.services.async_call(
        "heatbalance", "confirm_proposal", {"config_entry_id": entry.entry_id}, blocking=True
    )
    b001 = float(sim.openings[sim.ids.index("B001")])
    assert abs(b001 - by_hand / 100) <= step + 1e-9
    for iid, opening in shown.items():
        if iid != "B001":
            assert float(sim.openings[sim.ids.index(iid)]) == pytest.approx(opening)


@pytest.mark.parametrize("algorithm", ["ai", "traditional"])
async def test_removing_and_adding_a_real_inlet_replans_within_the_limits(
    hass: HomeAssistant, algorithm: str
) -> None:
    """Issue 10 item 5 on real sources: a building mapped to a valve without position is
    removed while regulating — its valve receives nothing more and the others keep moving
    into the band (no stall); mapped again to the same devices, its first moves start from
    where its last command left it (not from the configured opening) within the step limit,
    and every building is in band again."""
    entry, field = await demo_then_field(hass, Instruments(noise=0.01, position=False), algorithm)
    await field_cycles(hass, entry, field, 10)
    sub = next(s for s in entry.subentries.values() if s.unique_id == "B005")
    assert hass.config_entries.async_remove_subentry(entry, sub.subentry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert "B005" not in coordinator.inlets
    model = coordinator.simulator  # the network model keeps the valve where it was left
    assert float(model.openings[model.ids.index("B005")]) == pytest.approx(
        field.commanded["B005"], abs=SLACK
    )
    before = len(field.moves)
    shares = await field_cycles(hass, entry, field, 6)
    assert not [m for m in field.moves[before:] if m[0] == "B005"]  # nothing reaches it
    assert shares[-1] >= 11 / 12 - 1e-9, shares  # B005 is left where it was
    hass.config_entries.async_add_subentry(entry, sub)
    await hass.async_block_till_done()
    assert "B005" in entry.runtime_data.coordinator.inlets
    shares = await field_cycles(hass, entry, field, 8)
    assert shares[-1] == 1.0, shares
    assert not outside_limits(field, entry), field.moves
