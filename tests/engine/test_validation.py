"""One rule set for network models: loader and hydraulic topology report the same problems."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custom_components.heatbalance.engine.hydraulics import HydraulicError, solve_hydraulics
from custom_components.heatbalance.engine.loader import (
    NetworkError,
    check_network,
    network_to_dict,
    parse_network,
)
from custom_components.heatbalance.engine.model import Device, Network, Pipe
from custom_components.heatbalance.engine.validation import network_problems

from .hydraulic_nets import make_inlet
from .nets import chain


def _household(parent: str, node: str = "N1") -> Callable[[Network], None]:
    def mutate(net: Network) -> None:
        net.inlets["H"] = make_inlet("H", node, 10.0, Device("iot_valve", kvs=1.0), parent=parent)

    return mutate


def _device(device: Device) -> Callable[[Network], None]:
    def mutate(net: Network) -> None:
        net.inlets["B1"].device = device

    return mutate


def _orphan(net: Network) -> None:
    net.nodes["X"] = type(net.nodes["N1"])("X")


def _self_pipe(net: Network) -> None:
    net.pipes.append(Pipe("PX", "N1", "N1", 10.0, 50.0))


def _parent_loop(net: Network) -> None:
    net.inlets["B1"].parent, net.inlets["B2"].parent = "B2", "B1"
    net.inlets["B2"].node = "N1"


# Model problems a file can hold too (the schema lets them through, the rule set finds them).
MUTATIONS = {
    "unknown parent": _household("ghost"),
    "household at another node": _household("B1", node="N2"),
    "parent loop": _parent_loop,
    "valve without kvs": _device(Device("electric_valve")),
    "flow valve without setpoint": _device(Device("flow_valve", kvs=4.0)),
    "ejector with a negative ratio": _device(Device("manual_ejector", kvs=4.0, mixing_ratio=-1)),
    "pump without duty": _device(Device("distributed_pump", pump_head_m=3.0)),
    "openings crossed": _device(Device("iot_valve", kvs=4.0, min_opening=0.8, max_opening=0.2)),
    "orphan node": _orphan,
    "pipe to itself": _self_pipe,
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_loader_and_solver_give_the_same_messages(mutate) -> None:
    net = chain(2)
    mutate(net)
    problems = network_problems(net)
    assert problems
    assert check_network(net) == problems
    with pytest.raises(HydraulicError) as solver_err:
        solve_hydraulics(net)
    assert all(p in str(solver_err.value) for p in problems)
    with pytest.raises(NetworkError) as file_err:
        parse_network(network_to_dict(net), source="net.yaml")
    assert file_err.value.problems == problems


def test_a_good_network_has_no_problems_and_duplicates_are_found_in_linear_time() -> None:
    net = chain(3)
    assert network_problems(net) == []
    ids = [f"B{k}" for k in range(50_000)] + ["B7", "B9", "B7"]
    assert network_problems(net, inlet_ids=ids) == [
        "inlet B7: duplicate id",
        "inlet B9: duplicate id",
    ]


def test_a_file_must_give_an_ejector_its_ratio_a_model_may_leave_it_to_commissioning() -> None:
    net = chain(2)
    net.inlets["B1"].device = Device("manual_ejector", kvs=4.0)
    assert network_problems(net) == []
    solve_hydraulics(net)
    with pytest.raises(NetworkError, match=r"inlet B1, field device\.mixing_ratio: required"):
        parse_network(network_to_dict(net))
