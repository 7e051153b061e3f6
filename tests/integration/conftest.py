"""Fixtures for tests that run the integration inside a real Home Assistant test instance.

Networks are added the way a user adds them: through the config flow (one step), which
creates the entry with one inlet subentry per building and sets it up.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import MAJOR_VERSION
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.heatbalance import gateway_history, memory_file, records
from custom_components.heatbalance.const import CONF_NETWORK, CONF_PATH, DOMAIN, EVENT_ALARM
from custom_components.heatbalance.engine.archive import sqlite_url

HA_YEAR = MAJOR_VERSION


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Generator[None]:
    """Load custom_components/heatbalance in every integration test."""
    return


@pytest.fixture(autouse=True)
def gateway_journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Gateway backlog journals of this test in its own directory: the harness's config dir is
    shared by every test (and lives in the venv)."""
    directory = tmp_path / "journal"
    monkeypatch.setattr(gateway_history, "storage_dir", lambda _hass: str(directory))
    return directory


@pytest.fixture(autouse=True)
def learning_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Learning files (a large network's learning, beside its Store: ``memory_file``) of this
    test in its own directory: the harness's config dir is shared by every test (and lives
    in the venv)."""
    directory = tmp_path / "storage"
    monkeypatch.setattr(memory_file, "storage_folder", lambda _hass: directory)
    return directory


@pytest.fixture(autouse=True)
def archive_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own SQLite archive: by default it sits in HA's config dir, which the harness
    shares between all tests (and all developers' runs), so rows of one test would count in
    another's and two runs would write one file."""
    path = tmp_path / records.ARCHIVE_FILE
    monkeypatch.setattr(records, "default_url", lambda _hass: sqlite_url(str(path)))
    return path


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """HA's snapshot format, one directory per supported HA version.

    Registry entries and states carry version-specific fields (2025.4 vs 2026.10), so each
    version keeps its own ``snapshots_ha<year>`` and is checked against it. The directories
    sit beside ``__snapshots__``, not inside it: syrupy's default extension walks
    ``__snapshots__`` recursively and would report the other version's file as unused,
    which fails the run.
    """

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        """``snapshots_ha2025`` or ``snapshots_ha2026`` beside the test module."""
        return str(Path(test_location.filepath).parent / f"snapshots_ha{HA_YEAR}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's own format, per HA version."""
    return snapshot.use_extension(VersionedSnapshotExtension)


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """The real recorder (``recorder_mock``) commits as HA ships it, every
    ``DEFAULT_COMMIT_INTERVAL`` (5 s), not after every event (the harness's 0). A test reads
    the database only after ``async_wait_recording_done``, which commits what is queued and
    waits for the recorder's thread: it waits on the recorder, not on the clock. One commit per
    state change (estate12 writes hundreds per cycle) made HA 2025.4's recorder tests 2-3x HA
    2026's (its single-row INSERTs)."""
    from homeassistant.components.recorder import CONF_COMMIT_INTERVAL, DEFAULT_COMMIT_INTERVAL

    return {CONF_COMMIT_INTERVAL: DEFAULT_COMMIT_INTERVAL}


@pytest.fixture
def enable_all_entities() -> Generator[None]:
    """Create disabled-by-default entities enabled (as HA core's fixture does)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


async def add_network(
    hass: HomeAssistant, network: str = "estate12", options: dict[str, Any] | None = None
) -> ConfigEntry:
    """Add a built-in network through the config flow; optionally set options first-hand."""
    return await _added(hass, {CONF_NETWORK: network}, options)


async def add_network_file(
    hass: HomeAssistant, path: Path, options: dict[str, Any] | None = None
) -> ConfigEntry:
    """Add a network from its file through the config flow (the path field), then options."""
    return await _added(hass, {CONF_PATH: str(path)}, options)


async def _added(
    hass: HomeAssistant, user_input: dict[str, Any], options: dict[str, Any] | None
) -> ConfigEntry:
    """The config flow's one step with ``user_input``; then options set first-hand."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    entry = result["result"]
    await hass.async_block_till_done()
    if options:
        hass.config_entries.async_update_entry(entry, options=dict(entry.options) | options)
        await hass.async_block_till_done()
    return entry


@pytest.fixture
def alarms(hass: HomeAssistant) -> list[Event]:
    """Alarm events on the bus, recorded as they are fired (a plain ``list.append`` would be
    run in the executor by HA, after the test looked)."""
    events: list[Event] = []

    @callback
    def record(event: Event) -> None:
        events.append(event)

    hass.bus.async_listen(EVENT_ALARM, record)
    return events


def raised_alarms(events: list[Event], reason: str) -> list[dict[str, Any]]:
    """The raised alarms of ``reason`` among recorded alarm events (``alarms``)."""
    return [e.data for e in events if e.data["reason"] == reason and e.data["status"] == "raised"]


async def cycles_at_outdoor(hass: HomeAssistant, outdoor_c: float, n: int) -> None:
    """The demo network (estate12: a fixed 60 °C supply) with an outdoor sensor at
    ``outdoor_c`` and alarms raised after 2 cycles, run ``n`` cycles."""
    hass.states.async_set("sensor.outdoor", str(outdoor_c), {"unit_of_measurement": "°C"})
    options = {"outdoor_entity": "sensor.outdoor", "alarm_cycles": 2}
    entry = await add_network(hass, options=options)
    await cycles(hass, entry, n)
    assert entry.runtime_data.coordinator.last_update_success


async def setup_ha_backup(hass: HomeAssistant) -> None:
    """HA's own backup integration, prepared as HA's bootstrap prepares it."""
    from homeassistant.setup import async_setup_component

    try:  # HA 2025.4's bootstrap creates the backup data before any integration
        from homeassistant.helpers.backup import async_initialize_backup
    except ImportError:  # 2026.10: the backup integration does it itself
        pass
    else:
        async_initialize_backup(hass)
    assert await async_setup_component(hass, "backup", {})


async def polling_off(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Turn HA's polling off for this entry (HA's own per-entry switch): the test runs the
    cycles itself. With polling on, the coordinator's timer (30 min / acceleration 180 = 10 s)
    can run an extra cycle between the test's steps on a loaded machine — between a snapshot
    and an unload's save, or between a cycle and the field's answer to its commands. The timer
    already armed at setup is cancelled here (HA's own ``_unschedule_refresh``; before, it
    stayed armed until the test's first refresh and could fire just before it), and no
    refresh arms a new one."""
    if not entry.pref_disable_polling:
        hass.config_entries.async_update_entry(entry, pref_disable_polling=True)
        await hass.async_block_till_done()
    runtime = getattr(entry, "runtime_data", None)
    if runtime is not None:
        runtime.coordinator._unschedule_refresh()


async def cycles(hass: HomeAssistant, entry: ConfigEntry, n: int) -> None:
    """Run ``n`` control cycles now (each is one acquisition period of plant time), and no
    timer cycle between them (see ``polling_off``)."""
    await polling_off(hass, entry)
    coordinator = entry.runtime_data.coordinator
    for _ in range(n):
        await coordinator.async_refresh()
        await hass.async_block_till_done()


@pytest.fixture
async def demo(hass: HomeAssistant) -> ConfigEntry:
    """The 12-building estate, set up."""
    return await add_network(hass)


async def start_reconfigure(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """Open the entry's reconfigure flow as the UI does."""
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )


async def start_inlet_reconfigure(
    hass: HomeAssistant, entry: ConfigEntry, inlet_id: str
) -> dict[str, Any]:
    """Open an inlet subentry's reconfigure flow as the UI does."""
    sub = next(s for s in entry.subentries.values() if s.unique_id == inlet_id)
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, "inlet"),
        context={"source": config_entries.SOURCE_RECONFIGURE, "subentry_id": sub.subentry_id},
    )


class RaisedAlarms(list[tuple[int, dict[str, Any]]]):
    """Every alarm raised on the bus, with the cycle the test says it is in (``cycle``)."""

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__()
        self.cycle = 0
        hass.bus.async_listen(EVENT_ALARM, self._on_alarm)

    @callback
    def _on_alarm(self, event: Any) -> None:
        if event.data["status"] == "raised":
            self.append((self.cycle, dict(event.data)))
