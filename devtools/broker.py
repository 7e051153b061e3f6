"""A real mosquitto broker for tests (reusable by the integration tests).

Each broker gets its own config file, data directory and free 127.0.0.1 port. Optional TLS
(a CA and a server certificate with IP SAN 127.0.0.1 made at test time with ``cryptography``),
password file (``mosquitto_passwd -b``) and ACL file. ``kill()`` is SIGKILL, ``start()`` again
reuses the same port and persistence, so tests can simulate a broker crash.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MOSQUITTO = "/usr/sbin/mosquitto"
PORT_TRIES = 5  # fresh ports a first start tries when its port was taken meanwhile


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on TCP ``port`` (Linux /proc)."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(name).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return False
    with contextlib.suppress(OSError):
        return any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir())
    return False


@dataclass(frozen=True)
class TlsFiles:
    """Paths of a test CA and a server certificate for 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path
    ca_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_tls(directory: Path, ca_name: str = "heatbalance test CA") -> TlsFiles:
    """Create a CA and a server certificate valid for 127.0.0.1 (PEM files)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
        directory / "ca.key",
    )
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = serialization.PrivateFormat.TraditionalOpenSSL
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption())
    )
    files.ca_key.write_bytes(
        ca_key.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption())
    )
    for path in (files.key, files.ca_key, files.cert, files.ca):
        path.chmod(0o644)  # mosquitto may drop privileges; these are throwaway test keys
    return files


@dataclass
class Mosquitto:
    """One broker process; ``users`` maps username -> password (empty = anonymous allowed)."""

    directory: Path
    tls: TlsFiles | None = None
    users: dict[str, str] = field(default_factory=dict)
    acl: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started: bool = False  # it ran once on ``port``: a restart must keep it

    def write_config(self) -> Path:
        """Write mosquitto.conf (and password/ACL files) into the directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        lines = [
            "user root",
            "persistence true",
            f"persistence_location {data}/",
            "autosave_interval 1",
            "max_queued_messages 1000000",
            "max_inflight_messages 0",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"log_dest file {self.directory / 'mosquitto.log'}",
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
        ]
        if self.tls:
            lines += [
                f"cafile {self.tls.ca}",
                f"certfile {self.tls.cert}",
                f"keyfile {self.tls.key}",
                "tls_version tlsv1.2",
            ]
        if self.users:
            pwfile = self.directory / "passwd"
            pwfile.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pwfile), user, password], check=True)
            pwfile.chmod(0o644)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            acl = self.directory / "acl"
            acl.write_text(self.acl)
            acl.chmod(0o644)
            lines.append(f"acl_file {acl}")
        conf = self.directory / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> None:
        """Start (or restart) the broker and wait until it listens.

        Its port was free when picked, not when mosquitto binds it: a suite running beside
        can take it in between (``Errno 98``). A first start then moves to a fresh port (read
        :attr:`port` after it); a restart keeps its port, as its clients expect."""
        for _ in range(PORT_TRIES - 1 if not self.started else 0):
            if not self._start():
                return
            self.port = free_port()
        if self._start():
            raise RuntimeError(f"mosquitto: port {self.port} already in use")

    def _start(self) -> bool:
        """Start mosquitto on :attr:`port`; True when that port was taken (it exited saying
        so). Started means *this* process listens there: a connection alone could reach
        whoever took the port."""
        conf = self.write_config()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(1000):
            if _listens(self.process.pid, self.port):
                self.started = True
                return False
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                self._close_pipes()
                log = self.directory / "mosquitto.log"
                text = err + (log.read_text() if log.exists() else "")
                if "Address already in use" in text:
                    log.unlink(missing_ok=True)  # the next try's log stands alone
                    return True
                raise RuntimeError(f"mosquitto exited: {text[-2000:]}")
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def kill(self) -> None:
        """SIGKILL the broker (a crash, not a shutdown)."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._close_pipes()

    def stop(self) -> None:
        """Terminate the broker cleanly."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self.process and self.process.stderr:
            self.process.stderr.close()
