"""Inlet subentries: add, reconfigure, remove thermal inlets and map their signals.

Add: pick an inlet of the network that has no subentry yet (a household too, when one needs
its own device) or define a new one, validated by the engine's loader like a network file.
Each inlet reads its signals from a source: the built-in simulated plant, or existing Home
Assistant entities (sensors for supply/return/room temperature and flow, a ``valve`` or
``number`` entity to actuate, optionally a battery sensor of the room sensor §4.3.11-6).
"""

from __future__ import annotations

import re
from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import flow_vol as vol
from .const import (
    CONF_ACTUATOR_ENTITY,
    CONF_BATTERY_ENTITY,
    CONF_FLOW_ENTITY,
    CONF_GATEWAY_ID,
    CONF_GATEWAY_METER,
    CONF_GATEWAY_VALVE,
    CONF_INLET_ID,
    CONF_INLETS,
    CONF_LINK,
    CONF_RETURN_ENTITY,
    CONF_ROOM_ENTITY,
    CONF_SOURCE,
    CONF_SUPPLY_ENTITY,
    GATEWAY_DEVICE_KEYS,
    LINK_WIRED,
    LINK_WIRELESS,
    NEW_INLET,
    SIGNAL_ENTITY_KEYS,
    SOURCE_ENTITIES,
    SOURCE_GATEWAY,
    SOURCE_SIMULATOR,
    SOURCES,
    SUBENTRY_INLET,
)
from .engine.loader import DEVICE_TYPES, NetworkError
from .engine.model import Network
from .network_setup import build_network, definitions, network_source
from .settings import default_gateway_devices, gateway_devices


def _select(key: str, options: list[str], custom: bool = False) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            mode=SelectSelectorMode.DROPDOWN,
            translation_key=key,
            custom_value=custom,
        )
    )


def _number(lo: float, hi: float, step: float, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=lo, max=hi, step=step, unit_of_measurement=unit, mode=NumberSelectorMode.BOX
        )
    )


def _sensor(device_class: str | None = None) -> EntitySelector:
    config = EntitySelectorConfig(domain="sensor")
    if device_class:
        config["device_class"] = device_class
    return EntitySelector(config)


ENTITY_FIELDS: dict[str, EntitySelector] = {
    CONF_SUPPLY_ENTITY: _sensor("temperature"),
    CONF_RETURN_ENTITY: _sensor("temperature"),
    CONF_FLOW_ENTITY: _sensor(),
    CONF_ROOM_ENTITY: _sensor("temperature"),
    CONF_BATTERY_ENTITY: _sensor("battery"),
    CONF_ACTUATOR_ENTITY: EntitySelector(EntitySelectorConfig(domain=["valve", "number"])),
}
# device names as the gateway add-on's configuration accepts them (addon config.py SLUG)
DEVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
SOURCE_SCHEMA = {
    vol.Required(CONF_SOURCE, default=SOURCE_SIMULATOR): _select(CONF_SOURCE, list(SOURCES)),
    vol.Required(CONF_LINK, default=LINK_WIRED): _select(CONF_LINK, [LINK_WIRED, LINK_WIRELESS]),
}


def definition_schema(network: Network) -> vol.Schema:
    """Fields of a new inlet, in the network file's names (docs/network-format.md)."""
    buildings = [i.id for i in network.inlets.values() if i.type != "household"]
    return vol.Schema(
        {
            vol.Required("id"): TextSelector(),
            vol.Optional("name"): TextSelector(),
            vol.Required("type", default="building"): _select(
                "inlet_type", ["building", "unit", "household"]
            ),
            vol.Required("node"): _select("node", sorted(network.nodes)),
            vol.Optional("parent"): _select("parent", sorted(buildings)),
            vol.Required("heating_area_m2"): _number(1, 1e6, 0.1, "m²"),
            vol.Required("design_load_kw"): _number(0.1, 1e5, 0.1, "kW"),
            vol.Required("design_dt_k", default=15): _number(1, 60, 0.5, "K"),
            vol.Required("internal_dp_kpa", default=20): _number(0.1, 500, 0.1, "kPa"),
            vol.Required("device_type", default="electric_valve"): _select(
                "device_type", list(DEVICE_TYPES)
            ),
            vol.Optional("kvs"): _number(0.1, 1000, 0.1, "m³/h"),
        }
    )


