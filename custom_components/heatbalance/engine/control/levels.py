"""What each level regulates (§3.0.4 Table 3.0.4, §3.0.5–§3.0.7, §4.1.1).

The operator's ``level`` setting decides which devices the controller moves:

* **primary** (§3.0.5) — regulation is manual, by operator experience: the controller only
  proposes the *presettings* of the commissioning calculation (§7.2.5; openings and pump
  speed from the network file), once and for all — no feedback loop;
* **intermediate** (§3.0.6) — building/unit inlets are regulated automatically by the
  static model; household inlets are manual (Table 3.0.4), so their valves are held;
  the pump is not regulated;
* **advanced** (§3.0.7-4) — building **and household** inlets, the circulation pump, and
  room temperature as a control target (§4.1.1: room temperature is an advanced-level
  target only).

The controller asks :func:`hold_reason` per inlet and :func:`pump_regulated` for the pump;
a configuration check asks :func:`required_signals` what an inlet must deliver.
"""

from __future__ import annotations

from ..model import Network

# Table 4.3.2 (intermediate, building/unit inlets) and Table 4.3.3 (advanced: building inlets,
# and household inlets, its HR/HM/HF/RT columns), by control target: the signals acquired
# remotely; ``device`` is the running state / position feedback. The primary level measures
# locally and needs none.
INTERMEDIATE_SIGNALS: dict[str, tuple[str, ...]] = {
    "return": ("return", "device"),
    "mean": ("supply", "return", "device"),
    "flow": ("supply", "return", "flow", "device"),
}
ADVANCED_BUILDING_SIGNALS: dict[str, tuple[str, ...]] = {
    "return": ("return", "device"),
    "mean": ("supply", "return", "device"),
    "flow": ("flow", "device"),
    "room": ("supply", "return", "flow", "device"),
}
ADVANCED_HOUSEHOLD_SIGNALS: dict[str, tuple[str, ...]] = {
    "return": ("return", "device"),
    "mean": ("supply", "return", "device"),
    "flow": ("flow", "device"),
    "room": ("return", "flow", "device"),
}
PRIMARY_HOLD = "primary level: presettings only, regulated by hand (§3.0.5)"
HOUSEHOLD_HOLD = "household inlets are regulated by hand at the intermediate level (Table 3.0.4)"
ROOM_HOLD = "room temperature is a control target at the advanced level only (§4.1.1)"


def hold_reason(network: Network, inlet_id: str, level: str, target: str) -> str | None:
    """Why ``level`` leaves this inlet's valve out of continuous regulation (None: regulate)."""
    if level == "primary":
        return PRIMARY_HOLD
    if level == "advanced":
        return None
    if network.inlets[inlet_id].type == "household":
        return HOUSEHOLD_HOLD
    if target == "room":
        return ROOM_HOLD
    return None


def required_signals(level: str, target: str, household: bool) -> tuple[str, ...]:
    """Signals an inlet must deliver at ``level`` for ``target`` (Tables 4.3.2, 4.3.3)."""
    if level == "intermediate":
        return INTERMEDIATE_SIGNALS.get(target, ())
    if level == "advanced":
        table = ADVANCED_HOUSEHOLD_SIGNALS if household else ADVANCED_BUILDING_SIGNALS
        return table.get(target, ())
    return ()


def pump_regulated(level: str) -> bool:
    """Whether the circulation pump's speed is regulated at ``level`` (advanced only)."""
    return level == "advanced"


def uses_presettings(level: str) -> bool:
    """Whether ``level`` drives devices to the commissioning presettings (primary)."""
    return level == "primary"
