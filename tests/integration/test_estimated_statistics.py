"""What Home Assistant records as measured (issue 10 item 3), with the real recorder.

A sensor with a ``state_class`` goes into HA's long-term statistics with every numeric state
it takes; the recorder cannot leave single states out. So a reading the engine rejected and
a value the engine estimated must never be such a sensor's state: the state is unknown and
the value stands in the attributes (``rejected`` with ``rejected_reason``, or ``estimate``
with ``estimated: true``) — and the statistics compiled from the states hold measurements
only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.heatbalance.diagnostics import async_get_config_entry_diagnostics

from .conftest import add_network, cycles
from .test_balancing import FIELD, _field_devices, _map_b003, _report
from .test_silent_meter import _report_all_but_flow

HEAT = "sensor.estate12_heat_power"


RECORDED = {  # the tests that compile and read HA's statistics (``_statistics``)
    "test_rejected_reading_is_neither_shown_nor_recorded",
    "test_estimated_flow_is_not_recorded_as_measured",
    "test_substation_heat_meter_is_the_network_heat_power",
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """HA's real recorder for the tests that read its statistics, set up before ``hass`` (a
    harness rule, FACTS.md); the others assert states, attributes and the view only, and a
    recorder's setup and teardown cost each of them ≈20 s (loaded)."""
    if request.function.__name__ in RECORDED:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")  # it sets ``hass`` up: after


async def _statistics(
    hass: HomeAssistant, entry: ConfigEntry, freezer: Any, entity_ids: set[str]
) -> dict[str, list[Any]]:
    """Two more cycles in the next 5-minute period, then that period compiled from the
    recorded states as the recorder does every five minutes: its rows (mean, min, max) per
    statistic. The period starts after the inlet was re-mapped, so what it holds is what
    the sensors stated since (a simulated B003's earlier flows were real measurements). The
    harness's clock stands still: the caller moves it one second before the re-mapping, so
    the state the period starts from is not one of the simulated ones of the same instant."""
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
    freezer.move_to(start + timedelta(seconds=30))
    await cycles(hass, entry, 2)
    await async_wait_recording_done(hass)
    freezer.move_to(start + timedelta(minutes=5, seconds=10))
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)

    def query() -> dict[str, list[Any]]:
        types: set[Any] = {"mean", "min", "max"}
        return dict(statistics_during_period(hass, start, None, entity_ids, "5minute", None, types))

    return await hass.async_add_executor_job(query)


