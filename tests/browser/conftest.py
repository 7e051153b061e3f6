"""Browser tests: Debian's Chromium, driven by Playwright, against a real Home Assistant.

One Home Assistant per test session (started like ``scripts/develop``, see
:mod:`.ha_instance`) with the demo networks the tests look at; one Chromium; a fresh browser
context (cookies, storage, viewport, colour scheme) per test. Screenshots are kept in
``artifacts/browser/`` (or ``$HEATBALANCE_ARTIFACTS``) for people and CI to look at.

These tests run on the current Home Assistant only (2026.10): the panel's JavaScript is the
same on both versions, the websocket command and panel registration behind it are tested on
both versions by tests/integration, and a second HA start plus Chromium would cost CI another
two minutes for the same picture. ``HEATBALANCE_BROWSER_ALL=1`` runs them on 2025.4 as well.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from homeassistant.const import MAJOR_VERSION

from custom_components.heatbalance.true_plant import ENV as TRUE_PLANTS_ENV

from .ha_instance import ROOT, RunningHA, home_assistant

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("HEATBALANCE_ARTIFACTS", ROOT / "artifacts" / "browser"))
NETWORKS = ("estate12", "district120", "households1200")
DESKTOP = {"width": 1366, "height": 860}
TRUE_PLANTS = "true-plants"  # below HA's configuration folder
PHONE = {"width": 390, "height": 844}  # a 6.1-inch phone in portrait

ON_THIS_VERSION = MAJOR_VERSION >= 2026 or os.environ.get("HEATBALANCE_BROWSER_ALL") == "1"
async_api = pytest.importorskip("playwright.async_api")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the browser tests on HA 2025.4 unless asked for (module docstring says why)."""
    if ON_THIS_VERSION:
        return
    skip = pytest.mark.skip(reason="browser tests run on the current Home Assistant only")
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(skip)


def _allow_sockets() -> None:
    """The HA test plugin blocks sockets per test; these tests talk to a real HA over TCP."""
    import pytest_socket

    pytest_socket.enable_socket()


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Loopback sockets for every browser test (HTTP to HA, websocket)."""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go; emptied at the start of a session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHA]:
    """A real Home Assistant with the demo networks, shared by the session's tests.

    Started in development mode for true plants (custom_components/heatbalance/true_plant.py):
    a test that writes ``<config>/true-plants/N.yaml`` before adding network N gets a
    simulated plant that is not N's model. The demo networks have no such file.
    """
    _allow_sockets()
    config = tmp_path_factory.mktemp("ha-config")
    env = {TRUE_PLANTS_ENV: str(config / TRUE_PLANTS)}
    with home_assistant(config, NETWORKS, env) as running:
        yield running


@asynccontextmanager
async def browser_page(
    ha: RunningHA, username: str = "", password: str = "", **context: Any
) -> AsyncIterator[Any]:
    """The system Chromium (never ``playwright install``), a fresh context, logged in to HA.

    Playwright's async API in the test's own event loop: its sync API marks the main thread's
    loop as running, which breaks the HA test plugin's fixtures. HA's service worker is
    blocked: it reloads the page the first time a dialog opens (FACTS.md).
    """
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            options = {"viewport": DESKTOP, "service_workers": "block", **context}
            page = await (await browser.new_context(**options)).new_page()
            page.set_default_timeout(30_000)
            await log_in(page, ha, username, password)
            yield page
        finally:
            await browser.close()


async def log_in(page: Any, ha: RunningHA, username: str = "", password: str = "") -> None:
    """HA's login form, then wait until the app replaced its launch screen."""
    await page.goto(ha.url + "/")
    await page.fill('input[name="username"]', username or ha.username)
    await page.fill('input[name="password"]', password or ha.password)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("home-assistant-main", state="attached", timeout=60_000)
    await page.wait_for_selector("#ha-launch-screen", state="detached", timeout=60_000)
