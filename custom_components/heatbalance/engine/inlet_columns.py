"""The inlets' fields as arrays, read once: the network validation and the hydraulic device
table share them (``validation.network_problems``, ``hydraulics.devices``).

Below both in the import order (it needs only the model), so validation does not import the
hydraulics package, which imports validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .model import DEVICE_TYPES, Device, Network, design_flow_m3h

_TYPE_CODE = {name: k for k, name in enumerate(DEVICE_TYPES)}


@dataclass
class InletColumns:
    """The inlets' fields as arrays, read once (validation and the device table share them)."""

    ids: list[str]
    devices: list[Device]
    node: list[str]
    parent: list[str | None]
    internal_kpa: np.ndarray
    load_kw: np.ndarray
    dt_k: np.ndarray
    type: np.ndarray  # device type names (object array, for messages)
    code: np.ndarray  # index of the type in DEVICE_TYPES, −1 for an unknown type
    kvs: np.ndarray  # NaN where missing
    linear: np.ndarray
    rangeability: np.ndarray
    min_opening: np.ndarray
    max_opening: np.ndarray
    pump_head_m: np.ndarray  # NaN where missing
    pump_flow_m3h: np.ndarray  # NaN where missing

    @property
    def design_flow_m3h(self) -> np.ndarray:
        """Design flows (0 where load or ΔT is missing)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            flow = design_flow_m3h(self.load_kw, self.dt_k)  # type: ignore[arg-type]
        return np.where(np.isfinite(flow) & (flow > 0), flow, 0.0)


def inlet_columns(network: Network) -> InletColumns:
    """Read every inlet's fields into arrays (one pass per field, no per-inlet logic)."""
    inlets = list(network.inlets.values())
    devs = [i.device for i in inlets]
    types = [d.type for d in devs]
    code = np.array([_TYPE_CODE.get(t, -1) for t in types], dtype=np.int64)
    pumps = np.flatnonzero(code == _TYPE_CODE["distributed_pump"])
    pump_head = np.full(len(devs), np.nan)
    pump_flow = np.full(len(devs), np.nan)
    pump_head[pumps] = [_number_or_nan(devs[k].pump_head_m) for k in pumps]
    pump_flow[pumps] = [_number_or_nan(devs[k].pump_flow_m3h) for k in pumps]

    num = _floats

    return InletColumns(
        ids=[i.id for i in inlets],
        devices=devs,
        node=[i.node for i in inlets],
        parent=[i.parent for i in inlets],
        internal_kpa=num([i.internal_dp_kpa for i in inlets]),
        load_kw=num([i.design_load_kw for i in inlets]),
        dt_k=num([i.design_dt_k for i in inlets]),
        type=np.array(types, dtype=object),
        code=code,
        kvs=num([d.kvs for d in devs]),
        linear=np.array([d.characteristic == "linear" for d in devs], dtype=bool),
        rangeability=num([d.rangeability for d in devs]),
        min_opening=num([d.min_opening for d in devs]),
        max_opening=num([d.max_opening for d in devs]),
        pump_head_m=pump_head,
        pump_flow_m3h=pump_flow,
    )


def _floats(values: list[Any]) -> np.ndarray:
    """Values as a float array; ``None`` and non-numbers become NaN (validation names them)."""
    try:
        return np.array(values, dtype=float)  # fast path: None → NaN, numbers as they are
    except (TypeError, ValueError):
        return np.array([_number_or_nan(v) for v in values], dtype=float)


def _number_or_nan(value: object) -> float:
    """A field as float; missing or non-numeric values become NaN (validation names them)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
