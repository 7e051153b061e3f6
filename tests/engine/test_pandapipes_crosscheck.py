"""Cross-check against pandapipes on the built-in networks (issue 2: flows 0.5 %, temps 0.2 K).

The pandapipes model is built from the same network file and the operating point
heatbalance solved (tests/engine/pandapipes_model.py says how). Agreement shows the pipe
friction, the node mixing, the pipe heat losses and the return mixing are right.
"""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.heatbalance.engine.cli import steady_state
from custom_components.heatbalance.engine.loader import load_network

pandapipes_model = pytest.importorskip("tests.engine.pandapipes_model")


@pytest.mark.parametrize("name", ["estate12", "district120", "households1200", "loop8"])
def test_flows_and_temperatures_match_pandapipes(name) -> None:
    net = load_network(name)
    hyd, th = steady_state(net, pump_speed=None)
    model = pandapipes_model.build(net, hyd, th)
    pandapipes_model.run(model)
    ids = hyd.inlet_ids
    theirs = pandapipes_model.inlet_flows_m3h(model, ids)
    rel = np.abs(theirs - hyd.inlet_flow_m3h) / hyd.inlet_flow_m3h
    assert rel.max() < 0.005, f"worst flow deviation {rel.max():.4%} at {ids[int(rel.argmax())]}"
    supply = pandapipes_model.inlet_supply_c(model, ids)
    assert np.abs(supply - th.supply_c).max() < 0.2
    assert abs(pandapipes_model.network_return_c(model) - th.network_return_c) < 0.2


# --- thermal half (owner: thermal; tests/engine/test_thermal.py has the closed forms) ---------
def _private_returns(model, network, th) -> dict[str, int]:
    """Give every heated inlet its own return junction; returns inlet id → junction.

    pandapipes reports an element's outlet as the temperature of the junction it discharges
    into, where the streams of all inlets at that node have mixed (FACTS.md). A private
    junction, joined to the street return by 1 m of DN200 without heat loss (a few pascals),
    holds that inlet's own return temperature.
    """
    pp = pandapipes_model.pp
    hx = model.net.heat_exchanger
    private = {}
    for iid, element in model.inlet_element.items():
        if network.children(iid):
            continue  # a service connection: its households are the heated inlets
        street = int(hx.at[element, "to_junction"])
        own = pp.create_junction(model.net, pn_bar=3.0, tfluid_k=th.network_return_c + 273.15)
        hx.at[element, "to_junction"] = own
        pp.create_pipe_from_parameters(
            model.net, own, street, length_km=0.001, inner_diameter_mm=200.0, k_mm=0.1
        )
        private[iid] = own
    return private


@pytest.mark.parametrize("name", ["estate12", "district120", "households1200", "loop8"])
def test_every_temperature_matches_pandapipes(name) -> None:
    """Every junction of both sides and every inlet's own return within 0.2 K.

    pandapipes gets the heat heatbalance's emitters computed (``qext_w``) and the pipes'
    ``u_w_per_m2k = heat_loss_w_mk/(π·d)`` with 20 sections (its implicit section scheme is
    then within ~1e-5 K of the exponential), so its water temperatures test the pipe decay,
    the mixing at every node on both sides, and the return each inlet's heat implies.
    """
    net = load_network(name)
    hyd, th = steady_state(net, pump_speed=None)
    model = pandapipes_model.build(net, hyd, th)
    private = _private_returns(model, net, th)
    pandapipes_model.run(model)
    t = model.net.res_junction["t_k"].to_numpy() - 273.15
    nodes = th.node_ids
    supply = np.array([t[model.supply_junctions[n]] for n in nodes])
    returns = np.array([t[model.return_junctions[n]] for n in nodes])
    assert np.abs(supply - th.node_supply_c).max() < 0.2
    assert np.abs(returns - th.node_return_c).max() < 0.2
    heated = list(private)
    ours = th.return_c[[hyd.inlet_ids.index(i) for i in heated]]
    theirs = np.array([t[private[i]] for i in heated])
    worst = int(np.abs(theirs - ours).argmax())
    assert abs(theirs[worst] - ours[worst]) < 0.2, (
        f"{heated[worst]}: {theirs[worst]} vs {ours[worst]}"
    )
    assert abs(pandapipes_model.network_return_c(model) - th.network_return_c) < 0.2
