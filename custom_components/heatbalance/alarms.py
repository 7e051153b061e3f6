"""Alarms (§5.3.8, §8.2.6, §4.3.11-6, §6.0.6): which are active, graded, acknowledged.

Each cycle the coordinator asks :class:`AlarmBook` which conditions hold. A condition becomes
an alarm at once (safety thresholds) or after ``alarm_cycles`` consecutive cycles (deviation,
command/feedback, communication), so a single bad reading does not page anyone. New alarms
and cleared ones are returned for the coordinator to fire as ``heatbalance_alarm`` events;
an operator acknowledges an alarm, which stays acknowledged until it clears.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .cycle import CycleResult, InletResult
from .engine.meters import KINDS as METER_FAULTS
from .settings import InletConfig, Settings

EMERGENCY = "emergency"
WARNING = "warning"
NETWORK = "network"
MIN_SUCCESS_SAMPLES = 10
# §6.0.6 first-attempt transmission success rate
SUCCESS_LIMITS = {"wired": 95.0, "wireless": 80.0}
UNBALANCED_LIMIT_S = 24 * 3600.0  # §8.2.6
UPLOAD_LIMIT_S = 3600.0  # §4.3.4 upload period
# a gateway valve's answer that is no alarm: confirmed, still young, or no gateway (None)
_ANSWER_OK = frozenset({None, "confirmed", "pending"})

# diagnosis findings raised as equipment faults; command/feedback mismatch and lost data have
# their own alarm types here (feedback_mismatch, communication)
EQUIPMENT_FAULTS = frozenset(
    {"stuck", "blockage", "slow_response", "valve_fault", *METER_FAULTS}  # meters.py too
)
ALARM_TYPES = (
    "safety_threshold",
    "equipment_fault",
    "deviation",
    "feedback_mismatch",
    "communication",
    "not_balanced",
    "low_battery",
    "success_rate",
)


@dataclass
class Alarm:
    """One active alarm: type, grade, where, and what (translation key + placeholders)."""

    type: str
    grade: str
    location: str
    reason: str  # translation key of the description, under "exceptions"
    values: dict[str, str] = field(default_factory=dict)
    since_s: float = 0.0
    acknowledged: bool = False

    @property
    def key(self) -> str:
        """Unique within a network: one alarm per reason and place."""
        return f"{self.reason}@{self.location}"


@dataclass
class Condition:
    """A condition found this cycle, before persistence is applied."""

    type: str
    grade: str
    location: str
    reason: str
    values: dict[str, str]
    immediate: bool = False


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _safety_limits(
    r: InletResult, settings: Settings
) -> tuple[tuple[str, str, float | None, float, bool], ...]:
    """(reason, grade, value, limit, lower limit?) of an inlet's safety thresholds (§5.3.8-1)."""
    rd = r.reading
    flow_pct = None
    if rd.flow_m3h is not None and r.setpoint:
        flow_pct = rd.flow_m3h / r.setpoint * 100.0
    return (
        ("flow_low", EMERGENCY, flow_pct, settings.min_flow_pct, True),
        ("supply_high", EMERGENCY, rd.supply_c, settings.max_supply_c, False),
        ("return_low", EMERGENCY, rd.return_c, settings.min_return_c, True),
        ("pressure_low", WARNING, rd.dp_available_kpa, settings.min_dp_kpa, True),
    )


def find_conditions(
    result: CycleResult,
    settings: Settings,
    inlets: dict[str, InletConfig],
    sent: dict[str, float],
    previous: CycleResult | None,
    unbalanced_s: float,
) -> list[Condition]:
    """Every alarm condition of one cycle; ``sent`` = openings dispatched last cycle."""
    found: list[Condition] = []

    def add(
        kind: str, grade: str, where: str, reason: str, immediate: bool = False, **v: str
    ) -> None:
        found.append(Condition(kind, grade, where, reason, v, immediate))

    def crossed(kind: str, grade: str, where: str, reason: str, value: float, limit: float) -> None:
        """A limit crossed: raised at once, with the value and the limit in its description."""
        add(kind, grade, where, reason, True, value=_fmt(value), limit=_fmt(limit))

    for iid, r in result.inlets.items():
        rd = r.reading
        cfg = inlets[iid]
        for reason, grade, value, limit, low in _safety_limits(r, settings):
            if value is not None and (value < limit if low else value > limit):
                crossed("safety_threshold", grade, iid, reason, value, limit)
        tol = settings.feedback_tolerance_pct
        if rd.opening is not None:
            pos = rd.opening * 100.0
            if pos < settings.min_opening_pct - 1.0:  # 1 % feedback resolution
                crossed(
                    "safety_threshold", WARNING, iid, "opening_low", pos, settings.min_opening_pct
                )
            before = previous.inlets.get(iid) if previous else None
            if before is not None and before.reading.opening is not None and iid not in sent:
                change = abs(pos - before.reading.opening * 100.0)
                if change > settings.max_step_pct + tol:
                    crossed(
                        "safety_threshold",
                        WARNING,
                        iid,
                        "opening_jump",
                        change,
                        settings.max_step_pct,
                    )
            if iid in sent and abs(pos - sent[iid] * 100.0) > tol:
                add(
                    "feedback_mismatch",
                    WARNING,
                    iid,
                    "feedback_mismatch",
                    command=_fmt(sent[iid] * 100.0),
                    value=_fmt(pos),
                )
        if iid in sent and rd.command_status not in _ANSWER_OK:
            add(
                "feedback_mismatch",
                WARNING,
                iid,
                "command_unconfirmed",
                command=_fmt(sent[iid] * 100.0),
                status=str(rd.command_status),
            )
        if settings.auto and cfg.auto and r.in_band is False:
            add("deviation", WARNING, iid, "deviation", value=_fmt(r.deviation or 0.0))
        if rd.attempted and not rd.received:
            add("communication", WARNING, iid, "no_data")
        if rd.battery_pct is not None and rd.battery_pct < settings.low_battery_pct:
            add("low_battery", WARNING, iid, "low_battery", True, value=_fmt(rd.battery_pct))
        limit = SUCCESS_LIMITS.get(cfg.link, 95.0)
        enough = r.success_samples >= MIN_SUCCESS_SAMPLES
        if r.success_rate is not None and r.success_rate < limit and enough:
            crossed("success_rate", WARNING, iid, "success_rate", r.success_rate, limit)
    for f in result.findings:  # the engine's device diagnosis (§5.3.7, §5.3.8)
        if f.kind in EQUIPMENT_FAULTS and f.inlet_id in result.inlets:
            add("equipment_fault", f.severity, f.inlet_id, "equipment_fault", True, value=f.message)
    if settings.outdoor_entity and result.outdoor_c is None:
        add("communication", WARNING, NETWORK, "no_outdoor")
    if unbalanced_s > UNBALANCED_LIMIT_S:
        add(
            "not_balanced",
            WARNING,
            NETWORK,
            "not_balanced",
            True,
            hours=_fmt(unbalanced_s / 3600.0),
        )
    return found


