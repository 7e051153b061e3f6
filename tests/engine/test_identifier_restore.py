"""An inlet's stored branch identification read back checked (§3.0.7 self-learning model;
issue 10: bad stored data never crashes the coordinator nor poisons the engine).

:meth:`BranchIdentifier.from_dict` took its settings and counts with ``float``/``int``: a
forgetting of 0 came back and divided by zero in the next update, NaN made θ NaN, 2.5 and
True became counts; text raised, and :meth:`ModelBased.load` then dropped the whole model
part — every inlet's identification, the pipes, the residuals. Now a damaged identifier
raises (:func:`.diagnosis.stored_number`, ``stored_count``) and that inlet alone restarts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.heatbalance.engine.control.controller import Controller
from custom_components.heatbalance.engine.control.identification import (
    BranchIdentifier,
    PipeIdentifier,
)

from .test_restore_damaged import _damage, _saved

DAMAGED: list[tuple[str, Any]] = [
    ("forgetting", 0.0),  # 1/0 in the next update
    ("forgetting", float("nan")),  # θ NaN
    ("forgetting", 1.5),  # the covariance grows without bound
    ("gate", float("nan")),  # never rejects
    ("gate", -0.1),
    ("a0", float("nan")),  # the ΔP row never taken
    ("a0", "0.05"),
    ("a0", 10**400),  # OverflowError
    ("confirm", -1),
    ("rejected", True),
    ("samples", 2.5),
]


@pytest.mark.parametrize(("key", "value"), DAMAGED, ids=[f"{k}={v!r}"[:24] for k, v in DAMAGED])
def test_a_damaged_identifier_restarts_its_inlet_alone(key: str, value: Any) -> None:
    network, text = _saved("model")
    stored = json.loads(text)
    fresh = Controller(network, Controller.from_dict(network, stored).config)
    damaged = _damage(stored, ("model", "identifiers", "B001", key), value)
    restored = json.loads(json.dumps(Controller.from_dict(network, damaged).as_dict()))
    kept = stored["model"]["identifiers"]
    assert restored["model"]["identifiers"]["B001"] == fresh.model.identifiers["B001"].to_dict()
    assert {k: v for k, v in restored["model"]["identifiers"].items() if k != "B001"} == {
        k: v for k, v in kept.items() if k != "B001"
    }
    assert restored["model"]["pipes"] == stored["model"]["pipes"]  # the rest of the model


def test_the_found_crash_is_what_the_check_prevents() -> None:
    """Without the check a forgetting of 0 restored and then divided by zero."""
    identifier = BranchIdentifier(a0=0.05, forgetting=0.0)
    with pytest.raises(ZeroDivisionError):
        identifier.update(10.0, 0.02, 8.0, 2.0)


@pytest.mark.parametrize("damage", [{"steps": -1}, {"steps": 2.5}, {"points": 10**400}])
def test_damaged_pipe_factors_fall_back_to_the_drawing(damage: dict[str, Any]) -> None:
    """A damaged count or an int beyond a float's range: the drawing (α = 1), not a crash
    (an OverflowError escaped and dropped the whole model part) nor a count of −1."""
    stored = {**PipeIdentifier(factors=[1.2], xtx=[[2.0]], xty=[0.4]).to_dict(), **damage}
    assert PipeIdentifier.from_dict(stored) == PipeIdentifier()
