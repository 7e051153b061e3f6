"""``scripts/develop --virtual-plant`` helpers on real files, a real broker and HA's real flows.

Issue 5 point 8: the demo runs the whole chain (virtual plant → gateway → MQTT → integration →
commands back). These tests check the pieces the script writes and the answers it gives to
Home Assistant's forms: the gateway accepts the written configuration (TLS, no default secret,
§8.2.7, §5.1.3), mosquitto runs with the written broker configuration and enforces passwords,
and HA's MQTT, inlet-subentry and options flows — served by HA's own REST views — accept the
script's answers.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from heatbalance_gateway.config import DEFAULT_SECRETS, load_config
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.heatbalance.const import SOURCE_GATEWAY
from custom_components.heatbalance.settings import default_gateway_devices

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import develop_gateway  # noqa: E402
import develop_plant  # noqa: E402


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """A free port is found, a broker runs on 127.0.0.1 (the plugin still allows only it)."""


@pytest.fixture
def chain_files(tmp_path: Path) -> tuple[Path, develop_plant.Layout]:
    """The virtual-plant folder as ``develop_plant.py --write-only`` leaves it."""
    folder = tmp_path / "config" / develop_plant.FOLDER
    layout = develop_plant.load_or_create(folder, "estate12", develop_plant.DEFAULT_SPEED)
    develop_plant.write_files(folder, layout, develop_plant.plant_buses(layout))
    return folder, layout


@pytest.fixture
def broker(chain_files: tuple[Path, develop_plant.Layout]):
    """mosquitto running on the written configuration (stopped after the test)."""
    folder, layout = chain_files
    process = subprocess.Popen(
        [develop_plant.MOSQUITTO, "-c", str(folder / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        develop_plant.wait_port(layout.tls_port, process, "mosquitto", 20)
        yield folder, layout
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_layout_is_kept_per_folder_and_its_secrets_are_not_defaults(tmp_path: Path) -> None:
    """Ports and passwords survive a restart (HA's MQTT entry keeps working); another network
    makes a new layout. Passwords are random, never a default (§5.1.3)."""
    folder = tmp_path / "vp"
    first = develop_plant.load_or_create(folder, "estate12", 30.0)
    assert develop_plant.load_or_create(folder, "estate12", 30.0) == first
    assert len({first.tls_port, first.plain_port, first.modbus_port}) == 3
    assert first.gateway_password != first.ha_password
    assert first.gateway_password.lower() not in DEFAULT_SECRETS
    assert len(first.gateway_password) >= 20
    assert (folder / "layout.json").stat().st_mode & 0o077 == 0
    other = develop_plant.load_or_create(folder, "district120", 30.0)
    assert other.network == "district120"
    assert other.gateway_password != first.gateway_password
    (folder / "layout.json").write_text("{broken", encoding="utf-8")
    assert develop_plant.load_or_create(folder, "estate12", 30.0).network == "estate12"


def test_gateway_accepts_the_written_config_with_tls_and_the_integrations_device_names(
    chain_files: tuple[Path, develop_plant.Layout],
) -> None:
    """The gateway's own validation passes (it refuses plaintext and default secrets, §8.2.7),
    and every inlet's devices carry the names the integration maps by default."""
    folder, layout = chain_files
    config = load_config(folder / "gateway.yaml")
    main = config.raw["mqtt"]["main"]
    assert main["tls"]["ca_file"] == str(folder / "ca.pem")
    assert main["port"] == layout.tls_port
    assert not main["insecure_plaintext"]
    names = {d["name"] for bus in config.raw["buses"] for d in bus["devices"]}
    for inlet in (f"B{n:03d}" for n in range(1, 13)):
        assert set(default_gateway_devices(inlet)) <= names
    assert config.raw["buses"][0]["port"] == layout.modbus_port
    assert (folder / "server.key").stat().st_mode & 0o077 == 0
    ca_before = (folder / "ca.pem").read_bytes()
    develop_plant.write_files(folder, layout, config.raw["buses"])
    assert (folder / "ca.pem").read_bytes() == ca_before  # certificates kept across restarts


def _connect(port: int, user: str, password: str, ca: Path | None) -> tuple[mqtt.Client, int]:
    """Connect a paho client; (client, CONNACK reason code value)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    if ca is not None:
        client.tls_set(ca_certs=str(ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    done = threading.Event()
    codes: list[int] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        codes.append(reason.value)
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert done.wait(10), "no CONNACK"
    return client, codes[0]


def test_broker_runs_the_written_config_tls_for_the_gateway_passwords_for_everyone(
    broker: tuple[Path, develop_plant.Layout],
) -> None:
    """The gateway's login over TLS publishes; HA's login on the loopback listener receives
    it; a wrong password is refused (allow_anonymous false, §5.1.3)."""
    folder, layout = broker
    ha, code = _connect(layout.plain_port, develop_plant.HA_USER, layout.ha_password, None)
    assert code == 0
    got = threading.Event()
    payloads: list[bytes] = []

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        payloads.append(msg.payload)
        got.set()

    ha.on_message = on_message
    subscribed = threading.Event()
    ha.on_subscribe = lambda *_: subscribed.set()
    ha.subscribe("heatbalance/gw/gw1/#", qos=1)
    assert subscribed.wait(10)
    gw, code = _connect(
        layout.tls_port, develop_plant.GATEWAY_ID, layout.gateway_password, folder / "ca.pem"
    )
    assert code == 0
    gw.publish("heatbalance/gw/gw1/status", b"online", qos=1).wait_for_publish(10)
    assert got.wait(10)
    assert payloads == [b"online"]
    intruder, code = _connect(layout.plain_port, develop_plant.GATEWAY_ID, "wrong-pass", None)
    assert code != 0
    for client in (ha, gw, intruder):
        client.loop_stop()
        client.disconnect()


def _entry(hass: HomeAssistant, entry: ConfigEntry) -> ConfigEntry:
    """The entry as HA holds it now."""
    current = hass.config_entries.async_get_entry(entry.entry_id)
    assert current is not None
    return current


async def _rest(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_home_assistant_flows_accept_the_scripts_answers(
    hass: HomeAssistant,
    hass_client: Any,
    mock_hass_config: None,
    broker: tuple[Path, develop_plant.Layout],
    demo: ConfigEntry,
) -> None:
    """Through HA's REST views, as the script calls them: the MQTT flow connects to the
    develop broker, an inlet becomes a gateway inlet with the default device names, the
    acquisition period becomes one minute."""
    folder, _layout = broker
    for component in ("config", "file_upload"):  # views register before the client starts
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    step = await _rest(client, "/api/config/config_entries/flow", {"handler": "mqtt"})
    settings = develop_gateway.mqtt_settings(folder.parent)
    result = await _rest(
        client,
        f"/api/config/config_entries/flow/{step['flow_id']}",
        develop_gateway.mqtt_answer(step, settings),
    )
    assert result["type"] == "create_entry", result
    assert hass.config_entries.async_entries("mqtt")[0].data["port"] == settings["port"]

    sub = next(s for s in demo.subentries.values() if s.unique_id == "B003")
    step = await _rest(
        client,
        "/api/config/config_entries/subentries/flow",
        {"handler": [demo.entry_id, "inlet"], "subentry_id": sub.subentry_id},
    )
    for _ in range(2):
        step = await _rest(
            client,
            f"/api/config/config_entries/subentries/flow/{step['flow_id']}",
            develop_gateway.inlet_answer(step),
        )
    assert step["reason"] == "reconfigure_successful", step
    data = _entry(hass, demo).subentries[sub.subentry_id].data
    assert data["source"] == SOURCE_GATEWAY
    assert (data["gateway_meter"], data["gateway_valve"]) == ("b003-meter", "b003-valve")

    step = await _rest(
        client, "/api/config/config_entries/options/flow", {"handler": demo.entry_id}
    )
    result = await _rest(
        client,
        f"/api/config/config_entries/options/flow/{step['flow_id']}",
        develop_gateway.options_answer(step, 1),
    )
    assert result["type"] == "create_entry", result
    options = _entry(hass, demo).options
    assert options["cycle_minutes"] == 1
    assert options["algorithm"] == "traditional"  # the other options keep their values
    await hass.async_block_till_done()
    # reloaded with a gateway inlet: it attached to HA's MQTT client on the develop broker
    assert _entry(hass, demo).state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(demo.entry_id)
    for entry in hass.config_entries.async_entries("mqtt"):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
