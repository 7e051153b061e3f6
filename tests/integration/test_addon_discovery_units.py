"""The gateway add-on's MQTT discovery against this Home Assistant's sensor rules.

tests/addon runs on the add-on's own Python only (scripts/test); what HA accepts differs
between the supported HA versions, so this check runs on every one of them.
"""

from __future__ import annotations

from heatbalance_gateway.discovery import room_sensor_configs
from homeassistant.components.sensor import DEVICE_CLASS_UNITS, SensorDeviceClass

from tests.addon.test_discovery import TOPICS, all_configs


def test_every_sensor_unit_is_one_home_assistant_accepts_for_its_device_class() -> None:
    """HA rejects a sensor whose unit its device class does not know (the pt_transmitter's
    pressure was published in MPa, which HA has not): every built-in profile's sensors, and
    the room sensors', carry a unit their device class accepts."""
    configs = all_configs() + list(room_sensor_configs(TOPICS, "room-1"))
    checked = 0
    for topic, config in configs:
        if "/sensor/" not in topic or "device_class" not in config:
            continue
        units = DEVICE_CLASS_UNITS.get(SensorDeviceClass(config["device_class"]))
        if units is not None:
            assert config.get("unit_of_measurement") in units, (topic, config)
            checked += 1
    assert checked >= 8
    pressure = dict(configs)["homeassistant/sensor/gw1/pt_transmitter-a_pressure/config"]
    assert (pressure["device_class"], pressure["unit_of_measurement"]) == ("pressure", "kPa")
