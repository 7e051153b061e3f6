"""Issue 14 goal: an operator onboards a 40-building network from an XLSX building list.

The list holds what a small operator has — names, heated areas, the order along the street,
no pipe data. In Chromium the operator opens "Add integration → heatbalance", uploads the
list, submits, and finishes; the network is estimated (engine/building_list.py) and its
simulated plant balances itself into the intermediate band (§8.2.3). The person-steps are
timed from the script's own actions (page loads and HA's answers included, the waiting for
the plant to balance not: nobody watches that). Screenshots go to docs/onboarding.md.

What this does NOT show (see the issue's closing note): the simulated plant in HA runs on
the estimated network itself, not on an unseen "true" one; balancing against a plant whose
pipes differ by ±50 % is measured in benchmarks/bench_building_list.py.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl

from .conftest import async_api, browser_page
from .ha_instance import RunningHA, wait_until

BUILDINGS = 40
GOAL_S = 300.0  # a person onboards in ≤5 minutes


def building_list(path: Path) -> None:
    """40 buildings: name, heated area, order along the street; no pipes, no loads."""
    rng = np.random.default_rng(14)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Buildings"
    sheet.append(["name", "heated_area_m2", "order"])
    for k in range(1, BUILDINGS + 1):
        sheet.append([f"Street {k}", int(rng.uniform(1500, 9000)), k])
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())


async def open_add_dialog(page: Any, ha: RunningHA, artifacts: Path) -> None:
    """Add integration → heatbalance, as the "add" link of the integrations page opens it.

    Headless Chromium may close the first dialog of a page at once (FACTS.md); then the
    link is followed again.
    """
    upload = page.locator("dialog-data-entry-flow input[type=file]")
    for attempt in range(3):
        await page.goto(ha.url + "/config/integrations/dashboard/add?domain=heatbalance")
        try:  # "Do you want to set up heatbalance?" — OK
            await page.get_by_role("button", name="OK").click(timeout=20_000)
            await upload.wait_for(state="attached", timeout=20_000)
            return
        except async_api.TimeoutError:
            await page.screenshot(path=artifacts / f"onboarding-open-attempt{attempt}.png")
    raise AssertionError("the heatbalance config flow dialog did not open")


class Steps:
    """The person-steps and how long each took."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []
        self._start = time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        self.times.append((what, now - self._start))
        self._start = now

    @property
    def total_s(self) -> float:
        return sum(t for _w, t in self.times)


async def test_onboard_a_building_list_from_xlsx(
    ha: RunningHA, artifacts: Path, tmp_path: Path
) -> None:
    xlsx = tmp_path / "street40.xlsx"
    building_list(xlsx)
    steps = Steps()
    async with browser_page(ha) as page:
        steps.done("log in")
        dialog = page.locator("dialog-data-entry-flow")
        await open_add_dialog(page, ha, artifacts)
        await page.screenshot(path=artifacts / "onboarding-1-form.png")
        steps.done("open Add integration → heatbalance")
        await dialog.locator("input[type=file]").set_input_files(str(xlsx))
        await dialog.get_by_text("street40.xlsx").first.wait_for()
        await page.screenshot(path=artifacts / "onboarding-2-uploaded.png")
        steps.done("choose the XLSX building list")
        await dialog.get_by_role("button", name="Submit").click()
        await dialog.get_by_text("street40").first.wait_for()
        await dialog.get_by_role("button", name="Finish").wait_for(timeout=120_000)
        await page.screenshot(path=artifacts / "onboarding-3-created.png")
        steps.done("submit, the network is estimated and created")
        await dialog.get_by_role("button", name="Finish").click()
        steps.done("finish")
    entries = ha.ws({"type": "config_entries/get", "domain": "heatbalance"})[0]["result"]
    entry = next(e for e in entries if e["title"] == "street40")
    registry = ha.ws({"type": "config/entity_registry/list"})[0]["result"]
    in_band = next(
        r["entity_id"]
        for r in registry
        if r["config_entry_id"] == entry["entry_id"]
        and r["entity_id"].endswith("in_band")
        and r["entity_id"].startswith("sensor.")
    )
    devices = ha.ws({"type": "config/device_registry/list"})[0]["result"]
    ours = [d for d in devices if entry["entry_id"] in d["config_entries"]]
    assert len(ours) >= BUILDINGS  # a device per building (plus the network's)

    def share() -> float | None:
        state = ha.ws({"type": "get_states"})[0]["result"]
        value = next((s["state"] for s in state if s["entity_id"] == in_band), None)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    started = time.monotonic()
    wait_until(lambda: (share() or 0.0) >= 100.0, 300, "the intermediate band", every_s=5)
    balanced_s = time.monotonic() - started
    report = {
        "person_steps_s": [(w, round(t, 1)) for w, t in steps.times],
        "person_total_s": round(steps.total_s, 1),
        "balanced_after_s": round(balanced_s, 1),
    }
    (artifacts / "onboarding-timing.json").write_text(json.dumps(report, indent=1))
    print(report)
    assert steps.total_s <= GOAL_S, report
