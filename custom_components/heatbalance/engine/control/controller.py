"""The controller the integration, CLI and benchmarks drive: ``make_controller(net, cfg)``.

``Controller.step(measurements) -> Commands`` runs one control cycle (§5.3.6-3: compute and
issue target values):

* every remotely actuated valve (§4.3.1) is regulated by its algorithm — *traditional* PI
  (:mod:`.pi`) or *model-based* (:mod:`.model_based`) — chosen per network, device type and
  inlet (§5.3.6-1/2), on its control target (§4.1.1);
* every command passes the operator's safety thresholds (:mod:`.safety`, §5.3.6-3);
* manual mode (per network or inlet, §5.3.6-6) computes and shows (``proposed``) but never
  issues a command;
* an inlet without a trustworthy reading is held where it is and flagged with the reason
  (§3.0.7-1): missing, flagged, non-finite, negative or implausible values are never used;
* the substation pump is set by the model-based plan to the lowest speed that serves the
  worst-placed circuit; it is held when too little of the network can be seen.

The state (PI memories, RLS estimates, outer-loop multipliers, last commands) is
serialisable with :meth:`Controller.as_dict` / :meth:`Controller.from_dict`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Any

from ..commissioning import CommissioningError, Presettings, presettings
from ..diagnosis import Finding
from ..hydraulics import HydraulicError
from ..meters import MeterCheck
from ..model import Inlet, Network
from .base import Commands, ControllerConfig, InletReading, Measurements, usable
from .identification import learned_corrections
from .levels import hold_reason, pump_regulated, uses_presettings
from .model_based import InletView, ModelBased
from .pi import GainSchedule, PIState, back_calculate, pi_proposal
from .planner import KV_TYPES
from .safety import MAX_OPENING, MIN_OPENING, limit_opening, limit_pump_speed
from .targets import TargetError, measured_value, target_error

MANUAL = "manual mode: computed, not commanded"
NO_POSITION = "no valve position (no feedback, no earlier command)"
NO_READING = "no usable reading"
SPIKE = "reading rejected by the model (spike?)"
SPEED_TOLERANCE = 0.05  # a VFD may report a little above nominal; far above is a bad reading
MIN_VISIBLE_SHARE = 0.5  # the pump moves only while at least half the valves are seen


class Controller:
    """One network's balancing controller (state lives here, the plant elsewhere)."""

    def __init__(self, network: Network, config: ControllerConfig) -> None:
        self.network = copy.deepcopy(network)
        self.config = config
        self.ids = [iid for iid, i in self.network.inlets.items() if _controllable(i)]
        self.pi: dict[str, PIState] = {}
        self.pi_schedule = GainSchedule(self.network)
        self.last_openings: dict[str, float] = {}
        self.last_speed: float | None = None
        self.model = ModelBased(self.network, forgetting=config.forgetting)
        self._presettings: Presettings | None = None
        self.meters = MeterCheck(self.network)
        self.meter_findings: list[Finding] = []

    # --- one cycle -----------------------------------------------------------------------
    def step(self, measurements: Measurements) -> Commands:
        """One control cycle: commands within the safety limits, reasons for every hold."""
        cmds = Commands()
        if not isinstance(measurements, Measurements):
            measurements = Measurements()
            cmds.notes.append("no measurements: every valve and the pump held")
        measurements = _normalised(measurements, cmds)
        measurements = self._consistent(measurements, cmds)
        openings = {iid: self._position(iid, measurements) for iid in self.ids}
        if uses_presettings(self.config.level):
            self._presetting_step(measurements, openings, cmds)
            return cmds
        model_ids: list[str] = []
        pi_ids: list[str] = []
        by_level: dict[str, str] = {}  # §3.0.4: not regulated at this level (readings still used)
        for iid in self.ids:
            kind = self.network.inlets[iid].device.type
            reason = hold_reason(
                self.network, iid, self.config.level, self.config.target_of(iid, kind)
            )
            if reason is not None:
                by_level[iid] = reason
                continue
            algo = self.config.algorithm_of(iid, kind)
            (model_ids if algo == "model" else pi_ids).append(iid)
        if pi_ids:  # the loops' gains follow the model's static gain (pi.GainSchedule)
            errors = {iid: self._target_error(iid, measurements) for iid in pi_ids}
            self.pi_schedule.update(openings, usable(measurements.pump_speed), errors)
        for iid in pi_ids:
            self._pi_inlet(iid, measurements, openings[iid], cmds)
        if model_ids:
            self._model_step(model_ids, measurements, openings, cmds)
        for iid, reason in by_level.items():
            cmds.held.setdefault(iid, reason)
        return cmds

    def _consistent(self, meas: Measurements, cmds: Commands) -> Measurements:
        """Meter consistency (meters.py): diagnose biased meters, regulate on agreeing ones."""
        self.meter_findings = self.meters.update(meas)
        cmds.notes.extend(f.message for f in self.meter_findings)
        return self.meters.corrected(meas)

    def _presetting_step(
        self, meas: Measurements, openings: dict[str, float | None], cmds: Commands
    ) -> None:
        """Primary level (§3.0.5): the commissioning presettings, no feedback regulation."""
        if self._presettings is None:
            try:
                self._presettings = presettings(self.network)
            except (CommissioningError, HydraulicError, ArithmeticError, ValueError) as err:
                cmds.notes.append(f"presettings could not be computed: {err}")
                for iid in self.ids:
                    cmds.held[iid] = "no presettings"
                return
        preset = self._presettings
        for iid in self.ids:
            current, wanted = openings[iid], preset.openings.get(iid)
            if current is None:
                cmds.held[iid] = NO_POSITION
            elif wanted is not None:
                self._emit(iid, current, wanted, meas, cmds)
        if self.config.pump_control:
            current_speed = usable(meas.pump_speed)
            pump = self.network.substation.pump
            before = current_speed if current_speed is not None else pump.speed
            self._pump(preset.pump_speed, before, len(self.ids), len(self.ids), cmds)

    def _pi_inlet(
        self, iid: str, meas: Measurements, current: float | None, cmds: Commands
    ) -> None:
        """Traditional PI on one inlet."""
        inlet = self.network.inlets[iid]
        if current is None:
            cmds.held[iid] = NO_POSITION
            return
        err = self._target_error(iid, meas)
        if err is None:
            cmds.held[iid] = NO_READING
            self.pi.pop(iid, None)  # restart bumplessly when data returns
            return
        cmds.targets[iid] = err.setpoint
        state = self.pi.setdefault(iid, PIState(bias=current))
        cfg = self.config
        sens = self.pi_schedule.sensitivity(
            iid, inlet.device, current, err.error, err.target == "flow"
        )
        wanted = pi_proposal(state, err.error, sens, cfg.pi_kp, cfg.pi_ki, cfg.deadband)
        if wanted is None:
            return  # inside the deadband: nothing to do
        sent = self._emit(iid, current, wanted, meas, cmds)
        back_calculate(state, wanted, sent)

    def _model_step(
        self,
        ids: list[str],
        meas: Measurements,
        openings: dict[str, float | None],
        cmds: Commands,
    ) -> None:
        """Model-based regulation of ``ids`` and the pump (all at once)."""
        views, seen = self._views(ids, meas, openings, cmds)
        pump = self.network.substation.pump
        limits = self.config.limits
        current_speed = usable(meas.pump_speed)
        if current_speed is None or not 0.0 <= current_speed <= 1.0 + SPEED_TOLERANCE:
            current_speed = self.last_speed if self.last_speed is not None else pump.speed
        speed_max = limits.speed_range(pump.min_speed, pump.max_speed)[1]
        pump_on = self.config.pump_control and pump_regulated(self.config.level)

        def limit_speed(s: float) -> float:
            return limit_pump_speed(current_speed, s, limits, pump.min_speed, pump.max_speed)[0]

        self.model.update_residuals(views, current_speed)
        ref = speed_max if pump_on else current_speed
        plan = self.model.plan(views, ref, limit_speed, pump_on, limits.max_opening)
        if plan is None:
            cmds.notes.append("hydraulic model could not be solved: model-based inlets held")
            for iid in ids:
                cmds.held.setdefault(iid, "model not solvable")
            return
        for iid in ids:
            view = views[iid]
            if iid in cmds.held or view.opening is None:
                continue
            proposal = plan.openings.get(iid, plan.ideal_openings.get(iid))
            self._emit(iid, view.opening, proposal, meas, cmds)
        if pump_on:
            self._pump(plan.speed, current_speed, seen, len(ids), cmds)

    def _views(
        self,
        ids: list[str],
        meas: Measurements,
        openings: dict[str, float | None],
        cmds: Commands,
    ) -> tuple[dict[str, InletView], int]:
        """Identify every inlet and decide which ones the plan may move; count seen ones."""
        views: dict[str, InletView] = {}
        seen = 0
        model_ids = set(ids)
        for iid in self.ids:
            reading = meas.inlets.get(iid)
            current = openings[iid]
            verdict = None
            if reading is not None and current is not None:
                verdict = self.model.identify(iid, reading, current)
            target = None
            if iid in model_ids:
                target = self._flow_target(iid, meas, cmds, current, verdict)
                seen += target is not None
            # A manual inlet stays where it is in an automatic network's plan; in a manual
            # network the whole plan is hypothetical, so everything may move in it.
            movable = target is not None and (not self.config.auto or self.config.is_auto(iid))
            trusted = None if iid in cmds.held else reading  # a held reading is not used
            views[iid] = InletView(current, movable, target, trusted)
        return views, seen

    def _flow_target(
        self,
        iid: str,
        meas: Measurements,
        cmds: Commands,
        current: float | None,
        verdict: str | None,
    ) -> float | None:
        """The flow this inlet should get, or None (held, reason in ``cmds.held``)."""
        inlet = self.network.inlets[iid]
        reading = meas.inlets.get(iid) or InletReading()
        if current is None:
            cmds.held[iid] = NO_POSITION
            return None
        if measured_value(self.network, iid, "flow", reading) is None:
            cmds.held[iid] = NO_READING
            return None
        if self.model.rejected(verdict):
            cmds.held[iid] = SPIKE
            return None
        target = self.config.target_of(iid, inlet.device.type)
        weight = self._weight(iid)
        base = inlet.design_flow_m3h * weight * self.config.aim
        if target == "flow":
            cmds.targets[iid] = base
            return base
        err = self._target_error(iid, meas)
        if err is None:
            cmds.held[iid] = NO_READING
            return None
        cmds.targets[iid] = err.setpoint
        return base * self.model.outer_loop(iid, err.error, self.config.deadband)

    def _pump(self, wanted: float, current: float, seen: int, total: int, cmds: Commands) -> None:
        """Issue the planned pump speed, unless too little of the network is visible."""
        pump = self.network.substation.pump
        speed, acted = limit_pump_speed(
            current, wanted, self.config.limits, pump.min_speed, pump.max_speed
        )
        cmds.proposed_pump_speed = speed
        if acted:
            cmds.limited["pump"] = acted
        if total and seen < MIN_VISIBLE_SHARE * total:
            cmds.notes.append(f"pump held: only {seen} of {total} model-controlled inlets seen")
            return
        if not self.config.auto:
            return
        cmds.pump_speed = speed
        self.last_speed = speed

    # --- shared --------------------------------------------------------------------------
    def _emit(
        self, iid: str, current: float, proposal: float | None, meas: Measurements, cmds: Commands
    ) -> float:
        """Pass a proposal through the safety limits; issue it only in automatic mode.

        Returns the loop's effective output (for anti-windup): the limited value, or the
        valve's position in manual mode (the loop tracks what the operator does).
        """
        inlet = self.network.inlets[iid]
        device = inlet.device
        reading = meas.inlets.get(iid) or InletReading()
        flow = measured_value(self.network, iid, "flow", reading)
        ratio = None if flow is None else flow / inlet.design_flow_m3h
        value, acted = limit_opening(
            current,
            proposal,
            self.config.limits,
            device.min_opening,
            device.max_opening,
            flow_ratio=ratio,
        )
        cmds.proposed[iid] = value
        if acted:
            cmds.limited[iid] = acted
        if not self.config.is_auto(iid):
            cmds.held[iid] = MANUAL
            return current
        outside = MIN_OPENING in acted or MAX_OPENING in acted
        if abs(value - current) >= self.config.opening_deadband or outside:
            cmds.openings[iid] = value
            self.last_openings[iid] = value
        # A move too small to send is still the loop's output: its integral keeps it, so
        # small errors add up to a move instead of being forgotten every step.
        return value

    def _position(self, iid: str, meas: Measurements) -> float | None:
        """Where the valve is: its feedback, else the last command, else unknown."""
        reading = meas.inlets.get(iid)
        value = reading.get("opening") if reading is not None else None
        if value is not None and 0.0 <= value <= 1.0:
            return value
        return self.last_openings.get(iid)

    def _target_error(self, iid: str, meas: Measurements) -> TargetError | None:
        """Setpoint and normalised error of an inlet on its target (None: hold)."""
        inlet = self.network.inlets[iid]
        target = self.config.target_of(iid, inlet.device.type)
        # PI has no pump to trade against and noise to ride out: it aims at the band's
        # middle; the model-based plan aims low in the band to spare pump power.
        algo = self.config.algorithm_of(iid, inlet.device.type)
        aim = self.config.aim if algo == "model" else self.config.pi_aim
        return target_error(self.network, iid, target, meas, self._weight(iid), aim)

    def _weight(self, iid: str) -> float:
        """Manual weight of an inlet (§5.3.6-5): the operator's, else the network file's."""
        return float(self.config.weights.get(iid, self.network.inlets[iid].weight))

    def learned_corrections(self) -> dict[str, Any]:
        """The model's learnt corrections to the network file, plain data (§3.0.7-3)."""
        return learned_corrections(self.model)

    # --- persistence ---------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready state, config included (the network itself is not)."""
        return {
            "config": self.config.to_dict(),
            "pi": {iid: s.to_dict() for iid, s in self.pi.items()},
            "last_openings": dict(self.last_openings),
            "last_speed": self.last_speed,
            "model": self.model.to_dict(),
            "meters": self.meters.as_dict(),
        }

    @classmethod
    def from_dict(cls, network: Network, data: dict[str, Any]) -> Controller:
        """A controller for ``network`` restored from :meth:`as_dict`."""
        config = ControllerConfig.from_dict(data.get("config", {}))
        ctl = cls(network, config)
        for iid, raw in dict(data.get("pi", {})).items():
            if iid in network.inlets:
                ctl.pi[iid] = PIState.from_dict(raw)
        for iid, value in dict(data.get("last_openings", {})).items():
            v = usable(value)
            if iid in network.inlets and v is not None and 0.0 <= v <= 1.0:
                ctl.last_openings[iid] = v
        ctl.last_speed = usable(data.get("last_speed"))
        ctl.model.load(dict(data.get("model", {})))
        if "meters" in data:
            ctl.meters = MeterCheck.from_dict(network, dict(data["meters"]))
        return ctl


