"""Backup and restore end to end through Home Assistant's own backup integration (§5.3.10).

A box runs a network, restarts, and makes a backup with HA's backup manager (heatbalance's
pre/post-backup hooks run inside it). A new box with an empty config folder receives the
backup file, HA's backup manager writes its restore instructions, HA's restore-on-start
(``homeassistant.backup_restore.restore_backup``, what ``python -m homeassistant`` runs before
anything else) unpacks it, and HA starts again: every archive row the backup held is back,
with the gateway journal and the controller's state, and the network regulates on.

Real parts: HA instances of the test harness on config folders of their own with real
``.storage`` files (not the harness's in-memory storage), HA's backup integration writing a
real tar, HA's restore code, the SQLite archive file. Stand-in: the process restart HA asks
for after writing its restore file (the harness cannot re-exec itself; the test stops that
instance and starts a new one on the same folder).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from homeassistant import loader
from homeassistant.backup_restore import RESTORE_BACKUP_FILE, restore_backup
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_test_home_assistant

from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.engine.archive import Archive
from custom_components.heatbalance.gateway_history import LATE_S, BacklogHistory, record
from custom_components.heatbalance.persistence import stored_memory
from custom_components.heatbalance.records import ARCHIVE_FILE, records_of
from tests.integration.conftest import add_network, cycles, setup_ha_backup

CONFIG_ENTRIES_SAVE_S = 1.5  # HA writes core.config_entries 1 s after a change


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's stop leaves integrations' time listeners (the daily retention, the coordinator's
    next refresh) scheduled: a real process exits; these harness instances stop without it."""
    return True


@asynccontextmanager
async def ha_box(config_dir: Path, with_backup: bool = False) -> AsyncIterator[HomeAssistant]:
    """One start of Home Assistant on ``config_dir``: config entries loaded from its real
    ``.storage`` and set up, as HA's bootstrap does; optionally HA's backup integration."""
    async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # custom_components/heatbalance
        await hass.config_entries.async_initialize()
        if with_backup:
            await setup_ha_backup(hass)
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
        try:
            yield hass
        finally:
            await hass.async_stop(force=True)  # HA's shutdown: final Store writes, archive closed


def _counts_and_times(path: Path, network: str) -> tuple[dict[str, int], list[float]]:
    archive = Archive(f"sqlite:///{path}")
    try:
        times = [r["ts"] for r in archive.network_series(network, 0.0, 4e9)]
        return archive.counts(network), times
    finally:
        archive.close()


async def _flushed(hass: HomeAssistant, entry: ConfigEntry) -> None:
    records = records_of(hass, entry.entry_id)
    assert records is not None
    assert await hass.async_add_executor_job(records.writer.flush, 30.0)


def _backlog(hass: HomeAssistant, key: str) -> BacklogHistory:
    """The gateway source's durable backlog (its journal under ``.storage``), as it opens it."""
    return BacklogHistory(hass, key, {}, time.time, LATE_S)


