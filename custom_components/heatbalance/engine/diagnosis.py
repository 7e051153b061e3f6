"""Automatic diagnosis of balancing devices (§3.0.7-5, §5.3.7, §5.3.8).

Each control cycle the :class:`Diagnoser` gets what the instruments at every inlet said —
the commanded opening, the opening feedback, flow and ΔP, and any further named signals —
and returns the findings that are active now. It recognises

* ``mismatch`` — opening feedback differs from the command by more than ``tolerance``
  after ``settle_s`` (§5.3.8-4, command vs feedback);
* ``stuck`` — the command moved but neither the feedback nor the flow did (§5.3.7-2);
* ``slow_response`` — the feedback moves toward the command but has not arrived after
  ``settle_s`` (§5.3.7-2, response time);
* ``blockage`` — flow below ``blockage_ratio`` × the flow the inlet's *learned* Kv curve
  gives at the measured ΔP (§5.3.7-3: blockage in a building). ``Kv_eff = Q/√(ΔP/100 kPa)``
  is learned per opening band from healthy, settled data only; above the learned range the
  highest learned value serves as a lower bound (a valve passes more when opened more),
  below it nothing is judged. Where no ΔP is read (a plant behind HA entities), the
  flow far below what the network model gives at the valve's read opening, against the
  network's other inlets (the median of their measured ÷ model ratios, so a drawing wrong
  everywhere is no blockage), in ``confirm_cycles`` updates in a row;
* ``comm_loss`` — no usable data for ``comm_cycles`` cycles (§5.3.7-1, §5.3.8-5);
* ``valve_fault`` — the valve reports its own fault code (signal ``fault_code`` ≠ 0, the IoT
  valve's fault record §4.3.8). Fault isolation: while it stands the valve is the known
  cause, so stuck, slow, mismatch and blockage are not judged on that inlet (no second
  alarm blaming the pipes for the valve's fault); it clears when the code returns to 0;
* user rules (§5.3.7-3): a threshold on any named signal, above or below, with hysteresis
  and a minimum duration.

The state (learned curves, timers) is a plain dict (:meth:`Diagnoser.as_dict`), so Home
Assistant keeps it over restarts.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
from collections.abc import Container, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, NamedTuple

from .plain import as_plain

_LOGGER = logging.getLogger(__name__)

Severity = Literal["emergency", "warning"]
SEVERITY: dict[str, Severity] = {
    "stuck": "emergency",
    "blockage": "emergency",
    "mismatch": "warning",
    "slow_response": "warning",
    "comm_loss": "warning",
    "valve_fault": "emergency",
}
_VALVE_KINDS = ("stuck", "slow_response", "mismatch", "blockage")
_BINS = 10
_WINDOW = 4  # updates looked back over for a stuck valve without feedback
_FIELDS = ("command", "feedback", "flow_m3h", "dp_kpa", "valve_dp_kpa", "model_flow_m3h")
_NOTHING = (None, None, None, None)


class _Seen(NamedTuple):
    """One observation's fields, cleaned once (None where absent or not finite), and the
    valve's Kv_eff from them: the checks below read them several times per inlet."""

    command: float | None
    feedback: float | None
    flow_m3h: float | None
    dp_kpa: float | None
    kv: float | None
    valve_kv: float | None  # the valve's own Kv_eff, where its ΔP is read
    share: float | None = None  # measured ÷ the model's flow at the read opening


def _seen(obs: InletObservation) -> _Seen:
    """The cleaned fields of ``obs``."""
    flow, dp = _clean(obs.flow_m3h), _clean(obs.dp_kpa)
    kv = _kv(flow, dp)
    valve_kv = None if obs.valve_dp_kpa is None else _kv(flow, _clean(obs.valve_dp_kpa))
    model = None if obs.model_flow_m3h is None else _clean(obs.model_flow_m3h)
    share = flow / model if flow is not None and model is not None and model > 0 else None
    return _Seen(_clean(obs.command), _clean(obs.feedback), flow, dp, kv, valve_kv, share)


def _kv(flow: float | None, dp: float | None) -> float | None:
    """Kv_eff = Q/√(ΔP/100 kPa); None without both or where it is not finite."""
    root = math.sqrt(dp / 100.0) if dp is not None and dp > 0 else 0.0
    # a subnormal ΔP (5e-324 kPa) is positive, yet its root underflows to 0
    kv = None if flow is None or root <= 0.0 else flow / root
    return kv if kv is not None and math.isfinite(kv) else None


