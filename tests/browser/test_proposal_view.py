"""Issue 10 item 5 (§5.3.6-6, §5.3.5-2): the manual proposal in the network view.

In manual mode every cycle computes a proposal and moves nothing until the operator confirms
it. The panel shows that proposal in one card: the pump's proposed speed beside the openings
of the valves that would move (now → proposed; "no valve moves" when none would) and the
button that sends exactly this. The test switches loop8
to the model-based controller in manual mode (the select entities, as an operator does),
reads one cycle's proposal from the view's websocket data and from the panel in Chromium —
the same speed and openings, in English and in Chinese — confirms it from the panel, and
puts the network back as it found it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import develop_onboard

from .conftest import browser_page
from .ha_instance import RunningHA
from .test_network_view import FIND_PANEL, PANEL, open_view, shown_time, view_data

NETWORK = "loop8"


def _select(ha: RunningHA, suffix: str, option: str) -> str:
    """Set the network's select entity ending in ``suffix``; returns the option it had."""
    states = develop_onboard.request("GET", "/api/states", None, ha.token)
    (state,) = [s for s in states if s["entity_id"] == f"select.{NETWORK}_{suffix}"]
    develop_onboard.request(
        "POST",
        "/api/services/select/select_option",
        {"entity_id": state["entity_id"], "option": option},
        ha.token,
    )
    return str(state["state"])


def _set_level(ha: RunningHA, entry_id: str, level: str | None) -> str:
    """The options flow (REST, as the UI sends it): the control level (the pump's speed is
    the model-based controller's at the advanced level); returns the level it had."""
    step = develop_onboard.request(
        "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}, ha.token
    )
    sections = step.get("data_schema", [])
    answer: dict[str, Any] = {f["name"]: {} for f in sections}
    (control,) = [f for f in sections if f["name"] == "control"]
    (field,) = [f for f in control["schema"] if f["name"] == "level"]
    answer["control"] = {"level": level or field["default"]}
    step = develop_onboard.request(
        "POST", f"/api/config/config_entries/options/flow/{step['flow_id']}", answer, ha.token
    )
    assert step.get("type") == "create_entry", step
    return str(field["default"])


# the proposal card as drawn: title, pump tile, count of moving valves, rows (inlet →
# proposed opening), the "no valve moves" line; null when there is no card
READ_CARD = f"""(name) => {{
    const card = ({FIND_PANEL})(name).shadowRoot.querySelector('[data-proposal]');
    if (!card) return null;
    const pump = card.querySelector('[data-proposed-pump]');
    const rows = {{}};
    for (const tr of card.querySelectorAll('tr[data-proposed]')) {{
      rows[tr.dataset.proposed] = tr.querySelector('td[data-value=command]').textContent.trim();
    }}
    const none = card.querySelector('[data-no-moves]');
    const held = card.querySelector('[data-held-by-hand]');
    const heldRows = {{}};
    for (const tr of card.querySelectorAll('tr[data-held]')) {{
      heldRows[tr.dataset.held] = tr.querySelector('td[data-value=planned]').textContent.trim();
    }}
    return {{
      title: card.querySelector('h2').textContent.trim(),
      pumpLabel: pump.querySelector('span').textContent.trim(),
      pump: pump.querySelector('b').textContent.trim(),
      moving: card.querySelector('[data-moving] b').textContent.trim(),
      rows,
      noMoves: none ? none.textContent.trim() : null,
      button: card.querySelector('button[data-action=confirm_proposal]').textContent.trim(),
      held: held ? held.querySelector('h3').textContent.trim() : null,
      heldRows,
    }};
}}"""


async def _open_view_in_chinese(page: Any, ha: RunningHA) -> None:
    """Open the network view with HA's language set to Chinese and wait for the panel."""
    await page.evaluate("localStorage.setItem('selectedLanguage', JSON.stringify('zh-Hans'))")
    await open_view(page, ha, NETWORK)
    await page.reload()
    await page.wait_for_selector(f"{PANEL}[data-rendered]", timeout=60_000)


async def _card(page: Any) -> dict[str, Any] | None:
    """The proposal card as drawn (:data:`READ_CARD`)."""
    return await page.evaluate(READ_CARD, PANEL)


async def _card_of(page: Any, live: dict[str, Any]) -> dict[str, Any]:
    """The card the panel draws for ``live`` (a cycle's view data, changed by the test),
    read before the next cycle's data can replace it."""
    return await page.evaluate(
        f"""async ([name, live]) => {{
        const panel = ({FIND_PANEL})(name);
        panel._view = {{ ...panel._view, live }};
        await panel.updateComplete;
        return ({READ_CARD})(name);
    }}""",
        [PANEL, live],
    )


async def _same_cycle(page: Any, ha: RunningHA, entry_id: str) -> tuple[dict, dict]:
    """The view's data and the drawn card for one cycle that proposes a pump speed."""
    for _ in range(120):
        live = (await view_data(ha, entry_id))["live"]
        card = await _card(page)
        if (
            live["proposal"]
            and live["pump_command"] is not None
            and card is not None
            and await shown_time(page) == live["time_s"]
        ):
            return live, card
        await asyncio.sleep(0.5)
    raise AssertionError("no cycle with a proposed pump speed on screen within 60 s")


