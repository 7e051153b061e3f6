"""The operator's records through Home Assistant: archive, audit trail, history, reports,
signed links and backup hooks (§5.2.6, §5.3.6-7, §5.3.9, §5.3.10)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.heatbalance.backup import (
    async_post_backup,
    async_pre_backup,
    backup_shortfall,
)
from custom_components.heatbalance.const import DOMAIN, EVENT_ALARM
from custom_components.heatbalance.diagnostics import async_get_config_entry_diagnostics
from custom_components.heatbalance.engine.archive import Archive
from custom_components.heatbalance.records import cycle_record, records_of
from custom_components.heatbalance.settings import DEFAULT_OPTIONS

from .conftest import cycles, setup_ha_backup
from .test_balancing import FIELD, _field_devices, _map_b003, _report


async def _flushed(hass: HomeAssistant, entry: ConfigEntry) -> Archive:
    records = records_of(hass, entry.entry_id)
    assert records is not None
    assert await hass.async_add_executor_job(records.writer.flush, 30.0)
    return records.archive


async def _events(hass: HomeAssistant, entry: ConfigEntry, kind: str) -> list[dict]:
    await hass.async_block_till_done()
    archive = await _flushed(hass, entry)
    return await hass.async_add_executor_job(
        archive.events_between, entry.entry_id, 0.0, 4e9, [kind]
    )


async def _network_heat_history(
    hass: HomeAssistant, demo: ConfigEntry, start: datetime
) -> dict[str, Any]:
    """The history action's network heat rows since ``start`` (archived cycles)."""
    network = await hass.services.async_call(
        DOMAIN,
        "history",
        {"config_entry_id": demo.entry_id, "inlet": "network", "signals": ["heat_kw"],
         "start": start.isoformat()},
        blocking=True,
        return_response=True,
    )  # fmt: skip
    assert network is not None
    return dict(network)


async def test_every_cycle_and_inlet_archived_across_a_reload(
    hass: HomeAssistant, demo: ConfigEntry, archive_file: Path
) -> None:
    """One row per inlet per cycle, the values the entities show; nothing lost on reload."""
    await cycles(hass, demo, 3)
    coordinator = demo.runtime_data.coordinator
    archive = await _flushed(hass, demo)
    n = len(coordinator.data.inlets)
    counts = await hass.async_add_executor_job(archive.counts, demo.entry_id)
    assert counts["cycles"] == 4  # the first refresh and three more
    assert counts["samples"] == 4 * n
    rows = await hass.async_add_executor_job(
        archive.history, demo.entry_id, "B001", ["flow_m3h", "command", "in_band"], 0.0, 4e9
    )
    shown = coordinator.data.inlets["B001"]
    assert rows[-1]["flow_m3h"] == pytest.approx(shown.reading.flow_m3h, abs=1e-3)
    assert rows[-1]["in_band"] == shown.in_band
    assert await hass.config_entries.async_reload(demo.entry_id)
    await hass.async_block_till_done()
    await cycles(hass, demo, 2)
    archive = await _flushed(hass, demo)
    counts = await hass.async_add_executor_job(archive.counts, demo.entry_id)
    assert counts["cycles"] == 7  # 4 + the reload's first refresh + 2
    assert counts["samples"] == 7 * n
    assert archive_file.is_file()


async def test_archive_flags_the_models_dp_of_a_real_inlet(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    """A real inlet without pressure transmitters is archived with its ΔP flagged estimated,
    as the plant flagged its reading (one rule, plant._follow); a simulated inlet's is not."""
    await _field_devices(hass)
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 1)
    coordinator = demo.runtime_data.coordinator
    record = cycle_record("n", 0.0, 1800.0, coordinator.data, coordinator.network)
    sample = {s.inlet_id: s for s in record.samples}
    assert sample["B003"].values["dp_kpa"] is not None
    assert "dp_kpa" in sample["B003"].estimated
    assert "dp_kpa" not in sample["B001"].estimated


