"""Steady-state pressure and flow in a secondary network (§5.3.6-4 network balance analysis).

The pipe pairs of a :class:`~..model.Network` are expanded into hydraulic nodes (supply side,
return side, and one building supply node for each building that feeds households) and links
(supply pipes, return pipes, inlet branches, building service connections, the substation);
:mod:`.topology` says how. Pipes follow Darcy–Weisbach with Colebrook–White friction
(:mod:`.friction`), inlets their balancing device in series with the heated circuit, including
self-operated flow and ΔP valves as regulating elements (:mod:`.devices`), the substation its
pump curve minus the heat-exchanger drop. The global gradient algorithm (:mod:`.gga`) solves
it: Newton steps on link flows and node pressures, each one sparse solve of node size, so
looped networks cost no more than trees. ``docs/solver.md`` has the equations and figures.

Public API: :func:`solve_hydraulics` (one shot), :class:`HydraulicModel` (prepare once, solve
many times with a warm start), :class:`HydraulicResult`, :class:`HydraulicError`.
Only numpy is imported here; scipy.sparse loads on the first solve.
"""

from __future__ import annotations

from .devices import CLOSED_KV_FRACTION, DISTRIBUTED_PUMP_SHUTOFF, STEEP_REL, VALVE_A
from .errors import HydraulicError
from .friction import friction_factor, friction_with_slope
from .result import HydraulicResult, WarmStart
from .solver import KINEMATIC_VISCOSITY, HydraulicModel, solve_hydraulics

__all__ = [
    "CLOSED_KV_FRACTION",
    "DISTRIBUTED_PUMP_SHUTOFF",
    "KINEMATIC_VISCOSITY",
    "STEEP_REL",
    "VALVE_A",
    "HydraulicError",
    "HydraulicModel",
    "HydraulicResult",
    "WarmStart",
    "friction_factor",
    "friction_with_slope",
    "solve_hydraulics",
]