async def _next_cycle(page: Any, time_s: float) -> None:
    """Wait until the panel draws a cycle after ``time_s``."""
    for _ in range(120):
        if await shown_time(page) != time_s:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("no new cycle drawn within 60 s")


def _proposed(live: dict[str, Any]) -> dict[str, str]:
    """The openings the integration proposes for the valves that would move (the proposed
    opening not the one the valve has, to the 0.1 % sent), as the card prints them."""
    return {
        iid: _text(row["command"])
        for iid, row in live["inlets"].items()
        if row["command"] is not None and row["command"] != row["opening"]
    }


def _text(value: float | int) -> str:
    """A figure as the card prints it (JavaScript's number to text)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _held_but(live: dict[str, Any], moving: set[str]) -> dict[str, Any]:
    """``live`` with every valve's proposed opening its opening now, but ``moving``'s."""
    inlets = {
        iid: row if iid in moving else {**row, "command": row["opening"]}
        for iid, row in live["inlets"].items()
    }
    return {**live, "inlets": inlets}


async def _only_moves_listed(page: Any, live: dict[str, Any]) -> None:
    """The card lists the valves that would move and no other: the cycle's proposal with
    all valves but one proposed where they stand, then with none moving."""
    movable = sorted(i for i, r in live["inlets"].items() if r["opening"] is not None)
    one = movable[0]
    opening = live["inlets"][one]["opening"]
    moved = {**live["inlets"][one], "command": round(opening + (5.0 if opening < 50 else -5.0), 1)}
    live = {**live, "inlets": {**live["inlets"], one: moved}}
    card = await _card_of(page, _held_but(live, {one}))
    assert card["rows"] == {one: f"{moved['command']:g}"}
    assert (card["moving"], card["noMoves"]) == ("1", None)
    card = await _card_of(page, _held_but(live, set()))
    assert (card["rows"], card["moving"]) == ({}, "0")
    assert card["noMoves"] == "No valve moves in this proposal."


async def test_the_proposal_shows_the_pump_speed_beside_the_openings(
    ha: RunningHA, artifacts: Path
) -> None:
    """The card shows the cycle's proposed pump speed (``pump_command``, %) and every
    proposed opening, with the button that confirms them; absent in automatic mode; in
    Chinese too. Confirmed from the panel, the card goes for that cycle."""
    entry_id = ha.entries.get(NETWORK) or ha.add_network(NETWORK)
    level = _set_level(ha, entry_id, "advanced")
    algorithm = _select(ha, "algorithm", "ai")
    mode = _select(ha, "regulation_mode", "manual")
    try:
        async with browser_page(ha) as page:
            await open_view(page, ha, NETWORK)
            live, card = await _same_cycle(page, ha, entry_id)
            assert card["title"] == "Manual proposal: nothing moves until you confirm"
            assert card["pumpLabel"] == "Pump speed (proposed)"
            assert card["pump"] == f"{live['pump_command']:g} %" or card["pump"] == (
                f"{live['pump_command']} %"
            )
            assert card["rows"] == _proposed(live)
            assert card["moving"] == str(len(_proposed(live)))
            assert card["button"] == "Confirm proposal"
            await _only_moves_listed(page, live)
            await _next_cycle(page, live["time_s"])  # the cycle's own data again
            live, card = await _same_cycle(page, ha, entry_id)
            await page.locator(PANEL).locator("[data-proposal]").scroll_into_view_if_needed()
            await page.screenshot(path=artifacts / "view-proposal.png", full_page=True)
            before = await shown_time(page)
            await page.locator(PANEL).locator("button[data-action=confirm_proposal]").click()
            await page.wait_for_function(
                f"""(name) => {{
                const shadow = ({FIND_PANEL})(name).shadowRoot;
                const m = shadow.querySelector('.message');
                return m && m.textContent.trim() === 'Done.';
            }}""",
                arg=PANEL,
            )
            if await shown_time(page) == before:  # no new cycle proposed again meanwhile
                assert await _card(page) is None
        async with browser_page(ha) as page:
            await _open_view_in_chinese(page, ha)
            live, card = await _same_cycle(page, ha, entry_id)
            assert card["title"] == "手动模式提议：确认前不动作"
            assert card["pumpLabel"] == "水泵转速（提议）"
            assert card["button"] == "确认提议"
            assert card["rows"] == _proposed(live)
            await page.screenshot(path=artifacts / "view-proposal-zh.png", full_page=True)
    finally:
        _select(ha, "regulation_mode", mode)
        _select(ha, "algorithm", algorithm)
        _set_level(ha, entry_id, level)
    async with browser_page(ha) as page:  # automatic again: no proposal card
        await open_view(page, ha, NETWORK)
        for _ in range(60):
            live = (await view_data(ha, entry_id))["live"]
            if live["auto"] and await shown_time(page) == live["time_s"]:
                break
            await asyncio.sleep(0.5)
        assert not live["proposal"]
        assert await _card(page) is None


def _inlet_entity(ha: RunningHA, entry_id: str, inlet_id: str, key: str) -> str:
    """The entity id of an inlet's entity (``key``: its description's key)."""
    registry = ha.ws({"type": "config/entity_registry/list"})[0]["result"]
    (entity_id,) = [
        e["entity_id"] for e in registry if e["unique_id"] == f"{entry_id}_{inlet_id}_{key}"
    ]
    return str(entity_id)


def _service(ha: RunningHA, domain: str, service: str, data: dict[str, Any]) -> None:
    develop_onboard.request("POST", f"/api/services/{domain}/{service}", data, ha.token)


def _confirm(ha: RunningHA, entry_id: str) -> dict[str, Any]:
    """``heatbalance.confirm_proposal`` as the owner; its response (what went out)."""
    (answer,) = ha.ws(
        {
            "type": "call_service",
            "domain": "heatbalance",
            "service": "confirm_proposal",
            "service_data": {"config_entry_id": entry_id},
            "return_response": True,
        }
    )
    assert answer["success"], answer
    return dict(answer["result"]["response"])


async def _held_on_screen(
    page: Any, ha: RunningHA, entry_id: str, inlet_id: str, opening: float
) -> tuple[dict, dict]:
    """The view's data and the drawn card of one cycle that proposes, with ``inlet_id``'s
    valve where the operator put it by hand (``opening`` %) and the plan's opening for it
    elsewhere — the case the old card listed among the valves that would move."""
    for _ in range(120):
        live = (await view_data(ha, entry_id))["live"]
        row = live["inlets"][inlet_id]
        plan = row.get("planned", row["command"])  # the old data had it as ``command``
        card = await _card(page)
        if (
            live["proposal"]
            and row["opening"] == opening
            and plan is not None
            and plan != opening
            and card is not None
            and await shown_time(page) == live["time_s"]
        ):
            return live, card
        await asyncio.sleep(0.5)
    raise AssertionError(f"no proposal with {inlet_id} held at {opening} % on screen within 60 s")


async def test_a_valve_held_by_hand_is_listed_apart_and_never_sent(
    ha: RunningHA, artifacts: Path
) -> None:
    """§5.3.6-6: in manual mode an inlet whose own automatic switch is off is held by hand;
    "Confirm proposal" never sends its valve. The card lists it apart, under "held by hand"
    with the opening the plan counted on, not among the valves that would move (the old
    card did, as the view's data gave its plan as its ``command``): the valves the card says
    move are those confirming sends. In Chinese too."""
    entry_id = ha.entries.get(NETWORK) or ha.add_network(NETWORK)
    live = (await view_data(ha, entry_id))["live"]
    held = sorted(i for i, r in live["inlets"].items() if r["opening"] is not None)[0]
    switch = _inlet_entity(ha, entry_id, held, "auto")
    valve = _inlet_entity(ha, entry_id, held, "balancing_valve")
    algorithm = _select(ha, "algorithm", "ai")
    mode = _select(ha, "regulation_mode", "manual")
    try:
        _service(ha, "switch", "turn_off", {"entity_id": switch})
        # by hand, away from where the plan wants it: the plan proposes another opening
        by_hand = 30 if live["inlets"][held]["opening"] > 60 else 90
        _service(ha, "valve", "set_valve_position", {"entity_id": valve, "position": by_hand})
        async with browser_page(ha) as page:
            await open_view(page, ha, NETWORK)
            live, card = await _held_on_screen(page, ha, entry_id, held, by_hand)
            row = live["inlets"][held]
            assert held not in card["rows"]  # the old card listed it: its plan in ``command``
            assert (row["hand"], row["command"]) == (True, None)  # nothing to send for it
            assert card["rows"] == _proposed(live)
            assert card["moving"] == str(len(card["rows"]))
            assert card["held"] == "Held by hand: confirming does not move these valves"
            assert card["heldRows"] == {held: _text(row["planned"])}
            await page.locator(PANEL).locator("[data-held-by-hand]").scroll_into_view_if_needed()
            await page.screenshot(path=artifacts / "view-proposal-held.png", full_page=True)
            sent = _confirm(ha, entry_id)
            assert held not in sent["openings"]
            if (await view_data(ha, entry_id))["live"]["time_s"] == live["time_s"]:
                # the proposal on screen was the one confirmed: the card's moves went out
                drawn = {iid: float(text) for iid, text in card["rows"].items()}
                assert {iid: sent["openings"][iid] for iid in drawn} == drawn
        async with browser_page(ha) as page:
            await _open_view_in_chinese(page, ha)
            live, card = await _held_on_screen(page, ha, entry_id, held, by_hand)
            assert card["held"] == "手动保持：确认提议时这些阀门不动作"
            assert held in card["heldRows"]
            assert held not in card["rows"]
            await page.screenshot(path=artifacts / "view-proposal-held-zh.png", full_page=True)
    finally:
        _service(ha, "switch", "turn_on", {"entity_id": switch})
        _select(ha, "regulation_mode", mode)
        _select(ha, "algorithm", algorithm)
