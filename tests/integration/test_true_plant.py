"""Development mode: the simulated plant runs a true network that is not the model (issue 14).

With ``HEATBALANCE_TRUE_PLANTS`` naming a folder, a network named N simulates its plant from
``N.yaml`` there; the controller keeps the entry's network as its model. Without the variable,
or without a file for the network, the plant is the network itself (an operator's HA).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.heatbalance.engine.loader import load_network, network_to_dict
from custom_components.heatbalance.engine.model import Network
from custom_components.heatbalance.engine.plant_variation import varied_network
from custom_components.heatbalance.engine.simulator import Simulator
from custom_components.heatbalance.true_plant import ENV

from .conftest import add_network, cycles


def _write(folder: Path, data: dict[str, object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "estate12.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


async def test_the_plant_runs_the_true_network_and_the_controller_the_model(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_network("estate12")
    true = varied_network(model, seed=3, pipes=0.5, circuits=0.5, buildings=0.2)
    _write(tmp_path, network_to_dict(true))
    monkeypatch.setenv(ENV, str(tmp_path))
    entry = await add_network(hass)
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data.coordinator
    assert network_to_dict(coordinator.network) == network_to_dict(model)  # the model
    assert network_to_dict(coordinator.simulator.network) == network_to_dict(true)  # the plant
    # the first cycle read the true network's flows (valves as found), not the model's
    read = {iid: r.reading.flow_m3h for iid, r in coordinator.data.inlets.items()}
    assert read == pytest.approx(_first_flows(true), rel=1e-6)
    model_flows = _first_flows(model)
    assert max(abs(read[i] / model_flows[i] - 1.0) for i in read) > 0.05
    await cycles(hass, entry, 2)  # and it keeps running on it
    assert coordinator.last_update_success

    monkeypatch.delenv(ENV)  # an operator's HA: the plant is the network itself
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert network_to_dict(entry.runtime_data.coordinator.simulator.network) == network_to_dict(
        model
    )


def _first_flows(network: Network) -> dict[str, float]:
    """Flows of a fresh simulated plant after one 30-minute cycle."""
    state = Simulator(network).step(1800.0)
    return {iid: s.flow_m3h for iid, s in state.inlets.items()}


async def test_a_true_network_without_the_models_inlets_is_refused(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = network_to_dict(load_network("estate12"))
    data["inlets"] = data["inlets"][:-1]
    _write(tmp_path, data)
    monkeypatch.setenv(ENV, str(tmp_path))
    entry = await add_network(hass)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "true plant" in (entry.reason or "")