class Finding(NamedTuple):
    """One active diagnosis: where, what, how bad (§5.3.8 grading), why, since when (s)."""

    inlet_id: str
    kind: str
    severity: Severity
    message: str
    since: float


@dataclass(slots=True)
class InletObservation:
    """What one inlet's instruments said this cycle; None (or NaN) where nothing came."""

    command: float | None = None
    feedback: float | None = None
    flow_m3h: float | None = None
    dp_kpa: float | None = None
    valve_dp_kpa: float | None = None  # across the valve alone (a stuck valve's witness)
    model_flow_m3h: float | None = None  # the network model's flow at the read opening
    signals: Mapping[str, float] = field(default_factory=dict)

    def value(self, name: str) -> float | None:
        """A named signal (one of the fields or of ``signals``), None if absent or not finite."""
        raw = getattr(self, name) if name in _FIELDS else self.signals.get(name)
        return _clean(raw)


@dataclass(slots=True)
class Rule:
    """A user-defined diagnosis rule (§5.3.7-3): ``signal`` above/below ``threshold``.

    It fires after the condition held ``min_duration_s`` and clears only once the signal
    is back beyond ``threshold`` by ``hysteresis`` (no chattering alarms). ``inlets``
    limits it to some inlets (None: all).
    """

    name: str
    signal: str
    threshold: float
    direction: Literal["above", "below"] = "above"
    hysteresis: float = 0.0
    min_duration_s: float = 0.0
    severity: Severity = "warning"
    inlets: list[str] | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("above", "below"):
            raise ValueError(f"rule {self.name}: direction must be 'above' or 'below'")
        if self.severity not in ("emergency", "warning"):
            raise ValueError(f"rule {self.name}: severity must be 'emergency' or 'warning'")
        for what in ("threshold", "hysteresis", "min_duration_s"):
            if _clean(getattr(self, what)) is None:
                raise ValueError(f"rule {self.name}: {what} must be a finite number")
        if self.hysteresis < 0 or self.min_duration_s < 0:
            raise ValueError(f"rule {self.name}: hysteresis and duration must be ≥ 0")

    def trips(self, value: float) -> bool:
        """The alarm condition itself."""
        return value > self.threshold if self.direction == "above" else value < self.threshold

    def clears(self, value: float) -> bool:
        """Back on the good side by the hysteresis."""
        if self.direction == "above":
            return value < self.threshold - self.hysteresis
        return value > self.threshold + self.hysteresis


@dataclass(slots=True)
class _InletState:
    """What the diagnoser remembers of one inlet."""

    last_time: float | None = None  # last update with data
    last_command: float | None = None
    last_feedback: float | None = None
    last_flow: float | None = None
    last_kv: float | None = None  # Kv_eff where a ΔP was read
    last_valve_kv: float | None = None
    last_share: float | None = None  # measured ÷ model flow (the witness without a ΔP)
    move_time: float | None = None  # when the command last moved
    ref_feedback: float | None = None  # feedback and flow before that move
    ref_flow: float | None = None
    ref_kv: float | None = None
    ref_valve_kv: float | None = None
    ref_share: float | None = None
    move_judged: bool = True
    recent: list[list[float]] = field(default_factory=list)  # [command, Kv_eff], no feedback
    missed: int = 0
    model_low: int = 0  # updates in a row with the flow far below the model's
    first_missed: float | None = None
    kv_sum: list[float] = field(default_factory=lambda: [0.0] * _BINS)
    kv_count: list[int] = field(default_factory=lambda: [0] * _BINS)
    since: dict[str, float] = field(default_factory=dict)  # active findings
    rule_pending: dict[str, float] = field(default_factory=dict)


