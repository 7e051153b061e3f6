"""The steady state a hydraulic solve returns (the ``HydraulicResult`` contract)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HydraulicResult:
    """One steady state; arrays are aligned with ``inlet_ids``, ``pipe_ids``, ``node_ids``.

    Flows in m³/h, pressures in kPa (node pressures are gauge, with elevation), heads in m.
    ``valve_dp_kpa`` is the drop across the balancing device: for a distributed pump it is
    negative (the pump adds pressure), for an inlet without a device it is 0, so
    ``dp_available_kpa − valve_dp_kpa`` is always what the circuit behind the device gets.
    ``valve_kv`` is the Kv the device works at: from the opening for valves and nozzles, the
    Kv a self-operated valve has regulated itself to, NaN where there is no Kv.
    """

    inlet_ids: list[str]
    pipe_ids: list[str]
    node_ids: list[str]
    inlet_flow_m3h: np.ndarray
    dp_available_kpa: np.ndarray
    valve_dp_kpa: np.ndarray
    pipe_supply_flow_m3h: np.ndarray
    pipe_return_flow_m3h: np.ndarray
    node_supply_kpa: np.ndarray
    node_return_kpa: np.ndarray
    pump_flow_m3h: float
    pump_head_m: float
    pump_power_w: float
    pump_speed: float
    iterations: int
    converged: bool
    link_flow: np.ndarray = field(repr=False)  # m³/s per internal link, for warm starts
    valve_kv: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    node_pressure_pa: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def inlet(self, inlet_id: str) -> dict[str, float]:
        """Per-inlet figures by name (``KeyError`` for an unknown id)."""
        if not self._index:
            self._index.update({iid: k for k, iid in enumerate(self.inlet_ids)})
        k = self._index[inlet_id]
        kv = self.valve_kv[k] if len(self.valve_kv) else np.nan
        return {
            "flow_m3h": float(self.inlet_flow_m3h[k]),
            "dp_available_kpa": float(self.dp_available_kpa[k]),
            "valve_dp_kpa": float(self.valve_dp_kpa[k]),
            "valve_kv": float(kv),
        }