def make_controller(network: Network, config: ControllerConfig | None = None) -> Controller:
    """The controller for ``network`` as ``config`` says (default: model-based, flow)."""
    return Controller(network, config or ControllerConfig())


def _normalised(meas: Measurements, cmds: Commands) -> Measurements:
    """Measurements whose inlet entries are all :class:`InletReading` (mappings converted).

    An entry of any other kind cannot be read safely and counts as missing (noted).
    """
    if all(isinstance(r, InletReading) for r in meas.inlets.values()):
        return meas
    known = {f.name for f in fields(InletReading)}
    inlets: dict[str, InletReading] = {}
    for iid, raw in meas.inlets.items():
        if isinstance(raw, InletReading):
            inlets[iid] = raw
        elif isinstance(raw, Mapping):
            values = {k: v for k, v in raw.items() if k in known and k != "flagged"}
            flagged = raw.get("flagged") or ()
            ok = isinstance(flagged, Iterable) and not isinstance(flagged, str)
            inlets[iid] = InletReading(
                **values, flagged=frozenset(flagged) if ok else frozenset("*")
            )
        else:
            cmds.notes.append(f"reading of {iid} is not readable: treated as missing")
    return replace(meas, inlets=inlets)


def _controllable(inlet: Inlet) -> bool:
    """A valve the controller can move remotely and size through its Kv (§4.3.1)."""
    device = inlet.device
    return (
        device.actuated
        and device.type in KV_TYPES
        and bool(device.kvs)
        and math.isfinite(float(device.kvs or 0.0))
    )