class Diagnoser:
    """Stateful device diagnosis over all inlets of a network (§3.0.7-5)."""

    def __init__(
        self,
        rules: list[Rule] | None = None,
        *,
        tolerance: float = 0.05,
        settle_s: float = 120.0,
        min_move: float = 0.05,
        stuck_move: float = 0.075,
        still: float = 0.01,
        flow_still: float = 0.02,
        blockage_ratio: float = 0.7,
        min_samples: int = 3,
        comm_cycles: int = 3,
        confirm_cycles: int = 2,
    ) -> None:
        options = locals()
        for name in ("tolerance", "settle_s", "min_move", "stuck_move", "still", "flow_still"):
            if _clean(options[name]) is None or options[name] < 0:
                raise ValueError(f"{name} must be a finite number ≥ 0, not {options[name]!r}")
        if _clean(blockage_ratio) is None or not 0 < blockage_ratio < 1:
            raise ValueError(f"blockage_ratio must be within (0, 1), not {blockage_ratio!r}")
        counts = (min_samples, comm_cycles, confirm_cycles)
        if not all(isinstance(n, int) for n in counts):
            raise ValueError("min_samples, comm_cycles and confirm_cycles must be whole numbers")
        if min(counts) < 1:
            raise ValueError("min_samples, comm_cycles and confirm_cycles must be at least 1")
        self.rules = list(rules or [])
        self.tolerance = tolerance
        self.settle_s = settle_s
        self.min_move = min_move
        self.stuck_move = stuck_move
        self.still = still
        self.flow_still = flow_still
        self.blockage_ratio = blockage_ratio
        self.min_samples = min_samples
        self.comm_cycles = comm_cycles
        self.confirm_cycles = confirm_cycles
        self.inlets: dict[str, _InletState] = {}

    # --- the cycle ----------------------------------------------------------------------
    def update(
        self,
        time_s: float,
        observations: Mapping[str, InletObservation | Mapping[str, Any] | None],
    ) -> list[Finding]:
        """Judge one cycle's observations; return every finding active now.

        Inlets seen before but missing from ``observations`` (or without any usable value)
        count a missed cycle toward ``comm_loss``. An observation may also be a mapping of
        the :class:`InletObservation` fields (as stored JSON gives it).
        """
        if _clean(time_s) is None:
            raise ValueError(f"time must be a finite number, not {time_s!r}")
        inlets = self.inlets
        ratios: dict[str, float] = {}  # measured ÷ model flow where no ΔP is read
        for iid in [i for i in inlets if i not in observations]:  # seen before, not now
            self._missed(inlets[iid], time_s)
        for iid, raw in observations.items():
            state = inlets.get(iid)
            if state is None:  # setdefault would build a new one every cycle
                state = inlets[iid] = _InletState()
            obs = raw if type(raw) is InletObservation else _observation(iid, raw)
            seen = None if obs is None else _seen(obs)
            if obs is None or seen is None or (seen[:4] == _NOTHING and not obs.signals):
                self._missed(state, time_s)
                continue
            state.missed, state.first_missed = 0, None
            if state.since:
                state.since.pop("comm_loss", None)
            self._judge(iid, state, time_s, obs, seen)
            if obs.model_flow_m3h is not None and seen.kv is None and seen.flow_m3h:
                model = _clean(obs.model_flow_m3h)
                if model is not None and model > 0:
                    ratios[iid] = seen.flow_m3h / model
        if model_centre(ratios) is not None:
            self._below_model(time_s, ratios)
        return self.findings()

    def _below_model(self, time_s: float, ratios: dict[str, float]) -> None:
        """Blockage where no ΔP is read (§5.3.7-3): the measured flow at most
        ``blockage_ratio`` of what the network model gives at the valve's read opening,
        relative to the network's median ratio (a drawing off everywhere, the pump's head,
        a common meter error move every ratio alike), ``confirm_cycles`` updates in a row;
        cleared above the midpoint between that bar and the median (:func:`model_centre`)."""
        centre = model_centre(ratios)
        if centre is None:
            return
        for iid, ratio in ratios.items():
            state = self.inlets[iid]
            if ratio < self.blockage_ratio * centre:
                state.model_low += 1
                if state.model_low >= self.confirm_cycles:
                    state.since.setdefault("blockage", time_s)
            else:
                state.model_low = 0
                if ratio > 0.5 * (1.0 + self.blockage_ratio) * centre:
                    state.since.pop("blockage", None)

    def findings(self) -> list[Finding]:
        """The findings active now, ordered by inlet and kind."""
        out = []
        for iid in sorted(i for i, state in self.inlets.items() if state.since):
            state = self.inlets[iid]
            for kind, since in sorted(state.since.items()):
                out.append(
                    Finding(iid, kind, self._severity(kind), self._message(iid, kind), since)
                )
        return out

    def _missed(self, state: _InletState, time_s: float) -> None:
        state.missed += 1
        if state.first_missed is None:
            state.first_missed = time_s
        if state.missed >= self.comm_cycles:
            state.since.setdefault("comm_loss", state.first_missed)

    def _judge(
        self, iid: str, state: _InletState, time_s: float, obs: InletObservation, seen: _Seen
    ) -> None:
        """Valve response, then the Kv curve, then the user rules; a valve reporting its own
        fault is that fault alone (isolated: neither response nor Kv judged)."""
        self._track_command(state, time_s, seen.command)
        code = obs.value("fault_code") if obs.signals else None
        if code is not None and code != 0:
            state.since.setdefault("valve_fault", time_s)
            for kind in _VALVE_KINDS:
                state.since.pop(kind, None)
        else:
            if code is not None:
                state.since.pop("valve_fault", None)
            self._valve(state, time_s, seen)
            self._blockage(state, time_s, seen)
        if self.rules:
            self._rules(iid, state, time_s, obs)
        state.last_time = time_s
        state.last_feedback, state.last_flow = seen.feedback, seen.flow_m3h
        state.last_kv, state.last_valve_kv = seen.kv, seen.valve_kv
        state.last_share = seen.share

    # --- valve response -----------------------------------------------------------------
    def _track_command(self, state: _InletState, time_s: float, cmd: float | None) -> None:
        """Remember a command move and where feedback and flow stood before it.

        A command seen for the first time is taken as sent right after the previous update
        (as a controller does: read, decide, command); the values of that update are the
        device's position before the move — also for the very first command, which is a
        move when it lies ``min_move`` or more from the feedback read then (a valve stuck
        from the start is judged on its first command, not its second: §5.3.7-2).
        """
        if cmd is None:
            return
        last = state.last_command
        start = last if last is not None else state.last_feedback
        if start is not None and abs(cmd - start) >= self.min_move:
            state.move_time = state.last_time if state.last_time is not None else time_s
            state.ref_feedback, state.ref_flow = state.last_feedback, state.last_flow
            state.ref_kv, state.ref_valve_kv = state.last_kv, state.last_valve_kv
            state.ref_share = state.last_share
            state.move_judged = False
        if last is None or abs(cmd - last) >= self.min_move or state.move_judged:
            state.last_command = cmd

    def _valve(self, state: _InletState, time_s: float, seen: _Seen) -> None:
        """Stuck, slow or mismatched, judged once ``settle_s`` after a move has passed."""
        cmd, fb = seen.command, seen.feedback
        if cmd is None:
            return
        settled = state.move_time is None or time_s - state.move_time >= self.settle_s
        if not settled:
            return
        if fb is None:
            state.move_judged = True
            self._stuck_by_kv(state, time_s, cmd, seen.kv)
        elif not state.move_judged:
            state.move_judged = True
            self._set_valve(state, time_s, self._after_move(state, cmd, fb, seen))
        elif abs(cmd - fb) > self.tolerance:
            if not any(k in state.since for k in ("stuck", "slow_response", "mismatch")):
                self._set_valve(state, time_s, "mismatch")
        else:
            self._set_valve(state, time_s, None)

    @staticmethod
    def _set_valve(state: _InletState, time_s: float, kind: str | None) -> None:
        """Make ``kind`` the inlet's one valve-response finding (None: clear them)."""
        for k in ("stuck", "slow_response", "mismatch"):
            if k != kind:
                state.since.pop(k, None)
        if kind is not None:
            state.since.setdefault(kind, time_s)

    def _after_move(self, state: _InletState, cmd: float, fb: float, seen: _Seen) -> str | None:
        """Classify the response to the last command move (None: the device followed).

        Stuck: the feedback did not move, nor did the valve by the witness of its flow or,
        where a ΔP is read, of its Kv_eff — the flow also changes when *other* valves move
        (the first commands move them all), Kv_eff = Q/√ΔP does not.
        """
        fb0 = state.ref_feedback
        if abs(cmd - fb) <= self.tolerance:
            return None
        if fb0 is None:
            return "mismatch"
        if abs(fb - fb0) <= self.still and self._valve_still(state, seen):
            return "stuck"
        toward = (cmd - fb0) * (fb - fb0) > 0 and abs(cmd - fb) < abs(cmd - fb0)
        return "slow_response" if toward else "mismatch"

    def _valve_still(self, state: _InletState, seen: _Seen) -> bool:
        """Whether flow, Kv_eff or the flow's share of the model's say the valve stayed where
        it was before the move (no witness at all: the feedback alone speaks). A Kv_eff
        within 3 × ``flow_still``: a move of ``min_move`` changes a valve's Kv by 15–20 %,
        noise on flow and ΔP by a few. Where no ΔP is read (HA entities), the first commands
        move every other valve and with them this flow; its share of the model's flow at the
        read openings does not change unless the valve moved (within 3 × ``flow_still`` too):
        a stuck valve was called a mismatch first and named stuck 1–2 updates later."""
        witnesses = (
            (seen.flow_m3h, state.ref_flow, self.flow_still),
            (seen.kv, state.ref_kv, 3 * self.flow_still),
            (seen.valve_kv, state.ref_valve_kv, 3 * self.flow_still),
            (seen.share, state.ref_share, 3 * self.flow_still),
        )
        known = [
            (now, ref, tol) for now, ref, tol in witnesses if now is not None and ref is not None
        ]
        return not known or any(
            abs(now - ref) <= tol * max(abs(ref), 1e-9) for now, ref, tol in known
        )

    def _stuck_by_kv(self, state: _InletState, time_s: float, cmd: float, kv: float | None) -> None:
        """Without position feedback: the command moved, the valve's Kv_eff did not.

        Over the last few updates, look for an earlier one from which the command moved by
        ``stuck_move`` or more while every Kv_eff since stayed within ``flow_still`` of
        today's — unless the learned curve says such a move should barely change Kv_eff
        (a flat characteristic near fully open): then nothing is concluded. Kv_eff, not
        flow, so that a ΔP change elsewhere in the network is not taken for a response.
        A clear Kv_eff change since the last update clears a ``stuck`` (it moved).
        """
        if kv is None:
            return
        recent = state.recent
        if "stuck" in state.since and recent and abs(kv - recent[-1][1]) > 3 * self.flow_still * kv:
            self._set_valve(state, time_s, None)
        recent.append([cmd, kv])
        del recent[:-_WINDOW]
        for old_cmd, old_kv in reversed(recent[:-1]):
            if abs(kv - old_kv) > self.flow_still * kv:
                break
            if abs(cmd - old_cmd) >= self.stuck_move and self._meaningful(state, old_cmd, cmd):
                self._set_valve(state, time_s, "stuck")
                return

    def _meaningful(self, state: _InletState, before: float, after: float) -> bool:
        """Whether the learned curve expects this move to change Kv_eff clearly."""
        top = max((b for b in range(_BINS) if state.kv_count[b] >= self.min_samples), default=-1)
        if max(before, after) > (top + 0.5) / _BINS:
            return True  # beyond what was learned: the curve cannot excuse it
        k0, k1 = self.expected_kv(state, before), self.expected_kv(state, after)
        return k0 is None or k1 is None or abs(k1 - k0) >= 3 * self.flow_still * k0

    # --- Kv curve -----------------------------------------------------------------------
    def _blockage(self, state: _InletState, time_s: float, seen: _Seen) -> None:
        """Compare the flow with the learned curve; learn from healthy, settled data."""
        opening = seen.feedback
        opening = seen.command if opening is None else opening
        flow, kv = seen.flow_m3h, seen.kv
        if opening is None or flow is None or kv is None or not 0 <= opening <= 1:
            return
        expected = self.expected_kv(state, opening)
        if expected is not None and kv < self.blockage_ratio * expected:
            state.since.setdefault("blockage", time_s)
            return
        if state.since:
            state.since.pop("blockage", None)
        settled = state.move_time is None or time_s - state.move_time >= self.settle_s
        if settled and not state.since and flow > 0:
            b = min(int(opening * _BINS), _BINS - 1)
            state.kv_sum[b] += kv
            state.kv_count[b] += 1

    def expected_kv(self, state: _InletState, opening: float) -> float | None:
        """Learned Kv at ``opening``: interpolated, a lower bound above the learned range."""
        points = [
            ((b + 0.5) / _BINS, state.kv_sum[b] / state.kv_count[b])
            for b in range(_BINS)
            if state.kv_count[b] >= self.min_samples
        ]
        if not points or opening < points[0][0] - 0.5 / _BINS:
            return None
        if opening >= points[-1][0]:
            return max(kv for _, kv in points)
        for (x0, k0), (x1, k1) in itertools.pairwise(points):
            if x0 <= opening <= x1:
                return k0 + (k1 - k0) * (opening - x0) / (x1 - x0)
        return points[0][1]  # within the first bin, below its centre

    # --- user rules ---------------------------------------------------------------------
    def _rules(self, iid: str, state: _InletState, time_s: float, obs: InletObservation) -> None:
        """User rules (§5.3.7-3): trip after ``min_duration_s``, clear past the hysteresis."""
        for rule in self.rules:
            if rule.inlets is not None and iid not in rule.inlets:
                continue
            key = f"rule:{rule.name}"
            value = obs.value(rule.signal)
            if value is None:
                continue
            if key in state.since:
                if rule.clears(value):
                    del state.since[key]
                continue
            if not rule.trips(value):
                state.rule_pending.pop(key, None)
                continue
            start = state.rule_pending.setdefault(key, time_s)
            if time_s - start >= rule.min_duration_s:
                state.since[key] = start
                del state.rule_pending[key]

    # --- words --------------------------------------------------------------------------
    def _severity(self, kind: str) -> Severity:
        if kind.startswith("rule:"):
            return next(r.severity for r in self.rules if f"rule:{r.name}" == kind)
        return SEVERITY[kind]

    def _message(self, iid: str, kind: str) -> str:
        texts = {
            "stuck": "valve does not follow its command (feedback and flow unchanged)",
            "blockage": "flow far below the valve's learned Kv curve at this ΔP: blockage?",
            "mismatch": "opening feedback differs from the command",
            "slow_response": "valve moves toward its command too slowly",
            "comm_loss": f"no data for {self.comm_cycles} or more cycles",
            "valve_fault": "the valve reports a fault code (its own fault record, §4.3.8)",
        }
        if kind.startswith("rule:"):
            rule = next(r for r in self.rules if f"rule:{r.name}" == kind)
            return f"{rule.signal} {rule.direction} {rule.threshold:g} ({rule.name})"
        return f"inlet {iid}: {texts[kind]}"

    # --- persistence --------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state: options, rules and what was learned per inlet."""
        return {
            "options": {
                "tolerance": self.tolerance,
                "settle_s": self.settle_s,
                "min_move": self.min_move,
                "stuck_move": self.stuck_move,
                "still": self.still,
                "flow_still": self.flow_still,
                "blockage_ratio": self.blockage_ratio,
                "min_samples": self.min_samples,
                "comm_cycles": self.comm_cycles,
                "confirm_cycles": self.confirm_cycles,
            },
            "rules": [asdict(r) for r in self.rules],
            "inlets": {iid: as_plain(s) for iid, s in self.inlets.items()},  # asdict, fast
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnoser:
        """Restore :meth:`as_dict`, every stored number checked (:func:`stored_number`'s
        bound, the loop's one rule). A damaged part restarts alone — the options (to the
        defaults), one rule, one inlet's curves and timers — and the rest is kept; the
        damaged parts are logged once. Before, one damaged inlet dropped every inlet's
        learnt Kv curve, and a Kv sum of 1e308 restored (its next sum was inf)."""
        damaged: list[str] = []
        rules = []
        stored_rules = data.get("rules", [])
        for i, raw in enumerate(stored_rules if isinstance(stored_rules, list) else ()):
            try:
                rules.append(Rule(**raw))
            except RESTORE_ERRORS:
                damaged.append(f"rules.{i}")
        if not isinstance(stored_rules, list):
            damaged.append("rules")
        try:
            diag = cls(rules, **data["options"])
        except RESTORE_ERRORS:
            diag = cls(rules)
            damaged.append("options")
        inlets = data.get("inlets", {})
        for iid, raw in inlets.items() if isinstance(inlets, Mapping) else ():
            try:
                diag.inlets[str(iid)] = _inlet_state(raw)
            except RESTORE_ERRORS:
                damaged.append(f"inlets.{iid}")
        if not isinstance(inlets, Mapping):
            damaged.append("inlets")
        if damaged:
            _LOGGER.warning(
                "Stored diagnosis: %d damaged parts restarted, the rest restored: %s",
                len(damaged),
                ", ".join(damaged[:10]),
            )
        return diag


def _inlet_state(raw: Any) -> _InletState:
    """One inlet's stored state, checked (a damaged one raises, :data:`RESTORE_ERRORS`)."""
    state = _InletState(**raw)
    if len(state.kv_sum) != _BINS or len(state.kv_count) != _BINS:
        raise ValueError("Kv curve of the wrong size")
    _check_types(state)
    return state


def _check_types(state: _InletState) -> None:
    """Refuse a stored inlet whose fields restore but would fail every later diagnosis.

    ``_InletState(**raw)`` takes any value; a None in a Kv count or text in a time would only
    raise at the next cycle, every cycle (issue 10: a damaged Store never crashes the loop).
    """
    for name in _OPTIONAL_NUMBERS:
        value = getattr(state, name)
        if value is not None:
            stored_number(value)
    if not isinstance(state.move_judged, bool):
        raise TypeError("move_judged is not a boolean")
    if not all(is_count(getattr(state, n)) for n in ("missed", "model_low")):
        raise TypeError("a miss count is not a whole number")
    if not (_bounded(state.kv_sum) and all_counts(state.kv_count)):
        raise TypeError("the Kv curve holds a value that is not a number")
    if not all(isinstance(r, list) and len(r) == 2 and _bounded(r) for r in state.recent):
        raise TypeError("a recent [command, Kv] pair is malformed")
    for name in ("since", "rule_pending"):
        times = getattr(state, name)
        if not (all(isinstance(k, str) for k in times) and _bounded(list(times.values()))):
            raise TypeError(f"{name} holds a value that is not a time")


def _bounded(values: list[Any]) -> bool:
    """:func:`all_numbers`, each within ±:data:`STORED_MAX` (:func:`stored_number`'s bound)."""
    return all_numbers(values) and (not values or max(map(abs, values)) <= STORED_MAX)


_OPTIONAL_NUMBERS = tuple(
    f.name
    for f in fields(_InletState)
    if f.name.startswith(("last_", "ref_")) or f.name in ("move_time", "first_missed")
)


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool (JSON gives no other numbers): the one rule for a
    stored number of the loop's state (also :mod:`.plausibility`'s restore). JSON's own
    float and int are told by their type first: a restart of a 23,870-inlet network checks
    ≈630,000 stored numbers (issue 10, HA start)."""
    kind = type(value)
    if kind is float or kind is int:
        return math.isfinite(value)  # OverflowError for an int beyond a float's range
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_count(value: Any) -> bool:
    """A whole number 0…2⁵³, not a bool: a count of 10**400 restored and then overflowed
    the Kv curve's mean (``kv_sum / kv_count``) at every cycle."""
    if type(value) is int:
        return 0 <= value <= _COUNT_MAX
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _COUNT_MAX


