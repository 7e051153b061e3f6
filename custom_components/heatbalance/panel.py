"""The network view: a sidebar panel registered by the integration, fed over the websocket.

The panel's JavaScript is built from ``frontend/`` (npm) and committed under ``www/``, so a
HACS install needs no build step. Data never comes by polling: ``heatbalance/view/subscribe``
sends the topology, the live figures and the chart history once, then every cycle's figures
as the coordinator updates (its public listener API). The panel is for every user (no admin
required) who may read the network's entities; actions in it call the integration's services,
which check permissions themselves.
"""

from __future__ import annotations

import hashlib
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.auth.permissions.const import POLICY_READ
from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .compat import device_id
from .compat import flow_vol as vol
from .const import DOMAIN
from .engine.archive import CYCLE_SIGNALS, INLET_SIGNALS
from .view_data import history_point, live, new_history, topology

if TYPE_CHECKING:
    from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator

PANEL_PATH = "heatbalance"
ELEMENT = "heatbalance-panel"
STATIC_URL = "/heatbalance_static"
WWW = Path(__file__).parent / "www"
TITLES = {"zh-Hans": "热网平衡", "zh": "热网平衡"}
DATA_HISTORY = f"{DOMAIN}_view_history"


async def async_setup_view(hass: HomeAssistant) -> None:
    """Websocket commands always; the panel when HA runs its frontend."""
    websocket_api.async_register_command(hass, ws_networks)
    websocket_api.async_register_command(hass, ws_subscribe)
    if "frontend" not in hass.config.components or hass.http is None:
        return
    from homeassistant.components import panel_custom
    from homeassistant.components.http import StaticPathConfig

    await hass.http.async_register_static_paths([StaticPathConfig(STATIC_URL, str(WWW), True)])
    version = await hass.async_add_executor_job(_version)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_PATH,
        webcomponent_name=ELEMENT,
        # HA shows one sidebar title for everyone: in the server's language (docs say so)
        sidebar_title=TITLES.get(hass.config.language, "Heat network"),
        sidebar_icon="mdi:heat-wave",
        module_url=f"{STATIC_URL}/{ELEMENT}.js?v={version}",
        require_admin=False,
    )


def _version() -> str:
    """A hash of the built panel, so browsers load a new build instead of a cached one."""
    return hashlib.sha256((WWW / f"{ELEMENT}.js").read_bytes()).hexdigest()[:12]


