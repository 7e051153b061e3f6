"""Gateway configuration: YAML/JSON file validated by voluptuous.

Errors name the offending field (``buses[0].devices[2].poll_interval: ...``) so an operator can
fix the add-on options without reading code. Secrets that are empty, short or well-known
defaults are refused: per-gateway credentials are part of the identity authentication §5.1.3
asks for. Hardened (issue 11): the broker user name must be the gateway id (the ACL grants
``%u`` its own topics only; another name connects and then has everything silently dropped),
plaintext MQTT only to a loopback broker unless ``allow_remote_plaintext`` says otherwise, bus
and device names unique, and no error message ever quotes the file (a YAML error shows only
its position, never the line that may hold a password).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml

from .lorawan import PROFILES as LORAWAN_PROFILES
from .mbus import BUS_TYPES as MBUS_TYPES
from .mbus import MBusProfile, load_mbus_profile
from .register_map import Profile, ProfileError, load_profile

MAX_POLL_INTERVAL_S = 1800.0  # §4.3.4: inlet data acquired at least every 30 min
MAX_UPLOAD_INTERVAL_S = 3600.0  # §4.3.4: uploaded at least every 60 min
DEFAULT_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change_me",
        "password",
        "passw0rd",
        "admin",
        "secret",
        "mqtt",
        "default",
        "homeassistant",
        "123456",
        "12345678",
        "public",
        "guest",
    }
)
SLUG = r"^[a-z0-9][a-z0-9_-]{0,47}$"
MIN_PASSWORD = 8


class ConfigError(ValueError):
    """The configuration is invalid; the message names the field."""


def _secret(value: Any) -> str:
    text: str = vol.Coerce(str)(value)
    if text.strip().lower() in DEFAULT_SECRETS:
        raise vol.Invalid("empty or default secret refused; set a unique per-gateway password")
    if len(text) < MIN_PASSWORD:
        raise vol.Invalid(f"too short: at least {MIN_PASSWORD} characters")
    return text


TLS_SCHEMA = vol.Schema(
    {
        vol.Required("ca_file"): str,
        vol.Optional("cert_file"): str,
        vol.Optional("key_file"): str,
    }
)

BROKER_SCHEMA = vol.Schema(
    {
        vol.Required("host"): vol.All(str, vol.Length(min=1)),
        vol.Optional("port", default=8883): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional("transport", default="tcp"): vol.In(("tcp", "websockets")),
        vol.Optional("ws_path", default="/mqtt"): str,
        vol.Required("username"): vol.All(str, vol.Length(min=1)),
        vol.Required("password"): _secret,
        vol.Optional("tls"): TLS_SCHEMA,
        vol.Optional("insecure_plaintext", default=False): bool,
        vol.Optional("allow_remote_plaintext", default=False): bool,
        # set by the Supervisor integration only (supervisor.py): its internal broker
        vol.Optional("supervisor", default=False): bool,
        vol.Optional("keepalive", default=30): vol.All(int, vol.Range(min=5, max=600)),
    }
)

SERIAL_KEYS: dict[vol.Optional, Any] = {
    vol.Optional("baudrate", default=9600): vol.In(
        (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
    ),
    vol.Optional("parity", default="N"): vol.In(("N", "E", "O")),
    vol.Optional("stopbits", default=1): vol.In((1, 2)),
    vol.Optional("bytesize", default=8): vol.In((7, 8)),
}

POLL_INTERVAL = vol.All(
    vol.Coerce(float),
    vol.Range(min=0.05, max=MAX_POLL_INTERVAL_S, msg="must be 0.05..1800 s (§4.3.4)"),
)

DEVICE_SCHEMA = vol.Schema(
    {
        vol.Required("name"): vol.Match(SLUG, msg="lowercase letters, digits, _ and -"),
        vol.Required("device_id"): vol.All(int, vol.Range(min=1, max=247)),
        vol.Required("profile"): str,
        vol.Optional("poll_interval", default=60.0): POLL_INTERVAL,
        vol.Optional("title"): str,
        vol.Optional("area"): str,
    }
)

BREAKER_SCHEMA = vol.Schema(
    {
        vol.Optional("failures", default=3): vol.All(int, vol.Range(min=1, max=20)),
        vol.Optional("max_backoff_polls", default=1): vol.All(int, vol.Range(min=1, max=64)),
    }
)

LINE_FIELDS: dict[Any, Any] = {
    vol.Required("name"): vol.Match(SLUG, msg="lowercase letters, digits, _ and -"),
    vol.Optional("host"): str,
    vol.Optional("port"): vol.Any(int, str),
    vol.Optional("link", default="wired"): vol.In(("wired", "wireless")),
    vol.Optional("retries", default=2): vol.All(int, vol.Range(min=0, max=5)),
    vol.Optional("breaker", default=dict): BREAKER_SCHEMA,
}
"""What every line has, Modbus or M-Bus."""

BUS_SCHEMA = vol.Schema(
    {
        **LINE_FIELDS,
        vol.Required("type"): vol.In(("tcp", "rtu", "simulated")),
        vol.Optional("timeout", default=1.0): vol.All(
            vol.Coerce(float), vol.Range(min=0.01, max=30)
        ),
        vol.Required("devices"): vol.All([DEVICE_SCHEMA], vol.Length(min=1)),
    }
).extend(SERIAL_KEYS)

MBUS_DEVICE_SCHEMA = vol.Schema(
    {
        vol.Required("name"): vol.Match(SLUG, msg="lowercase letters, digits, _ and -"),
        # primary address 0…250 (0: a meter as delivered), or the 16-hex-digit secondary
        # address (ID, manufacturer, version, medium) as the meter's label or a scan shows it
        vol.Exclusive("address", "address"): vol.All(int, vol.Range(min=0, max=250)),
        vol.Exclusive("secondary_address", "address"): vol.All(
            vol.Coerce(str),
            lambda text: text.replace(" ", "").upper(),
            vol.Match(r"^[0-9A-F]{16}$", msg="16 hex digits (quoted in YAML)"),
        ),
        vol.Optional("profile", default="mbus_heat_meter"): str,
        vol.Optional("poll_interval", default=300.0): POLL_INTERVAL,
        vol.Optional("title"): str,
        vol.Optional("area"): str,
    }
)

MBUS_BUS_SCHEMA = vol.Schema(
    {
        **LINE_FIELDS,
        vol.Required("type"): vol.In(MBUS_TYPES),
        # a reading at 2400 baud: a full RSP_UD takes ~1 s on the wire, the wait is for its start
        vol.Optional("timeout", default=2.0): vol.All(
            vol.Coerce(float), vol.Range(min=0.05, max=30)
        ),
        vol.Optional("baudrate", default=2400): vol.In(
            (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)
        ),
        vol.Optional("parity", default="E"): vol.In(("N", "E", "O")),
        vol.Required("devices"): vol.All([MBUS_DEVICE_SCHEMA], vol.Length(min=1)),
    }
)


def _bus(value: Any) -> Any:
    """A Modbus or an M-Bus line, by its ``type``."""
    if isinstance(value, dict) and value.get("type") in MBUS_TYPES:
        return MBUS_BUS_SCHEMA(value)
    return BUS_SCHEMA(value)


MQTT_SCHEMA = vol.Schema(
    {
        vol.Required("main"): BROKER_SCHEMA,
        vol.Optional("backup"): BROKER_SCHEMA,
        vol.Optional("base_topic", default="heatbalance"): vol.Match(r"^[A-Za-z0-9_-]+$"),
        vol.Optional("discovery_prefix", default="homeassistant"): vol.Match(r"^[A-Za-z0-9_/-]+$"),
        # Home Assistant's birth message (its MQTT settings; default <discovery_prefix>/status)
        vol.Optional("birth_topic"): vol.Match(r"^[A-Za-z0-9_/-]+$"),
        vol.Optional("birth_payload", default="online"): vol.All(str, vol.Length(min=1)),
        vol.Optional("failover_after", default=5.0): vol.All(vol.Coerce(float), vol.Range(min=0.5)),
    }
)

OUTBOX_SCHEMA = vol.Schema(
    {
        vol.Optional("path"): str,
        vol.Optional("max_rows", default=2_000_000): vol.All(int, vol.Range(min=10)),
        # §5.2.6: keep a full heating season locally.
        vol.Optional("ttl_days", default=200.0): vol.All(vol.Coerce(float), vol.Range(min=0.0001)),
        vol.Optional("batch", default=250): vol.All(int, vol.Range(min=1, max=5000)),
        vol.Optional("window", default=5000): vol.All(int, vol.Range(min=1)),
        vol.Optional("ack_timeout", default=10.0): vol.All(vol.Coerce(float), vol.Range(min=0.2)),
    }
)

ZIGBEE_SCHEMA = vol.Schema(
    {
        vol.Required("radio_type"): str,
        vol.Required("device"): str,
        vol.Optional("baudrate", default=115200): int,
        vol.Optional("report_interval", default=900): vol.All(
            int, vol.Range(min=10, max=1800, msg="must be ≤1800 s (§4.3.4, §4.3.11)")
        ),
    }
)

LORAWAN_SCHEMA = vol.Schema(
    {
        vol.Required("host"): vol.All(str, vol.Length(min=1)),
        vol.Optional("port", default=1883): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional("username"): str,
        vol.Optional("password"): str,
        vol.Optional("tls"): TLS_SCHEMA,
        vol.Optional("allow_remote_plaintext", default=False): bool,
        vol.Required("application_id"): vol.All(str, vol.Length(min=1)),
        # a class A device hears a downlink only after its next uplink (§4.3.4: ≤30 min)
        vol.Optional("command_timeout", default=3600.0): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=86400)
        ),
        vol.Optional("confirm_uplinks", default=2): vol.All(int, vol.Range(min=1, max=10)),
        vol.Required("devices"): vol.All(
            [
                {
                    vol.Required("name"): vol.Match(SLUG, msg="lowercase letters, digits, _ and -"),
                    vol.Required("dev_eui"): vol.Match(r"^[0-9A-Fa-f]{16}$", msg="16 hex digits"),
                    vol.Required("profile"): vol.In(LORAWAN_PROFILES),
                }
            ],
            vol.Length(min=1),
        ),
    }
)

GATEWAY_SCHEMA = vol.Schema(
    {
        vol.Required("gateway_id"): vol.Match(SLUG, msg="lowercase letters, digits, _ and -"),
        vol.Optional("data_dir", default="/data"): str,
        vol.Optional("profile_dirs", default=list): [str],
        vol.Required("mqtt"): MQTT_SCHEMA,
        vol.Optional("buses", default=list): [_bus],
        vol.Optional("outbox", default=dict): OUTBOX_SCHEMA,
        vol.Optional("stats_interval", default=60.0): vol.All(
            vol.Coerce(float), vol.Range(min=0.2, max=MAX_UPLOAD_INTERVAL_S)
        ),
        vol.Optional("zigbee"): ZIGBEE_SCHEMA,
        vol.Optional("lorawan"): LORAWAN_SCHEMA,
        vol.Optional("log_level", default="info"): vol.In(("debug", "info", "warning", "error")),
    }
)


@dataclass(slots=True)
class GatewayConfig:
    """Validated configuration plus the profiles its devices use."""

    raw: dict[str, Any]
    profiles: dict[str, Profile] = field(default_factory=dict)
    mbus_profiles: dict[str, MBusProfile] = field(default_factory=dict)

    @property
    def gateway_id(self) -> str:
        """Stable id; also the MQTT username the ACL expects (%u)."""
        return str(self.raw["gateway_id"])

    @property
    def data_dir(self) -> Path:
        """Directory for the outbox and command journal (the add-on's /data)."""
        return Path(self.raw["data_dir"])

    @property
    def outbox_path(self) -> Path:
        """SQLite file of the store-and-forward outbox."""
        return Path(self.raw["outbox"].get("path") or self.data_dir / "outbox.sqlite")


def _where(err: vol.Invalid) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err.path).replace(".[", "[")


