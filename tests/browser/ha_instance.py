"""A real Home Assistant for the browser tests, started the way ``scripts/develop`` starts it.

Same code as the script: ``develop_config.py`` writes the configuration folder (here a
temporary one, with HA's web server on a free loopback port), ``python -m homeassistant``
runs it, ``develop_onboard.py`` onboards it through HA's own REST API and adds the demo
networks through the config flow (the built-in simulated plant, accelerated: one 30-min
control cycle every 10 s). Nothing is mocked: the browser talks to this HA.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import develop_config  # noqa: E402
import develop_onboard  # noqa: E402

START_TIMEOUT_S = 240.0


@dataclass
class RunningHA:
    """A started Home Assistant: where it listens and how to log in."""

    url: str
    config: Path
    token: str  # the owner's (admin) access token
    username: str
    password: str
    process: subprocess.Popen[bytes]
    log: Path
    entries: dict[str, str] = field(default_factory=dict)  # demo network → entry id

    def ws(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        """Commands over the websocket API as the owner; their answers in order."""
        return develop_onboard.websocket(self.token, *messages)

    def add_user(self, name: str, username: str, password: str, admin: bool = False) -> str:
        """A second person with a login (non-admin by default); returns the user id."""
        group = "system-admin" if admin else "system-users"
        user = self.ws({"type": "config/auth/create", "name": name, "group_ids": [group]})[0]
        user_id = str(user["result"]["user"]["id"])
        answer = self.ws(
            {
                "type": "config/auth_provider/homeassistant/create",
                "user_id": user_id,
                "username": username,
                "password": password,
            }
        )[0]
        assert answer["success"], answer
        return user_id

    def add_network(self, demo: str) -> str:
        """Add a built-in network through the config flow; returns its entry id."""
        step = develop_onboard.start_flow(self.token)
        while step.get("type") == "form":
            step = develop_onboard.request(
                "POST",
                f"/api/config/config_entries/flow/{step['flow_id']}",
                develop_onboard.answer_form(step, demo),
                self.token,
            )
        assert step.get("type") == "create_entry", step
        self.entries[demo] = str(step["result"]["entry_id"])
        return self.entries[demo]


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def home_assistant(
    config: Path, networks: tuple[str, ...] = ("estate12",), env: dict[str, str] | None = None
) -> Iterator[RunningHA]:
    """Start HA in ``config`` (a fresh folder), onboard it, add ``networks``; stop it after.

    ``env``: extra environment variables for HA (development settings such as
    ``HEATBALANCE_TRUE_PLANTS``).
    """
    port = free_port()
    develop_config.main(config, port)
    log = config / "home-assistant.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # stopped by its id below, with its children
        )
    try:
        wait_until(lambda: _answers(port, process), START_TIMEOUT_S, "Home Assistant to listen")
        develop_onboard.use_port(port)
        token = develop_onboard.onboard(config)
        # HA 2026.10 moves YAML http settings into a trial config it reverts after 5 min
        # unless confirmed; confirm it (HA 2025.4 has no such command and answers an error).
        develop_onboard.websocket(token, {"type": "http/config/promote"})
        login = json.loads((config / ".heatbalance-dev-login").read_text())
        ha = RunningHA(
            url=develop_onboard.BASE,
            config=config,
            token=token,
            username=login["username"],
            password=login["password"],
            process=process,
            log=log,
        )
        # A fresh venv's first start installs packages (the frontend's voice dependencies)
        # while HTTP already answers; the UI loads only once HA runs.
        wait_until(lambda: _running(token), START_TIMEOUT_S, "Home Assistant to run")
        for demo in networks:
            ha.add_network(demo)
        # Thousands of new entities make HA send one registry update each (voice exposure
        # options); a browser logging in during that flood is dropped ("unable to keep up").
        wait_until(_stable_count(ha), START_TIMEOUT_S, "the entity registry to settle", 3.0)
        yield ha
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets HA write its stores; a hung stop is killed after 60 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _answers(port: int, process: subprocess.Popen[bytes]) -> bool:
    """True once HA listens on ``port``; an HA that exited is an error at once."""
    if process.poll() is not None:
        raise AssertionError(f"Home Assistant exited with {process.returncode}; see its log")
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _running(token: str) -> bool:
    """True once HA's core state is RUNNING (startup done, integrations set up)."""
    config = develop_onboard.request("GET", "/api/config", None, token)
    return bool(config.get("state") == "RUNNING")


def _stable_count(ha: RunningHA) -> Any:
    """A predicate: True once the entity registry's size stayed the same between two polls."""
    seen: list[int] = []

    def stable() -> bool:
        seen.append(len(ha.ws({"type": "config/entity_registry/list"})[0]["result"]))
        return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]

    return stable


def wait_until(predicate: Any, timeout_s: float, what: str, every_s: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns something truthy (HA start, cycles)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
