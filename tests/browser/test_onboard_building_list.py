"""Issue 14 goal: an operator onboards a 40-building network from an XLSX building list.

The list holds what a small operator has — names, heated areas, the order along the street,
no pipe data. In Chromium the operator opens "Add integration → heatbalance", uploads the
list, submits, and finishes; the network is estimated (engine/building_list.py). Then the
fitter commissions it (§7.2.5, §7.2.6): "Add commissioning record" on the network, every
inlet's presetting shown, each ticked as set, names entered, the record stored.

The simulated plant is *not* the estimate: HA runs in development mode for true plants
(custom_components/heatbalance/true_plant.py) and this test writes the street's "true"
network before the upload — every pipe's resistance drawn from 0.5…1.5 × the estimate, each
building's circuit drop from 0.5…1.5 ×, each building's size (load, area, envelope) from
0.8…1.2 ×. The controller knows only the estimate and must bring the true plant into the
intermediate band (§8.2.3). The person-steps are timed from the script's own actions (page
loads and HA's answers included, the waiting for the plant to balance not: nobody watches
that). Screenshots go to docs/onboarding.md.
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import develop_onboard
import numpy as np
import openpyxl
from develop_true_plant import model_of, write_true_plant

from .conftest import TRUE_PLANTS, async_api, browser_page
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


async def commission(page: Any, ha: RunningHA, entry_id: str, artifacts: Path, steps: Any) -> None:
    """The fitter's round: open the record form from the network's ⋮ menu, tick every
    presetting as set on site, sign, submit."""
    await page.goto(
        ha.url + f"/config/integrations/integration/heatbalance#config_entry={entry_id}"
    )
    row = page.locator("ha-config-entry-row").filter(
        has=page.locator("div[slot=headline]", has_text="street40")
    )
    # this HA also holds the 1,200-household demo: once its page is drawn, find the network
    # by name as a person would (a lighter page for the ticks that follow)
    await row.first.wait_for(state="attached", timeout=180_000)
    await page.get_by_placeholder("Search").first.fill("street40", timeout=60_000)
    await row.first.locator("ha-dropdown [slot=trigger]").first.click(timeout=120_000)
    await row.first.locator("ha-dropdown-item[value=subentry_commissioning]").click()
    dialog = page.locator("dialog-data-entry-flow")
    boxes = dialog.locator("ha-checkbox")
    await boxes.nth(BUILDINGS - 1).wait_for(timeout=60_000)
    await page.screenshot(path=artifacts / "onboarding-4-commission.png")
    steps.done("open the network's ⋮ → Add commissioning record")
    assert await boxes.count() == BUILDINGS
    for k in range(BUILDINGS):
        await boxes.nth(k).click()
    names = dialog.locator("ha-textfield input, ha-input input")
    await names.nth(0).fill("Wang (fitter)")
    await names.nth(1).fill("Li (operator)")
    await page.screenshot(path=artifacts / "onboarding-5-ticked.png")
    steps.done(f"tick {BUILDINGS} presettings as set, enter fitter and witness")
    await dialog.get_by_role("button", name="Submit").click()
    await dialog.get_by_text(f"({BUILDINGS}/{BUILDINGS})").first.wait_for(timeout=60_000)
    await page.screenshot(path=artifacts / "onboarding-6-recorded.png")
    await dialog.get_by_role("button", name="Finish").click()
    steps.done("submit: the commissioning record is stored")


def cycles_to_band(ha: RunningHA, since: datetime, in_band: str, energy: str) -> tuple[int, float]:
    """Control cycles from the network's creation until all inlets were first in band.

    Read from HA's history: the network's heat energy grows every cycle, so its recorded
    states count the cycles; the share of inlets in band says when 100 % was first reached.
    """
    path = (
        f"/api/history/period/{quote(since.isoformat())}?filter_entity_id={in_band},{energy}"
        "&minimal_response&no_attributes"
    )

    def recorded() -> dict[str, list[dict[str, str]]] | None:
        """The history once the recorder has committed the first 100 % (HA shows a state
        before its recorder writes it: a query right after can miss it)."""
        got = {s[0]["entity_id"]: s for s in develop_onboard.request("GET", path, None, ha.token)}
        full = any(_number(s["state"]) >= 100.0 for s in got.get(in_band, []))
        return got if full else None

    series = wait_until(recorded, 60, "the recorder to hold the band", every_s=2)
    first = next(
        datetime.fromisoformat(s["last_changed"])
        for s in series[in_band]
        if _number(s["state"]) >= 100.0
    )
    cycles = sum(
        1
        for s in series[energy]
        if _number(s["state"]) >= 0.0 and datetime.fromisoformat(s["last_changed"]) <= first
    )
    return cycles, (first - since).total_seconds()


def _number(state: str) -> float:
    try:
        return float(state)
    except ValueError:
        return -1.0


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
    # the street as it really is; HA reads it as the plant only (development mode)
    true_file = write_true_plant(model_of(str(xlsx)), ha.config / TRUE_PLANTS, seed=14)
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
        created = datetime.now(UTC)
        await dialog.get_by_role("button", name="Finish").click()
        steps.done("finish")
        entries = ha.ws({"type": "config_entries/get", "domain": "heatbalance"})[0]["result"]
        entry = next(e for e in entries if e["title"] == "street40")
        await commission(page, ha, entry["entry_id"], artifacts, steps)
    # the plant HA simulates is the true street, the controller's model the estimate
    assert f"runs the true network {true_file}" in ha.log.read_text()
    listing = {"type": "config_entries/subentries/list", "entry_id": entry["entry_id"]}
    subentries = ha.ws(listing)[0]["result"]
    record = next(s for s in subentries if s["subentry_type"] == "commissioning")
    assert record["title"].endswith(f"({BUILDINGS}/{BUILDINGS})"), record
    exported = sorted((ha.config / "heatbalance" / "export").glob("street40-commissioning-*"))
    body = json.loads(exported[-1].read_text())
    assert len(body["done"]) == BUILDINGS
    assert body["pending"] == []
    assert (body["commissioned_by"], body["witness"]) == ("Wang (fitter)", "Li (operator)")
    registry = ha.ws({"type": "config/entity_registry/list"})[0]["result"]
    network_sensor = {
        r["unique_id"].removeprefix(entry["entry_id"] + "_"): r["entity_id"]
        for r in registry
        if r["config_entry_id"] == entry["entry_id"] and r["entity_id"].startswith("sensor.")
    }
    in_band = network_sensor["share_in_band"]
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

    wait_until(lambda: (share() or 0.0) >= 100.0, 300, "the intermediate band", every_s=5)
    cycles, seconds = cycles_to_band(ha, created, in_band, network_sensor["heat_energy"])
    report = {
        "true_plant": str(true_file),
        "person_steps_s": [(w, round(t, 1)) for w, t in steps.times],
        "person_total_s": round(steps.total_s, 1),
        "band_after_cycles": cycles,
        "band_after_s": round(seconds, 1),
    }
    (artifacts / "onboarding-timing.json").write_text(json.dumps(report, indent=1))
    print(report)
    assert steps.total_s <= GOAL_S, report
