"""The model-based controller's learnt part read back entry by entry (issue 10: never lose
stored data).

One damaged stored value — a residual of text, a scatter of None, a pipe fit of ragged rows —
raised out of :meth:`ModelBased.load`, and the controller restarted its whole model part:
every inlet's identification, residual and plan flow with it. Now the damaged entry alone
restarts (:func:`.diagnosis.stored_map`) and every other inlet keeps its learning.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.heatbalance.engine.control.controller import Controller

from .test_restore_damaged import _saved

CASES = [
    ("residuals", "B001", "x"),
    ("residuals", "B001", None),
    ("residuals", "B001", 1e308),  # beyond the stored bound
    ("residual_var", "B002", "x"),
    ("planned", "B003", 1e308),  # a plan flow beyond the bound was kept
    ("pipes", "xtx", [[1.0], [2.0, 3.0]]),  # ragged rows: numpy raised ValueError
]


@pytest.mark.parametrize(("name", "key", "damage"), CASES)
def test_a_damaged_model_entry_restarts_alone(name: str, key: str, damage: Any) -> None:
    network, text = _saved("model")
    stored = json.loads(text)
    stored["model"][name][key] = damage
    model = Controller.from_dict(network, stored).as_dict()["model"]
    want = json.loads(text)["model"]
    assert model["identifiers"] == want["identifiers"]  # every inlet's identification kept
    for part in ("residuals", "residual_var", "planned"):
        kept = {k: v for k, v in want[part].items() if k != key}  # (a scatter needs its residual)
        assert {k: model[part][k] for k in kept} == kept, part
    if name != "pipes":
        assert model["pipes"] == want["pipes"]
        assert key not in model[name]  # the damaged entry restarted
