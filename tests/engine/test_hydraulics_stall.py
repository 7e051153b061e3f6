"""A Newton solve caught in a limit cycle is given up early (issue 10, 23k cycle speed).

The planner's ideal network holds every household at a flow by an ideal regulator. Asked
for more than the pump can deliver (the plan's refinement at a day-old gen23k state asks
for 16 % more than it planned), regulators flip between their two branches and Newton
circles at the same step size until ``max_iter``: two such solves cost ≈0.3 s of a 23k
plan, and their answer was thrown away (the plan has a fallback for each). ``stall`` ends
such a solve once ``stall`` steps have not cut the worst step tenfold; a converging solve
is not touched, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.heatbalance.engine.control import planner as planner_module
from custom_components.heatbalance.engine.control.planner import IDEAL_STALL, HydraulicPlanner
from custom_components.heatbalance.engine.hydraulics import HydraulicError, HydraulicModel
from custom_components.heatbalance.engine.networks.generator import generate_network


def _planner() -> HydraulicPlanner:
    return HydraulicPlanner(generate_network(6, 4, 1, name="stall"))


def _setpoints(pl: HydraulicPlanner, share: float) -> np.ndarray:
    return np.where(pl.leaf, pl.design * share, np.nan)


def test_a_limit_cycle_ends_early_and_a_converging_solve_is_the_same() -> None:
    pl = _planner()
    ideal = pl.ideal
    at_design = ideal.solve(pl._ideal_open, pump_speed=1.0, setpoints=_setpoints(pl, 1.0))
    kept = ideal.solve(
        pl._ideal_open,
        pump_speed=1.0,
        setpoints=_setpoints(pl, 1.0),
        stall=IDEAL_STALL,
    )
    assert kept.converged
    assert kept.iterations == at_design.iterations
    for name in ("link_flow", "node_pressure_pa", "inlet_flow_m3h", "dp_available_kpa"):
        assert np.array_equal(getattr(kept, name), getattr(at_design, name)), name

    def too_much(stall: int | None) -> tuple[int, bool]:
        res = ideal.solve(
            pl._ideal_open,
            pump_speed=1.0,
            warm_start=at_design,
            setpoints=_setpoints(pl, 1.5),
            raise_on_failure=False,
            stall=stall,
        )
        return res.iterations, res.converged

    assert too_much(None) == (50, False)  # the limit cycle is real: 50 steps, no solution
    iterations, converged = too_much(IDEAL_STALL)
    assert not converged
    assert iterations < 20


def test_an_unreachable_ideal_solve_fails_the_same_way_sooner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The planner's ideal solve and its continuation: same error, far fewer steps."""
    steps: list[int] = []
    solve = HydraulicModel.solve

    def counted(self: HydraulicModel, *args: object, **kwargs: object) -> object:
        try:
            res = solve(self, *args, **kwargs)  # type: ignore[arg-type]
        except HydraulicError as err:
            steps.append(int(str(err).split(" after ")[1].split()[0]))
            raise
        steps.append(res.iterations)
        return res

    monkeypatch.setattr(HydraulicModel, "solve", counted)

    def ask(stall: int | None) -> tuple[str, int]:
        monkeypatch.setattr(planner_module, "IDEAL_STALL", stall)
        pl = _planner()
        pl.ideal_result(pl.design, 1.0)
        steps.clear()
        with pytest.raises(HydraulicError) as err:
            pl.ideal_result(pl.design * 1.5, 1.0)
        return str(err.value).split(" after ")[0], sum(steps)

    message, before = ask(None)
    same, after = ask(IDEAL_STALL)
    assert same == message
    assert before >= 100
    assert after <= before - 60