def _check_bus(bus: dict[str, Any], index: int) -> None:
    where = f"buses[{index}]"
    if bus["type"] in MBUS_TYPES:
        _check_mbus(bus, where)
        return
    if bus["type"] == "tcp":
        if not bus.get("host"):
            raise ConfigError(f"{where}.host: required for a tcp bus")
        if not isinstance(bus.get("port", 502), int):
            raise ConfigError(f"{where}.port: must be a TCP port number")
        bus.setdefault("port", 502)
    elif bus["type"] == "rtu" and not isinstance(bus.get("port"), str):
        raise ConfigError(f"{where}.port: serial device path (e.g. /dev/ttyUSB0) required for rtu")
    seen: set[int] = set()
    for number, device in enumerate(bus["devices"]):
        if device["device_id"] in seen:
            raise ConfigError(
                f"{where}.devices[{number}].device_id: {device['device_id']} used twice on this bus"
            )
        seen.add(device["device_id"])


def _check_mbus(bus: dict[str, Any], where: str) -> None:
    """Endpoint and unique addresses; ``device_id`` is the primary address, or FDh (the
    address a selected meter answers under) for a meter read by its secondary address."""
    if bus["type"] == "mbus_tcp":
        if not bus.get("host"):
            raise ConfigError(f"{where}.host: required for an mbus_tcp bus (the TCP converter)")
        if not isinstance(bus.get("port"), int):
            raise ConfigError(f"{where}.port: the TCP converter's port number is required")
    elif not isinstance(bus.get("port"), str):
        raise ConfigError(f"{where}.port: serial device path (e.g. /dev/ttyUSB0) required")
    seen: set[int | str] = set()
    for number, device in enumerate(bus["devices"]):
        key = device.get("secondary_address", device.get("address"))
        if key is None:
            raise ConfigError(f"{where}.devices[{number}].address: address or secondary_address")
        if key in seen:
            raise ConfigError(f"{where}.devices[{number}]: address {key} used twice on this bus")
        seen.add(key)
        device["device_id"] = 0xFD if "secondary_address" in device else device["address"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_broker(broker: dict[str, Any], where: str, gateway_id: str) -> None:
    if "tls" not in broker:
        if not broker["insecure_plaintext"]:
            raise ConfigError(
                f"{where}.tls: TLS with a CA file is required (§8.2.7); "
                "insecure_plaintext: true is for local tests only"
            )
        remote_ok = broker["allow_remote_plaintext"] or broker["supervisor"]
        if not remote_ok and not _loopback(broker["host"]):
            raise ConfigError(
                f"{where}.host: plaintext MQTT only to a loopback broker; use TLS for "
                f"{broker['host']!r} (or allow_remote_plaintext: true on a closed network)"
            )
    if broker["username"] != gateway_id and not broker["supervisor"]:
        raise ConfigError(
            f"{where}.username: must be the gateway id {gateway_id!r} (the broker ACL grants each "
            "gateway only the topics of its own user name)"
        )


def _check_lorawan(lora: dict[str, Any], names: set[str]) -> None:
    """The network server's broker: TLS or loopback (as the main broker); names unique."""
    if "tls" not in lora and not lora["allow_remote_plaintext"] and not _loopback(lora["host"]):
        raise ConfigError(
            f"lorawan.host: plaintext MQTT only to a loopback broker; use TLS for {lora['host']!r}"
        )
    eui: set[str] = set()
    for number, device in enumerate(lora["devices"]):
        if device["name"] in names:
            raise ConfigError(f"lorawan.devices[{number}].name: {device['name']!r} used twice")
        if device["dev_eui"].lower() in eui:
            raise ConfigError(f"lorawan.devices[{number}].dev_eui: {device['dev_eui']} used twice")
        names.add(device["name"])
        eui.add(device["dev_eui"].lower())


def _normalise(data: Any) -> Any:
    """Adapt add-on options: drop an unconfigured backup broker, read ``buses_file``.

    Add-on option schemas cannot nest device lists inside bus lists, so buses (and an optional
    ``zigbee`` section) may come from a YAML file in the add-on's config folder.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    mqtt = data.get("mqtt")
    if (
        isinstance(mqtt, dict)
        and isinstance(mqtt.get("backup"), dict)
        and not mqtt["backup"].get("host")
    ):
        data["mqtt"] = {k: v for k, v in mqtt.items() if k != "backup"}
    if not data.get("buses_file"):
        data.pop("buses_file", None)
        return data
    path = Path(data.pop("buses_file"))
    try:
        included = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"buses_file: cannot read {path}: {_yaml_error(err)}") from None
    except OSError as err:
        raise ConfigError(f"buses_file: cannot read {path}: {err}") from err
    if not isinstance(included, dict) or not isinstance(included.get("buses"), list):
        raise ConfigError(f"buses_file: {path} must hold a mapping with a 'buses' list")
    data["buses"] = [*data.get("buses", []), *included["buses"]]
    if "zigbee" in included:
        data["zigbee"] = included["zigbee"]
    return data


def parse_config(data: Any) -> GatewayConfig:
    """Validate a configuration mapping and load the profiles it references."""
    data = _normalise(data)
    try:
        raw = GATEWAY_SCHEMA(data)
    except vol.MultipleInvalid as err:
        first = err.errors[0]
        raise ConfigError(f"{_where(first)}: {first.msg}") from err
    except vol.Invalid as err:
        raise ConfigError(f"{_where(err)}: {err.msg}") from err
    _check_broker(raw["mqtt"]["main"], "mqtt.main", raw["gateway_id"])
    if "backup" in raw["mqtt"]:
        _check_broker(raw["mqtt"]["backup"], "mqtt.backup", raw["gateway_id"])
    names: set[str] = set()
    bus_names: set[str] = set()
    for index, bus in enumerate(raw["buses"]):
        if bus["name"] in bus_names:
            raise ConfigError(f"buses[{index}].name: {bus['name']!r} used twice")
        bus_names.add(bus["name"])
        _check_bus(bus, index)
        for number, device in enumerate(bus["devices"]):
            if device["name"] in names:
                raise ConfigError(
                    f"buses[{index}].devices[{number}].name: {device['name']!r} used twice"
                )
            names.add(device["name"])
    if "lorawan" in raw:
        _check_lorawan(raw["lorawan"], names)
    config = GatewayConfig(raw)
    extra = tuple(Path(d) for d in raw["profile_dirs"])
    for index, bus in enumerate(raw["buses"]):
        for number, device in enumerate(bus["devices"]):
            name = device["profile"]
            if name not in config.profiles:
                try:
                    if bus["type"] in MBUS_TYPES:
                        config.mbus_profiles[name] = load_mbus_profile(name, extra)
                        config.profiles[name] = config.mbus_profiles[name].profile
                        continue
                    config.profiles[name] = load_profile(name, extra)
                except ProfileError as err:
                    raise ConfigError(f"buses[{index}].devices[{number}].profile: {err}") from err
    return config


def read_file(path: str | Path) -> Any:
    """Read a YAML or JSON file (the add-on's /data/options.json is JSON)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        return json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{file}: cannot read: {_yaml_error(err)}") from None
    except json.JSONDecodeError as err:  # its message names the position, never the text
        raise ConfigError(f"{file}: cannot read: {err.msg} at line {err.lineno}") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{file}: cannot read: {err}") from err


def _yaml_error(err: yaml.YAMLError) -> str:
    """A YAML error by position only: its default text quotes the line (a password, maybe)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or "syntax error"
    if mark is None:
        return str(problem)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate a configuration file."""
    return parse_config(read_file(path))


def slug(text: str) -> str:
    """Lowercase slug for ids derived from free text."""
    return re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_") or "x"
