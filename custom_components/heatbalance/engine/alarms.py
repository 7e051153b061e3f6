"""Alarm rules (§5.3.8, §8.2.6, §4.3.11-6, §6.0.6, §6.0.3): what is an alarm, how graded.

The last stage of the control loop (:mod:`.loop`): from one cycle's raw readings, the
level's verdict and the device diagnosis it finds the alarm *conditions*; :class:`AlarmBook`
turns them into alarms — at once for crossed safety thresholds, after ``alarm_cycles``
consecutive cycles for the rest, so a single bad reading does not page anyone — and keeps
acknowledgements until an alarm clears. Publishing (events, repairs, logbook) is the
caller's. One rule per alarm: command/feedback mismatch is the device diagnosis's verdict
(:mod:`.diagnosis`), not a second comparison here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .control.base import InletReading
from .control.safety import SafetyLimits
from .control.setpoints import SupplyLow, SupplyShort
from .diagnosis import RESTORE_ERRORS, Finding, is_count, stored_number
from .evaluation import InletEvaluation
from .meters import KINDS as METER_FAULTS
from .meters import SUBSTATION
from .plausibility import KINDS as PLAUSIBILITY_FAULTS

EMERGENCY = "emergency"
WARNING = "warning"
NETWORK = "network"
MIN_SUCCESS_SAMPLES = 10
SUCCESS_WINDOW = 48  # cycles (a day at 30 min) for the §6.0.6 first-attempt success rate
# §6.0.6 first-attempt transmission success rate
SUCCESS_LIMITS = {"wired": 95.0, "wireless": 80.0}
UPLOAD_LIMIT_S = 3600.0  # §4.3.4 upload period
# a valve's answer to a command that is no alarm: confirmed, still young, or none (None)
ANSWER_OK = frozenset({None, "confirmed", "pending"})
# diagnosis findings raised as equipment faults (§5.3.7)
EQUIPMENT_FAULTS = frozenset(
    {"stuck", "blockage", "slow_response", "valve_fault", *METER_FAULTS}  # meters.py too
)
# diagnosis findings in which the opening feedback is not where the command sent it (§5.3.8-4)
FEEDBACK_FINDINGS = frozenset({"mismatch", "stuck", "slow_response"})
# cleaning's verdicts on a value no instrument of that kind can read (§3.0.7-1)
IMPOSSIBLE = frozenset({"invalid", "out_of_range"})
# a flow reading the inlet's other witnesses contradict (plausibility.py: a dead meter):
# its own equipment fault, no limit crossed by the plant (``flow_low``) nor a second alarm
DEAD_METER = "flow_meter_dead"
# and every value the meter checks distrust (a frozen meter, a swapped pair:
# ``plausibility.distrusted``): the finding is the alarm, never a limit that value crosses
NOT_THE_PLANT = IMPOSSIBLE | {DEAD_METER} | frozenset(PLAUSIBILITY_FAULTS)
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
class AlarmSettings:
    """The operator's alarm thresholds beyond the controller's safety limits (§5.3.8-1).

    ``wireless`` are the inlets on a wireless link (80 % success-rate limit, §6.0.6);
    ``outdoor_required`` says an outdoor sensor is configured, so its silence is alarmed.
    """

    max_supply_c: float = 95.0
    min_return_c: float = 5.0
    min_dp_kpa: float = 5.0
    feedback_tolerance_pct: float = 5.0
    low_battery_pct: float = 20.0
    wireless: frozenset[str] = frozenset()
    outdoor_required: bool = False


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
    # what persists separately under one alarm (an inlet's broken signals): the alarm is
    # raised once one part has lasted ``alarm_cycles``, not when different ones follow
    parts: tuple[str, ...] = ()


@dataclass
class InletFacts:
    """What the rules know of one judged inlet this cycle (raw reading, not cleaned: a
    safety threshold must see the spike cleaning would hold back)."""

    reading: InletReading
    set_flow_m3h: float | None
    judged: InletEvaluation | None
    regulated: bool  # automatic regulation is on for the inlet (deviation alarm)
    opening_before: float | None  # last cycle's feedback (a move by hand shows as a jump)
    sent: float | None  # opening dispatched last cycle
    success: tuple[float | None, int]  # §6.0.6 rate % and samples
    # the estimate's verdict on a raw "out of band" (None: no estimate to confirm it with)
    estimate_out: bool | None = None
    # fields cleaning did not take this cycle, with its reason (§3.0.7-1): a spike crossing
    # a limit waits the alarm persistence; a value no water or meter can have is no limit
    # crossed but a broken sensor; a flow the inlet's witnesses contradict (DEAD_METER) is
    # its meter's fault, alarmed as such (finding_conditions)
    rejected: Mapping[str, str] = field(default_factory=dict)


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _instrument(reading: InletReading, name: str) -> float | None:
    """The raw value of ``name`` as an instrument read it, None where a model filled it in
    (``InletReading.estimated``): an alarm on the operator's phone names a value somebody
    measured (§5.3.8-1). Where a real inlet has no pressure transmitter its ΔP is the
    plant model's — shown on its sensor flagged estimated, never a ``pressure_low`` alarm
    (issue 10 item 3). Raw, not :meth:`InletReading.get`: a safety threshold must see the
    spike cleaning would hold back."""
    return None if name in reading.estimated else getattr(reading, name)


def inlet_conditions(
    iid: str, facts: InletFacts, limits: SafetyLimits, settings: AlarmSettings
) -> list[Condition]:
    """Every alarm condition of one inlet but its device diagnosis."""
    found: list[Condition] = []
    rd = facts.reading

    def add(kind: str, grade: str, reason: str, immediate: bool = False, **v: str) -> None:
        found.append(Condition(kind, grade, iid, reason, v, immediate))

    def crossed(
        kind: str, grade: str, reason: str, value: float, limit: float, at_once: bool = True
    ) -> None:
        """A limit crossed: raised at once (unless ``at_once`` is off: a reading cleaning
        rejected waits the persistence), with the value and the limit in its description."""
        add(kind, grade, reason, at_once, value=_fmt(value), limit=_fmt(limit))

    flow, flow_pct = _instrument(rd, "flow_m3h"), None
    if flow is not None and facts.set_flow_m3h:
        flow_pct = flow / facts.set_flow_m3h * 100.0
    thresholds = (  # (reason, field, grade, limit, lower limit?) (§5.3.8-1)
        ("flow_low", "flow_m3h", EMERGENCY, limits.min_flow_ratio * 100.0, True),
        ("supply_high", "supply_c", EMERGENCY, settings.max_supply_c, False),
        ("return_low", "return_c", EMERGENCY, settings.min_return_c, True),
        ("pressure_low", "dp_available_kpa", WARNING, settings.min_dp_kpa, True),
    )
    for reason, name, grade, limit, low in thresholds:
        why = facts.rejected.get(name)
        if why in NOT_THE_PLANT:
            continue  # a broken sensor or a dead meter, not the plant (below)
        value = flow_pct if name == "flow_m3h" else _instrument(rd, name)
        if value is not None and (value < limit if low else value > limit):
            crossed("safety_threshold", grade, reason, value, limit, why is None)
    broken = sorted(name for name, why in facts.rejected.items() if why in IMPOSSIBLE)
    if broken:  # persisted per signal: one garbage register read is no fault yet (§5.3.7)
        signals = {"signals": ", ".join(broken)}
        found.append(
            Condition(
                "equipment_fault", WARNING, iid, "sensor_implausible", signals, False, tuple(broken)
            )
        )
    opening = _instrument(rd, "opening")
    if opening is not None:
        pos, min_pct = opening * 100.0, limits.min_opening * 100.0
        if pos < min_pct - 1.0:  # 1 % feedback resolution
            crossed("safety_threshold", WARNING, "opening_low", pos, min_pct)
        if facts.opening_before is not None and facts.sent is None:
            change = abs(pos - facts.opening_before * 100.0)
            step_pct = limits.max_step * 100.0
            if change > step_pct + settings.feedback_tolerance_pct:
                crossed("safety_threshold", WARNING, "opening_jump", change, step_pct)
    if facts.sent is not None and rd.command_status not in ANSWER_OK:
        add(
            "feedback_mismatch",
            WARNING,
            "command_unconfirmed",
            command=_fmt(facts.sent * 100.0),
            answer=str(rd.command_status),  # not "status": the event's own field
        )
    ev = facts.judged
    if (
        facts.regulated
        and ev is not None
        and ev.in_band is False
        and facts.estimate_out is not False
    ):
        add("deviation", WARNING, "deviation", value=_fmt(ev.deviation or 0.0))
    if rd.attempted and not rd.received:
        add("communication", WARNING, "no_data")
    battery = _instrument(rd, "battery_pct")
    if battery is not None and battery < settings.low_battery_pct:
        add("low_battery", WARNING, "low_battery", True, value=_fmt(battery))
    rate, samples = facts.success
    limit = SUCCESS_LIMITS["wireless" if iid in settings.wireless else "wired"]
    if rate is not None and rate < limit and samples >= MIN_SUCCESS_SAMPLES:
        crossed("success_rate", WARNING, "success_rate", rate, limit)
    return found


def finding_conditions(
    findings: list[Finding],
    readings: Mapping[str, InletReading],
    commands: Mapping[str, float | None],
) -> list[Condition]:
    """The device diagnosis as alarms (§5.3.7, §5.3.8-4): faults of the equipment, and the
    diagnosis's command/feedback mismatch (the one mismatch rule) where a feedback is read.

    ``readings`` are the judged inlets' readings; ``commands`` the last command the
    diagnosis judged each valve against.
    """
    found: list[Condition] = []
    mismatched: set[str] = set()  # the diagnoser and the controller may both judge a valve
    for f in findings:
        if f.kind in PLAUSIBILITY_FAULTS and (f.inlet_id == SUBSTATION or f.inlet_id in readings):
            # swapped sensors, a frozen meter, a pump off its command (plausibility.py):
            # each its own reason (§5.3.8-2, §5.3.8-4); the substation's are the network's
            where = NETWORK if f.inlet_id == SUBSTATION else f.inlet_id
            values = {"value": f.message}
            found.append(Condition("equipment_fault", f.severity, where, f.kind, values, True))
            continue
        reading = readings.get(f.inlet_id)
        if reading is None and f.inlet_id == SUBSTATION and f.kind in METER_FAULTS:
            # the substation's own flow meter against the sum of its inlets (meters.py):
            # no inlet's fault, the network's (§5.3.7)
            values = {"value": f.message}
            found.append(
                Condition("equipment_fault", f.severity, NETWORK, "equipment_fault", values, True)
            )
        if reading is None:
            continue
        if f.kind == "comm_loss" and not reading.attempted:
            # the device has been silent for the diagnoser's comm_cycles (§5.3.7-1,
            # §5.3.8-5); a source that counts its transmissions has the count rule instead
            # (inlet_conditions: one ``no_data`` alarm, never two)
            found.append(Condition("communication", WARNING, f.inlet_id, "no_data", {}, True))
        if f.kind in EQUIPMENT_FAULTS:
            found.append(
                Condition(
                    "equipment_fault",
                    f.severity,
                    f.inlet_id,
                    "equipment_fault",
                    {"value": f.message},
                    True,
                )
            )
        command, opening = commands.get(f.inlet_id), reading.opening
        if f.kind not in FEEDBACK_FINDINGS or f.inlet_id in mismatched:
            continue
        if opening is not None and command is not None:
            mismatched.add(f.inlet_id)
            values = {"command": _fmt(command * 100.0), "value": _fmt(opening * 100.0)}
            found.append(
                Condition("feedback_mismatch", WARNING, f.inlet_id, "feedback_mismatch", values)
            )
    return found


def network_conditions(
    outdoor_c: float | None,
    settings: AlarmSettings,
    unbalanced_s: float,
    short_share: float | None = None,
    supply_short: SupplyShort | None = None,
    supply_low: SupplyLow | None = None,
) -> list[Condition]:
    """Network-wide conditions: the outdoor sensor silent, regulation past 24 h (§8.2.6:
    ``unbalanced_s`` is above 0 once the balance state machine has timed out, see
    ``BalanceStateMachine.inspection_alarm``; the 24 h are its rule, not written here); the
    plant short of water (``short_share``: at the pump's full speed the controller's plan
    gives the sharing inlets this share of their set flow, ``Controller.short_share``) —
    one network alarm naming the cause, where each inlet's deviation alarm only says it is
    short (design loads ×1.3: every inlet −18 %). §5.3.6-5's weighted sharing is the
    model-based plan's and, on the water its loops carry, PI's (``Controller._pi_shared``).
    ``supply_short``: the substation supply is too cold for the load
    (``setpoints.supply_too_cold``): no flow gives those rooms their heat, so the room and
    return bands are out of reach of any valve or pump — one network alarm naming the cause
    and the supply that would do, where the band alone only says "not held".
    ``supply_low``: the supply heats the rooms, but only with more water than the flow band
    allows (``supply_low.SupplyLowWatch``): the flow band and the return band contradict
    (§4.1.1) — one network alarm with the supply the set flow needs and the flow the return
    setpoint needs, so the operator can choose the target or raise the supply."""
    found: list[Condition] = []
    if short_share is not None:
        share = {"value": _fmt(100.0 * short_share)}
        found.append(Condition("deviation", WARNING, NETWORK, "pump_capacity", share))
    if supply_short is not None:
        found.append(
            Condition("deviation", WARNING, NETWORK, "supply_too_cold", _cold(supply_short))
        )
    if supply_low is not None:
        found.append(
            Condition("deviation", WARNING, NETWORK, "supply_low_for_flow", _low(supply_low))
        )
    if settings.outdoor_required and outdoor_c is None:
        found.append(Condition("communication", WARNING, NETWORK, "no_outdoor", {}))
    if unbalanced_s > 0.0:
        hours = {"hours": _fmt(unbalanced_s / 3600.0)}
        found.append(Condition("not_balanced", WARNING, NETWORK, "not_balanced", hours, True))
    return found


def _cold(short: SupplyShort) -> dict[str, str]:
    """The ``supply_too_cold`` message's values."""
    return {
        "value": _fmt(short.supply_c),
        "needed": _fmt(short.needed_c),
        "outdoor": _fmt(short.outdoor_c),
        "count": str(len(short.inlets)),
    }


