"""``scripts/develop --virtual-plant`` helpers on real files, a real broker and HA's real flows.

Issue 5 point 8: the demo runs the whole chain (virtual plant → gateway → MQTT → integration →
commands back). These tests check the pieces the script writes and the answers it gives to
Home Assistant's forms: the gateway accepts the written configuration (TLS, no default secret,
§8.2.7, §5.1.3), mosquitto runs with the written broker configuration and enforces passwords,
and HA's MQTT, inlet-subentry and options flows — served by HA's own REST views — accept the
script's answers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
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
import develop_onboard  # noqa: E402
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
def broker(
    chain_files: tuple[Path, develop_plant.Layout],
) -> Iterator[tuple[Path, develop_plant.Layout]]:
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


async def test_wire_gateway_through_home_assistants_own_api(
    hass: HomeAssistant,
    hass_client: Any,
    hass_access_token: str,
    mock_hass_config: None,
    broker: tuple[Path, develop_plant.Layout],
    demo: ConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """``wire_gateway`` as the script runs it, over HTTP and the websocket against HA's own
    views (served on a loopback port): the MQTT flow connects to the develop broker, every
    inlet becomes a gateway inlet with the default device names, the period becomes 1 min,
    and the reloaded entry attaches to HA's MQTT client; a second MQTT setup keeps the entry."""
    folder, layout = broker
    for component in ("config", "file_upload", "websocket_api"):  # before the server starts
        assert await async_setup_component(hass, component, {})
    client = await hass_client()
    monkeypatch.setattr(develop_onboard, "BASE", str(client.make_url("")).rstrip("/"))
    config = folder.parent
    wrong = tmp_path / "wrong"
    (wrong / develop_plant.FOLDER).mkdir(parents=True)
    stale = json.loads((folder / "layout.json").read_text()) | {"ha_password": "not-it"}
    (wrong / develop_plant.FOLDER / "layout.json").write_text(json.dumps(stale))
    with pytest.raises(SystemExit, match="did not create an entry"):  # HA: invalid auth
        await hass.async_add_executor_job(
            develop_gateway.setup_mqtt, wrong, hass_access_token, 1, 0.0
        )

    broker_title, moved = await hass.async_add_executor_job(
        develop_gateway.wire_gateway, config, hass_access_token, "ai"
    )
    await hass.async_block_till_done()
    assert (broker_title, moved) == ("127.0.0.1", 12)
    (mqtt_entry,) = hass.config_entries.async_entries("mqtt")
    assert mqtt_entry.data["port"] == layout.plain_port
    assert mqtt_entry.data["username"] == develop_plant.HA_USER
    entry = _entry(hass, demo)
    assert entry.options["cycle_minutes"] == 1
    assert entry.options["algorithm"] == "ai"
    assert entry.options["level"] == "intermediate"  # the other options keep their values
    for sub in entry.subentries.values():
        inlet = sub.data["inlet_id"]
        assert sub.data["source"] == SOURCE_GATEWAY
        assert (sub.data["gateway_meter"], sub.data["gateway_valve"]) == default_gateway_devices(
            inlet
        )
    assert entry.state is ConfigEntryState.LOADED  # attached to HA's MQTT client
    again = await hass.async_add_executor_job(develop_gateway.setup_mqtt, config, hass_access_token)
    assert again == "127.0.0.1"
    assert len(hass.config_entries.async_entries("mqtt")) == 1  # kept, not added twice
    await hass.config_entries.async_unload(demo.entry_id)
    await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await hass.async_block_till_done()