async def test_network_heat_rows_carry_the_sensors_flag(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    """Issue 10 item 3: the archive's network row, the history action, the export and the
    network energy sensor say when the network heat is not a measurement. A fully measured
    network's row is unflagged; with B003's reading rejected (60,000 m³/h) the heat is the
    estimate, flagged, with B003 left out (no estimate either, just re-mapped) — before,
    the trusted sum was archived and exported as if measured."""
    start = dt_util.utcnow() - timedelta(hours=1)
    await cycles(hass, demo, 1)
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=1e6)  # 60,000 m³/h
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 2)
    data = demo.runtime_data.coordinator.data
    heat = data.network_heat()
    assert (heat.estimated, heat.left_out) == (True, 1)
    network = await _network_heat_history(hass, demo, start)
    first, last = network["rows"][0], network["rows"][-1]
    assert (first["estimated"], first["heat_inlets_left_out"]) == ([], 0)
    assert (last["estimated"], last["heat_inlets_left_out"]) == (["heat_kw"], 1)
    assert last["heat_kw"] == pytest.approx(heat.kw, abs=1e-6)
    diag = await async_get_config_entry_diagnostics(hass, demo)
    indicators = diag["state"]["indicators"]
    assert "heat_kw" in indicators["estimated"]
    assert indicators["heat_inlets_left_out"] == 1
    energy = hass.states.get("sensor.estate12_heat_energy")
    assert energy.attributes["inlets_left_out"] == 1  # this cycle's count leaves B003 out


async def test_options_change_is_audited_old_to_new_with_its_user(
    hass: HomeAssistant, demo: ConfigEntry, hass_client, hass_admin_user: User
) -> None:
    """The options dialog over HTTP, as the UI uses it: who, old → new (§5.3.6-7)."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    resp = await client.post(
        "/api/config/config_entries/options/flow", json={"handler": demo.entry_id}
    )
    flow = await resp.json()
    form = {"control": {"level": "advanced", "target": "flow", "algorithm": "traditional",
                        "mode": "auto"},
            "timing": {"cycle_minutes": 30, "acceleration": 1, "simulated_dropout": 0},
            "safety": {"min_opening": 5, "max_opening": 100, "max_step": 22, "min_flow": 50,
                       "max_supply_temperature": 95, "min_return_temperature": 0,
                       "min_differential_pressure": 5},
            "alarms": {"feedback_tolerance": 5, "alarm_cycles": 3, "low_battery": 20}}  # fmt: skip
    resp = await client.post(
        f"/api/config/config_entries/options/flow/{flow['flow_id']}", json=form
    )
    assert (await resp.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    audits = [e for e in await _events(hass, demo, "audit") if e["action"] == "options_changed"]
    assert len(audits) == 1
    changes = audits[0]["details"]["changes"]
    assert changes["max_step"] == [DEFAULT_OPTIONS["max_step"], 22]
    assert all(old != new for old, new in changes.values())  # only what really changed
    assert audits[0]["user_id"] == hass_admin_user.id
    assert audits[0]["user_name"] == hass_admin_user.name


async def test_entity_changes_audited_once_and_refusals_kept(
    hass: HomeAssistant, demo: ConfigEntry, hass_admin_user: User, hass_owner_user: User
) -> None:
    """An entity's change is one audit entry (with old and new); a refused call is kept."""
    operator = await hass.auth.async_create_user("Operator", group_ids=["system-users"])
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.estate12_algorithm", "option": "ai"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "set_weight",
            {"config_entry_id": demo.entry_id, "inlet": "B002", "weight": 1.5},
            blocking=True,
            context=Context(user_id=operator.id),
        )
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": "select.estate12_algorithm", "option": "traditional"},
            blocking=True,
            context=Context(user_id=operator.id),
        )
    audits = await _events(hass, demo, "audit")
    actions = [(e["action"], e["user_id"]) for e in audits]
    assert ("set_algorithm", hass_admin_user.id) in actions
    assert not any(a == "options_changed" for a, _ in actions)  # not twice
    refused = [e for e in audits if e["action"] == "refused"]
    assert {e["details"]["attempted"] for e in refused} == {"set_weight", "set_algorithm"}
    assert {e["user_name"] for e in refused} == {"Operator"}
    changed = next(e for e in audits if e["action"] == "set_algorithm")
    assert (changed["details"]["old"], changed["details"]["new"]) == ("traditional", "ai")


