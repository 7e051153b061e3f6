"""Options flow: level, control target, algorithm, cycle period and safety thresholds.

Stored flat in ``entry.options``; the form groups them in sections. The entry's update
listener applies operating settings in place and reloads only for the cycle and its sources
(``settings.RELOAD_OPTIONS``): ``OptionsFlowWithReload`` does not exist in HA 2025.4.
"""

from __future__ import annotations

import re
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.const import PERCENTAGE, UnitOfPressure, UnitOfTemperature, UnitOfTime
from homeassistant.data_entry_flow import section
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
    ALGORITHMS,
    CONF_ACCELERATION,
    CONF_ALARM_CYCLES,
    CONF_ALGORITHM,
    CONF_CYCLE_MINUTES,
    CONF_DROPOUT,
    CONF_FEEDBACK_TOLERANCE,
    CONF_GATEWAY_TOPIC,
    CONF_LEVEL,
    CONF_LOW_BATTERY,
    CONF_MAX_OPENING,
    CONF_MAX_PUMP_SPEED,
    CONF_MAX_PUMP_STEP,
    CONF_MAX_STEP,
    CONF_MAX_SUPPLY,
    CONF_MIN_DP,
    CONF_MIN_FLOW,
    CONF_MIN_OPENING,
    CONF_MIN_PUMP_SPEED,
    CONF_MIN_RETURN,
    CONF_MODE,
    CONF_OUTDOOR_ENTITY,
    CONF_PUMP_FEEDBACK_ENTITY,
    CONF_PUMP_GATEWAY_DEVICE,
    CONF_PUMP_GATEWAY_ID,
    CONF_PUMP_SPEED_ENTITY,
    CONF_SIM_NOISE,
    CONF_SIM_SEED,
    CONF_SUBSTATION_FLOW_DEVICE,
    CONF_SUBSTATION_FLOW_ENTITY,
    CONF_SUBSTATION_HEAT_DEVICE,
    CONF_SUBSTATION_HEAT_ENTITY,
    CONF_TARGET,
    LEVELS,
    MODES,
    SECTION_ALARMS,
    SECTION_CONTROL,
    SECTION_PUMP,
    SECTION_SAFETY,
    SECTION_TIMING,
    TARGETS,
)
from .records import CONF_ARCHIVE_URL, async_check_archive
from .settings import DEFAULT_OPTIONS, OPTION_RANGES, OPTIONAL_OPTIONS, option_errors

TOPIC_BASE = re.compile(r"^[A-Za-z0-9_-]+$")
GATEWAY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")  # as the add-on's gateway_id


def _select(key: str, options: tuple[str, ...]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=list(options), mode=SelectSelectorMode.DROPDOWN, translation_key=key
        )
    )


