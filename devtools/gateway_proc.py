"""Run the gateway as a real process (``python -m heatbalance_gateway --config FILE``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ADDON = Path(__file__).resolve().parents[1] / "addon"


async def until(predicate: Any, what: str, guard_s: float = 60.0) -> None:
    """Wait for what a gateway process should publish; the guard only turns a hang into a
    failure (not a timing assertion)."""
    for _ in range(int(guard_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached: {what}")


def simulated_buses(
    devices: int, per_bus: int = 100, interval: float = 1.0, profile: str = "pt_transmitter"
) -> list[dict[str, Any]]:
    """Simulated lines of ``per_bus`` devices each (a Modbus line holds at most 247)."""
    buses = []
    for start in range(0, devices, per_bus):
        count = min(per_bus, devices - start)
        buses.append(
            {
                "name": f"sim{start // per_bus}",
                "type": "simulated",
                "devices": [
                    {
                        "name": f"d{start + i:04d}",
                        "device_id": i + 1,
                        "profile": profile,
                        "poll_interval": interval,
                    }
                    for i in range(count)
                ],
            }
        )
    return buses


def plain_broker(port: int, gateway: str = "gw1") -> dict[str, Any]:
    """Broker entry without TLS (loopback tests of store-and-forward only)."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "username": gateway,
        "password": f"pw-{gateway}-x1",
        "insecure_plaintext": True,
    }


class GatewayProcess:
    """Start/kill/stop the gateway process with a given configuration."""

    def __init__(self, directory: Path, config: dict[str, Any], addon: Path = ADDON) -> None:
        """``addon``: the folder holding the ``heatbalance_gateway`` package to run (another
        release's, to test what an operator's older add-on does against this integration)."""
        self.directory = directory
        self.addon = addon
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "gateway.log"
        self._log_offset = 0

    def start(self, **overrides: Any) -> None:
        """Write the config and start the process."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = {**self.config, **overrides}
        path = self.directory / "gateway.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "PYTHONPATH": str(self.addon)}
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "heatbalance_gateway", "--config", str(path)],
                cwd=self.addon,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def connected(self) -> bool:
        """True once this run of the process logged a broker connection."""
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return b"broker connected" in log.read()

    def subscribed(self) -> bool:
        """True once this run's broker confirmed its subscriptions (SUBACK): from then on
        a command published to the gateway reaches it."""
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return b"broker subscribed" in log.read()

    def kill(self) -> None:
        """SIGKILL (a crash)."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int:
        """SIGTERM and wait for a clean exit."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def outbox(self) -> dict[str, int]:
        """Read the outbox file from outside (WAL allows a concurrent reader)."""
        db = sqlite3.connect(f"file:{self.directory / 'data' / 'outbox.sqlite'}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT COUNT(*), MIN(seq) FROM readings").fetchone()
            last = db.execute("SELECT seq FROM sqlite_sequence WHERE name='readings'").fetchone()
            stream = db.execute("SELECT value FROM meta WHERE key='stream'").fetchone()
        finally:
            db.close()
        return {
            "rows": rows[0],
            "floor": rows[1] or 0,
            "last_seq": last[0] if last else 0,
            "stream": stream[0],
        }
