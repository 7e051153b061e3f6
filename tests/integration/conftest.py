"""Fixtures for tests that run the integration inside a real Home Assistant test instance."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.heatbalance.const import CONF_NETWORK, DOMAIN


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Generator[None]:
    """Load custom_components/heatbalance in every integration test."""
    return


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's own format."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def demo_entry() -> MockConfigEntry:
    """A config entry for the built-in 12-building estate."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="estate12",
        unique_id="builtin:estate12",
        data={CONF_NETWORK: "estate12"},
    )
