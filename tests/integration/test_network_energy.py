"""The network heat energy sensor on HA's real recorder (issue 10 item 3, energy dashboard).

It counts the figure the heat power sensor shows (``CycleResult.network_heat``): each
building once, also over its managed households, and a cycle whose figure was the
engine's estimate counts into the total and into ``estimated_kwh`` — said, not hidden.
It is ``total_increasing``: a restart must not lower it, or HA's statistics would read a
meter reset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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

from .conftest import add_network, cycles
from .test_balancing import FIELD, _field_devices, _map_b003, _report

ENERGY = "sensor.estate12_heat_energy"


RECORDED = {"test_estimated_heat_is_counted_said_and_survives_a_restart"}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """HA's real recorder for the test that reads its statistics, set up before ``hass`` (a
    harness rule, FACTS.md). Only there: recording households1200's thousands of states made
    the households test, which reads none, ≈3× slower (its teardown alone ≈50 s, loaded)."""
    if request.function.__name__ in RECORDED:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")  # it sets ``hass`` up: after


def _kwh(hass: HomeAssistant, entity_id: str) -> float:
    return float(hass.states.get(entity_id).state)


async def _cycle_kwh(
    hass: HomeAssistant, entry: ConfigEntry, sensor: str = ENERGY
) -> tuple[float, float, bool]:
    """One cycle: the energy sensor's increase, and the heat power figure × the cycle's time
    (the same ``network_heat`` the power sensor shows), and whether it was estimated."""
    coordinator = entry.runtime_data.coordinator
    before, since = _kwh(hass, sensor), coordinator.data.time_s
    await cycles(hass, entry, 1)
    data = coordinator.data
    heat = data.network_heat()
    grew = _kwh(hass, sensor) - before
    return grew, heat.kw * (data.time_s - since) / 3600.0, heat.estimated


async def test_a_building_and_its_households_are_counted_once(hass: HomeAssistant) -> None:
    """households1200 with household B001H07 managed beside its building B001: the network
    heat energy grows by the heat power figure (B001 carries B001H07's heat already), not
    by every managed inlet's counter (which counted B001H07 twice)."""
    entry = await add_network(hass, "households1200")
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "inlet"), context={"source": "user"}
    )
    await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"inlet_id": "B001H07", "source": "simulator", "link": "wireless"}
    )
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    assert "B001H07" in coordinator.inlets
    await cycles(hass, entry, 1)
    counters = dict(coordinator.memory.energy_kwh)
    grew, shown, estimated = await _cycle_kwh(hass, entry, "sensor.households1200_heat_energy")
    household = coordinator.memory.energy_kwh["B001H07"] - counters["B001H07"]
    every_counter = sum(coordinator.memory.energy_kwh[i] - counters[i] for i in coordinator.inlets)
    assert not estimated
    assert household > 0.0
    assert grew == pytest.approx(shown, rel=1e-9)
    assert grew == pytest.approx(every_counter - household, rel=1e-9)  # the household once


async def _statistics(hass: HomeAssistant, start: datetime) -> dict[str, Any]:
    """The 5-minute period from ``start`` compiled as the recorder does: its last state and
    sum (HA's statistics of a ``total_increasing`` sensor)."""
    await async_wait_recording_done(hass)
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)

    def query() -> dict[str, Any]:
        types: set[Any] = {"state", "sum"}
        rows = statistics_during_period(hass, start, None, {ENERGY}, "5minute", None, types)
        return dict(rows[ENERGY][0])

    return await hass.async_add_executor_job(query)


async def test_estimated_heat_is_counted_said_and_survives_a_restart(
    hass: HomeAssistant, demo: ConfigEntry, freezer: Any
) -> None:
    """B003 read through HA entities with its flow rejected (60,000 m³/h): the network heat
    is the engine's estimate, flagged on the power sensor; the energy counts it and says
    how much of its total it is (``estimated_kwh``, ``estimated_cycles``). A reload of
    the entry (HA's restart path: Store saved at unload, read at setup) does not lower
    the counter, so HA's statistics see no meter reset: the sum grows by the state's rise."""
    measured, _, estimated = await _cycle_kwh(hass, demo)
    assert not estimated
    assert measured > 0.0
    assert hass.states.get(ENERGY).attributes["estimated_kwh"] == 0.0
    await _field_devices(hass)
    _report(hass, supply_f=140.0, return_f=113.0, flow_l_min=1e6)  # B003 rejected
    await _map_b003(hass, demo, FIELD)
    now = dt_util.utcnow()
    first = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
    freezer.move_to(first + timedelta(seconds=30))
    before = hass.states.get(ENERGY).attributes["estimated_kwh"]
    grew, shown, estimated = await _cycle_kwh(hass, demo)
    assert estimated  # the power sensor states unknown, its estimate in the attributes
    assert hass.states.get("sensor.estate12_heat_power").attributes["estimated"] is True
    assert grew == pytest.approx(shown, rel=1e-9)
    assert grew > 0.0
    attributes = hass.states.get(ENERGY).attributes
    assert attributes["estimated_kwh"] - before == pytest.approx(grew, abs=2e-3)
    assert attributes["estimated_cycles"] >= 1
    freezer.move_to(first + timedelta(minutes=5, seconds=10))
    one = await _statistics(hass, first)
    assert one["state"] == pytest.approx(_kwh(hass, ENERGY))

    second = first + timedelta(minutes=5)
    freezer.move_to(second + timedelta(seconds=30))
    before_reload = _kwh(hass, ENERGY)
    assert await hass.config_entries.async_reload(demo.entry_id)
    await hass.async_block_till_done()
    assert _kwh(hass, ENERGY) >= before_reload
    assert hass.states.get(ENERGY).attributes["estimated_kwh"] >= attributes["estimated_kwh"]
    await cycles(hass, demo, 1)
    freezer.move_to(second + timedelta(minutes=5, seconds=10))
    two = await _statistics(hass, second)
    assert two["state"] == pytest.approx(_kwh(hass, ENERGY))
    assert two["state"] > one["state"]
    assert two["sum"] - one["sum"] == pytest.approx(two["state"] - one["state"], rel=1e-9)
