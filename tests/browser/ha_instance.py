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
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import develop_config  # noqa: E402
import develop_onboard  # noqa: E402

START_TIMEOUT_S = 240.0
START_ATTEMPTS = 3  # fresh ports tried when another program took the one picked
IDENTITY = "heatbalance-test-instance.txt"  # below www/, served by HA's frontend at /local/
# What HA logs when it cannot bind its port: 2025.4 gives up its web server, 2026.10 reverts to
# its default HTTP configuration (another port); both lines name the port.
BIND_FAILED = ("Failed to create HTTP server at port", "HTTP configuration could not be applied")
MISSING_MODULE = "No module named"  # an integration whose package HA was told not to install


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
    """A loopback port nobody listens on now (it may be taken before HA binds it: see
    :func:`_start`)."""
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
    process, port = _start(config, env or {})
    log = config / "home-assistant.out"
    try:
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
        # HTTP answers before HA runs; the UI loads only once HA runs.
        wait_until(lambda: _running(token), START_TIMEOUT_S, "Home Assistant to run")
        _no_missing_modules(log)
        for demo in networks:
            ha.add_network(demo)
        # Thousands of new entities make HA send one registry update each (voice exposure
        # options); a browser logging in during that flood is dropped ("unable to keep up").
        wait_until(_stable_count(ha), START_TIMEOUT_S, "the entity registry to settle", 3.0)
        yield ha
    finally:
        _stop(process)


def _start(config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """HA listening on a free loopback port, checked to be this HA; returns it and the port.

    A port can only be picked free and bound later by HA, so another program (a suite running
    beside) may take it in between: then HA logs that it could not bind and whatever answers
    there is not this HA. Each start serves a random token at ``/local/`` (HA's ``www``
    folder); only the answer with that token counts. A lost port costs a fresh folder and
    port, up to :data:`START_ATTEMPTS` times.

    ``--skip-pip``: HA never installs packages into the venv the tests run in (it used to
    install its default integrations' requirements on a first start, replacing packages such
    as ``idna`` while other tests imported them). ``scripts/setup`` installs them
    (requirements/test-ha*.txt); one still missing fails the start (:func:`_no_missing_modules`).
    """
    for _attempt in range(START_ATTEMPTS):
        shutil.rmtree(config, ignore_errors=True)
        port = free_port()
        develop_config.main(config, port)
        token = secrets.token_hex(16)
        (config / "www").mkdir()
        (config / "www" / IDENTITY).write_text(token, encoding="utf-8")
        log = config / "home-assistant.out"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "homeassistant", "-c", str(config), "--skip-pip"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                start_new_session=True,  # stopped by its id below, with its children
            )
        try:
            state = wait_until(
                partial(_listening, port, token, process, log),
                START_TIMEOUT_S,
                "Home Assistant to listen",
            )
        except BaseException:
            _stop(process)
            raise
        if state == "ours":
            return process, port
        _stop(process)  # the port was taken: HA runs without its web server there
    raise AssertionError(f"Home Assistant lost its port {START_ATTEMPTS} times; see {log}")


def _listening(port: int, token: str, process: subprocess.Popen[bytes], log: Path) -> str | None:
    """ "ours" once this HA serves ``token`` on ``port``, "taken" once HA could not bind it,
    None while neither is known. An HA that exited is an error at once."""
    if process.poll() is not None:
        raise AssertionError(f"Home Assistant exited with {process.returncode}; see {log}")
    url = f"http://127.0.0.1:{port}/local/{IDENTITY}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            if answer.read().decode(errors="replace") == token:
                return "ours"
    except (urllib.error.URLError, OSError):
        pass  # nothing listens yet, or something that is not this HA (404, reset)
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if any(phrase in line for phrase in BIND_FAILED) and re.search(rf"\b{port}\b", line):
            return "taken"
    return None


def _no_missing_modules(log: Path) -> None:
    """A package HA needs but did not install (``--skip-pip``) fails the start, loudly."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    missing = [line.strip() for line in lines if MISSING_MODULE in line]
    assert not missing, (
        "Home Assistant misses packages (scripts/setup installs them from "
        f"requirements/test-ha*.txt): {missing[:5]}; see {log}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets HA write its stores; a hung stop is killed after 60 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


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
