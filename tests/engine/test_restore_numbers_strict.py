"""Stored numbers of the controller, its pipe fit and its drawing series read back by the
loop's one rule (:func:`.diagnosis.stored_number`; issue 10: bad stored data never poisons
the engine, and a damaged part restarts alone). ``float``/``usable`` took numeric text, a
bool and 1e308 (whose square overflows in the next fit)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from custom_components.heatbalance.engine.control.controller import Controller
from custom_components.heatbalance.engine.control.identification import PipeIdentifier

from .test_restore_damaged import _saved

PIPES = PipeIdentifier(factors=[1.2], xtx=[[2.0]], xty=[0.4]).to_dict()


@pytest.mark.parametrize(
    "damage", [{"factors": ["1.2"]}, {"xty": [True]}, {"yty": "3"}, {"factor": "1.1", "sxx": 1}]
)
def test_a_pipe_fit_stored_as_text_or_a_bool_restarts_logged(
    damage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    stored = PIPES | damage
    if "factor" in damage:  # the one-factor state of earlier versions
        stored = damage
    with caplog.at_level(logging.WARNING):
        assert PipeIdentifier.from_dict(stored) == PipeIdentifier()
    assert "pipe identification damaged" in caplog.text
    assert PipeIdentifier.from_dict(PIPES) == PipeIdentifier.from_dict(
        json.loads(json.dumps(PIPES))
    )
    assert PipeIdentifier.from_dict(PIPES).factors == [1.2]  # undamaged: kept


def test_a_damaged_series_entry_or_drawing_sample_is_dropped_alone() -> None:
    network, text = _saved("model")
    model = Controller.from_dict(network, json.loads(text)).model
    good = [0.5, 0.2, 40.0, 0.0]
    model._load_series(
        {
            "series": {"B001": True, "B002": 0.5},
            "drawing_samples": {
                "B001": [good, [0.5, 1e308, 40.0, 0.0]],  # beyond the stored bound
                "B002": [[True, 0.2, 40.0], good],
                "B003": [["0.5", 0.2, 40.0]],
            },
        }
    )
    assert "B001" not in model.series
    assert "B002" in model.series
    assert model.drawing_samples["B001"] == [tuple(good)]
    assert model.drawing_samples["B002"] == [tuple(good)]
    assert "B003" not in model.drawing_samples


@pytest.mark.parametrize(
    ("key", "damage", "fresh"),
    [
        ("last_speed", "0.9", None),
        ("pump_from", "1.0", None),
        ("pump_forgotten", [1.0, "0.95", 0, 2, 0.0, 1.0], None),
        ("pooled", {"flow_m3h": "0.5"}, None),  # pooled again from the filters
    ],
)
def test_a_pump_memory_stored_as_text_restarts_its_part(
    key: str, damage: Any, fresh: Any, caplog: pytest.LogCaptureFixture
) -> None:
    network, text = _saved("model")
    stored = json.loads(text) | {key: damage}
    with caplog.at_level(logging.WARNING):
        ctl = Controller.from_dict(network, stored)
    if key == "pooled":
        assert ctl._pooled()["flow_m3h"] != 0.5
    else:
        attr = "_pump_forgotten" if key == "pump_forgotten" else key
        assert getattr(ctl, attr) == fresh
    assert f"Stored controller: {key} damaged" in caplog.text
    assert ctl.last_openings == json.loads(text)["last_openings"]  # the other parts kept


def test_a_last_opening_stored_as_text_is_dropped_alone() -> None:
    network, text = _saved("model")
    stored = json.loads(text)
    stored["last_openings"]["B001"] = "0.5"
    ctl = Controller.from_dict(network, stored)
    want = {k: v for k, v in json.loads(text)["last_openings"].items() if k != "B001"}
    assert ctl.last_openings == want