_COUNT_MAX = 2**53
STORED_MAX = 1e100  # |a stored number|: far beyond any the loop keeps, far below where a
# cycle's squares of it overflow (1e308² raised OverflowError)


def stored_number(value: Any, low: float = -STORED_MAX, high: float = STORED_MAX) -> float:
    """A stored number of the loop's state read back: :func:`is_number`, within
    ``low``…``high``; a damaged one raises ValueError (an int beyond a float: OverflowError)."""
    if type(value) is float and low <= value <= high:  # JSON's float, first (NaN fails)
        return value
    if not is_number(value) or not low <= value <= high:
        raise ValueError(f"a stored number out of range: {value!r}")
    return float(value)


def stored_map(value: Any, keep: Container[str], low: float = -STORED_MAX) -> dict[str, float]:
    """A stored map of numbers per inlet read back: the entries of ``keep`` (inlets still in
    the network) whose value is a :func:`stored_number` from ``low``. A damaged entry is
    dropped alone (its inlet learns afresh), and a map that is not one gives none: one bad
    value no longer restarts every inlet's learning with it. A map of JSON's plain floats
    is checked at once (:func:`all_stored_floats`, 23k inlets × 8 maps at a restart)."""
    if not isinstance(value, Mapping):
        return {}
    if all_stored_floats(list(value.values()), low):
        return {k: v for k, v in value.items() if k in keep}
    out: dict[str, float] = {}
    for key, number in value.items():
        if key in keep:
            try:
                out[key] = stored_number(number, low)
            except RESTORE_ERRORS:
                continue
    return out


