"""Issue 12: the network view shows the archive's history (§5.2.4-5) in a real browser.

The operator picks an inlet, a signal and a time range in the panel; the panel asks the
integration's ``history`` action and draws a chart and a table. The test compares what is on
screen with the rows of the SQLite archive file itself, read beside the running HA.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.heatbalance.engine.archive import Archive
from custom_components.heatbalance.records import ARCHIVE_FILE

from .conftest import browser_page
from .ha_instance import RunningHA, wait_until
from .test_network_view import PANEL, open_view, view_data

SIGNAL = "flow_m3h"


def _archived(ha: RunningHA, entry_id: str, inlet: str, start: float, end: float) -> list[dict]:
    archive = Archive(f"sqlite:///{ha.config / ARCHIVE_FILE}")
    try:
        return archive.history(entry_id, inlet, [SIGNAL], start, end)
    finally:
        archive.close()


async def test_operator_reads_an_inlets_archived_history(ha: RunningHA, artifacts: Path) -> None:
    """Inlet, signal and range picked in the panel; the chart and the table show the archive
    file's rows for them, value for value."""
    entry_id = ha.entries["estate12"]
    inlet = (await view_data(ha, entry_id))["topology"]["inlets"][2]["id"]
    # minutes: datetime-local's unit; the range runs on past now, so new cycles join it
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)
    start = end - timedelta(hours=2)
    wait_until(  # HA may have just started: a few cycles (one every 10 s) in the archive
        lambda: len(_archived(ha, entry_id, inlet, start.timestamp(), end.timestamp())) >= 3,
        90.0,
        "three archived cycles",
    )
    async with browser_page(ha, timezone_id="UTC") as page:
        await open_view(page, ha, "estate12")
        panel = page.locator(PANEL)
        form = panel.locator(".archive-form")
        await form.locator("select[name=inlet]").select_option(inlet)
        await form.locator("select[name=signal]").select_option(SIGNAL)
        await form.locator("input[name=start]").fill(start.strftime("%Y-%m-%dT%H:%M"))
        await form.locator("input[name=end]").fill(end.strftime("%Y-%m-%dT%H:%M"))
        await form.locator("button[data-action=archive]").click()
        result = panel.locator(f".archive-result[data-archive-signal={SIGNAL}]")
        await result.wait_for(timeout=30_000)
        shown_rows = int(await result.get_attribute("data-archive-rows") or 0)
        assert await result.get_attribute("data-archive-inlet") == inlet
        times = await result.locator("tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.archiveTime)"
        )
        values = await result.locator("tbody td[data-value]").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )
        points = int(await result.locator("figure[data-chart=archive]").get_attribute(
            "data-points") or 0)  # fmt: skip
        await result.scroll_into_view_if_needed()
        await page.screenshot(path=artifacts / "archive-history.png", full_page=True)
    # the archive file's rows up to the newest shown: cycles after the query are not on screen
    newest = datetime.fromisoformat(times[0]).timestamp()
    rows = _archived(ha, entry_id, inlet, start.timestamp(), newest + 1e-3)
    assert len(rows) >= 3  # real archived cycles
    assert shown_rows == len(rows)
    assert 0 < points <= len(rows)
    latest = rows[::-1][: len(times)]  # the table lists the newest first
    assert len(times) == min(200, len(rows))
    for row, shown_at, value in zip(latest, times, values, strict=True):
        assert datetime.fromisoformat(shown_at).timestamp() == pytest.approx(row["ts"], abs=1e-3)
        assert value != "null"
        assert float(value) == pytest.approx(row[SIGNAL], abs=1e-9)
