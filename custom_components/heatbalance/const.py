"""Constants of the heatbalance integration: keys of entries, subentries and options.

Pure Python (no Home Assistant import), so the settings module and the engine tests can use it.
"""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "heatbalance"

# --- config entry data: where the network comes from ------------------------------------
CONF_NETWORK: Final = "network"  # a built-in network name (simulated plant)
CONF_PATH: Final = (
    "path"  # or a network file (YAML/JSON) or building list (CSV/XLSX) on the HA host
)
CONF_FILE: Final = "file"  # an uploaded network file or building list (file_upload id)
CONF_INLETS: Final = "inlets"  # inlets added in the UI or by CSV import (file format)
DEFAULT_DEMO: Final = "estate12"

# --- config subentries: one per thermal inlet ------------------------------------------
SUBENTRY_INLET: Final = "inlet"
SUBENTRY_COMMISSIONING: Final = "commissioning"  # a §7.2.6 record per commissioning round
CONF_DONE: Final = "done"  # a commissioning record's inlets set on site
CONF_INLET_ID: Final = "inlet_id"
CONF_SOURCE: Final = "source"
SOURCE_SIMULATOR: Final = "simulator"
SOURCE_ENTITIES: Final = "entities"
SOURCE_GATEWAY: Final = "gateway"
SOURCES: Final = (SOURCE_SIMULATOR, SOURCE_ENTITIES, SOURCE_GATEWAY)
CONF_LINK: Final = "link"  # §6.0.6 wired ≥95 %, wireless ≥80 % first-attempt success
LINK_WIRED: Final = "wired"
LINK_WIRELESS: Final = "wireless"
CONF_SUPPLY_ENTITY: Final = "supply_temperature_entity"
CONF_RETURN_ENTITY: Final = "return_temperature_entity"
CONF_FLOW_ENTITY: Final = "flow_entity"
CONF_ROOM_ENTITY: Final = "room_temperature_entity"
CONF_BATTERY_ENTITY: Final = "battery_entity"
CONF_ACTUATOR_ENTITY: Final = "actuator_entity"
# pressure transmitters at the inlet (§4.3.13): gauge pressures of both pipes, or one ΔP
CONF_SUPPLY_PRESSURE_ENTITY: Final = "supply_pressure_entity"
CONF_RETURN_PRESSURE_ENTITY: Final = "return_pressure_entity"
CONF_DP_ENTITY: Final = "differential_pressure_entity"
CONF_FAULT_ENTITY: Final = "valve_fault_entity"  # the valve's own fault code (§4.3.8)
# the inlet's heat meter (§4.1.2): its energy counter, or its thermal power; the meter check
# compares Q = ṁ·c_p·ΔT with the flow meter (engine/meters.py, §3.0.7-1)
CONF_HEAT_ENERGY_ENTITY: Final = "heat_energy_entity"
CONF_HEAT_POWER_ENTITY: Final = "heat_power_entity"
# several typical users' room sensors may be mapped (a list): their mean is the inlet's
# room temperature (§8.2.4-4 judges the average)
SIGNAL_ENTITY_KEYS: Final = (
    CONF_SUPPLY_ENTITY,
    CONF_RETURN_ENTITY,
    CONF_FLOW_ENTITY,
    CONF_ROOM_ENTITY,
    CONF_BATTERY_ENTITY,
    CONF_ACTUATOR_ENTITY,
    CONF_SUPPLY_PRESSURE_ENTITY,
    CONF_RETURN_PRESSURE_ENTITY,
    CONF_DP_ENTITY,
    CONF_FAULT_ENTITY,
    CONF_HEAT_ENERGY_ENTITY,
    CONF_HEAT_POWER_ENTITY,
)
# gateway add-on devices of an inlet (docs/gateway.md); default "<inlet>-meter" / "<inlet>-valve"
CONF_GATEWAY_METER: Final = "gateway_meter"
CONF_GATEWAY_VALVE: Final = "gateway_valve"
CONF_GATEWAY_ID: Final = "gateway_id"  # the gateway owning an inlet's devices (issue 11)
CONF_GATEWAY_TOPIC: Final = "gateway_topic"  # the entry's MQTT topic base (issue 10 item 6)
DEFAULT_GATEWAY_TOPIC: Final = "heatbalance"
GATEWAY_DEVICE_KEYS: Final = (CONF_GATEWAY_METER, CONF_GATEWAY_VALVE)
# further gateway devices of an inlet: pressure transmitters (pt_transmitter profile, kPa)
# on both pipes, and typical users' room sensors (Zigbee/LoRaWAN; a list of names)
CONF_GATEWAY_SUPPLY_PRESSURE: Final = "gateway_supply_pressure"
CONF_GATEWAY_RETURN_PRESSURE: Final = "gateway_return_pressure"
CONF_GATEWAY_ROOMS: Final = "gateway_rooms"
GATEWAY_SENSOR_KEYS: Final = (CONF_GATEWAY_SUPPLY_PRESSURE, CONF_GATEWAY_RETURN_PRESSURE)
NEW_INLET: Final = "__new__"
# operator tunables of an inlet, changed live by number/switch entities (no reload)
CONF_WEIGHT: Final = "weight"  # §5.3.6-5
CONF_SETPOINT_OFFSET: Final = "setpoint_offset"
CONF_AUTO: Final = "auto"  # §5.3.6-6 per inlet