def test_chain_runs_broker_plant_and_gateway_and_stops_them(
    chain_files: tuple[Path, develop_plant.Layout],
) -> None:
    """The three real processes: the gateway polls the virtual plant and publishes over TLS to
    the written broker, HA's login reads a meter's state; a dead child is reported; ``stop``
    ends every child."""
    folder, layout = chain_files
    chain = develop_plant.Chain(folder, layout)
    try:
        chain.start()
        assert [what for what, _p in chain.children] == ["broker", "plant", "gateway"]
        banner = chain.banner()
        assert f"127.0.0.1:{layout.modbus_port}" in banner
        assert f"127.0.0.1:{layout.tls_port} TLS" in banner
        ha, code = _connect(layout.plain_port, develop_plant.HA_USER, layout.ha_password, None)
        assert code == 0
        states: list[dict[str, Any]] = []
        got = threading.Event()

        def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
            states.append(json.loads(msg.payload))
            got.set()

        ha.on_message = on_message
        ha.subscribe("heatbalance/gw/gw1/dev/b001-meter/state")
        assert got.wait(30), "no meter state from the gateway"
        assert states[0]["flow"] > 0
        ha.loop_stop()
        ha.disconnect()
        gateway = chain.children[2][1]
        gateway.kill()
        assert chain.wait() == "gateway"
    finally:
        chain.stop()
    assert all(p.poll() is not None for _w, p in chain.children)


def test_main_write_only_writes_the_folder(tmp_path: Path) -> None:
    """``--write-only`` leaves a complete folder and exits 0 without starting anything."""
    assert develop_plant.main(["--config", str(tmp_path), "--write-only"]) == 0
    folder = tmp_path / develop_plant.FOLDER
    for name in ("layout.json", "ca.pem", "passwd", "acl", "mosquitto.conf", "gateway.yaml"):
        assert (folder / name).is_file(), name
    assert load_config(folder / "gateway.yaml").gateway_id == develop_plant.GATEWAY_ID


def test_wait_port_reports_an_exited_process_and_a_silent_port() -> None:
    """A child that dies, or never listens, is a clear error, not a hang."""
    port = develop_plant.free_port()
    dead = subprocess.Popen(["true"])
    dead.wait()
    with pytest.raises(RuntimeError, match="exited with 0"):
        develop_plant.wait_port(port, dead, "true", 5)
    idle = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(RuntimeError, match="did not listen"):
            develop_plant.wait_port(port, idle, "sleep", 0.3)
    finally:
        idle.kill()
        idle.wait()


def test_main_reports_a_broker_that_cannot_start(tmp_path: Path) -> None:
    """The broker's port taken: main says so and returns 1, nothing left running."""
    folder = tmp_path / develop_plant.FOLDER
    layout = develop_plant.load_or_create(folder, "estate12", develop_plant.DEFAULT_SPEED)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", layout.plain_port))
        taken.listen()
        assert develop_plant.main(["--config", str(tmp_path)]) == 1
    assert "Address already in use" in (folder / "mosquitto.log").read_text()


def test_script_stops_its_children_on_sigterm(tmp_path: Path) -> None:
    """As ``scripts/develop`` stops it: SIGTERM ends the script and its three children."""
    script = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "develop_plant.py"), "--config", str(tmp_path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert script.stderr is not None
    first = script.stderr.readline()
    assert first.startswith("virtual plant chain"), first
    pids = [int(p.split()[-1]) for p in first.split("; ")[1].rstrip(")\n").split(", ")]
    assert len(pids) == 3
    script.send_signal(signal.SIGTERM)
    assert script.wait(timeout=30) == 0
    script.stderr.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_wait_for_ha_takes_an_onboarded_home_assistant_as_done(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A restart on a kept config folder: HA answers 404 for /api/onboarding once onboarded;
    that means every step is done (it used to be retried until the 15-min timeout)."""
    hass_storage["onboarding"] = {
        "version": 4,
        "key": "onboarding",
        "data": {"done": list(develop_onboard.ONBOARDING_STEPS)},
    }
    assert await async_setup_component(hass, "onboarding", {})
    client = await hass_client_no_auth()
    monkeypatch.setattr(develop_onboard, "BASE", str(client.make_url("")).rstrip("/"))
    steps = await hass.async_add_executor_job(develop_onboard.wait_for_ha, 30)
    assert {s["step"]: s["done"] for s in steps} == dict.fromkeys(
        develop_onboard.ONBOARDING_STEPS, True
    )