async def test_ha_backup_restored_on_a_new_box_loses_no_archive_row(tmp_path: Path) -> None:
    """Restart, backup, restore onto an empty box: 0 archive rows lost, journal and controller
    state back (issue 12's goal)."""
    box, new_box = tmp_path / "box", tmp_path / "new_box"
    box.mkdir()
    new_box.mkdir()

    # first run: the operator adds the network, cycles run
    async with ha_box(box) as hass:
        entry = await add_network(hass)
        await cycles(hass, entry, 2)
        await _flushed(hass, entry)
        before_restart, _ = _counts_and_times(box / ARCHIVE_FILE, entry.entry_id)
        await asyncio.sleep(CONFIG_ENTRIES_SAVE_S)  # the entry is on disk (HA's delayed save)
    entry_id = entry.entry_id
    assert before_restart["cycles"] == 3  # first refresh + 2

    # HA restarts (same folder); a gateway backlog arrives; the backup is made
    async with ha_box(box, with_backup=True) as hass:
        entry = hass.config_entries.async_get_entry(entry_id)  # type: ignore[assignment]
        assert entry is not None
        assert entry.state is ConfigEntryState.LOADED
        await cycles(hass, entry, 2)
        backlog = [  # what the gateway source journals before it acks a replayed backlog
            record(
                "gw1",
                "s1",
                {
                    "seq": k,
                    "ts": time.time() - 3600 + k,
                    "device": "B001.meter",
                    "values": {"flow": 1.0 + k / 10},
                },
            )
            for k in range(5)
        ]
        journal = _backlog(hass, entry_id).journal
        await hass.async_add_executor_job(journal.write, backlog)
        manager = hass.data["backup"]
        assert DOMAIN in manager.platforms  # heatbalance's backup hooks are registered
        coordinator = entry.runtime_data.coordinator
        state_at_backup = json.loads(json.dumps(coordinator.stored()))
        await _flushed(hass, entry)
        at_backup, times_at_backup = _counts_and_times(box / ARCHIVE_FILE, entry_id)
        await manager.async_create_backup(
            agent_ids=["backup.local"], include_addons=None, include_all_addons=False,
            include_database=False, include_folders=None, include_homeassistant=True,
            name="heatbalance test", password=None,
        )  # fmt: skip
        backups, errors = await manager.async_get_backups()
        assert not errors
        (backup_id,) = backups
        assert records_of(hass, entry_id) is not None
        await cycles(hass, entry, 1)  # writes resume after the post-backup hook
        await _flushed(hass, entry)
        after_backup, _ = _counts_and_times(box / ARCHIVE_FILE, entry_id)
    assert at_backup["cycles"] == before_restart["cycles"] + 1 + 2  # 0 rows lost on restart
    assert after_backup["cycles"] == at_backup["cycles"] + 1
    tars = list((box / "backups").glob("*.tar"))
    assert len(tars) == 1

    # the box fails; a new one gets the backup file and restores it with HA's restore
    (new_box / "backups").mkdir()
    shutil.copy(tars[0], new_box / "backups" / tars[0].name)
    restarts: list[ServiceCall] = []
    async with ha_box(new_box, with_backup=True) as hass:
        assert not hass.config_entries.async_entries(DOMAIN)  # an empty box

        async def restart(call: ServiceCall) -> None:
            restarts.append(call)  # the process restart HA asks for (stand-in, see top)

        hass.services.async_register("homeassistant", "restart", restart)
        await hass.data["backup"].async_restore_backup(
            backup_id, agent_id="backup.local", password=None,
            restore_addons=None, restore_database=False, restore_folders=None,
            restore_homeassistant=True,
        )  # fmt: skip
    assert len(restarts) == 1
    assert (new_box / RESTORE_BACKUP_FILE).is_file()
    assert await asyncio.to_thread(restore_backup, str(new_box))  # HA's restore on start
    stored = json.loads((new_box / ".storage" / f"{DOMAIN}.{entry_id}").read_text())
    assert stored["data"] == state_at_backup  # the controller's state of the backup's moment
    restored, restored_times = _counts_and_times(new_box / ARCHIVE_FILE, entry_id)
    assert restored == at_backup  # every row the backup held, nothing half-written
    assert restored_times == times_at_backup

    async with ha_box(new_box) as hass:
        entry = hass.config_entries.async_get_entry(entry_id)  # type: ignore[assignment]
        assert entry is not None
        assert entry.state is ConfigEntryState.LOADED
        restored_backlog = _backlog(hass, entry_id)
        await restored_backlog.async_load()  # what the gateway source does on start
        assert restored_backlog.journal.records == backlog
        coordinator = entry.runtime_data.coordinator
        assert coordinator.simulator.time_s > state_at_backup["plant"]["time_s"]  # continued
        assert coordinator.memory.as_dict().keys() == stored_memory(state_at_backup).keys()
        await cycles(hass, entry, 1)
        await _flushed(hass, entry)
    final, final_times = _counts_and_times(new_box / ARCHIVE_FILE, entry_id)
    assert final_times[: len(times_at_backup)] == times_at_backup
    assert final["cycles"] == at_backup["cycles"] + 2  # the first refresh and one cycle
