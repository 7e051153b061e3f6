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
    return {{
      title: card.querySelector('h2').textContent.trim(),
      pumpLabel: pump.querySelector('span').textContent.trim(),
      pump: pump.querySelector('b').textContent.trim(),
      moving: card.querySelector('[data-moving] b').textContent.trim(),
      rows,
      noMoves: none ? none.textContent.trim() : null,
      button: card.querySelector('button[data-action=confirm_proposal]').textContent.trim(),
    }};
}}"""


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
        iid: f"{row['command']:g}" if isinstance(row["command"], float) else str(row["command"])
        for iid, row in live["inlets"].items()
        if row["command"] is not None and row["command"] != row["opening"]
    }


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
            await page.evaluate(
                "localStorage.setItem('selectedLanguage', JSON.stringify('zh-Hans'))"
            )
            await open_view(page, ha, NETWORK)
            await page.reload()
            await page.wait_for_selector(f"{PANEL}[data-rendered]", timeout=60_000)
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
