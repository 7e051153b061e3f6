"""Diagnostics download: settings, inlet mapping, last cycle, alarms — file paths redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import (
    CONF_OUTDOOR_ENTITY,
    CONF_PATH,
    CONF_SUBSTATION_FLOW_ENTITY,
    CONF_SUBSTATION_HEAT_ENTITY,
    SIGNAL_ENTITY_KEYS,
)
from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator
from .estimates import is_estimated, rejected
from .export import export_response, learned_of
from .gateway_source import GatewaySource
from .requirements import meter_checks

# A path names the host's layout; entity ids may name flats and people.
TO_REDACT = {
    CONF_PATH,
    CONF_OUTDOOR_ENTITY,
    CONF_SUBSTATION_FLOW_ENTITY,
    CONF_SUBSTATION_HEAT_ENTITY,
    *SIGNAL_ENTITY_KEYS,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: HeatbalanceConfigEntry
) -> dict[str, Any]:
    """What a maintainer needs to see why a network does not balance."""
    coordinator = entry.runtime_data.coordinator
    network = coordinator.network
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
            "subentries": [
                async_redact_data(dict(sub.data), TO_REDACT) for sub in entry.subentries.values()
            ],
        },
        "network": {
            "name": network.name,
            "inlets": len(network.inlets),
            "managed_inlets": len(coordinator.inlets),
            "pipes": len(network.pipes),
            "nodes": len(network.nodes),
        },
        "coordinator": {
            "last_update_success": coordinator.last_update_success,
            "update_interval_s": coordinator.update_interval.total_seconds()
            if coordinator.update_interval
            else None,
            "simulated": coordinator.plant.simulated,
            "balance": coordinator.balance.as_dict(),
            "learned": learned_of(coordinator),  # the self-learning model's corrections
        },
        # which meter consistency checks the mapped signals feed (engine/meters.py), with
        # what the gateway says its devices have (a heat meter without an energy point)
        "meter_checks": meter_checks(
            network,
            coordinator.settings,
            coordinator.inlets,
            coordinator.plant.gateway.points() if coordinator.plant.gateway else None,
        ),
        "gateway_link": gateway_link(coordinator.plant.gateway),
        "assumed_positions": assumed_positions(coordinator),
        "state": export_response(coordinator),
    }


def gateway_link(source: GatewaySource | None) -> dict[str, Any] | None:
    """The gateway link's counters (§6.0.3 store-and-forward): what to read when readings go
    missing or arrive twice, a gateway's outbox was replaced, or another gateway speaks for
    an inlet's device."""
    if source is None:
        return None
    tracker = source.tracker
    return {
        "duplicates": tracker.duplicates,  # replays dropped
        "epochs": tracker.epochs,  # new outbox streams (restored, rolled back, moved)
        "gap_skipped": {gw: stream.gap_skipped for gw, stream in tracker.streams.items()},
        "protocols": dict(tracker.protocols),
        "foreign": source.foreign,  # messages from a gateway not the device's owner
        "queued_readings": source.queued,  # received, not yet stored and acked
        "deferred": source.deferred,  # left to the gateway's resend: the queue was full
        "status": dict(source.status),  # each gateway's online/offline (retained)
        "offline_since": dict(source.offline_since),  # … when it was last seen going offline
        # commands held back while their gateway was offline: no move until confirmed
        "held_commands": source.held,
        "held_now": dict(source.holding),  # inlet (or pump) → its command, not yet sent
        "held_sent": source.held_sent,  # … sent once the gateway was back
        "held_confirmed": source.held_confirmed,  # … and confirmed: moves after all
        "held_unsent": source.held_unsent,  # … never sent: window passed, or replaced
        "offline_repair_s": source.repair_s,  # not online this long: the repair
        "backlog_rows_imported": source.backlog.imported_rows if source.backlog else 0,
    }


def assumed_positions(coordinator: HeatbalanceCoordinator) -> dict[str, dict[str, Any]]:
    """The valves whose position shown is the engine's assumption, not a read-back (issue 10
    item 3: estimated values flagged wherever shown), and why: a command whose answer was
    lost (``command_unconfirmed``: assumed at the command until the valve reports after it),
    a read-back the engine rejected, or none read this cycle."""
    data, plant = coordinator.data, coordinator.plant
    if data is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for iid, r in data.inlets.items():
        if not is_estimated("opening", r.reading, r.filled):
            continue
        if iid in plant.unconfirmed:
            why = "command_unconfirmed"
        elif rejected("opening", r.reading, r.flagged):
            why = "feedback_rejected"
        else:
            why = "no_feedback"
        out[iid] = {"position": r.filled.get("opening"), "why": why}
    return out