def to_definition(form: dict[str, Any]) -> dict[str, Any]:
    """The form's answers as an inlet of the network file format."""
    device: dict[str, Any] = {"type": form["device_type"]}
    if form.get("kvs"):
        device["kvs"] = form["kvs"]
    inlet = {
        k: form[k]
        for k in ("id", "name", "type", "node", "parent")
        if form.get(k) not in (None, "")
    }
    inlet["id"] = str(inlet["id"]).strip()
    for k in ("heating_area_m2", "design_load_kw", "design_dt_k", "internal_dp_kpa"):
        inlet[k] = form[k]
    inlet["device"] = device
    return inlet


class InletSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure one thermal inlet of a network."""

    def __init__(self) -> None:
        """Answers collected across the steps."""
        self._data: dict[str, Any] = {}
        self._definition: dict[str, Any] | None = None
        self._title = ""

    async def _network(self) -> Network:
        """The entry's network as running, or freshly loaded when the entry is not."""
        entry = self._get_entry()
        if entry.state is ConfigEntryState.LOADED:
            return entry.runtime_data.coordinator.network  # type: ignore[no-any-return]
        return await self.hass.async_add_executor_job(
            build_network, network_source(entry.data), definitions(entry.data)
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Which inlet, and where its signals come from."""
        try:
            network = await self._network()
        except (NetworkError, OSError):
            return self.async_abort(reason="network_unavailable")
        taken = {
            s.data[CONF_INLET_ID]
            for s in self._get_entry().subentries.values()
            if s.subentry_type == SUBENTRY_INLET
        }
        free = [iid for iid in network.inlets if iid not in taken]
        if user_input is not None:
            self._data = {k: user_input[k] for k in (CONF_SOURCE, CONF_LINK)}
            inlet_id = user_input[CONF_INLET_ID]
            if inlet_id == NEW_INLET:
                return await self.async_step_define()
            self._data[CONF_INLET_ID] = inlet_id
            self._title = network.inlets[inlet_id].name or inlet_id
            return await self._next()
        schema = vol.Schema(
            {
                vol.Required(CONF_INLET_ID): _select(CONF_INLET_ID, [*free, NEW_INLET]),
                **SOURCE_SCHEMA,
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema)

    async def async_step_define(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new inlet: checked by the engine's loader together with the whole network."""
        entry = self._get_entry()
        network = await self._network()
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            definition = to_definition(user_input)
            if definition["id"] in network.inlets:
                errors["id"] = "inlet_exists"
            else:
                try:
                    await self.hass.async_add_executor_job(
                        build_network,
                        network_source(entry.data),
                        [*definitions(entry.data), definition],
                    )
                except NetworkError as err:
                    errors["base"] = "inlet_invalid"
                    placeholders["error"] = str(err)
            if not errors:
                self._data[CONF_INLET_ID] = definition["id"]
                self._definition = definition
                self._title = definition.get("name") or definition["id"]
                return await self._next()
        return self.async_show_form(
            step_id="define",
            data_schema=self.add_suggested_values_to_schema(
                definition_schema(network), user_input or {}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Home Assistant entities that measure (and move) this inlet."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if not any(user_input.get(k) for k in SIGNAL_ENTITY_KEYS):
                errors["base"] = "no_entities"
            else:
                self._data |= {k: user_input[k] for k in SIGNAL_ENTITY_KEYS if user_input.get(k)}
                return self._finish()
        suggested = user_input or self._data
        schema = vol.Schema({vol.Optional(k): sel for k, sel in ENTITY_FIELDS.items()})
        return self.async_show_form(
            step_id="entities",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"inlet": self._title},
        )

    async def async_step_gateway(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The gateway add-on's meter and valve devices of this inlet (docs/gateway.md).

        Names as in the add-on's bus configuration; leave one empty when the inlet has no such
        device. A device can belong to one inlet only.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            names = {k: str(user_input.get(k) or "").strip() for k in GATEWAY_DEVICE_KEYS}
            errors = self._gateway_errors(names)
            # the gateway owning the devices (issue 11); empty: the first that reports them
            owner = str(user_input.get(CONF_GATEWAY_ID) or "").strip()
            if owner and not DEVICE_NAME.match(owner):
                errors[CONF_GATEWAY_ID] = "device_name"
            if not errors:
                self._data |= names | {CONF_GATEWAY_ID: owner}
                return self._finish()
        suggested = user_input or {
            k: self._data.get(k, default)
            for k, default in zip(
                GATEWAY_DEVICE_KEYS,
                default_gateway_devices(self._data[CONF_INLET_ID]),
                strict=True,
            )
        } | {CONF_GATEWAY_ID: self._data.get(CONF_GATEWAY_ID, "")}
        schema = vol.Schema(
            {vol.Optional(k): TextSelector() for k in (*GATEWAY_DEVICE_KEYS, CONF_GATEWAY_ID)}
        )
        return self.async_show_form(
            step_id="gateway",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"inlet": self._title},
        )

    def _gateway_errors(self, names: dict[str, str]) -> dict[str, str]:
        """Form errors: malformed name, none at all, or a device of another inlet."""
        if not any(names.values()):
            return {"base": "no_devices"}
        errors = {k: "device_name" for k, v in names.items() if v and not DEVICE_NAME.match(v)}
        if names[CONF_GATEWAY_METER] and names[CONF_GATEWAY_METER] == names[CONF_GATEWAY_VALVE]:
            errors[CONF_GATEWAY_VALVE] = "device_taken"
        own = self._data[CONF_INLET_ID]
        taken = {
            name
            for sub in self._get_entry().subentries.values()
            if sub.data.get(CONF_SOURCE) == SOURCE_GATEWAY and sub.data.get(CONF_INLET_ID) != own
            for name in gateway_devices(sub.data)
            if name
        }
        errors |= {k: "device_taken" for k, v in names.items() if v in taken}
        return errors

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an inlet's source or link; the entities or gateway step follows."""
        subentry = self._get_reconfigure_subentry()
        self._title = subentry.title
        if user_input is not None:
            keep = {k: v for k, v in subentry.data.items() if k not in SIGNAL_ENTITY_KEYS}
            self._data = keep | {k: user_input[k] for k in (CONF_SOURCE, CONF_LINK)}
            if user_input[CONF_SOURCE] == SOURCE_ENTITIES:
                self._data |= {k: v for k, v in subentry.data.items() if k in SIGNAL_ENTITY_KEYS}
            return await self._next()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(SOURCE_SCHEMA), dict(subentry.data)
            ),
            description_placeholders={"inlet": self._title},
        )

    async def _next(self) -> SubentryFlowResult:
        """Ask for entities or gateway devices when the source needs them; otherwise done."""
        if self._data[CONF_SOURCE] == SOURCE_ENTITIES:
            return await self.async_step_entities()
        if self._data[CONF_SOURCE] == SOURCE_GATEWAY:
            return await self.async_step_gateway()
        return self._finish()

    def _finish(self) -> SubentryFlowResult:
        """Create the subentry, or update the one being reconfigured."""
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), data=self._data
            )
        if self._definition is not None:  # the network grows by this inlet
            entry = self._get_entry()
            data = dict(entry.data)
            data[CONF_INLETS] = [*definitions(entry.data), self._definition]
            self.hass.config_entries.async_update_entry(entry, data=data)
        return self.async_create_entry(
            title=self._title, data=self._data, unique_id=self._data[CONF_INLET_ID]
        )