async def test_alarms_and_commissioning_archived(
    hass: HomeAssistant, demo: ConfigEntry, hass_admin_user: User
) -> None:
    """Alarm changes (acknowledged by whom) and commissioning presettings are kept."""
    fired = async_capture_events(hass, EVENT_ALARM)
    # a minimum flow of the whole set flow: an alarm whatever the demo's transients do
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.estate12_minimum_flow_share_of_set_flow", "value": 100},
        blocking=True,
    )
    await cycles(hass, demo, 4)
    await hass.services.async_call(
        DOMAIN,
        "acknowledge_alarm",
        {"config_entry_id": demo.entry_id},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.services.async_call(
        DOMAIN, "commission", {"config_entry_id": demo.entry_id}, blocking=True,
        return_response=True,
    )  # fmt: skip
    alarms = await _events(hass, demo, "alarm")
    # every alarm change on the bus is in the archive, in order
    assert [(e["action"], e["location"]) for e in alarms] == [
        (e.data["status"], e.data["location"]) for e in fired
    ]
    assert any(e["action"] == "raised" for e in alarms)
    acked = [e for e in alarms if e["action"] == "acknowledged"]
    assert all(e["user_id"] == hass_admin_user.id for e in acked)
    commissioning = await _events(hass, demo, "commissioning")
    assert len(commissioning) == 1
    assert commissioning[0]["details"]  # the presettings themselves


async def test_history_action_any_signal_any_user(
    hass: HomeAssistant, demo: ConfigEntry, hass_read_only_user: User
) -> None:
    """A read-only user reads an inlet's and the network's history (§5.2.4-5)."""
    start = dt_util.utcnow() - timedelta(hours=1)
    await cycles(hass, demo, 2)
    response = await hass.services.async_call(
        DOMAIN,
        "history",
        {"config_entry_id": demo.entry_id, "inlet": "B003", "signals": ["supply_c", "opening"],
         "start": start.isoformat()},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_read_only_user.id),
    )  # fmt: skip
    assert response is not None
    assert len(response["rows"]) == 3
    reading = demo.runtime_data.coordinator.data.inlets["B003"].reading
    assert response["rows"][-1]["supply_c"] == pytest.approx(reading.supply_c, abs=0.01)
    assert set(response["rows"][0]) == {"time", "supply_c", "opening", "flagged", "estimated"}
    network = await _network_heat_history(hass, demo, start)
    assert network["rows"][-1]["heat_kw"] == pytest.approx(
        demo.runtime_data.coordinator.data.heat_kw
    )


