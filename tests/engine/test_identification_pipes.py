"""Self-learning of pipe resistances (§3.0.7-3): a network file 50 % off still converges,
and the learnt corrections are plain data for the operator (CLI, integration)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from custom_components.heatbalance.engine.cli import main
from custom_components.heatbalance.engine.cli_balance import (
    Disturbances,
    make_controller,
    pipes_scaled,
    run_balance,
)
from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import Controller
from custom_components.heatbalance.engine.control.identification import PipeIdentifier

from .test_control_closed_loop import all_open


def test_pipe_factor_from_one_step_of_exact_pressures() -> None:
    """Measured = S' − α·L₀: the slope gives α whatever the common source term (pump)."""
    loss = np.array([10.0, 25.0, 40.0, 80.0])
    ident = PipeIdentifier()
    assert ident.update(200.0 - loss, 170.0 - 1.5 * loss)  # pump 30 kPa weaker, pipes ×1.5
    assert ident.factor == pytest.approx(1.5)
    # The model now at α = 1.5 offers S − 1.5·L₀; the same plant confirms it.
    assert not ident.update(200.0 - 1.5 * loss, 170.0 - 1.5 * loss)
    assert ident.factor == pytest.approx(1.5)


def test_pipe_factor_needs_near_and_far_inlets() -> None:
    ident = PipeIdentifier()
    assert not ident.update(np.array([100.0, 100.0]), np.array([80.0, 80.0]))  # no spread
    assert not ident.update(np.array([100.0, np.nan]), np.array([80.0, 70.0]))  # one inlet
    assert ident.factor == 1.0
    assert PipeIdentifier.from_dict({"factor": "x"}).factor == 1.0
    assert PipeIdentifier.from_dict({"factor": float("nan")}).factor == 1.0
    assert PipeIdentifier.from_dict({"factor": 99.0}).factor == 5.0


@pytest.mark.parametrize("name", ["estate12", "loop8"])
@pytest.mark.parametrize("factor", [0.5, 1.5])
def test_network_file_fifty_percent_off_converges(builtin, name: str, factor: float) -> None:
    """Before: ×0.5 took 13–14 steps to the advanced band, ×1.5 never reached it."""
    plant = all_open(builtin(name))
    control = make_controller(pipes_scaled(plant, factor), "model")
    report = run_balance(
        plant,
        level="advanced",
        target="flow",
        steps=12,
        disturbances=Disturbances(noise=0.01),
        controller=control,
    )
    assert report["steps_to_band"] is not None
    assert report["steps_to_band"] <= 6
    learned = report["learned"]
    assert learned["pipe_resistance_factor"] == pytest.approx(1.0 / factor, rel=0.05)
    json.dumps(learned)  # plain data


def test_learnt_pipes_survive_a_restart(builtin) -> None:
    plant = all_open(builtin("estate12"))
    control = make_controller(pipes_scaled(plant, 1.5), "model")
    run_balance(plant, level="advanced", target="flow", steps=3, controller=control)
    ctl: Controller = control.controller
    restored = Controller.from_dict(ctl.network, json.loads(json.dumps(ctl.as_dict())))
    assert restored.learned_corrections() == ctl.learned_corrections()
    a, b = restored.model.planner.ideal, ctl.model.planner.ideal
    assert a._pipes.k_friction == pytest.approx(b._pipes.k_friction)
    fresh = Controller(ctl.network, ControllerConfig())
    assert fresh.learned_corrections()["pipe_resistance_factor"] == 1.0
    assert fresh.learned_corrections()["branches"] == {}


def test_cli_shows_the_learnt_corrections(capsys) -> None:
    assert main(["balance", "estate12", "--pipe-model", "1.5", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "learned: pipe resistances ×0.6" in out
    assert main(["balance", "estate12", "--pipe-model", "1.5", "--steps", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pipe_model"] == 1.5
    assert report["learned"]["pipe_resistance_factor"] < 0.75
    assert main(["balance", "estate12", "--pipe-model", "0"]) != 0
    assert "--pipe-model" in capsys.readouterr().err
