"""The virtual plant chain of ``scripts/develop --virtual-plant``: broker, plant, gateway.

Issue 5 point 8: the whole chain — virtual plant (Modbus) → gateway add-on → MQTT → the
integration → valve commands back — runs without hardware in the demo. This module writes
everything into ``<config>/virtual-plant/`` and runs three children until it is stopped:

* mosquitto on loopback with a password file and the per-gateway ACL of the add-on's DOCS.md
  (§5.1.3 identity and graded access): a TLS listener for the gateway (§8.2.7, the gateway
  refuses plaintext outside tests) with a CA and server certificate made here, and a plaintext
  loopback listener for Home Assistant's MQTT integration (set up through HA's REST config
  flow, which cannot upload a CA file without the browser's file upload);
* the virtual plant (``scripts/virtual_plant.py``) serving the demo network's inlets
  as Modbus heat meters and valves, running ``speed`` plant seconds per wall second;
* the gateway (``python -m heatbalance_gateway --config gateway.yaml``) polling the plant.

Secrets, certificates and ports are made once per config folder (``layout.json``) so that HA's
MQTT entry keeps working across restarts; ``scripts/develop --reset`` makes new ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon"
MOSQUITTO = "/usr/sbin/mosquitto"
GATEWAY_ID = "gw1"
HA_USER = "homeassistant"
FOLDER = "virtual-plant"
# One wall minute (the shortest acquisition period the options allow) is 30 plant minutes, the
# plant time per cycle of the accelerated built-in demo (30 min every 10 s).
DEFAULT_SPEED = 30.0
POLL_INTERVAL_S = 5.0
# Each gateway logs in with its id and writes only below its own topics; HA's user sees all
# (addon/DOCS.md "Broker setup", the same ACL as the add-on's security tests).
ACL = """\
user {ha_user}
topic readwrite heatbalance/#
topic readwrite homeassistant/#

pattern readwrite heatbalance/gw/%u/#
pattern write homeassistant/+/%u/#
pattern read homeassistant/status
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Layout:
    """Ports and secrets of one config folder's chain (kept in ``layout.json``)."""

    network: str
    speed: float
    tls_port: int
    plain_port: int
    modbus_port: int
    gateway_password: str
    ha_password: str

    @classmethod
    def new(cls, network: str, speed: float) -> Layout:
        """Fresh free ports and random per-folder passwords (never a default, §5.1.3)."""
        return cls(
            network,
            speed,
            free_port(),
            free_port(),
            free_port(),
            secrets.token_urlsafe(18),
            secrets.token_urlsafe(18),
        )


def load_or_create(folder: Path, network: str, speed: float) -> Layout:
    """The folder's layout; a new one when missing or made for another network or speed."""
    path = folder / "layout.json"
    if path.is_file():
        try:
            layout = Layout(**json.loads(path.read_text(encoding="utf-8")))
        except (TypeError, ValueError):
            layout = None
        if layout and layout.network == network and layout.speed == speed:
            return layout
    layout = Layout.new(network, speed)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(layout), indent=2), encoding="utf-8")
    path.chmod(0o600)
    return layout


def make_tls(folder: Path, days: int = 365) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (PEM): (ca, cert, key). Kept if present."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    if all(p.is_file() for p in (ca_file, cert_file, key_file)):
        return ca_file, cert_file, key_file
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def builder(subject: str, issuer: str, key: Any) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = "heatbalance develop CA"
    ca = (
        builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        builder("127.0.0.1", ca_name, key)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)  # the CA key is not kept: nothing else is ever signed
    return ca_file, cert_file, key_file


def broker_config(folder: Path, layout: Layout) -> str:
    """mosquitto.conf: loopback listeners only, passwords and ACL for every client."""
    ca, cert, key = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    data = folder / "broker-data"
    return "\n".join(
        [
            f"user {getpass.getuser()}",  # as root mosquitto would switch to a user that
            # cannot read the 0600 key and password files made here
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {folder / 'passwd'}",
            f"acl_file {folder / 'acl'}",
            "persistence true",
            f"persistence_location {data}/",
            "max_queued_messages 100000",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"log_dest file {folder / 'mosquitto.log'}",
            f"listener {layout.plain_port} 127.0.0.1",
            f"listener {layout.tls_port} 127.0.0.1",
            f"cafile {ca}",
            f"certfile {cert}",
            f"keyfile {key}",
            "tls_version tlsv1.2",
            "",
        ]
    )


def gateway_config(folder: Path, layout: Layout, buses: list[dict[str, Any]]) -> dict[str, Any]:
    """The gateway's configuration: the TLS listener, its own user, its outbox in the folder."""
    return {
        "gateway_id": GATEWAY_ID,
        "data_dir": str(folder / "gateway-data"),
        "mqtt": {
            "main": {
                "host": "127.0.0.1",
                "port": layout.tls_port,
                "username": GATEWAY_ID,
                "password": layout.gateway_password,
                "tls": {"ca_file": str(folder / "ca.pem")},
            }
        },
        "buses": buses,
    }


