"""Actions (services) of heatbalance, registered once in ``async_setup``.

Operators (§5.1.3: non-admin users) may balance now and acknowledge alarms; parameter
changes, imports and commissioning are for administrators; read-only users are refused.
Every call is audited (§5.3.6-7). Bad input raises a translated ``ServiceValidationError``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import config_validation as cv

from .actions import async_acknowledge, async_balance_now, async_confirm_proposal
from .archive_actions import SCHEMAS as ARCHIVE_SCHEMAS
from .archive_actions import ReportFileView, async_history, async_report
from .audit import async_audit, async_audit_refused, async_require_admin, async_require_operator
from .compat import flow_vol as vol
from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_INLET,
    CONF_MAX_OPENING,
    CONF_MAX_STEP,
    CONF_MAX_SUPPLY,
    CONF_MIN_DP,
    CONF_MIN_FLOW,
    CONF_MIN_OPENING,
    CONF_MIN_RETURN,
    CONF_WEIGHT,
    DOMAIN,
)
from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator
from .cycle import weight_of
from .engine.alarms import ALARM_TYPES, NETWORK
from .engine.model import WEIGHT_RANGE
from .export import (
    async_export_network,
    async_import_csv,
    commission_response,
    export_response,
)
from .lifecycle import async_change_inlet, async_change_options
from .records import archive_commissioning
from .settings import DEFAULT_OPTIONS, OPTION_RANGES, option_errors

_LOGGER = logging.getLogger(__name__)
ENTRY = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})


def _in_range(lo: float, hi: float, *_: float) -> Any:
    """A number within lo…hi (a template's text too, as HA's actions take it); a bool is
    refused: ``float(True)`` set a threshold of 1 (a minimum opening of 1 %, §5.3.6-3)."""
    return vol.All(_no_bool, vol.Coerce(float), vol.Range(min=lo, max=hi))


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise vol.Invalid("expected a number, not true or false")
    return value


THRESHOLDS = {  # the threshold numbers' ranges (settings.OPTION_RANGES)
    vol.Optional(key): _in_range(*OPTION_RANGES[key])
    for key in (
        CONF_MIN_OPENING,
        CONF_MAX_OPENING,
        CONF_MAX_STEP,
        CONF_MIN_FLOW,
        CONF_MAX_SUPPLY,
        CONF_MIN_RETURN,
        CONF_MIN_DP,
    )
}
SCHEMAS: dict[str, Any] = {
    "balance_now": ENTRY,
    "confirm_proposal": ENTRY,
    "set_weight": ENTRY.extend(
        {
            vol.Required(ATTR_INLET): cv.string,
            vol.Required(CONF_WEIGHT): _in_range(*WEIGHT_RANGE),
        }
    ),
    "set_safety_thresholds": ENTRY.extend(THRESHOLDS),
    "acknowledge_alarm": ENTRY.extend(
        {vol.Optional(ATTR_INLET): cv.string, vol.Optional("alarm_type"): vol.In(ALARM_TYPES)}
    ),
    "import_inlets_csv": ENTRY.extend(
        {vol.Exclusive("csv", "source"): cv.string, vol.Exclusive("path", "source"): cv.string}
    ),
    "commission": ENTRY,
    "export_data": ENTRY,
    "export_network": ENTRY.extend(
        {vol.Optional("link_hours", default=24): vol.All(vol.Coerce(float), vol.Range(0.1, 720))}
    ),
    **ARCHIVE_SCHEMAS,
}


def _coordinator(hass: HomeAssistant, call: ServiceCall) -> HeatbalanceCoordinator:
    """The loaded network the call names."""
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry: HeatbalanceConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is ConfigEntryState.UNLOAD_IN_PROGRESS:
        # the refusal the entities' buttons give in the same moment (actions._refuse_unloading):
        # one error for one situation, whichever way the operator asked
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="unloading_command")
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"network": entry.title},
        )
    return entry.runtime_data.coordinator


def _inlet(coordinator: HeatbalanceCoordinator, name: str) -> str:
    """A managed inlet by id or name."""
    for iid in coordinator.inlets:
        if name in (iid, coordinator.network.inlets[iid].name):
            return iid
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="inlet_not_found",
        translation_placeholders={"inlet": name, "network": coordinator.network.name},
    )


async def _balance_now(hass: HomeAssistant, call: ServiceCall) -> None:
    await async_require_operator(hass, call.context)
    await async_balance_now(_coordinator(hass, call), call.context)


async def _confirm_proposal(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await async_require_operator(hass, call.context)
    sent, pump = await async_confirm_proposal(_coordinator(hass, call), call.context)
    return {
        "openings": {iid: round(v * 100.0, 1) for iid, v in sent.items()},
        "pump": None if pump is None else round(pump * 100.0, 1),  # speed, % (as sent)
    }


async def _acknowledge(hass: HomeAssistant, call: ServiceCall) -> None:
    await async_require_operator(hass, call.context)
    coordinator = _coordinator(hass, call)
    location = call.data.get(ATTR_INLET)
    if location is not None and location != NETWORK:
        location = _inlet(coordinator, location)
    async_acknowledge(
        coordinator, call.context, location=location, kind=call.data.get("alarm_type")
    )
    await coordinator.async_told()  # the call returns with the change shown (as refresh does)


async def _set_weight(hass: HomeAssistant, call: ServiceCall) -> None:
    await async_require_admin(hass, call.context)
    coordinator = _coordinator(hass, call)
    iid = _inlet(coordinator, call.data[ATTR_INLET])
    old = weight_of(coordinator.network, coordinator.inlets[iid])  # the file's if never set
    async_change_inlet(hass, coordinator.config_entry, iid, **{CONF_WEIGHT: call.data[CONF_WEIGHT]})
    async_audit(
        hass,
        coordinator.config_entry.entry_id,
        "set_weight",
        call.context,
        inlet=iid,
        old=old,
        new=call.data[CONF_WEIGHT],
    )
    await coordinator.async_told()


async def _set_thresholds(hass: HomeAssistant, call: ServiceCall) -> None:
    await async_require_admin(hass, call.context)
    coordinator = _coordinator(hass, call)
    entry = coordinator.config_entry
    changes = {k: v for k, v in call.data.items() if k != ATTR_CONFIG_ENTRY_ID}
    if not changes:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="nothing_to_set")
    if wrong := option_errors(dict(entry.options) | changes):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key=wrong[0][1])
    before = DEFAULT_OPTIONS | dict(entry.options)
    async_change_options(hass, entry, **changes)
    async_audit(
        hass,
        entry.entry_id,
        "set_safety_thresholds",
        call.context,
        **changes,
        changes={k: [before.get(k), v] for k, v in changes.items()},
    )
    await coordinator.async_told()


async def _import_csv(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await async_require_admin(hass, call.context)
    coordinator = _coordinator(hass, call)
    response = await async_import_csv(
        hass, coordinator, call.data.get("csv"), call.data.get("path")
    )
    async_audit(
        hass,
        coordinator.config_entry.entry_id,
        "import_inlets_csv",
        call.context,
        inlets=",".join(response["added"] + response["replaced"]),
    )  # type: ignore[operator]
    return response


async def _commission(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await async_require_admin(hass, call.context)
    coordinator = _coordinator(hass, call)
    response = await commission_response(hass, coordinator)
    async_audit(hass, coordinator.config_entry.entry_id, "commission", call.context)
    archive_commissioning(hass, coordinator.config_entry.entry_id, dict(response or {}))
    return response


async def _export(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await async_require_operator(hass, call.context)
    coordinator = _coordinator(hass, call)
    async_audit(hass, coordinator.config_entry.entry_id, "export_data", call.context)
    return export_response(coordinator)


async def _export_network(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await async_require_admin(hass, call.context)
    coordinator = _coordinator(hass, call)
    link = timedelta(hours=call.data["link_hours"])
    response = await async_export_network(hass, coordinator, link)
    async_audit(
        hass,
        coordinator.config_entry.entry_id,
        "export_network",
        call.context,
        file=response["file"],
    )
    return response


async def _history(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(hass, call)
    name = call.data[ATTR_INLET]
    inlet = None if name == NETWORK else _inlet(coordinator, name)
    return await async_history(hass, coordinator, inlet, call)


async def _report(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    if call.data.get("template"):  # a template can read any state: as HA's own render rule
        await async_require_admin(hass, call.context)
    return await async_report(hass, _coordinator(hass, call), call)


HANDLERS = {
    "balance_now": (_balance_now, SupportsResponse.NONE),
    "confirm_proposal": (_confirm_proposal, SupportsResponse.OPTIONAL),
    "acknowledge_alarm": (_acknowledge, SupportsResponse.NONE),
    "set_weight": (_set_weight, SupportsResponse.NONE),
    "set_safety_thresholds": (_set_thresholds, SupportsResponse.NONE),
    "import_inlets_csv": (_import_csv, SupportsResponse.OPTIONAL),
    "commission": (_commission, SupportsResponse.ONLY),
    "export_data": (_export, SupportsResponse.ONLY),
    "export_network": (_export_network, SupportsResponse.OPTIONAL),
    "history": (_history, SupportsResponse.ONLY),  # read-only: any logged-in user
    "report": (_report, SupportsResponse.OPTIONAL),
}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register every action of the integration, and the report download view."""
    if hass.http is not None:
        try:
            hass.http.register_view(ReportFileView())
        except RuntimeError as err:  # a test client froze the router before we loaded
            _LOGGER.warning("report downloads unavailable: %s", err)
    for name, (handler, supports) in HANDLERS.items():

        async def call(
            call: ServiceCall, _handler: Any = handler, _name: str = name
        ) -> ServiceResponse:
            try:
                return await _handler(hass, call)  # type: ignore[no-any-return]
            except Unauthorized:  # the refusal leaves a trace (§5.3.6-7)
                entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID, "")
                async_audit_refused(hass, entry_id, _name, call.context)
                raise

        hass.services.async_register(DOMAIN, name, call, SCHEMAS[name], supports_response=supports)