def _low(low: SupplyLow) -> dict[str, str]:
    """The ``supply_low_for_flow`` message's values."""
    return {
        "value": _fmt(low.supply_c),
        "needed": _fmt(low.needed_c),
        "flow": f"{100.0 * low.flow_share:.0f}",
        "outdoor": _fmt(low.outdoor_c),
        "count": str(len(low.inlets)),
    }


def gateway_conditions(outboxes: Mapping[str, Mapping[str, Any]]) -> list[Condition]:
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


class SuccessWindows:
    """Each inlet's §6.0.6 first-attempt success rate over the last ``SUCCESS_WINDOW`` cycles."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        """Start empty, or from :meth:`as_dict` (damaged entries are dropped)."""
        self.history: dict[str, deque[tuple[int, int]]] = {}
        for iid, pairs in (data if isinstance(data, Mapping) else {}).items():
            try:
                window = deque(((int(a), int(r)) for a, r in pairs), maxlen=SUCCESS_WINDOW)
            except (TypeError, ValueError, OverflowError):
                continue
            self.history[str(iid)] = window

    def update(self, iid: str, reading: InletReading) -> tuple[float | None, int]:
        """Count this cycle's transmissions; the rate (%) over the window and its samples.

        A source that counts its own requests (the gateway counts every Modbus request)
        gives its rate, which is taken as it is.
        """
        if reading.link_rate is not None:
            return reading.link_rate
        if reading.attempted:
            window = self.history.setdefault(iid, deque(maxlen=SUCCESS_WINDOW))
            window.append((reading.attempted, reading.received))
        history = self.history.get(iid, ())
        sent = sum(a for a, _ in history)
        return (sum(r for _, r in history) / sent * 100.0 if sent else None), len(history)

    def as_dict(self) -> dict[str, list[list[int]]]:
        """JSON form: each inlet's (attempted, received) pairs."""
        return {iid: [list(p) for p in window] for iid, window in self.history.items()}


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
            count = 0
            for key in [f"{alarm.key}/{part}" for part in c.parts] or [alarm.key]:
                seen.add(key)
                self._pending[key] = self._pending.get(key, 0) + 1
                count = max(count, self._pending[key])
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
        """Read back :meth:`as_dict`; a damaged alarm or count is dropped alone (raised
        again while its condition holds), nothing raises: ``persistence.restore_state``
        calls this unguarded in the coordinator's setup, where ``Alarm(**raw)`` and ``int``
        raised on an unknown key, a missing one or text and stopped the entry loading."""
        self.active, self._pending = {}, {}
        active = data.get("active") if isinstance(data, Mapping) else None
        for raw in active if isinstance(active, list) else []:
            try:
                alarm = _stored_alarm(raw)
            except RESTORE_ERRORS:
                continue
            self.active[alarm.key] = alarm
        pending = data.get("pending") if isinstance(data, Mapping) else None
        if isinstance(pending, Mapping):
            self._pending = {str(k): int(v) for k, v in pending.items() if is_count(v)}


def _stored_alarm(raw: Any) -> Alarm:
    """One stored :class:`Alarm`, its fields checked (a damaged one raises)."""
    alarm = Alarm(**raw)
    texts = (alarm.type, alarm.grade, alarm.location, alarm.reason)
    if not all(isinstance(t, str) for t in texts) or not isinstance(alarm.values, dict):
        raise ValueError(f"not a stored alarm: {raw!r}")
    if not isinstance(alarm.acknowledged, bool):
        raise ValueError(f"a stored alarm's acknowledgement: {raw!r}")
    alarm.since_s = stored_number(alarm.since_s)
    return alarm
