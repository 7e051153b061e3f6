"""Issue 10 item 3: the network view marks the values the engine estimated.

loop8's demo plant loses 40 % of its readings (the options' simulated dropout, §6.0.6): the
engine fills a lost flow, temperature or valve position with its prediction, and the
integration says which (``estimated`` in the view's data, ``estimated: true`` on the
entities). The test reads, for one and the same cycle, the view's data over the websocket and
the panel in Chromium: every estimated value is drawn "≈ value" in italics with the reason as
its tooltip, no measured value is, and the legend explains the mark — in English and in
Chinese.
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
DROPOUT_PCT = 40
COLUMNS = ("flow_dev", "return_c", "opening", "dp_kpa")  # the table's value columns


def _lose_readings(ha: RunningHA, entry_id: str) -> None:
    """The options flow (REST, as the UI sends it): 40 % of the demo's readings lost."""
    step = develop_onboard.request(
        "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}, ha.token
    )
    answer: dict[str, Any] = {f["name"]: {} for f in step.get("data_schema", [])}
    answer["timing"] = {"simulated_dropout": DROPOUT_PCT}
    step = develop_onboard.request(
        "POST", f"/api/config/config_entries/options/flow/{step['flow_id']}", answer, ha.token
    )
    assert step.get("type") == "create_entry", step


def _estimated(live: dict[str, Any]) -> dict[str, set[str]]:
    """Per inlet, the table columns the integration says show an estimate."""
    return {
        iid: {c for c in row.get("estimated", []) if c in COLUMNS and row[c] is not None}
        for iid, row in live["inlets"].items()
    }


async def _marked(page: Any) -> dict[str, Any]:
    """What the panel marks: per table row the estimated cells (text, style, tooltip), the
    topology's estimated values, and the legend's explanation."""
    return await page.evaluate(
        f"""(name) => {{
        const shadow = ({FIND_PANEL})(name).shadowRoot;
        const rows = {{}};
        for (const tr of shadow.querySelectorAll('tbody tr[data-row]')) {{
          rows[tr.dataset.row] = [...tr.querySelectorAll('td[data-estimated]')].map((td) => [
            td.dataset.estimated, td.textContent.trim(), getComputedStyle(td).fontStyle, td.title,
          ]);
        }}
        const graph = [...shadow.querySelectorAll('g.inlet tspan.estimated')].map(
          (s) => [s.closest('g.inlet').dataset.inlet, s.dataset.estimated, s.textContent]);
        const legend = shadow.querySelector('.legend [data-legend=estimated]');
        return {{rows, graph, legend: legend ? [legend.textContent, legend.title] : null}};
    }}""",
        PANEL,
    )


def _estimated_heat(history: list[dict[str, Any]]) -> int:
    """The view's history points whose network heat was the engine's estimate."""
    return sum(p.get("heat_estimate_kw") is not None for p in history)


def _actual_runs(history: list[dict[str, Any]]) -> int:
    """The actual heat line's pieces: one per run of measured cycles."""
    return sum(
        1
        for before, p in zip([None, *history], history, strict=False)
        if p["heat_kw"] is not None and (before is None or before["heat_kw"] is None)
    )


async def _heat_chart(page: Any) -> dict[str, Any]:
    """The heat chart's estimate and actual paths, the estimate's dash, the legend."""
    return await page.evaluate(
        f"""(name) => {{
        const fig = ({FIND_PANEL})(name).shadowRoot.querySelector('[data-chart=forecast]');
        const path = (key) => fig.querySelector(`path[data-series=${{key}}]`);
        const est = path('heat_estimate_kw'), actual = path('heat_kw');
        return {{
          dash: est && est.getAttribute('stroke-dasharray'),
          estimate: est ? est.getAttribute('d') : '',
          actual: actual ? actual.getAttribute('d') : '',
          legend: [...fig.querySelectorAll('figcaption span')].map((s) => s.textContent),
        }};
    }}""",
        PANEL,
    )