async def test_report_pdf_pages_and_signed_link(
    hass: HomeAssistant, demo: ConfigEntry, hass_client, hass_client_no_auth
) -> None:
    """A Chinese day report: PDF with three A4 pages (rendered to PNG), XLSX, CSV; the
    signed link downloads without a login, an unsigned or forged one does not."""
    await cycles(hass, demo, 3)
    response = await hass.services.async_call(
        DOMAIN,
        "report",
        {"config_entry_id": demo.entry_id, "period": "day", "date": dt_util.now().date(),
         "language": "zh-Hans"},
        blocking=True,
        return_response=True,
    )  # fmt: skip
    assert response is not None
    pdf = Path(response["files"]["pdf"])
    assert pdf.name.endswith("-zh.pdf")
    assert Path(response["files"]["xlsx"]).stat().st_size > 0
    assert "B001" in Path(response["files"]["csv"]).read_text(encoding="utf-8")
    out = pdf.parent / "page"
    render = ["pdftoppm", "-r", "30", "-png", str(pdf), str(out)]
    await hass.async_add_executor_job(partial(subprocess.run, render, check=True))
    pages = sorted(pdf.parent.glob("page-*.png"))
    assert len(pages) == 3
    from PIL import Image

    with Image.open(pages[0]) as image:  # A4 portrait at 30 dpi
        assert image.size == (249, 351)
    anonymous = await hass_client_no_auth()
    link = response["links"]["pdf"]
    resp = await anonymous.get(link)
    assert resp.status == 200
    assert (await resp.read()).startswith(b"%PDF")
    unsigned = link.split("?")[0]
    assert (await anonymous.get(unsigned)).status == 401
    assert (await anonymous.get(link[:-4] + "AAAA")).status == 401
    user = await hass_client()
    assert (await user.get(unsigned)).status == 200
    assert (await user.get(unsigned.replace(pdf.name, "..%2Fsecrets.yaml"))).status in (400, 404)
    assert (await user.get(unsigned.replace(pdf.name, "nothing.pdf"))).status == 404


async def test_backup_hooks_hold_writes_and_restore_loses_nothing(
    hass: HomeAssistant, demo: ConfigEntry, tmp_path: Path, archive_file: Path
) -> None:
    """pre-backup: everything so far is in the file and writes wait; the copy is whole;
    restored, the archive has every row the backup held, and runs on (§5.3.10)."""
    await cycles(hass, demo, 2)
    path = archive_file
    archive = records_of(hass, demo.entry_id).archive  # type: ignore[union-attr]
    await async_pre_backup(hass)
    held = await hass.async_add_executor_job(archive.counts, demo.entry_id)
    copy = tmp_path / "backup.db"
    await hass.async_add_executor_job(shutil.copy, path, copy)
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    await cycles(hass, demo, 1)  # a cycle during the backup waits in the queue
    await async_post_backup(hass)
    archive = await _flushed(hass, demo)
    after = await hass.async_add_executor_job(archive.counts, demo.entry_id)
    assert after["cycles"] >= held["cycles"] + 1  # nothing lost while held
    backup = Archive(f"sqlite:///{copy}")
    try:
        assert backup.counts(demo.entry_id) == held  # the copy is whole and consistent
        kept = [r["ts"] for r in backup.network_series(demo.entry_id, 0, 4e9)]
    finally:
        backup.close()
    # the box fails; HA is set up again and the backup restored
    assert await hass.config_entries.async_unload(demo.entry_id)
    await hass.async_add_executor_job(shutil.copy, copy, path)
    assert await hass.config_entries.async_setup(demo.entry_id)
    await hass.async_block_till_done()
    archive = await _flushed(hass, demo)
    series = await hass.async_add_executor_job(archive.network_series, demo.entry_id, 0, 4e9)
    assert [r["ts"] for r in series[: len(kept)]] == kept  # every row of the backup is back
    assert len(series) > len(kept)  # and the restored entry writes on


def test_backup_settings_judged() -> None:
    """Daily with an off-machine location passes; less raises the repair's reason."""
    from types import SimpleNamespace as NS

    def config(recurrence: str, agents: list[str], days: list[str] | None = None) -> NS:
        return NS(schedule=NS(recurrence=recurrence, days=days or []),
                  create_backup=NS(agent_ids=agents))  # fmt: skip

    assert backup_shortfall(config("daily", ["backup.local", "cloud.cloud"])) is None
    assert backup_shortfall(config("never", ["cloud.cloud"])) == "not_daily"
    assert backup_shortfall(config("custom_days", ["cloud.cloud"], ["mon"])) == "not_daily"
    assert backup_shortfall(config("daily", ["backup.local"])) == "no_offsite_copy"
    assert backup_shortfall(NS()) is None  # a shape we do not know is not judged


