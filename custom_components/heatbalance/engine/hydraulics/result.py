"""The steady state a hydraulic solve returns (the ``HydraulicResult`` contract)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class WarmStart:
    """What a solve warm-starts from (:meth:`HydraulicModel.solve`): a result's link flows
    and node pressures, kept over a restart. A solve started elsewhere converges to other
    last digits (≈1e-10), and a controller restarted without its warm starts sent openings
    up to 2e-4 off the uninterrupted run's (issue 10, restart honesty)."""

    link_flow: np.ndarray
    node_pressure_pa: np.ndarray

    @classmethod
    def of(cls, res: HydraulicResult | WarmStart | None) -> WarmStart | None:
        """The warm start a result (or a kept warm start) gives; None for None."""
        if res is None or isinstance(res, WarmStart):
            return res
        return cls(res.link_flow, res.node_pressure_pa)

    @classmethod
    def stored(cls, res: HydraulicResult | WarmStart | None) -> dict[str, str] | None:
        """The warm start ``res`` gives, as :meth:`to_dict` stores it (None: none yet)."""
        warm = cls.of(res)
        return None if warm is None else warm.to_dict()

    def to_dict(self) -> dict[str, str]:
        """Both arrays as base64 of their float64 bytes: exact to the bit, ≈11 characters
        a value (a JSON number of a solved flow takes ≈20)."""
        return {"q": _packed(self.link_flow), "p": _packed(self.node_pressure_pa)}

    @classmethod
    def from_dict(cls, data: Any) -> WarmStart | None:
        """Read back :meth:`to_dict`; damaged (not base64 of finite float64s) or missing:
        None, a cold start. A warm start of another network's model (an inlet added since)
        is refused by the solver the same way (cold start, ``HydraulicModel``)."""
        if not isinstance(data, dict):
            return None
        q, p = _unpacked(data.get("q")), _unpacked(data.get("p"))
        if q is None or p is None:
            return None
        return cls(q, p)


def _packed(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode("ascii")


def _unpacked(text: Any) -> np.ndarray | None:
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    if len(raw) % 8:
        return None
    values = np.frombuffer(raw, dtype="<f8").astype(float)
    return values if np.all(np.isfinite(values)) else None
