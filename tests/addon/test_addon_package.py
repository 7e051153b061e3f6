"""Add-on packaging is consistent with the Python package (the image cannot be built here).

Checks that the add-on's default options, once the Supervisor fills the MQTT broker (served
here by a real HTTP server on 127.0.0.1 standing in for the services API), pass the gateway's
own schema; that unfilled defaults are refused; and that the s6 service, Dockerfile,
translations and repository files follow the add-on conventions.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from heatbalance_gateway.config import ConfigError, parse_config
from heatbalance_gateway.supervisor import SupervisorError, fill_main_broker

ADDON = Path(__file__).resolve().parents[2] / "addon"
ROOT = ADDON.parent


def addon_config() -> dict[str, Any]:
    return yaml.safe_load((ADDON / "config.yaml").read_text())


class ServicesApi:
    """Minimal stand-in for http://supervisor/services/mqtt on a loopback port."""

    def __init__(self, payload: dict[str, Any], token: str) -> None:
        self.seen_auth: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.seen_auth.append(self.headers.get("Authorization", ""))
                ok = (
                    self.path == "/services/mqtt"
                    and self.headers.get("Authorization") == f"Bearer {token}"
                )
                body = json.dumps(
                    {"result": "ok", "data": payload} if ok else {"result": "error"}
                ).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_config_yaml_follows_addon_conventions() -> None:
    config = addon_config()
    assert config["services"] == ["mqtt:need"]
    assert config["uart"] is True
    assert {m["type"] for m in config["map"]} >= {"addon_config", "ssl"}
    assert config["slug"] == "heatbalance_gateway"
    assert set(config["options"]) == set(config["schema"])
    dockerfile = (ADDON / "Dockerfile").read_text()
    assert "ARG BUILD_FROM" in dockerfile
    assert "FROM $BUILD_FROM" in dockerfile
    assert set(yaml.safe_load((ADDON / "build.yaml").read_text())["build_from"]) == set(
        config["arch"]
    )
    service = ADDON / "rootfs/etc/s6-overlay/s6-rc.d/heatbalance-gateway"
    assert (service / "type").read_text().strip() == "longrun"
    assert (
        "python3 -m heatbalance_gateway --config /data/options.json"
        in (service / "run").read_text()
    )
    assert (ADDON / "rootfs/etc/s6-overlay/s6-rc.d/user/contents.d/heatbalance-gateway").exists()
    for lang in ("en", "zh-Hans"):
        translated = yaml.safe_load((ADDON / "translations" / f"{lang}.yaml").read_text())[
            "configuration"
        ]
        assert set(translated) == set(config["options"]), lang
    assert yaml.safe_load((ROOT / "repository.yaml").read_text())["name"]
    for name in ("DOCS.md", "CHANGELOG.md", "apparmor.txt"):
        assert (ADDON / name).stat().st_size > 0


def test_default_options_are_refused_until_configured() -> None:
    with pytest.raises(ConfigError, match=r"buses_file: cannot read /config/buses\.yaml"):
        parse_config(addon_config()["options"])
    options = {**addon_config()["options"], "buses_file": ""}
    with pytest.raises(ConfigError, match="gateway_id"):
        parse_config(options)


def test_supervisor_mqtt_service_fills_the_main_broker(tmp_path) -> None:
    buses = tmp_path / "buses.yaml"
    buses.write_text(
        yaml.safe_dump(
            {
                "buses": [
                    {
                        "name": "line1",
                        "type": "rtu",
                        "port": "/dev/ttyUSB0",
                        "devices": [
                            {"name": "valve-1", "device_id": 1, "profile": "electric_valve"}
                        ],
                    }
                ]
            }
        )
    )
    options = addon_config()["options"]
    options["gateway_id"] = "gw1"
    options["buses_file"] = str(buses)
    api = ServicesApi(
        {
            "host": "core-mosquitto",
            "port": 1883,
            "ssl": False,
            "username": "addons",
            "password": "Gen3rated-pw-xyz",
            "protocol": "5",
        },
        "tok",
    )
    try:
        filled = fill_main_broker(options, {"SUPERVISOR_TOKEN": "tok", "SUPERVISOR_URL": api.url})
        with pytest.raises(SupervisorError):
            fill_main_broker(
                addon_config()["options"], {"SUPERVISOR_TOKEN": "wrong", "SUPERVISOR_URL": api.url}
            )
    finally:
        api.close()
    assert api.seen_auth[0] == "Bearer tok"
    config = parse_config(filled)
    main = config.raw["mqtt"]["main"]
    assert (main["host"], main["port"], main["username"]) == ("core-mosquitto", 1883, "addons")
    assert main["insecure_plaintext"] is True  # internal Supervisor network only
    assert "backup" not in config.raw["mqtt"]  # empty backup host = no backup configured
    assert config.raw["buses"][0]["devices"][0]["name"] == "valve-1"


def test_without_supervisor_an_empty_host_is_refused() -> None:
    options = addon_config()["options"]
    options["gateway_id"] = "gw1"
    options["buses_file"] = ""
    same = fill_main_broker(options, {})
    with pytest.raises(ConfigError, match=r"mqtt\.main\.host"):
        parse_config(same)


def test_the_addon_package_stands_alone() -> None:
    """The add-on image holds only addon/ (issue 11 item 5): its package never imports the
    integration or patches the import path; development tools live in scripts/."""
    package = Path(__file__).resolve().parents[2] / "addon" / "heatbalance_gateway"
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "custom_components" not in text, source
        assert "sys.path" not in text, source
    assert not (package / "virtual_plant.py").exists()
    assert not (package / "consumer.py").exists()  # the consumer is the integration's


def test_addon_tests_run_on_the_versions_the_image_installs() -> None:
    """tests/addon runs the add-on's package on the add-on's Python (scripts/test): each exact
    pin of the image's requirements must be the version installed here, or the tests check a
    library the image never ships (the image pinned paho-mqtt 2.2.0 while every test ran 2.1.0)."""
    from importlib.metadata import version

    pins = {}
    for line in (ADDON / "requirements.txt").read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if "==" in requirement:
            name, pinned = requirement.split("==")
            pins[name.split("[")[0]] = pinned
    assert pins, "no exact pin found"
    installed = {name: version(name) for name in pins}
    assert installed == pins
