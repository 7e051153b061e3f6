"""Configuration and profile validation: errors name the field; bad secrets are refused."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
import yaml
from heatbalance_gateway.config import ConfigError, load_config, parse_config
from heatbalance_gateway.register_map import (
    ProfileError,
    builtin_profiles,
    load_profile,
    parse_profile,
)

from devtools.gateway_proc import ADDON

BASE: dict[str, Any] = {
    "gateway_id": "gw1",
    "mqtt": {
        "main": {
            "host": "broker.lan",
            "username": "gw1",
            "password": "Uu7-long-secret",
            "tls": {"ca_file": "/ssl/ca.pem"},
        }
    },
    "buses": [
        {
            "name": "line1",
            "type": "tcp",
            "host": "10.0.0.5",
            "devices": [
                {
                    "name": "valve-1",
                    "device_id": 1,
                    "profile": "electric_valve",
                    "poll_interval": 60,
                }
            ],
        },
        {
            "name": "rs485",
            "type": "rtu",
            "port": "/dev/ttyUSB0",
            "baudrate": 19200,
            "parity": "E",
            "devices": [{"name": "meter-1", "device_id": 7, "profile": "heat_meter"}],
        },
    ],
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


def test_valid_config_loads_profiles_and_defaults() -> None:
    config = parse_config(copy.deepcopy(BASE))
    assert set(config.profiles) == {"electric_valve", "heat_meter"}
    tcp, rtu = config.raw["buses"]
    assert tcp["port"] == 502
    assert rtu["parity"] == "E"
    assert config.raw["mqtt"]["main"]["port"] == 8883
    assert str(config.outbox_path) == "/data/outbox.sqlite"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("mqtt.main.password", "changeme", "mqtt.main.password"),
        ("mqtt.main.password", "", "mqtt.main.password"),
        ("mqtt.main.password", KeyError, "mqtt.main.password"),
        ("mqtt.main.tls", KeyError, "mqtt.main.tls: TLS"),
        ("buses.0.devices.0.poll_interval", 3600, "buses[0].devices[0].poll_interval"),
        ("buses.0.devices.0.device_id", 300, "buses[0].devices[0].device_id"),
        ("buses.0.devices.0.profile", "no_such_profile", "buses[0].devices[0].profile"),
        ("buses.0.host", KeyError, "buses[0].host"),
        ("buses.1.port", KeyError, "buses[1].port"),
        ("buses.1.baudrate", 12345, "buses[1].baudrate"),
        ("gateway_id", "Bad Id!", "gateway_id"),
        ("buses.1.devices.0.name", "valve-1", "used twice"),
    ],
)
def test_errors_name_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(with_change(path, value))
    assert message in str(err.value)


def test_backup_broker_is_validated_too() -> None:
    data = copy.deepcopy(BASE)
    data["mqtt"]["backup"] = {
        "host": "lte.example",
        "username": "gw1",
        "password": "admin",
        "tls": {"ca_file": "x"},
    }
    with pytest.raises(ConfigError, match=r"mqtt\.backup\.password"):
        parse_config(data)


def test_cli_check_and_refusal(tmp_path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(BASE))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_change("mqtt.main.password", "changeme")))
    run = [sys.executable, "-m", "heatbalance_gateway", "--config"]
    ok = subprocess.run(
        [*run, str(good), "--check"], cwd=ADDON, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(
        [*run, str(bad)], cwd=ADDON, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert "mqtt.main.password" in refused.stderr
    assert load_config(good).gateway_id == "gw1"


def test_builtin_profiles_are_valid() -> None:
    assert builtin_profiles() == ["electric_valve", "heat_meter", "pt_transmitter", "vfd"]
    valve = load_profile("electric_valve")
    setpoint = valve.point("position_setpoint")
    assert (setpoint.writable, setpoint.min, setpoint.max, setpoint.ha) == (
        True,
        0.0,
        100.0,
        "valve",
    )
    assert load_profile("heat_meter").point("flow").word_order == "little"
    # the pump's drive: the integration writes speed_setpoint (% of rated) and reads back
    drive = load_profile("vfd").point("speed_setpoint")
    assert (drive.writable, drive.min, drive.max, drive.feedback) == (
        True,
        0.0,
        100.0,
        "speed_feedback",
    )


POINT = {"key": "sp", "name": "Setpoint", "address": 0, "function": "holding", "type": "uint16"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"writable": True}, "points[sp].min: writable point needs 'min'"),
        ({"writable": True, "min": 0}, "points[sp].max"),
        ({"writable": True, "min": 5, "max": 1}, "min is greater than max"),
        (
            {"function": "input", "writable": True, "min": 0, "max": 1},
            "only holding registers and coils",
        ),
        ({"type": "float64"}, "points[sp].type"),
        ({"function": "coil"}, "type must be bool"),
        ({"scale": 0}, "points[sp].scale"),
        ({"address": 65535, "type": "uint32"}, "past address 65535"),
        ({"ha": "valve"}, "needs writable"),
        ({"unknown": 1}, "points[sp].unknown"),
    ],
)
def test_profile_errors_name_point_and_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile({"name": "p", "points": [{**POINT, **change}]}, "site.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("site.yaml: ")


ENERGY = {"key": "energy", "name": "Heat", "address": 0, "function": "input", "type": "uint32"}


@pytest.mark.parametrize(
    ("unit", "scale", "raw", "kwh"),
    [
        ("MWh", 0.001, 123_456, 123_456.0),  # the built-in heat_meter's register
        ("kWh", 1.0, 5_000, 5_000.0),
        ("GJ", 0.01, 36_000, 100_000.0),  # 360 GJ (Chinese meters often count GJ)
        ("Gcal", 0.001, 1_000, 1_163.0),
        ("Wh", 1.0, 1_500_000, 1_500.0),
    ],
)
def test_energy_counters_are_published_in_kwh(
    unit: str, scale: float, raw: int, kwh: float
) -> None:
    """An energy counter's register is read in the unit the meter counts in and published
    in kWh (§4.1.2): the integration's meter check reads every gateway counter as kWh."""
    profile = parse_profile({"name": "m", "points": [ENERGY | {"unit": unit, "scale": scale}]})
    point = profile.point("energy")
    assert point.unit == "kWh"
    value, why = point.read([raw >> 16, raw & 0xFFFF])
    assert why is None
    assert value == pytest.approx(kwh, rel=1e-12)
    # the physical range is converted with it: 1 GJ = 277.8 kWh
    ranged = ENERGY | {"unit": "GJ", "scale": 0.1, "valid_min": 0, "valid_max": 1}
    checked = parse_profile({"name": "m", "points": [ranged]}).point("energy")
    assert checked.valid_max == pytest.approx(277.777777, rel=1e-6)
    assert checked.read([0, 5])[0] == pytest.approx(138.888889, rel=1e-6)  # 0.5 GJ
    assert "above 277.77" in str(checked.read([0, 20])[1])  # 2 GJ
    # a point of device class energy under another key is converted the same way
    other = ENERGY | {"key": "heat", "unit": unit, "scale": scale, "device_class": "energy"}
    heat = parse_profile({"name": "m", "points": [other]}).point("heat")
    assert heat.read([raw >> 16, raw & 0xFFFF])[0] == pytest.approx(kwh, rel=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "points[energy].unit: an energy counter needs an energy unit"),
        ({"unit": "m³"}, "points[energy].unit: an energy counter needs an energy unit"),
        (
            {"unit": "kWh", "function": "holding", "writable": True, "min": 0, "max": 9},
            "points[energy].writable: an energy counter is read-only",
        ),
    ],
)
def test_energy_counter_without_energy_unit_is_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile({"name": "m", "points": [ENERGY | change]}, "site.yaml")
    assert message in str(err.value)