def stored_count(value: Any) -> int:
    """A stored count read back (:func:`is_count`); a damaged one raises ValueError."""
    if not is_count(value):
        raise ValueError(f"not a stored count: {value!r}")
    return int(value)


# what a damaged stored state raises when it is read back (a part restarts on it)
RESTORE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError)
_PLAIN_NUMBERS = frozenset((float, int))


def all_numbers(values: list[Any]) -> bool:
    """:func:`is_number` of every value, in order. A list of JSON's plain floats and ints
    (a Kv curve, a stored pair) is checked by C loops, without a Python call per value:
    the same answer, and the same OverflowError at the same int."""
    if set(map(type, values)) <= _PLAIN_NUMBERS:
        return all(map(math.isfinite, values))
    return all(map(is_number, values))


def all_stored_floats(values: list[Any], low: float = -STORED_MAX) -> bool:
    """:func:`stored_number`'s rule for every value of a list of JSON's plain floats at
    once (``low``…``STORED_MAX``), in four C loops and no Python call per value: one
    check over all of a stored inlet's lists instead of a call per list (issue 10, HA
    start: 23,870 inlets × ≈13 lists; an empty list passes). False for anything else (an
    int, a bool, text, None): the caller then reads value by value and names the damage.
    The sum is finite exactly when no value is NaN or ±inf (values within ±1e100 cannot
    add up to inf); ``min``/``max`` are then exact."""
    return (
        set(map(type, values)) <= _FLOAT_ONLY
        and math.isfinite(sum(values))
        and (not values or (low <= min(values) and max(values) <= STORED_MAX))
    )