async def _view(hass: HomeAssistant, hass_ws_client: Any, entry: ConfigEntry) -> dict[str, Any]:
    """What the network view (panel) gets first on subscribing."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "heatbalance/view/subscribe", "entry_id": entry.entry_id}
    )
    assert (await client.receive_json())["success"]
    return dict((await client.receive_json())["event"])


async def test_rejected_reading_is_neither_shown_nor_recorded(
    hass: HomeAssistant, demo: ConfigEntry, freezer: Any, hass_ws_client: Any
) -> None:
    """§3.0.7-1: cleaning rejects B003's 60,000 m³/h (design 42): its flow sensor is unknown,
    the reading and the reason in its attributes; the recorder's statistics never see it.
    The measured B001 beside it is recorded as before."""
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=1e6)  # 60,000 m³/h
    freezer.tick(timedelta(seconds=1))  # see _statistics
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 2)
    assert "out_of_range" in demo.runtime_data.coordinator.data.inlets["B003"].flagged["flow_m3h"]
    flow = hass.states.get("sensor.b003_flow")
    assert flow.state == "unknown"
    assert flow.attributes["rejected"] == pytest.approx(60000.0)
    assert "out_of_range" in flow.attributes["rejected_reason"]
    assert flow.attributes["estimated"] is False
    # the trusted temperatures of the same inlet are shown as measured
    assert float(hass.states.get("sensor.b003_supply_temperature").state) == pytest.approx(60.0)
    diag = await async_get_config_entry_diagnostics(hass, demo)
    assert "out_of_range" in diag["state"]["inlets"]["B003"]["flagged"]["flow_m3h"]
    row = (await _view(hass, hass_ws_client, demo))["live"]["inlets"]["B003"]
    assert row["flow_m3h"] is None  # the panel does not draw it either, it marks it
    assert "flow_m3h" in row["flagged"]

    # the network heat power would leave B003 out, unflagged: unknown, the others' sum
    # in ``estimate`` with B003 counted as left out (it has no estimate either)
    data = demo.runtime_data.coordinator.data
    heat = hass.states.get(HEAT)
    assert heat.state == "unknown"
    assert heat.attributes["estimated"] is True
    assert heat.attributes["inlets_left_out"] == 1
    assert heat.attributes["estimate"] == pytest.approx(data.heat_kw, abs=1e-3)

    ids = {"sensor.b003_flow", "sensor.b001_flow", HEAT}
    rows = await _statistics(hass, demo, freezer, ids)
    assert "sensor.b003_flow" not in rows  # nothing numeric to compile: no row at all
    assert HEAT not in rows  # nor an under-reported network heat
    assert 0 < rows["sensor.b001_flow"][0]["max"] < 100.0  # B001 (simulated) is recorded


async def test_rejected_reading_shows_the_engines_estimate_beside_it(
    hass: HomeAssistant, demo: ConfigEntry
) -> None:
    """A meter read well for a few cycles, then 60,000 m³/h (§3.0.7-1): the reading is
    rejected, and the engine's prediction of the flow stands beside it in ``estimate``
    (``estimated: true``), as it does for a lost reading — before, a rejected reading had
    none, and the network heat power counted B003 as left out."""
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=700.0)  # 42 m³/h
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 3)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=1e6)  # 60,000 m³/h
    await cycles(hass, demo, 1)
    flow = hass.states.get("sensor.b003_flow")
    assert flow.state == "unknown"
    assert flow.attributes["rejected"] == pytest.approx(60000.0)
    assert "out_of_range" in flow.attributes["rejected_reason"]
    assert flow.attributes["estimated"] is True
    assert flow.attributes["estimate"] == pytest.approx(42.0, rel=0.05)
    heat = hass.states.get(HEAT)
    assert heat.state == "unknown"
    assert heat.attributes["inlets_left_out"] == 0  # B003's heat from its estimate


@pytest.mark.parametrize("algorithm", ["ai", "traditional"])
async def test_estimated_flow_is_not_recorded_as_measured(
    hass: HomeAssistant, algorithm: str, freezer: Any
) -> None:
    """B003's meter never reads; the engine plans it from its model and shows the plan's
    flow as an estimate (issue 9 item 2). The flow sensor's state stays unknown, the plan's
    flow is its ``estimate`` attribute, and long-term statistics hold no value for it."""
    demo = await add_network(hass, options={"algorithm": algorithm})
    await _field_devices(hass)
    _report_all_but_flow(hass)
    freezer.tick(timedelta(seconds=1))  # see _statistics
    await _map_b003(hass, demo, FIELD)
    ids = {"sensor.b003_flow", "sensor.b003_flow_deviation", "sensor.b001_flow", HEAT}
    rows = await _statistics(hass, demo, freezer, ids)
    data = demo.runtime_data.coordinator.data
    assert data.inlets["B003"].open_loop is not None
    # the network heat power: B003's from the plan's flow, flagged, none left out
    assert HEAT not in rows
    heat = hass.states.get(HEAT)
    assert heat.state == "unknown"
    assert heat.attributes["estimated"] is True
    assert heat.attributes["inlets_left_out"] == 0
    assert heat.attributes["estimate"] > data.heat_kw + 1.0  # B003's share filled in
    assert "sensor.b003_flow" not in rows
    assert "sensor.b003_flow_deviation" not in rows
    assert rows["sensor.b001_flow"][0]["mean"] > 0  # a measured flow is recorded
    flow = hass.states.get("sensor.b003_flow")
    assert flow.state == "unknown"
    assert flow.attributes["estimated"] is True
    assert flow.attributes["estimate"] > 0
    deviation = hass.states.get("sensor.b003_flow_deviation")
    assert (deviation.state, deviation.attributes["estimated"]) == ("unknown", True)
    assert isinstance(deviation.attributes["estimate"], float)


async def test_real_plant_substation_figures_are_the_models(
    hass: HomeAssistant, demo: ConfigEntry, hass_ws_client: Any
) -> None:
    """Once an inlet is real (HA entities), the substation's supply and return temperatures,
    pump power and pump flow (no substation meter mapped) are the network model's: unknown
    as states, the model's value as ``estimate``, nothing in the statistics; the panel marks
    them as estimated. A fully simulated plant's own figures are measurements of that plant."""
    network = "sensor.estate12_supply_temperature"
    await cycles(hass, demo, 1)
    state = hass.states.get(network)
    assert float(state.state) > 0
    assert state.attributes["estimated"] is False
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=700.0)
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 2)
    for key in ("supply_temperature", "return_temperature", "pump_power", "network_flow"):
        state = hass.states.get(f"sensor.estate12_{key}")
        assert state.state == "unknown", key
        assert state.attributes["estimated"] is True, key
        assert state.attributes["estimate"] > 0, key
    diag = await async_get_config_entry_diagnostics(hass, demo)
    assert {"supply_c", "return_c"} <= set(diag["state"]["indicators"]["estimated"])
    live = (await _view(hass, hass_ws_client, demo))["live"]
    assert {"supply_c", "return_c"} <= set(live["estimated"])  # the panel marks them ≈