def test_profile_overlap_and_duplicates_are_refused() -> None:
    two = [POINT, {**POINT, "key": "other", "type": "int32"}]
    with pytest.raises(ProfileError, match="overlap at holding 0"):
        parse_profile({"name": "p", "points": two})
    with pytest.raises(ProfileError, match="duplicate point keys"):
        parse_profile({"name": "p", "points": [POINT, {**POINT, "address": 5}]})


def _plain(host: str, **extra: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    main = data["mqtt"]["main"]
    del main["tls"]
    main.update(host=host, insecure_plaintext=True, **extra)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_change("mqtt.main.password", "x"), "mqtt.main.password: too short"),
        (with_change("mqtt.main.username", "gw2"), "mqtt.main.username: must be the gateway id"),
        (_plain("broker.lan"), "mqtt.main.host: plaintext MQTT only to a loopback broker"),
        (with_change("buses.1.name", "line1"), "buses[1].name: 'line1' used twice"),
    ],
)
def test_hardened_refusals_name_the_field(data: dict[str, Any], message: str) -> None:
    """Issue 11 item 4: each refusal names the field it is about."""
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert message in str(err.value)


def test_plaintext_allowed_to_loopback_or_when_said() -> None:
    assert parse_config(_plain("127.0.0.1")).gateway_id == "gw1"
    assert parse_config(_plain("::1")).gateway_id == "gw1"
    assert parse_config(_plain("broker.lan", allow_remote_plaintext=True)).gateway_id == "gw1"


def test_yaml_error_never_prints_the_secret(tmp_path) -> None:
    secret = "Sup3r-Secret-Pw"
    bad = tmp_path / "gateway.yaml"
    bad.write_text(f"gateway_id: gw1\nmqtt:\n  main:\n    password: [{secret}\n    host: x\n")
    refused = subprocess.run(
        [sys.executable, "-m", "heatbalance_gateway", "--config", str(bad)],
        cwd=ADDON,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "line" in refused.stderr
    assert secret not in refused.stderr + refused.stdout
