"""A private PostgreSQL server for the tests: Debian's binaries, a throw-away cluster.

initdb/pg_ctl refuse to run as root, so as root the cluster belongs to the ``postgres``
system user (``runuser``); as anybody else to the caller. It listens on a free loopback port
only, trusts local connections (nothing leaves the machine) and is removed afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PORT_TRIES = 5  # fresh ports a start tries when its port was taken meanwhile


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    try:  # HA's test plugin blocks socket.socket; a session fixture runs before it is lifted
        from pytest_socket import _true_socket as make_socket  # type: ignore[attr-defined]
    except ImportError:
        make_socket = socket.socket
    with make_socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(run: Callable[..., None], data: str, base: str, log: str, port: int) -> int:
    """Start the server; returns its port. The port was free when picked, not when the
    server binds it: a suite running beside may take it in between (``Errno 98``), then
    the server starts again on a fresh one."""
    for attempt in range(PORT_TRIES):
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        with contextlib.suppress(FileNotFoundError):
            os.remove(log)  # this attempt's log alone
        try:
            run(_bin("pg_ctl") or "pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", "start")
        except subprocess.CalledProcessError:
            text = Path(log).read_text("utf-8", "replace") if os.path.exists(log) else ""
            if "Address already in use" not in text or attempt == PORT_TRIES - 1:
                raise
            port = _free_port()
        else:
            return port
    raise AssertionError("unreachable")


def available() -> bool:
    """Whether PostgreSQL's server binaries are installed."""
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a cluster; yield a SQLAlchemy URL of its database ``heatbalance``."""
    root = os.geteuid() == 0
    base = tempfile.mkdtemp(prefix="hb-pg-")
    data = os.path.join(base, "data")
    prefix: list[str] = ["runuser", "-u", "postgres", "--"] if root else []
    if root:
        shutil.chown(base, "postgres")
    port = _free_port()
    log = os.path.join(base, "log")

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(_bin("initdb") or "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8")
        port = _start(run, data, base, log, port)
        run(
            _bin("createdb") or "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "heatbalance",
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/heatbalance"
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(
                [*prefix, _bin("pg_ctl") or "pg_ctl", "-D", data, "-m", "fast", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


def reset(url: str) -> None:
    """Empty the database between tests (drop every table of the schema)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