async def _same_cycle(page: Any, ha: RunningHA, entry_id: str) -> tuple[dict, dict]:
    """The view's data and the panel's marks for one cycle that estimated something."""
    for _ in range(120):
        truth = await view_data(ha, entry_id)
        marked = await _marked(page)
        if await shown_time(page) == truth["live"]["time_s"] and any(
            _estimated(truth["live"]).values()
        ):
            return truth, marked
        await asyncio.sleep(0.5)
    raise AssertionError("no cycle with an estimated value on screen within 60 s")


async def test_estimated_values_are_marked(ha: RunningHA, artifacts: Path) -> None:
    """Every value the integration flags estimated is marked on screen, and only those.

    The heat chart on the same page (issue 10 item 3): a cycle whose network heat was the
    engine's estimate (an inlet's reading lost) is no point of the actual line — that line
    breaks there — and its estimate is drawn ≈, dashed, with its own legend entry. (Checked
    here, on the page and cycles this test waits for anyway: its own test started a second
    browser and waited for cycles again, ≈2.7 min of CI per run.)"""
    entry_id = ha.entries.get(NETWORK) or ha.add_network(NETWORK)
    _lose_readings(ha, entry_id)
    for _ in range(60):  # the engine fills lost readings once it has seen them: a few cycles
        history = (data := await view_data(ha, entry_id))["history"]
        if any(_estimated(data["live"]).values()) and _estimated_heat(history) >= 2:
            break
        await asyncio.sleep(2.0)
    else:
        raise AssertionError("no estimated value, or no two cycles with estimated heat, in 120 s")
    runs = _actual_runs(history)
    async with browser_page(ha) as page:
        await open_view(page, ha, NETWORK)
        truth, marked = await _same_cycle(page, ha, entry_id)
        expected = _estimated(truth["live"])
        for iid, columns in expected.items():
            cells = marked["rows"][iid]
            assert {c[0] for c in cells} == columns, iid
            for column, text, style, tooltip in cells:
                value = truth["live"]["inlets"][iid][column]
                assert text == f"≈ {value:g}" or text == f"≈ {value}", (iid, column, text)
                assert style == "italic"
                assert "not measured" in tooltip
        graph = {(iid, key) for iid, key, _ in marked["graph"]}
        assert graph == {  # the topology draws flow deviation, return and position
            (iid, c) for iid, cols in expected.items() for c in cols if c != "dp_kpa"
        }
        assert all(text.startswith("≈") for _, _, text in marked["graph"])
        assert marked["legend"][0] == "≈ estimated, not measured"
        row = next(iid for iid, cols in expected.items() if cols)
        await page.locator(PANEL).locator(f'tr[data-row="{row}"]').scroll_into_view_if_needed()
        await page.screenshot(path=artifacts / "view-estimated.png", full_page=True)
        chart = await _heat_chart(page)
        await page.screenshot(path=artifacts / "view-estimated-heat.png", full_page=True)
        assert chart["dash"] == "4 3"
        assert chart["estimate"].count("M") + chart["estimate"].count("L") >= 2
        assert "≈ estimated" in chart["legend"]
        assert chart["actual"].count("M") >= min(runs, 2)  # the panel's history holds those runs
    async with browser_page(ha) as page:  # the same marks in Chinese
        await page.evaluate("localStorage.setItem('selectedLanguage', JSON.stringify('zh-Hans'))")
        await open_view(page, ha, NETWORK)
        await page.reload()
        await page.wait_for_selector(f"{PANEL}[data-rendered]", timeout=60_000)
        _, marked = await _same_cycle(page, ha, entry_id)
        assert marked["legend"][0] == "≈ 估算值，非实测"
        assert "非实测" in marked["legend"][1]
        tips = {c[3] for cells in marked["rows"].values() for c in cells}
        assert tips
        assert all("非实测" in tip for tip in tips)
        await page.screenshot(path=artifacts / "view-estimated-zh.png", full_page=True)