def gateway_conditions(outboxes: dict[str, dict[str, Any]]) -> list[Condition]:
    """Alarm conditions from the gateways' own outbox figures (§6.0.3, §4.3.4).

    Readings the gateway had to drop (size cap or TTL) are lost data: raised at once. A
    backlog older than the §4.3.4 upload period (60 min) means the uplink or Home Assistant
    has not taken the data in time.
    """
    found: list[Condition] = []
    # drops of the last report period when the gateway says (the alarm then clears, issue 11)
    dropped = {
        gw: n
        for gw, box in outboxes.items()
        if _positive(n := box.get("dropped_recently", box.get("dropped")))
    }
    if dropped:
        names = ", ".join(f"{gw} ({n})" for gw, n in sorted(dropped.items()))
        found.append(
            Condition(
                "communication", WARNING, NETWORK, "gateway_dropped", {"gateways": names}, True
            )
        )
    late = {
        gw: box["oldest_age_s"]
        for gw, box in outboxes.items()
        if _positive(box.get("oldest_age_s")) and box["oldest_age_s"] > UPLOAD_LIMIT_S
    }
    if late:
        names = ", ".join(f"{gw} ({age / 60:.0f} min)" for gw, age in sorted(late.items()))
        found.append(
            Condition("communication", WARNING, NETWORK, "gateway_backlog", {"gateways": names})
        )
    return found


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


class AlarmBook:
    """Active alarms of one network, with persistence counters and acknowledgements."""

    def __init__(self) -> None:
        """Start with nothing active."""
        self.active: dict[str, Alarm] = {}
        self._pending: dict[str, int] = {}

    def update(
        self, conditions: list[Condition], cycles: int, now_s: float
    ) -> tuple[list[Alarm], list[Alarm]]:
        """Apply one cycle's conditions; returns (raised, cleared)."""
        seen: set[str] = set()
        raised: list[Alarm] = []
        for c in conditions:
            alarm = Alarm(c.type, c.grade, c.location, c.reason, c.values, now_s)
            seen.add(alarm.key)
            count = self._pending.get(alarm.key, 0) + 1
            self._pending[alarm.key] = count
            if alarm.key in self.active:
                self.active[alarm.key].values = c.values
            elif c.immediate or count >= cycles:
                self.active[alarm.key] = alarm
                raised.append(alarm)
        cleared = [a for k, a in self.active.items() if k not in seen]
        for alarm in cleared:
            del self.active[alarm.key]
        self._pending = {k: v for k, v in self._pending.items() if k in seen}
        return raised, cleared

    def acknowledge(self, location: str | None = None, kind: str | None = None) -> list[Alarm]:
        """Acknowledge active alarms (all, or one place / type); returns those changed."""
        changed = []
        for alarm in self.active.values():
            if alarm.acknowledged:
                continue
            if location not in (None, alarm.location) or kind not in (None, alarm.type):
                continue
            alarm.acknowledged = True
            changed.append(alarm)
        return changed

    def at(self, location: str) -> list[Alarm]:
        """Active alarms of one inlet (or of ``NETWORK``)."""
        return [a for a in self.active.values() if a.location == location]

    def as_dict(self) -> dict[str, Any]:
        """Persisted form (active alarms survive a restart, acknowledged or not)."""
        return {"active": [asdict(a) for a in self.active.values()], "pending": self._pending}

    def restore(self, data: dict[str, Any]) -> None:
        """Read back :meth:`as_dict`."""
        self.active = {}
        for raw in data.get("active", []):
            alarm = Alarm(**raw)
            self.active[alarm.key] = alarm
        self._pending = {k: int(v) for k, v in data.get("pending", {}).items()}
