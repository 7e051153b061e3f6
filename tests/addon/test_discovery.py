"""HA discovery payloads: stable, unique ids; one HA device per field device; limits carried."""

from __future__ import annotations

from heatbalance_gateway.discovery import device_configs, gateway_configs, room_sensor_configs
from heatbalance_gateway.register_map import builtin_profiles, load_profile
from heatbalance_gateway.topics import Topics

TOPICS = Topics("heatbalance", "gw1")


def all_configs() -> list[tuple[str, dict]]:
    out = []
    for name in builtin_profiles():
        profile = load_profile(name)
        for device in (f"{name}-a", f"{name}-b"):
            out += list(device_configs(TOPICS, device, profile))
    return out + list(gateway_configs(TOPICS, ["line1", "line2"]))


def test_unique_ids_are_unique_and_stable() -> None:
    first, second = all_configs(), all_configs()
    ids = [c["unique_id"] for _t, c in first]
    assert len(ids) == len(set(ids))
    assert ids == [c["unique_id"] for _t, c in second]
    topics = [t for t, _c in first]
    assert len(topics) == len(set(topics))
    # Node id = gateway id, so the broker ACL (pattern write homeassistant/+/%u/#) admits them.
    assert all(t.startswith("homeassistant/") and t.split("/")[2] == "gw1" for t in topics)


def test_one_ha_device_per_field_device_via_the_gateway() -> None:
    profile = load_profile("heat_meter")
    devices = {str(c["device"]["identifiers"]) for _t, c in device_configs(TOPICS, "m1", profile)}
    assert devices == {"['heatbalance_gw1_m1']"}
    config = next(iter(device_configs(TOPICS, "m1", profile)))[1]
    assert config["device"]["via_device"] == "heatbalance_gw1"
    assert config["availability_mode"] == "all"
    assert [a["topic"] for a in config["availability"]] == [
        "heatbalance/gw/gw1/status",
        "heatbalance/gw/gw1/dev/m1/availability",
        "heatbalance/gw/gw1/dev/m1/state",  # an invalid (null) value shows unavailable
    ]
    assert "value_json.flow is none" in config["availability"][2]["value_template"]


def test_writable_points_carry_profile_limits() -> None:
    configs = dict(device_configs(TOPICS, "pt", load_profile("pt_transmitter")))
    number = configs["homeassistant/number/gw1/pt_high_pressure_alarm/config"]
    assert (number["min"], number["max"], number["step"]) == (0.0, 1600.0, 1.0)  # kPa
    assert number["unit_of_measurement"] == "kPa"
    assert number["command_topic"] == "heatbalance/gw/gw1/dev/pt/high_pressure_alarm/set"
    alarm = configs["homeassistant/binary_sensor/gw1/pt_alarm/config"]
    assert "value_json.alarm" in alarm["value_template"]
    valve = dict(device_configs(TOPICS, "v", load_profile("electric_valve")))[
        "homeassistant/valve/gw1/v_position_setpoint/config"
    ]
    assert valve["reports_position"] is True
    assert "position_feedback" in valve["value_template"]


def test_room_sensor_entities() -> None:
    configs = dict(room_sensor_configs(TOPICS, "zb-0011223344556677"))
    temperature = configs["homeassistant/sensor/gw1/zb-0011223344556677_temperature/config"]
    assert temperature["unit_of_measurement"] == "°C"
    assert temperature["state_topic"] == "heatbalance/gw/gw1/dev/zb-0011223344556677/state"
    low = configs["homeassistant/binary_sensor/gw1/zb-0011223344556677_battery_low/config"]
    assert low["device_class"] == "battery"
    assert len({c["unique_id"] for c in configs.values()}) == 4


def test_the_gateway_shows_whether_it_is_connected() -> None:
    """A connectivity sensor on the gateway's device reads its retained status itself, with
    no availability topic: offline shows "disconnected", not "unavailable" (issue 10)."""
    configs = dict(gateway_configs(TOPICS, ["line1"]))
    connected = configs["homeassistant/binary_sensor/gw1/connected/config"]
    assert connected["state_topic"] == "heatbalance/gw/gw1/status"
    assert (connected["payload_on"], connected["payload_off"]) == ("online", "offline")
    assert connected["device_class"] == "connectivity"
    assert "availability_topic" not in connected
    assert "availability" not in connected
    assert connected["device"]["identifiers"] == ["heatbalance_gw1"]