def plant_buses(layout: Layout) -> list[dict[str, Any]]:
    """The Modbus buses of the virtual plant for ``layout.network`` (device names as the
    integration expects them by default: ``<inlet>-meter``, ``<inlet>-valve``)."""
    sys.path.insert(0, str(ADDON))
    from virtual_plant import VirtualPlant, load_simulator

    plant = VirtualPlant(load_simulator(layout.network), port=layout.modbus_port)
    buses: list[dict[str, Any]] = plant.gateway_buses(poll_interval=POLL_INTERVAL_S)
    return buses


def write_files(folder: Path, layout: Layout, buses: list[dict[str, Any]]) -> None:
    """Write TLS files, password file, ACL, mosquitto.conf and gateway.yaml into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broker-data").mkdir(exist_ok=True)
    make_tls(folder)
    passwd = folder / "passwd"
    passwd.write_text("", encoding="utf-8")
    passwd.chmod(0o600)
    for user, password in ((GATEWAY_ID, layout.gateway_password), (HA_USER, layout.ha_password)):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    (folder / "acl").write_text(ACL.format(ha_user=HA_USER), encoding="utf-8")
    (folder / "mosquitto.conf").write_text(broker_config(folder, layout), encoding="utf-8")
    gateway = yaml.safe_dump(gateway_config(folder, layout, buses), sort_keys=False)
    (folder / "gateway.yaml").write_text(gateway, encoding="utf-8")
    (folder / "gateway.yaml").chmod(0o600)


def wait_port(port: int, process: subprocess.Popen[bytes], what: str, timeout_s: float) -> None:
    """Wait until ``port`` accepts connections; fail when ``process`` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}") from None
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout_s:.0f} s")


class Chain:
    """The three child processes; stopped in reverse order of start."""

    def __init__(self, folder: Path, layout: Layout) -> None:
        self.folder = folder
        self.layout = layout
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def _spawn(self, what: str, argv: list[str]) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ADDON), str(ROOT)]))
        with (self.folder / f"{what}.log").open("ab") as log:
            # own session: a terminal's Ctrl-C reaches scripts/develop, which stops the chain in
            # order (gateway first, broker last) instead of every child dying at once
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.children.append((what, process))
        return process

    def start(self) -> None:
        """Broker, then plant, then gateway — each listening before the next starts."""
        broker = self._spawn("broker", [MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")])
        wait_port(self.layout.tls_port, broker, "mosquitto", 20)
        plant = self._spawn(
            "plant",
            [
                sys.executable,
                str(ROOT / "scripts" / "virtual_plant.py"),
                "--network",
                self.layout.network,
                "--port",
                str(self.layout.modbus_port),
                "--speed",
                str(self.layout.speed),
            ],
        )
        wait_port(self.layout.modbus_port, plant, "virtual plant", 120)
        gateway = self._spawn(
            "gateway",
            [
                sys.executable,
                "-m",
                "heatbalance_gateway",
                "--config",
                str(self.folder / "gateway.yaml"),
            ],
        )
        time.sleep(2)
        if gateway.poll() is not None:
            raise RuntimeError(f"gateway exited with {gateway.returncode}; see gateway.log")

    def stop(self) -> None:
        """Terminate the children one by one, last started first (SIGTERM, SIGKILL after 10 s):
        the gateway ends while its broker still runs."""
        for _what, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def wait(self) -> str:
        """Block until a child exits; its name."""
        while True:
            for what, process in self.children:
                if process.poll() is not None:
                    return what
            time.sleep(1)

    def banner(self) -> str:
        """What runs where."""
        lay = self.layout
        pids = ", ".join(f"{what} {p.pid}" for what, p in self.children)
        return (
            f"virtual plant chain ({lay.network}, {lay.speed:g} plant s per wall s; {pids})\n"
            f"  modbus    127.0.0.1:{lay.modbus_port}  virtual plant (heat meters, valves)\n"
            f"  mqtt      127.0.0.1:{lay.tls_port} TLS (gateway {GATEWAY_ID}), "
            f"127.0.0.1:{lay.plain_port} (Home Assistant, user {HA_USER})\n"
            f"  logs      {self.folder}/{{broker,plant,gateway}}.log, mosquitto.log"
        )


def main(argv: list[str] | None = None) -> int:
    """Write the chain's files and run it until SIGTERM/SIGINT or a child exits."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="HA config folder")
    parser.add_argument("--network", default="estate12")
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED)
    parser.add_argument("--write-only", action="store_true", help="write the files and exit")
    args = parser.parse_args(argv)
    folder = (args.config / FOLDER).resolve()
    layout = load_or_create(folder, args.network, args.speed)
    write_files(folder, layout, plant_buses(layout))
    if args.write_only:
        return 0
    chain = Chain(folder, layout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        chain.start()
        print(chain.banner(), file=sys.stderr, flush=True)
        gone = chain.wait()
        print(f"develop: the {gone} exited; see {folder}/{gone}.log", file=sys.stderr)
        return 1
    except RuntimeError as err:
        print(f"develop: virtual plant chain failed: {err}", file=sys.stderr)
        return 1
    finally:
        chain.stop()


if __name__ == "__main__":
    sys.exit(main())