@callback
def track_network(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> None:
    """Keep a chart point per cycle from the first one on (the charts are never empty)."""
    coordinator = entry.runtime_data.coordinator
    history = new_history()
    hass.data.setdefault(DATA_HISTORY, {})[entry.entry_id] = history

    @callback
    def on_cycle() -> None:
        if not coordinator.last_update_success or coordinator.data is None:
            return
        if history and history[-1]["t"] == coordinator.data.time_s:
            return  # a settings change re-announced the same cycle
        history.append(_point(coordinator))

    @callback
    def forget() -> None:
        hass.data[DATA_HISTORY].pop(entry.entry_id, None)

    on_cycle()
    entry.async_on_unload(coordinator.async_add_listener(on_cycle))
    entry.async_on_unload(forget)


def _point(coordinator: HeatbalanceCoordinator) -> dict[str, Any]:
    """The chart point of the coordinator's last cycle (pump head: the plant model's)."""
    hyd = coordinator.simulator.last_hydraulics  # never a solve in the event loop
    head = hyd.pump_head_m if hyd is not None else None
    return history_point(coordinator.data, coordinator.balance.state, head)


def _flows(coordinator: HeatbalanceCoordinator) -> dict[str, tuple[float, float]] | None:
    """(flow, design flow) per inlet of a simulated plant, as the last cycle acquired them."""
    sim = coordinator.simulator
    hyd = sim.last_hydraulics
    if not coordinator.plant.simulated or hyd is None:
        return None
    flows = hyd.inlet_flow_m3h.tolist()
    design = sim.design_flow.tolist()
    return {iid: (flows[k], design[k]) for k, iid in enumerate(sim.ids)}


def _live(coordinator: HeatbalanceCoordinator) -> dict[str, Any]:
    """The live figures; a demo network's households from its simulated plant."""
    return live(
        coordinator.network,
        coordinator.data,
        coordinator.inlets,
        coordinator.settings,
        coordinator.alarms,
        _flows(coordinator),
    )


def _loaded_entries(hass: HomeAssistant) -> list[HeatbalanceConfigEntry]:
    """Networks that are running (have a coordinator)."""
    return list(hass.config_entries.async_loaded_entries(DOMAIN))


def _may_read(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, entry_id: str
) -> bool:
    """Admins, and users whose permissions let them read the network's entities."""
    user = connection.user
    if user.is_admin:
        return True
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    return any(user.permissions.check_entity(e.entity_id, POLICY_READ) for e in entities)


@websocket_api.websocket_command({vol.Required("type"): "heatbalance/view/networks"})
@callback
def ws_networks(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """The networks this user may see: entry id and title."""
    connection.send_result(
        msg["id"],
        [
            {"entry_id": e.entry_id, "title": e.title}
            for e in _loaded_entries(hass)
            if _may_read(hass, connection, e.entry_id)
        ],
    )


@websocket_api.websocket_command(
    {vol.Required("type"): "heatbalance/view/subscribe", vol.Required("entry_id"): str}
)
@callback
def ws_subscribe(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Topology, live figures and chart history now; each cycle's figures as they come."""
    entry_id = msg["entry_id"]
    entry = next((e for e in _loaded_entries(hass) if e.entry_id == entry_id), None)
    if entry is None:
        connection.send_error(msg["id"], websocket_api.ERR_NOT_FOUND, "network not loaded")
        return
    if not _may_read(hass, connection, entry_id):
        connection.send_error(msg["id"], websocket_api.ERR_UNAUTHORIZED, "no read access")
        return
    coordinator = entry.runtime_data.coordinator
    history: deque[dict[str, Any]] = hass.data.get(DATA_HISTORY, {}).get(entry_id, deque())

    @callback
    def on_cycle() -> None:
        if coordinator.data is None:
            return
        connection.send_message(
            websocket_api.event_message(
                msg["id"],
                {"live": _live(coordinator), "point": history[-1] if history else None},
            )
        )

    # registered after track_network's listener, so the new point is in the history here
    unsubscribe = coordinator.async_add_listener(on_cycle)
    connection.subscriptions[msg["id"]] = unsubscribe
    connection.send_result(msg["id"])
    connection.send_message(
        websocket_api.event_message(
            msg["id"],
            {
                "topology": topology(coordinator.network),
                "devices": _devices(hass, entry_id, coordinator),
                "live": _live(coordinator) if coordinator.data is not None else None,
                "history": list(history),
                "admin": connection.user.is_admin,
                # the archive's history (§5.2.4-5): signals the panel offers for the action
                "archive": {"inlet": list(INLET_SIGNALS), "network": list(CYCLE_SIGNALS)},
            },
        )
    )


def _devices(
    hass: HomeAssistant, entry_id: str, coordinator: HeatbalanceCoordinator
) -> dict[str, dict[str, str | None]]:
    """Per managed inlet: its device (admins open the device page) and one entity (others
    open its more-info dialog, which links on to the device's other entities)."""
    entities = er.async_get(hass)
    found: dict[str, dict[str, str | None]] = {}
    for iid in coordinator.inlets:
        device = device_id(hass, entry_id, (DOMAIN, f"{entry_id}_{iid}"))
        if device is None:
            continue
        own = er.async_entries_for_device(entities, device)
        sensors = sorted(e.entity_id for e in own if e.domain == "sensor")
        found[iid] = {"device_id": device, "entity_id": sensors[0] if sensors else None}
    return found
