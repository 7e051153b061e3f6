"""The network model's substation supply in the meter check: an estimate, never a reading.

A real plant behind Home Assistant has no substation temperature sensor; its supply is the
network model's (``cycle.measurements_of`` flags it estimated, ``Measurements.estimated``).
Counted as one reading of three, such a value decided the heat balances' common supply on
a two-building network alone (gen2-pair's +10 % meter named at 8 through HA, at 6 in the
engine with a sensor, issue 10). Weighed by its own uncertainty, learnt from its gaps to
the readings (``MeterCheck._with_model``), it counts as much as it follows the water.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from custom_components.heatbalance.engine.control.base import InletReading, Measurements
from custom_components.heatbalance.engine.meters import MeterCheck
from custom_components.heatbalance.engine.networks.generator import generate_network

WATER_C = 70.0
SENSOR_K = 0.6  # a supply sensor's noise (1 % of 60 °C)


def _check() -> MeterCheck:
    return MeterCheck(generate_network(2, seed=3))


def _cycle(supplies: list[float], station: float, estimated: bool = True) -> Measurements:
    inlets = {f"B{k:03d}": InletReading(supply_c=s) for k, s in enumerate(supplies, 1)}
    return Measurements(
        inlets=inlets,
        supply_c=station,
        estimated=("supply_c", "return_c") if estimated else (),
    )


def _errors(
    model_of: Callable[[int, Any], float], cycles: int = 48, seed: int = 0
) -> tuple[list[float], list[float]]:
    """Per cycle, the common supply's error and the two readings' mean's (K), with the
    model's supply ``model_of(k, rng)`` flagged estimated."""
    check, rng = _check(), np.random.default_rng(seed)
    common, mean = [], []
    for k in range(cycles):
        readings = [WATER_C + rng.normal(0.0, SENSOR_K) for _ in range(2)]
        value = check._common_supply(_cycle(readings, model_of(k, rng)), SENSOR_K**2)
        assert value is not None
        common.append(value - WATER_C)
        mean.append(sum(readings) / 2 - WATER_C)
    return common, mean


def _rms(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values))


def test_an_estimated_station_supply_does_not_decide_the_median() -> None:
    """Two inlets read 69 and 71 °C, the model says 70.5: counted as a reading it was the
    median (70.5); as an estimate of unknown quality the readings' mean (70) stands."""
    value = _check()._common_supply(_cycle([69.0, 71.0], 70.5), SENSOR_K**2)
    assert value is not None
    assert abs(value - 70.0) < 0.1, value


def test_a_measured_station_supply_is_still_a_reading() -> None:
    """The substation's own sensor (the engine's plant, a simulated one) stays one of the
    median's values."""
    value = _check()._common_supply(_cycle([69.0, 71.0], 70.5, estimated=False), 1.0)
    assert value == 70.5


def test_a_model_that_wanders_off_the_water_costs_nothing() -> None:
    """A supply curve 4 K above, then below the water, cycle by cycle: the common supply
    is as good as the two readings' mean (counted as a reading, the median jumped to the
    higher, then the lower reading: √2 times the error)."""
    common, mean = _errors(lambda k, rng: WATER_C + (4.0 if k % 2 else -4.0))
    assert _rms(common) <= 1.1 * _rms(mean), (_rms(common), _rms(mean))


def test_a_steady_model_offset_is_taken_out() -> None:
    """Another supply curve, 5 K above the water every cycle: after the first cycles the
    common supply stays on the water (the offset learnt from the gaps), not pulled up."""
    common, _ = _errors(lambda k, rng: WATER_C + 5.0)
    assert abs(sum(common[8:]) / len(common[8:])) < 0.25, common


def test_a_model_that_follows_the_water_gains_weight() -> None:
    """A model that is the water's temperature: over a day its gaps show it, and the
    common supply gets better than the readings alone."""
    common, mean = _errors(lambda k, rng: WATER_C)
    late, late_mean = common[24:], mean[24:]
    assert _rms(late) < 0.8 * _rms(late_mean), (_rms(late), _rms(late_mean))


def test_the_model_gaps_survive_a_restart() -> None:
    """What was learnt of the model's supply is stored with the check (a non-finite value
    in a damaged state is dropped)."""
    check = _check()
    for k in range(5):
        check._common_supply(_cycle([69.8, 70.3], 70.0 + 0.1 * k), SENSOR_K**2)
    stored = check.as_dict()
    back = MeterCheck.from_dict(generate_network(2, seed=3), stored)
    assert back.model_gaps == check.model_gaps
    assert len(back.model_gaps) == 5
    damaged = stored | {"model_gaps": [0.1, float("nan"), 0.2]}
    assert MeterCheck.from_dict(generate_network(2, seed=3), damaged).model_gaps == [0.1, 0.2]
