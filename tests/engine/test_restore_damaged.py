"""A damaged stored controller (issue 10: never crash the coordinator, never lose stored data).

The loop rebuilds its controller from HA's Store (``loop._controller``). Any stored field may
be damaged — a value of another type, None, NaN, a negative or a huge integer, a key gone:
the controller is still built, nothing raises, and only the damaged top-level part restarts;
every other part keeps its learning value for value.
"""

from __future__ import annotations

import copy
import json
import math
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.heatbalance.engine.control.base import ControllerConfig
from custom_components.heatbalance.engine.control.controller import Controller, make_controller
from custom_components.heatbalance.engine.loop import _controller
from custom_components.heatbalance.engine.model import Network

from .conftest import _builtin
from .test_control_closed_loop import all_open, run

MISSING = object()  # the key removed
DAMAGES: list[Any] = [None, math.nan, -1, -1e9, 10**400, "x", [], {}, 2.5, True, MISSING]


@cache
def _saved(algorithm: str) -> tuple[Network, str]:
    """estate12 after 6 closed-loop steps, its controller as the Store holds it (JSON)."""
    network = all_open(copy.deepcopy(_builtin("estate12")))
    ctl = make_controller(network, ControllerConfig(algorithm=algorithm))
    run(network, ctl, 6)
    return network, json.dumps(ctl.as_dict())


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every stored field's path: containers and leaves (two items of each list)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:2]):
            out += _paths(value, (*prefix, i))
    return out


def _damage(stored: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(stored)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is MISSING:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _plain(ctl: Controller) -> dict[str, Any]:
    return json.loads(json.dumps(ctl.as_dict()))  # type: ignore[no-any-return]


@given(
    algorithm=st.sampled_from(["model", "traditional"]),
    pick=st.integers(min_value=0),
    damage=st.sampled_from(DAMAGES),
)
def test_a_damaged_field_restarts_only_its_part(algorithm: str, pick: int, damage: Any) -> None:
    network, text = _saved(algorithm)
    stored = json.loads(text)
    paths = _paths(stored)
    path = paths[pick % len(paths)]
    damaged = _damage(stored, path, damage)
    before = copy.deepcopy(damaged)
    config = ControllerConfig(algorithm=algorithm)
    restored = _plain(_controller(network, config, damaged))
    kept = {k: v for k, v in stored.items() if k not in _restarted_with(path[0], restored)}
    assert {k: restored[k] for k in kept} == kept, path  # every other part as stored
    assert repr(damaged) == repr(before)  # the stored state itself is not changed


def _restarted_with(part: str, restored: dict[str, Any]) -> set[str]:
    """The stored parts that restart with ``part``: the pooled noise levels are a field of
    every filter (``Controller._pooled``), so a restarted, empty estimator bank has none to
    hold them (the next estimation pools them again from the filters it then has)."""
    if part == "estimators" and not restored["estimators"]:
        return {part, "pooled"}
    return {part}


@pytest.mark.parametrize("damage", [None, {}, "x"])
def test_damaged_estimators_restart_with_their_pooled_levels_only(damage: Any) -> None:
    """The case the fuzz test found by exploring (``('estimators',)`` set to None): the
    bank restarts empty, its pooled levels with it, every other part as stored."""
    network, text = _saved("traditional")
    stored = json.loads(text)
    restored = _plain(
        _controller(
            network, ControllerConfig(algorithm="traditional"), {**stored, "estimators": damage}
        )
    )
    assert restored["estimators"] == {}
    assert restored["pooled"] == {}
    kept = {k: v for k, v in stored.items() if k not in {"estimators", "pooled"}}
    assert {k: restored[k] for k in kept} == kept


def test_an_undamaged_controller_restores_whole_and_twice_alike() -> None:
    """The reference for the fuzz test: every part comes back, also from a state that was
    restored from before (the meter check popped its stored rows: a second restore from
    the same state lost the meter check's learning)."""
    network, text = _saved("model")
    stored = json.loads(text)
    first = _plain(Controller.from_dict(network, stored))
    assert first == json.loads(text)
    assert _plain(Controller.from_dict(network, stored)) == first


def test_a_restored_meter_check_reads_the_controllers_own_network() -> None:
    """A fresh controller's meter check is built on the controller's own copy of the network;
    a restored one was built on the caller's network, so it read other device objects than
    the rest of the controller (and followed a caller's later change to them)."""
    network, text = _saved("model")
    for ctl in (
        Controller(network, ControllerConfig()),
        Controller.from_dict(network, json.loads(text)),
    ):
        own = ctl.network.inlets
        assert ctl.meters.valves
        assert all(device is own[iid].device for iid, device in ctl.meters.valves.items())


def test_a_second_round_restores_the_meter_check_once(caplog: pytest.LogCaptureFixture) -> None:
    """A damaged part sends the restore round again without it; the meter check (3.5 s CPU at
    23k inlets) was restored and its damage logged again in every round. Now it is restored
    last, once: its warning is logged once and its learning kept."""
    network, text = _saved("model")
    stored = json.loads(text)
    stored["meters"]["threshold"] = "x"  # logged by the meter check, which restarts alone
    stored["shut_assumed"] = "B001"  # damaged: a second round
    ctl = Controller.from_dict(network, stored)
    assert caplog.text.count("Stored meter check:") == 1
    want = json.loads(text)["meters"]
    assert {k: v for k, v in _plain(ctl)["meters"].items() if k not in ("threshold", "z")} == {
        k: v for k, v in want.items() if k not in ("threshold", "z")
    }


def test_a_stored_inlet_map_takes_numbers_by_the_one_rule() -> None:
    """The controller's stored per-inlet numbers (flow goals, read shares, loss offsets) go
    through ``diagnosis.stored_map``: one damaged entry is dropped alone. ``usable`` took
    text and 1e308 (a flow goal of 1e308 m³/h)."""
    network, text = _saved("model")
    stored = json.loads(text)
    stored["goals"]["B001"] = 1e308
    stored["read_share"]["B002"] = "0.5"
    restored = _plain(Controller.from_dict(network, stored))
    want = json.loads(text)
    assert restored["goals"] == {k: v for k, v in want["goals"].items() if k != "B001"}
    assert restored["read_share"] == {k: v for k, v in want["read_share"].items() if k != "B002"}
