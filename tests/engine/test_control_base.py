"""The controller vocabulary: measurements, commands, configuration (§5.3.6)."""

from __future__ import annotations

import json

import pytest

from custom_components.heatbalance.engine.control.base import (
    Commands,
    ControllerConfig,
    InletReading,
    Measurements,
    plausible_temperature,
    usable,
)
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.engine.simulator import Simulator


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1.5, 1.5), (3, 3.0), ("2.5", 2.5), (None, None), (float("nan"), None),
     (float("inf"), None), (True, None), ("abc", None), ([1], None), (10**400, None)],
)  # fmt: skip
def test_usable_accepts_only_finite_numbers(raw: object, expected: float | None) -> None:
    assert usable(raw) == expected


def test_flagged_fields_count_as_missing() -> None:
    """§3.0.7-1: a value cleaning rejected is never used."""
    reading = InletReading(flow_m3h=3.0, return_c=40.0, flagged=frozenset({"flow_m3h"}))
    assert reading.get("flow_m3h") is None
    assert reading.get("return_c") == 40.0
    assert InletReading(flow_m3h=3.0, flagged=frozenset({"*"})).get("flow_m3h") is None


def test_plausible_temperature() -> None:
    assert plausible_temperature(45.0) == 45.0
    assert plausible_temperature(400.0) is None
    assert plausible_temperature(None) is None


def test_measurements_from_a_simulated_plant(chain3) -> None:
    state = Simulator(chain3).state()
    m = Measurements.from_plant(state)
    assert set(m.inlets) == {"B1", "B2", "B3"}
    assert m.inlets["B1"].flow_m3h == pytest.approx(state.inlets["B1"].flow_m3h)


def test_commands_serialise() -> None:
    a = Commands(openings={"B1": 0.5}, notes=["x"], held={"B2": "no data"}, pump_speed=0.8)
    back = json.loads(json.dumps(a.to_dict()))
    assert back["held"] == {"B2": "no data"}
    assert back["openings"] == {"B1": 0.5}
    assert back["pump_speed"] == 0.8


def test_config_resolves_per_inlet_then_type_then_network() -> None:
    """§5.3.6-1/2: algorithm and target per device type, overridden per inlet."""
    cfg = ControllerConfig(
        algorithm="model",
        target="flow",
        type_algorithms={"iot_valve": "traditional"},
        inlet_algorithms={"B1": "model"},
        type_targets={"iot_valve": "room"},
        inlet_targets={"B2": "return"},
        manual_inlets=["B3"],
    )
    assert cfg.algorithm_of("B1", "iot_valve") == "model"
    assert cfg.algorithm_of("B2", "iot_valve") == "traditional"
    assert cfg.algorithm_of("B2", "electric_valve") == "model"
    assert cfg.target_of("B2", "iot_valve") == "return"
    assert cfg.target_of("B4", "iot_valve") == "room"


def test_config_round_trips_through_json() -> None:
    cfg = ControllerConfig(
        algorithm="traditional",
        target="return",
        limits=SafetyLimits(min_opening=0.1),
        weights={"B1": 1.2},
        manual_inlets=["B2"],
    )
    back = ControllerConfig.from_dict(json.loads(json.dumps(cfg.to_dict())) | {"unknown": 1})
    assert back == cfg
    assert ControllerConfig(limits={"min_opening": 0.2}).limits.min_opening == 0.2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"algorithm": "fuzzy"},
        {"target": "pressure"},
        {"level": "expert"},
        {"inlet_algorithms": {"B1": "pid"}},
        {"type_targets": {"iot_valve": "humidity"}},
        {"aim": 1.5},
        {"aim": float("nan")},
        {"weights": {"B1": 5.0}},
        {"weights": {"B1": "high"}},
        # of the wrong kind (from a service, the options or a store): each was taken
        {"weights": {"B1": True}},
        {"commissioned": {"B1": True}},  # a bool as a fully open valve
        {"aim": True},
        {"forgetting": True},
        {"auto": "off"},  # text is true: "off" balanced
        {"pump_control": 0},
        {"manual_inlets": "B001"},  # one id: its letters were the list
        {"weights": [("B1", 1.0)]},
        {"limits": {"max_step": "0.3"}},
        {"limits": 0.3},
    ],
)
def test_config_refuses_unknown_names_and_absurd_numbers(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ControllerConfig(**kwargs)


def test_a_damaged_stored_setting_restarts_alone(caplog: pytest.LogCaptureFixture) -> None:
    """At a restore a damaged setting or limit restarts at its default and is logged; the
    others are kept. Before, a limit stored as True restored as 1 (the loosest step) and one
    damaged setting dropped them all (the controller restored the default config)."""
    cfg = ControllerConfig(
        algorithm="traditional",
        limits=SafetyLimits(min_opening=0.1, max_step=0.2),
        weights={"B1": 1.2},
    )
    stored = json.loads(json.dumps(cfg.to_dict()))
    stored["limits"]["max_step"] = True
    stored["aim"] = "1.1"
    back = ControllerConfig.from_dict(stored)
    assert back.limits == SafetyLimits(min_opening=0.1)  # max_step: the engine's own
    assert (back.algorithm, back.weights, back.aim) == ("traditional", {"B1": 1.2}, cfg.aim)
    assert "limits.max_step, aim" in caplog.text