STATION_HEAT = "sensor.station_heat_power"


async def test_substation_heat_meter_is_the_network_heat_power(
    hass: HomeAssistant, demo: ConfigEntry, freezer: Any
) -> None:
    """With the substation heat meter mapped, a real plant's network heat power is that
    meter's reading — a measurement of the whole network, recorded in the statistics —
    even while an inlet's heat is missing (B003's flow rejected: the inlets' sum would be
    unknown). The forecaster learns from it. A lost meter makes the figure unknown with
    the inlets' estimate, flagged; the inlets are not passed off as the meter."""
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=1e6)  # B003 rejected
    hass.states.async_set(STATION_HEAT, "2.5", {"unit_of_measurement": "MW"})
    options = dict(demo.options) | {"substation_heat_entity": STATION_HEAT}
    hass.config_entries.async_update_entry(demo, options=options)
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=1))  # see _statistics
    await _map_b003(hass, demo, FIELD)
    rows = await _statistics(hass, demo, freezer, {HEAT})
    assert float(hass.states.get(HEAT).state) == pytest.approx(2500.0)
    assert rows[HEAT][0]["mean"] == pytest.approx(2500.0)  # a measurement: recorded
    coordinator = demo.runtime_data.coordinator
    assert coordinator.data.heat_missing == 1  # the inlets' sum alone would be unknown
    assert coordinator.memory.loop is not None
    assert coordinator.memory.loop.config.station_heat
    hass.states.async_set(STATION_HEAT, "unavailable")
    await cycles(hass, demo, 1)
    heat = hass.states.get(HEAT)
    assert heat.state == "unknown"
    assert heat.attributes["estimated"] is True
    assert heat.attributes["inlets_left_out"] == 1
    assert heat.attributes["estimate"] == pytest.approx(coordinator.data.heat_kw, abs=1e-3)


async def test_panel_chart_gets_estimated_heat_apart(
    hass: HomeAssistant, demo: ConfigEntry, hass_ws_client: Any
) -> None:
    """The panel's heat chart: a measured cycle's heat is the actual line (``heat_kw``); a
    cycle whose network heat was the engine's estimate (B003's flow rejected) has no actual
    point — its estimate comes as ``heat_estimate_kw``, which the panel draws ≈, dashed
    (charts.js), never as the actual load."""
    await cycles(hass, demo, 1)
    measured = (await _view(hass, hass_ws_client, demo))["history"][-1]
    assert measured["heat_kw"] == pytest.approx(demo.runtime_data.coordinator.data.heat_kw, abs=0.1)
    assert measured["heat_estimate_kw"] is None
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=1e6)  # B003 rejected
    await _map_b003(hass, demo, FIELD)
    await cycles(hass, demo, 1)
    heat = demo.runtime_data.coordinator.data.network_heat()
    assert heat.estimated
    last = (await _view(hass, hass_ws_client, demo))["history"][-1]
    assert last["heat_kw"] is None
    assert last["heat_estimate_kw"] == pytest.approx(heat.kw, abs=0.1)
