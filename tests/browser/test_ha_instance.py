"""The browser tests' HA start (:mod:`.ha_instance`) knows its own HA from a program beside.

A port picked free is bound by HA only later; a suite running beside can take it in between.
Then something answers on the port that is not this HA, and HA logs that it could not bind.
No Home Assistant is started here: the checks run against a plain HTTP server.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .ha_instance import IDENTITY, _listening, _no_missing_modules


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 and ``body`` (a program that is not our HA)."""

    body = b"not Home Assistant"

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: object) -> None:
        """Quiet."""


@pytest.fixture
def foreign() -> Iterator[int]:
    """A foreign HTTP server on a loopback port; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def waiting() -> Iterator[subprocess.Popen[bytes]]:
    """A running process standing in for an HA that has not exited."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_any_answer_is_not_taken_for_our_ha(
    foreign: int, waiting: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    log = tmp_path / "home-assistant.out"
    log.write_text("starting\n")
    assert _listening(foreign, "our-token", waiting, log) is None  # answers, but not the token
    # the lines HA 2025.4 and 2026.10 log when the port is taken
    v2025 = f"ERROR Failed to create HTTP server at port {foreign}: [Errno 98] address in use"
    v2026 = (
        "ERROR The new HTTP configuration could not be applied, reverting to the previous "
        f"configuration: [Errno 98] error while attempting to bind on ('127.0.0.1', {foreign})"
    )
    for line in (v2025, v2026):
        log.write_text(line.replace(str(foreign), str(foreign + 1)) + "\n")  # another port
        assert _listening(foreign, "our-token", waiting, log) is None
        log.write_text(line + "\n")
        assert _listening(foreign, "our-token", waiting, log) == "taken"


def test_our_token_on_the_port_is_our_ha(
    waiting: subprocess.Popen[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Answer, "body", b"our-token")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = int(server.server_address[1])
        log = tmp_path / "home-assistant.out"
        log.write_text("")
        assert _listening(port, "our-token", waiting, log) == "ours"
        assert _listening(port, "another-token", waiting, log) is None
    finally:
        server.shutdown()
        server.server_close()
    assert IDENTITY.endswith(".txt")  # served from www/ as a static file


def test_exited_ha_is_an_error_at_once(tmp_path: Path) -> None:
    done = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    done.wait()
    log = tmp_path / "home-assistant.out"
    log.write_text("")
    with pytest.raises(AssertionError, match="exited with 3"):
        _listening(1, "token", done, log)


def test_a_package_ha_did_not_install_fails_the_start(tmp_path: Path) -> None:
    log = tmp_path / "home-assistant.out"
    log.write_text("INFO fine\n")
    _no_missing_modules(log)
    log.write_text("ERROR Setup failed for 'tts': ModuleNotFoundError: No module named 'mutagen'\n")
    with pytest.raises(AssertionError, match="scripts/setup"):
        _no_missing_modules(log)
