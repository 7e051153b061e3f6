"""Backup platform: the archive is consistent inside Home Assistant's backups (§5.3.10).

Before HA copies the config folder, every open archive writes what is queued, folds SQLite's
write-ahead log into the file and holds further writes (queued meanwhile, nothing lost);
after the copy, writing goes on. A repair issue says when HA's automatic backups are not set
to run at least daily with a copy off this machine (§5.3.10, §8.3.3).
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DATA_RECORDS, DOMAIN

_LOGGER = logging.getLogger(__name__)
ISSUE_BACKUP = "backup_schedule"
LOCAL_AGENTS = {"backup.local", "hassio.local"}


async def async_pre_backup(hass: HomeAssistant) -> None:
    """Write every controller's state now and hold every archive while the backup copies.

    The controller's learning is saved to its Store 30 s after a cycle (and HA's backup does
    not wait for delayed saves), so without this a backup could miss the last cycles' state.
    Each archive writes what is queued, folds its write-ahead log into the file and holds.
    """
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        await entry.runtime_data.coordinator.async_save()
    for records in list(hass.data.get(DATA_RECORDS, {}).values()):
        await hass.async_add_executor_job(records.writer.hold_start)


async def async_post_backup(hass: HomeAssistant) -> None:
    """Let the archives write again."""
    for records in list(hass.data.get(DATA_RECORDS, {}).values()):
        records.writer.hold_end()


def backup_shortfall(config: Any) -> str | None:
    """What is missing in HA's backup settings, or None when they suffice.

    Reads ``BackupManager.config.data`` as HA 2025.4 and 2026.10 have it (``schedule.recurrence``
    and ``create_backup.agent_ids``); a shape it does not know is not judged.
    """
    try:
        recurrence = str(getattr(config.schedule.recurrence, "value", config.schedule.recurrence))
        days = list(getattr(config.schedule, "days", []) or [])
        agents = set(config.create_backup.agent_ids)
    except AttributeError:
        return None
    if recurrence != "daily" and not (recurrence == "custom_days" and len(days) >= 7):
        return "not_daily"
    if not agents - LOCAL_AGENTS:
        return "no_offsite_copy"
    return None


def async_check_backups(hass: HomeAssistant) -> None:
    """Raise or clear the repair issue about HA's automatic backups."""
    manager = hass.data.get("backup")
    config = getattr(getattr(manager, "config", None), "data", None)
    if config is None:  # no backup integration (a bare test or core install): nothing to say
        _LOGGER.debug("backup settings not readable; backup check skipped")
        return
    shortfall = backup_shortfall(config)
    if shortfall is None:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_BACKUP)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_BACKUP,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=f"{ISSUE_BACKUP}_{shortfall}",
        learn_more_url="https://github.com/heatbalance/heatbalance/blob/main/docs/operations.md",
    )