_FLOAT_ONLY = frozenset((float,))


def all_counts(values: list[Any]) -> bool:
    """:func:`is_count` of every value (a list of plain ints by its bounds at once)."""
    if values and set(map(type, values)) == {int}:
        low, high = min(values), max(values)  # plain ints
        return bool(low >= 0 and high <= _COUNT_MAX)
    return all(map(is_count, values))


def _observation(iid: str, raw: Any) -> InletObservation | None:
    """An InletObservation from itself, None, or a mapping of its fields (from JSON)."""
    if raw is None or isinstance(raw, InletObservation):
        return raw
    if isinstance(raw, Mapping):
        unknown = set(raw) - {*_FIELDS, "signals"}
        if unknown:
            raise ValueError(f"inlet {iid}: unknown observation fields {sorted(unknown)}")
        signals = raw.get("signals") or {}
        if not isinstance(signals, Mapping):
            raise ValueError(f"inlet {iid}: signals must be a mapping of names to values")
        return InletObservation(**{k: raw.get(k) for k in _FIELDS}, signals=signals)
    raise ValueError(f"inlet {iid}: an observation must be an InletObservation or a mapping")


def _clean(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, NaN, text)."""
    if type(value) is float:  # the common case, first
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def model_centre(ratios: Mapping[str, float]) -> float | None:
    """What a healthy inlet's measured ÷ model flow is this cycle where no ΔP is read
    (§5.3.7-3): the median over the inlets, so a drawing off everywhere, the pump's head
    or a common meter error move it with every ratio; None with fewer than two.

    With two inlets the median is their mean, half-way to a blocked one's: the larger
    stands for healthy. A blocked valve draws less and leaves its neighbour more pressure,
    so the neighbour reads at or above the model, where a common error moves both alike.
    Left unjudged, gen2-pair's blocked B002 through HA entities was never named: its low
    flow was learnt as a −68.6 kPa pressure residual and the plan closed the healthy
    B001 to −23 % to share a shortfall that was B002's valve (bench_product_faults, AI).
    """
    values = [v for v in ratios.values() if math.isfinite(v) and v > 0]
    if len(values) < 2:
        return None
    return max(values) if len(values) == 2 else statistics.median(values)