async def test_backup_repair_issue_from_ha_backup_settings(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    """With HA's backup integration at its defaults (no schedule) the repair is raised."""
    from custom_components.heatbalance.backup import ISSUE_BACKUP, async_check_backups

    await setup_ha_backup(hass)
    await hass.async_block_till_done()
    async_check_backups(hass)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_BACKUP)
    assert issue is not None
    assert issue.translation_key == "backup_schedule_not_daily"


async def test_report_blueprint_sends_the_signed_link(
    hass: HomeAssistant, demo: ConfigEntry, tmp_path: Path
) -> None:
    """The report blueprint pages the phone with the PDF's signed link; periods filter."""
    blueprints = Path(__file__).parents[2] / "blueprints/automation/heatbalance"
    shutil.copytree(blueprints, tmp_path / "blueprints/automation/heatbalance")
    hass.config.config_dir = str(tmp_path)
    pushes: list[dict] = []

    async def phone(call: ServiceCall) -> None:
        pushes.append(dict(call.data))

    hass.services.async_register("notify", "mobile_app_operator_phone", phone)
    inputs = {"network": demo.entry_id, "notify_action": "notify.mobile_app_operator_phone",
              "periods": ["week"]}  # fmt: skip
    automation = {"id": "hb", "alias": "hb",
                  "use_blueprint": {"path": "heatbalance/report_notification.yaml",
                                    "input": inputs}}  # fmt: skip
    assert await async_setup_component(hass, "automation", {"automation": [automation]})
    await hass.async_block_till_done()
    for period in ("day", "week"):
        response = await hass.services.async_call(
            DOMAIN,
            "report",
            {"config_entry_id": demo.entry_id, "period": period, "formats": ["pdf"],
             "language": "en"},
            blocking=True,
            return_response=True,
        )  # fmt: skip
        await hass.async_block_till_done()
    assert response is not None
    assert len(pushes) == 1  # the day report is not among the chosen periods
    assert pushes[0]["data"]["url"] == response["links"]["pdf"]
    assert pushes[0]["title"].startswith("estate12: week report")


async def test_ha_stop_writes_every_queued_row(
    hass: HomeAssistant, demo: ConfigEntry, archive_file: Path
) -> None:
    """HA stopping: the queue is written before the archive closes (0 rows lost)."""
    from homeassistant.const import EVENT_HOMEASSISTANT_STOP

    await cycles(hass, demo, 3)
    n = len(demo.runtime_data.coordinator.data.inlets)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert records_of(hass, demo.entry_id) is None  # closed
    archive = Archive(f"sqlite:///{archive_file}")
    try:
        counts = await hass.async_add_executor_job(archive.counts, demo.entry_id)
    finally:
        archive.close()
    assert counts["cycles"] >= 4
    assert counts["samples"] == counts["cycles"] * n


async def test_operator_report_template(
    hass: HomeAssistant, demo: ConfigEntry, hass_admin_user: User
) -> None:
    """An administrator's Jinja template over the report's data; others are refused."""
    await cycles(hass, demo, 2)
    data = {
        "config_entry_id": demo.entry_id,
        "period": "day",
        "date": dt_util.now().date(),
        "formats": ["csv"],
        "template": "{{ network }} {{ kind }} {{ summary.cycles }} cycles;"
        "{% for i in inlets[:2] %} {{ i.inlet }}{% endfor %}",
    }
    response = await hass.services.async_call(
        DOMAIN, "report", data, blocking=True, return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )  # fmt: skip
    assert response is not None
    text = Path(response["files"]["template"]).read_text(encoding="utf-8")
    assert re.match(r"estate12 day \d+ cycles; B0\d\d B0\d\d$", text)
    assert "template" in response["links"]
    operator = await hass.auth.async_create_user("Operator", group_ids=["system-users"])
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "report", data, blocking=True, return_response=True,
            context=Context(user_id=operator.id),
        )  # fmt: skip