def _number(key: str, unit: str | None = None) -> NumberSelector:
    lo, hi, step = OPTION_RANGES[key]
    config = NumberSelectorConfig(min=lo, max=hi, step=step, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


# (section, key, selector) — the order of the form
FIELDS: tuple[tuple[str, str, Any], ...] = (
    (SECTION_CONTROL, CONF_LEVEL, _select(CONF_LEVEL, LEVELS)),
    (SECTION_CONTROL, CONF_TARGET, _select(CONF_TARGET, TARGETS)),
    (SECTION_CONTROL, CONF_ALGORITHM, _select(CONF_ALGORITHM, ALGORITHMS)),
    (SECTION_CONTROL, CONF_MODE, _select(CONF_MODE, MODES)),
    (SECTION_TIMING, CONF_CYCLE_MINUTES, _number(CONF_CYCLE_MINUTES, UnitOfTime.MINUTES)),
    (SECTION_TIMING, CONF_ACCELERATION, _number(CONF_ACCELERATION, "×")),
    (SECTION_TIMING, CONF_DROPOUT, _number(CONF_DROPOUT, PERCENTAGE)),
    (SECTION_TIMING, CONF_SIM_NOISE, _number(CONF_SIM_NOISE, PERCENTAGE)),
    (SECTION_TIMING, CONF_SIM_SEED, _number(CONF_SIM_SEED)),
    (SECTION_TIMING, CONF_GATEWAY_TOPIC, TextSelector()),
    (SECTION_SAFETY, CONF_MIN_OPENING, _number(CONF_MIN_OPENING, PERCENTAGE)),
    (SECTION_SAFETY, CONF_MAX_OPENING, _number(CONF_MAX_OPENING, PERCENTAGE)),
    (SECTION_SAFETY, CONF_MAX_STEP, _number(CONF_MAX_STEP, PERCENTAGE)),
    (SECTION_SAFETY, CONF_MIN_FLOW, _number(CONF_MIN_FLOW, PERCENTAGE)),
    (SECTION_SAFETY, CONF_MAX_SUPPLY, _number(CONF_MAX_SUPPLY, UnitOfTemperature.CELSIUS)),
    (SECTION_SAFETY, CONF_MIN_RETURN, _number(CONF_MIN_RETURN, UnitOfTemperature.CELSIUS)),
    (SECTION_SAFETY, CONF_MIN_DP, _number(CONF_MIN_DP, UnitOfPressure.KPA)),
    (SECTION_ALARMS, CONF_FEEDBACK_TOLERANCE, _number(CONF_FEEDBACK_TOLERANCE, PERCENTAGE)),
    (SECTION_ALARMS, CONF_ALARM_CYCLES, _number(CONF_ALARM_CYCLES)),
    (SECTION_ALARMS, CONF_LOW_BATTERY, _number(CONF_LOW_BATTERY, PERCENTAGE)),
    # the pump's limits (§5.3.6-3), within the network file's VFD range
    (SECTION_PUMP, CONF_MIN_PUMP_SPEED, _number(CONF_MIN_PUMP_SPEED, PERCENTAGE)),
    (SECTION_PUMP, CONF_MAX_PUMP_SPEED, _number(CONF_MAX_PUMP_SPEED, PERCENTAGE)),
    (SECTION_PUMP, CONF_MAX_PUMP_STEP, _number(CONF_MAX_PUMP_STEP, PERCENTAGE)),
)
_SECTIONS = {key: name for name, key, _ in FIELDS}  # where a form error shows
# fields that may stay empty (an entity or device not mapped), by section
OPTIONAL_FIELDS: dict[str, tuple[tuple[str, Any], ...]] = {  # the timing's: NETWORK_ENTITIES
    # … and the substation flow meter as a device of the gateway add-on (its flow point)
    SECTION_TIMING: (
        (CONF_SUBSTATION_FLOW_DEVICE, TextSelector()),
        (CONF_SUBSTATION_HEAT_DEVICE, TextSelector()),  # an M-Bus heat meter's power point
    ),
    SECTION_PUMP: (  # a real plant's VFD: an HA number entity, or a device on the gateway
        (
            CONF_PUMP_SPEED_ENTITY,
            EntitySelector(EntitySelectorConfig(domain=["number", "input_number"])),
        ),
        (
            CONF_PUMP_FEEDBACK_ENTITY,
            EntitySelector(EntitySelectorConfig(domain=["sensor", "number", "input_number"])),
        ),
        (CONF_PUMP_GATEWAY_DEVICE, TextSelector()),
        (CONF_PUMP_GATEWAY_ID, TextSelector()),
    ),
}
SECTION_RECORDS = "records"
SECTIONS = (
    SECTION_CONTROL,
    SECTION_TIMING,
    SECTION_SAFETY,
    SECTION_ALARMS,
    SECTION_PUMP,
    SECTION_RECORDS,
)
LATER_SECTIONS = (SECTION_PUMP, SECTION_RECORDS)  # forms and tests before them stay valid


# network-level sensors: the outdoor temperature, the substation's flow meter (its mass
# balance against the inlets' flow meters, engine/meters.py); device class None for flow:
# HA has a volume_flow_rate class, yet many meters' entities carry none
NETWORK_ENTITIES = {
    CONF_OUTDOOR_ENTITY: "temperature",
    CONF_SUBSTATION_FLOW_ENTITY: None,
    # the substation heat meter's thermal power: the network heat power, measured
    CONF_SUBSTATION_HEAT_ENTITY: "power",
}


def _entity_fields(current: dict[str, Any]) -> dict[Any, Any]:
    """The network's sensor fields, each suggesting its current entity (clearable)."""
    fields: dict[Any, Any] = {}
    for key, device_class in NETWORK_ENTITIES.items():
        value = current.get(key)
        marker = (
            vol.Optional(key, description={"suggested_value": value})
            if value
            else vol.Optional(key)
        )
        config = EntitySelectorConfig(domain="sensor")
        if device_class:
            config["device_class"] = device_class
        fields[marker] = EntitySelector(config)
    return fields


def options_schema(current: dict[str, Any]) -> vol.Schema:
    """The form, each field defaulting to its current value."""
    schema: dict[Any, Any] = {}
    for name in SECTIONS:
        fields: dict[Any, Any] = {
            vol.Required(key, default=current[key]): selector
            for sec, key, selector in FIELDS
            if sec == name
        }
        if name == SECTION_RECORDS:  # the archive's database (records.py); empty: SQLite
            url = current.get(CONF_ARCHIVE_URL) or ""
            fields[vol.Optional(CONF_ARCHIVE_URL, description={"suggested_value": url})] = (
                TextSelector()
            )
        if name == SECTION_TIMING:
            fields |= _entity_fields(current)
        for option, selector in OPTIONAL_FIELDS.get(name, ()):
            now = current.get(option)
            marker = (
                vol.Optional(option, description={"suggested_value": now})
                if now
                else vol.Optional(option)
            )
            fields[marker] = selector
        key = vol.Optional(name) if name in LATER_SECTIONS else vol.Required(name)
        schema[key] = section(vol.Schema(fields), {"collapsed": name != SECTION_CONTROL})
    return vol.Schema(schema)


def check(options: dict[str, Any]) -> dict[str, str]:
    """Settings that contradict each other or the standard, as form errors."""
    errors = {_SECTIONS[key]: error for key, error in option_errors(options)}
    if options.get(CONF_PUMP_SPEED_ENTITY) and options.get(CONF_PUMP_GATEWAY_DEVICE):
        errors[SECTION_PUMP] = "pump_two_sources"  # one VFD, one way to command it
    if options.get(CONF_PUMP_GATEWAY_ID) and not GATEWAY_ID.match(options[CONF_PUMP_GATEWAY_ID]):
        errors[SECTION_PUMP] = "pump_gateway_id"
    if options.get(CONF_SUBSTATION_FLOW_ENTITY) and options.get(CONF_SUBSTATION_FLOW_DEVICE):
        errors[SECTION_TIMING] = "substation_flow_two_sources"  # one meter, read one way
    if options.get(CONF_SUBSTATION_HEAT_ENTITY) and options.get(CONF_SUBSTATION_HEAT_DEVICE):
        errors[SECTION_TIMING] = "substation_heat_two_sources"
    if not TOPIC_BASE.match(str(options.get(CONF_GATEWAY_TOPIC) or "")):
        errors[SECTION_TIMING] = "gateway_topic"  # as the add-on's mqtt.base_topic allows
    return errors


def _emptied(user_input: dict[str, Any]) -> set[str]:
    """Optional fields of the sections the form sent: left empty there means unmapped."""
    return {
        option
        for name, fields in OPTIONAL_FIELDS.items()
        if name in user_input
        for option, _selector in fields
    }


class HeatbalanceOptionsFlow(OptionsFlow):
    """One form in four sections; the first is open, the rest collapsed."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show, check and store the options."""
        current = DEFAULT_OPTIONS | dict(self.config_entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            flat = {k: v for name in SECTIONS for k, v in user_input.get(name, {}).items()}
            options = DEFAULT_OPTIONS | {
                k: v
                for k, v in self.config_entry.options.items()
                if k not in (*NETWORK_ENTITIES, *_emptied(user_input), CONF_ARCHIVE_URL)
            }
            options |= flat
            for key in NETWORK_ENTITIES:  # a cleared field is left out of the answer
                options.setdefault(key, None)
            for option in OPTIONAL_OPTIONS:
                options[option] = options.get(option) or None
            options[CONF_ARCHIVE_URL] = flat.get(CONF_ARCHIVE_URL) or None
            errors = check(options) or await async_check_archive(
                self.hass, options[CONF_ARCHIVE_URL], SECTION_RECORDS
            )
            if not errors:
                return self.async_create_entry(data=options)
            current = options
        return self.async_show_form(
            step_id="init", data_schema=options_schema(current), errors=errors
        )