# --- options ----------------------------------------------------------------------------
CONF_LEVEL: Final = "level"  # §3.0.4
LEVELS: Final = ("primary", "intermediate", "advanced")
CONF_TARGET: Final = "target"  # §4.1.1
TARGETS: Final = ("return_temperature", "mean_temperature", "flow", "room_temperature")
CONF_ALGORITHM: Final = "algorithm"  # §5.3.6-1
ALGORITHMS: Final = ("traditional", "ai")
CONF_MODE: Final = "mode"  # §5.2.4-2
MODES: Final = ("auto", "manual")
CONF_CYCLE_MINUTES: Final = "cycle_minutes"  # §4.3.4 acquisition period
MAX_CYCLE_MINUTES: Final = 30
CONF_ACCELERATION: Final = "acceleration"  # simulated plant only
CONF_OUTDOOR_ENTITY: Final = "outdoor_entity"
# the substation's flow meter: the mass balance against the sum of the inlets (meters.py)
CONF_SUBSTATION_FLOW_ENTITY: Final = "substation_flow_entity"
# … or that meter as a device of the gateway add-on (its ``flow`` point, m³/h)
CONF_SUBSTATION_FLOW_DEVICE: Final = "substation_flow_gateway_device"
# the substation's heat meter (its thermal power): the network's heat, measured as a whole
CONF_SUBSTATION_HEAT_ENTITY: Final = "substation_heat_entity"
CONF_SUBSTATION_HEAT_DEVICE: Final = "substation_heat_gateway_device"
CONF_DROPOUT: Final = "simulated_dropout"  # % of simulated readings lost (demo of §6.0.6)
CONF_SIM_NOISE: Final = "simulated_noise"  # % noise on the simulated plant's instruments
CONF_SIM_SEED: Final = "simulated_seed"  # the simulated instruments' random draws
# safety thresholds (§5.3.6-3, §5.3.8-1)
CONF_MIN_OPENING: Final = "min_opening"
CONF_MAX_OPENING: Final = "max_opening"
CONF_MAX_STEP: Final = "max_step"
CONF_MIN_FLOW: Final = "min_flow"
CONF_MAX_SUPPLY: Final = "max_supply_temperature"
CONF_MIN_RETURN: Final = "min_return_temperature"
CONF_MIN_DP: Final = "min_differential_pressure"
# the substation's circulation pump on a real plant (issue 10): its VFD's speed command
# (a number entity, 0…100 % of rated speed over the entity's min…max) and feedback (a sensor
# in % or Hz of a 50 Hz drive), or a VFD device on the gateway (vfd profile); and the
# operator's pump limits (§5.3.6-3: the plan never leaves them)
CONF_PUMP_SPEED_ENTITY: Final = "pump_speed_entity"
CONF_PUMP_FEEDBACK_ENTITY: Final = "pump_feedback_entity"
CONF_PUMP_GATEWAY_DEVICE: Final = "pump_gateway_device"
CONF_PUMP_GATEWAY_ID: Final = "pump_gateway_id"  # the gateway owning the drive (issue 11)
CONF_MIN_PUMP_SPEED: Final = "min_pump_speed"
CONF_MAX_PUMP_SPEED: Final = "max_pump_speed"
CONF_MAX_PUMP_STEP: Final = "max_pump_step"
RATED_HZ: Final = 50.0  # a drive's output frequency at rated speed (50 Hz mains)
# alarm settings (§5.3.8-3…5, §4.3.11-6)
CONF_FEEDBACK_TOLERANCE: Final = "feedback_tolerance"
CONF_ALARM_CYCLES: Final = "alarm_cycles"
CONF_LOW_BATTERY: Final = "low_battery"

SECTION_CONTROL: Final = "control"
SECTION_TIMING: Final = "timing"
SECTION_SAFETY: Final = "safety"
SECTION_ALARMS: Final = "alarms"
SECTION_PUMP: Final = "pump"

# --- events, services -------------------------------------------------------------------
EVENT_ALARM: Final = "heatbalance_alarm"
EVENT_AUDIT: Final = "heatbalance_audit"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_INLET: Final = "inlet"
DATA_RECORDS: Final = f"{DOMAIN}_records"  # hass.data: entry id → its Records (records.py)
