"""Commissioning from HA (§7.2.5, §7.2.6): a subentry per commissioning round.

The fitter opens "Add commissioning record" on the network: the form lists every inlet with
its presetting (valve opening and turns or Kv, self-operated valve setpoints, pump speeds,
from engine/commissioning.py) and a tick for each one set on site. Submitting stores the
record as a subentry (visible, editable: reconfigure ticks more inlets later) and writes two
files under ``<config>/heatbalance/``: the record (JSON, §7.2.6 electronic record) and the
network as it is now (a network file that imports again unchanged).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import flow_vol as vol
from .const import CONF_DONE
from .engine.cli_balance import _setting_text
from .engine.commissioning import CommissioningError, CommissioningRecord, commission
from .engine.loader import network_to_dict
from .engine.model import Network
from .export import learned_of
from .network_setup import FOLDER

CONF_BY = "commissioned_by"
CONF_WITNESS = "witness"


def export_files(
    config_dir: str,
    network: Network,
    record: dict[str, Any],
    done: list[str],
    learned: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write the record and the network as it is now; returns (record file, network file).

    ``learned``: what the self-learning model corrected so far (pipe factor, per-branch
    circuit and Kv factors, §3.0.7-3), kept beside the record: the network file stays the
    operator's drawing, so it imports again unchanged.
    """
    folder = Path(config_dir) / FOLDER / "export"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in network.name)
    record_path = folder / f"{slug}-commissioning-{stamp}.json"
    body = {
        **record,
        "learned": learned or {},
        "done": done,
        "pending": [r["inlet_id"] for r in record["inlets"] if r["inlet_id"] not in done],
    }
    record_path.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
    network_path = folder / f"{slug}-{stamp}.yaml"
    network_path.write_text(
        yaml.safe_dump(network_to_dict(network), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return record_path, network_path


class CommissioningSubentryFlow(ConfigSubentryFlow):
    """Show every presetting, tick what was set, store and export the record."""

    _record: CommissioningRecord

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The presettings, one tick each."""
        return await self._form("user", user_input, done=[])

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Tick more inlets of a stored record (the record's presettings stay)."""
        sub = self._get_reconfigure_subentry()
        return await self._form("reconfigure", user_input, done=list(sub.data.get(CONF_DONE, [])))

    async def _form(
        self, step: str, user_input: dict[str, Any] | None, done: list[str]
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="network_unavailable")
        network = entry.runtime_data.coordinator.network
        if step == "reconfigure":
            record = dict(self._get_reconfigure_subentry().data["record"])
        else:
            try:
                record = (await self.hass.async_add_executor_job(commission, network)).as_dict()
            except CommissioningError as err:
                return self.async_abort(
                    reason="commissioning_failed", description_placeholders={"error": str(err)}
                )
        if user_input is not None:
            ticked = list(user_input.get(CONF_DONE, []))
            record[CONF_BY] = user_input.get(CONF_BY) or record.get(CONF_BY)
            record[CONF_WITNESS] = user_input.get(CONF_WITNESS) or record.get(CONF_WITNESS)
            record_file, network_file = await self.hass.async_add_executor_job(
                export_files,
                self.hass.config.config_dir,
                network,
                record,
                ticked,
                learned_of(entry.runtime_data.coordinator),
            )
            data = {
                "record": record,
                CONF_DONE: ticked,
                "file": str(record_file),
                "network_file": str(network_file),
            }
            title = f"Commissioning {record['date']} ({len(ticked)}/{len(record['inlets'])})"
            if step == "reconfigure":
                return self.async_update_and_abort(
                    entry, self._get_reconfigure_subentry(), title=title, data=data
                )
            return self.async_create_entry(title=title, data=data)
        options = [
            SelectOptionDict(
                value=r["inlet_id"], label=f"{r['name'] or r['inlet_id']}: {_setting_text(_Row(r))}"
            )
            for r in record["inlets"]
        ]
        schema = vol.Schema(
            {
                vol.Optional(CONF_DONE, default=done): SelectSelector(
                    SelectSelectorConfig(
                        options=options, multiple=True, mode=SelectSelectorMode.LIST
                    )
                ),
                vol.Optional(CONF_BY): TextSelector(),
                vol.Optional(CONF_WITNESS): TextSelector(),
            }
        )
        pump = record["pump"]
        return self.async_show_form(
            step_id=step,
            data_schema=schema,
            description_placeholders={
                "network": network.name,
                "count": str(len(record["inlets"])),
                "pump": f"{pump['frequency_hz']:.1f} Hz "
                f"({pump['flow_m3h']:.1f} m³/h, {pump['head_m']:.1f} m)",
            },
        )


class _Row:
    """A record line as attributes, for the CLI's wording of a setting."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)
