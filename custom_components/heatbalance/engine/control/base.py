"""What every controller reads (measurements) and writes (commands), and how it is configured.

One vocabulary for the HA coordinator, the CLI, the benchmarks and the tests: a controller
never sees a :class:`~..simulator.PlantState` or an HA entity, only :class:`Measurements`,
whose values may be missing (None), non-finite, or flagged by data cleaning (§3.0.7-1).
:func:`usable` is the one place that decides whether a value may be used; anything else is
treated as absent, so a controller can hold and flag instead of guessing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from ..diagnosis import RESTORE_ERRORS
from ..model import WEIGHT_RANGE
from .safety import SafetyLimits, finite_number
from .setpoints import flow_setpoint

if TYPE_CHECKING:
    from ..model import Inlet
    from ..simulator import PlantState

_LOGGER = logging.getLogger(__name__)

Target = Literal["flow", "return", "mean", "room"]
Algorithm = Literal["traditional", "model"]
Level = Literal["primary", "intermediate", "advanced"]
TARGETS: tuple[str, ...] = ("flow", "return", "mean", "room")
ALGORITHMS: tuple[str, ...] = ("traditional", "model")
LEVELS: tuple[str, ...] = ("primary", "intermediate", "advanced")

# Plausibility ranges: a value outside them is a broken sensor, not a state of the plant.
TEMPERATURE_RANGE_C = (-50.0, 150.0)
MAX_FLOW_RATIO = 10.0  # flow above ten times design is a meter fault
MAX_DP_KPA = 2500.0  # PN25: nothing in a secondary network reads above it


@dataclass
class InletReading:
    """One inlet's readings in one control cycle (None = not received).

    ``flagged`` names fields data cleaning did not trust (``"flow_m3h"``, …, or ``"*"`` for
    the whole reading); a flagged field is treated exactly like a missing one.

    ``estimated`` names fields a model filled in where no instrument reads them — the
    available ΔP of an inlet without transmitters is the plant model's (HA entities, the
    gateway: ``plant.py``). A plan may size valves on it; nothing that diagnoses a fault or
    learns a valve factor or the pipes takes it for a measurement (:meth:`measured_value`).
    """

    flow_m3h: float | None = None
    supply_c: float | None = None
    return_c: float | None = None
    room_c: float | None = None
    opening: float | None = None
    dp_available_kpa: float | None = None
    valve_dp_kpa: float | None = None
    flagged: frozenset[str] = frozenset()
    heat_kwh: float | None = None  # the inlet's heat-meter counter (meters.py, §4.1.2)
    fault_code: float | None = None  # the valve's own fault code (§4.3.8); 0 = no fault
    # what the device says of itself and of its link (alarm rules, §5.3.8, §6.0.6)
    battery_pct: float | None = None
    command_status: str | None = None  # the source's answer to the last valve command
    attempted: int = 0  # signals requested this cycle ...
    received: int = 0  # ... and answered at the first try (§6.0.6)
    link_rate: tuple[float, int] | None = None  # a source's own first-try rate %, requests
    estimated: tuple[str, ...] = ()  # fields a model filled in, not an instrument

    def get(self, name: str) -> float | None:
        """The value of ``name`` if usable, else None (missing, flagged or non-finite)."""
        flagged = self.flagged
        if flagged and ("*" in flagged or name in flagged):
            return None
        value = getattr(self, name)
        if type(value) is float:  # usable()'s common case inline: ≈35 calls per inlet a cycle
            return value if value - value == 0.0 else None  # x − x is 0 for finite x only
        return usable(value)

    def values(self, names: ReadingFields) -> list[float | None]:
        """:meth:`get` of each of ``names.names``, in one call: the estimator, the entry screen
        and the heat read three to six fields per inlet and cycle (23,870 inlets at 23k)."""
        if self.flagged:
            return [self.get(name) for name in names.names]
        return [
            v if type(v) is float and v - v == 0.0 else None if v is None else usable(v)
            for v in names.read(self)
        ]

    def measured_value(self, name: str) -> float | None:
        """The value of ``name`` as :meth:`get`, but None where a model estimated it: the
        witness of a diagnosis or of self-learning must be the plant's, not the model's
        (a healthy building at 5 % flow noise was named blocked, its valve "Kv at 41–48 %",
        learnt against the plant model's ΔP through HA entities: issue 10, item 3)."""
        return None if name in self.estimated else self.get(name)


class ReadingFields:
    """Names of :class:`InletReading` fields read together (:meth:`InletReading.values`)."""

    __slots__ = ("names", "read")

    def __init__(self, *names: str) -> None:
        if len(names) < 2:  # attrgetter of one name gives the value, not a tuple
            raise ValueError("read two fields or more together")
        self.names = names
        self.read = attrgetter(*names)


@dataclass
class Measurements:
    """A whole network's readings in one control cycle.

    Substation values (``supply_c``, ``return_c``, pump) come from the heat-exchanger
    station; ``substation_flagged`` says cleaning rejected them as a whole.
    """

    inlets: dict[str, InletReading] = field(default_factory=dict)
    outdoor_c: float | None = None
    supply_c: float | None = None
    return_c: float | None = None
    pump_speed: float | None = None
    pump_flow_m3h: float | None = None
    pump_head_m: float | None = None
    substation_flagged: bool = False
    time_s: float | None = None
    substation_heat_kw: float | None = None  # the substation's heat meter (power), if read
    # substation fields a model filled in where no instrument reads them (a real plant behind
    # Home Assistant has no substation temperature sensor: its supply and return are the
    # network model's, ``cycle.measurements_of``); never taken for a reading by a check
    # that names a meter (``meters.MeterCheck._common_supply``), as ``InletReading.estimated``
    estimated: tuple[str, ...] = ()

    @classmethod
    def from_plant(
        cls, state: PlantState, inlets: dict[str, InletReading] | None = None
    ) -> Measurements:
        """Exact readings of a simulated plant (noise and dropouts are the caller's);
        ``inlets``: the inlets' readings as a source delivered them, instead of the plant's."""
        if inlets is None:
            inlets = {
                iid: InletReading(
                    flow_m3h=s.flow_m3h,
                    supply_c=s.supply_c,
                    return_c=s.return_c,
                    room_c=s.room_c,
                    opening=s.opening,
                    dp_available_kpa=s.dp_available_kpa,
                    valve_dp_kpa=s.valve_dp_kpa,
                    heat_kwh=s.heat_kwh,
                )
                for iid, s in state.inlets.items()
            }
        return cls(
            inlets=inlets,
            outdoor_c=state.outdoor_c,
            supply_c=state.supply_c,
            return_c=state.return_c,
            pump_speed=state.pump.speed,
            pump_flow_m3h=state.pump.flow_m3h,
            pump_head_m=state.pump.head_m,
            time_s=state.time_s,
        )


@dataclass
class Commands:
    """What one control step decided.

    ``openings`` and ``pump_speed`` are to be sent (already within the safety limits);
    ``proposed`` holds what was computed for every inlet, including manual ones (§5.3.6-6:
    computed, not commanded); ``held`` says why an inlet was not moved (fail-safe);
    ``limited`` which safety limits acted (§5.3.8-1); ``notes`` network-level remarks;
    ``setpoints`` device setpoints to send to self-operated flow/ΔP valves (m³/h, kPa; the
    controllers here move only remotely actuated valves and leave it empty);
    ``targets`` what each regulated inlet was driven to, in its target's unit (m³/h or °C);
    ``proposed_pump_speed`` what the pump would get (also in manual mode);
    ``assumed`` the valves whose position is not read back but assumed (last command or
    configured opening), with how; ``faults`` the inlets diagnosed faulty (stuck, blocked)
    and left out of the coordinated plan, with why (alarm them, §5.3.7/§5.3.8);
    ``open_loop`` the inlets regulated without a flow reading (never read, or lost beyond
    the estimate's age), from the model alone, with why — their flow is assumed, not known.
    """

    openings: dict[str, float] = field(default_factory=dict)
    pump_speed: float | None = None
    proposed: dict[str, float] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    limited: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    setpoints: dict[str, float] = field(default_factory=dict)
    proposed_pump_speed: float | None = None
    targets: dict[str, float] = field(default_factory=dict)
    assumed: dict[str, str] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    open_loop: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the audit log and diagnostics)."""
        return asdict(self)


@dataclass
class ControllerConfig:
    """How a network is balanced (§5.3.6-1/2/5/6), as the operator set it.

    Per-inlet settings override per-device-type settings, which override the network's.
    ``aim`` is the least the model-based flow targets sit above set flow, low in the advanced
    band 0…+5 % of §8.2.4 to spare pump power (pump power goes with flow cubed, 1.015³ =
    1.046 × the oracle's); the controller raises it with the estimates' uncertainty
    (``Controller._aim``). The plan lands within 0.1–0.2 % σ at 1 % meter noise; the floor
    covers lone corrections sized from a 0.5 %-σ estimate (docs/benchmark-balance.md,
    pump decomposition); ``pi_aim`` the
    PI ones (the band's middle: PI has no pump to trade against and must ride out noise).
    ``pi_kp``/``pi_ki`` are PI gains per step on the normalised error, ``deadband`` the
    error inside which nothing moves (§8.2.5), ``opening_deadband`` the smallest opening
    change worth sending, ``forgetting`` the RLS forgetting factor (§3.0.7-3).
    ``commissioned`` are openings (0…1) a commissioning record says were set on site
    (§7.2.5/§7.2.6, ticked done): where a valve without position feedback is assumed to
    stand before its first acknowledged command (issue 9 item 2).
    """

    algorithm: str = "model"
    target: str = "flow"
    level: str = "advanced"
    auto: bool = True
    limits: SafetyLimits = field(default_factory=SafetyLimits)
    pump_control: bool = True
    aim: float = 1.015
    pi_aim: float = 1.025
    inlet_algorithms: dict[str, str] = field(default_factory=dict)
    type_algorithms: dict[str, str] = field(default_factory=dict)
    inlet_targets: dict[str, str] = field(default_factory=dict)
    type_targets: dict[str, str] = field(default_factory=dict)
    manual_inlets: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    opening_deadband: float = 0.005
    pi_kp: float = 0.1
    pi_ki: float = 0.6
    deadband: float = 0.015
    forgetting: float = 0.95
    commissioned: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse unknown names, absurd numbers and values of the wrong kind at configuration
        time, not mid-season: a number as text, a bool as a number (True passed as a gain,
        a weight or an opening of 1), text as a switch ("off" is true), one inlet id as the
        list of manual inlets (its letters were the list)."""
        self._kinds()
        _check(self.algorithm, ALGORITHMS, "algorithm")
        _check(self.target, TARGETS, "target")
        _check(self.level, LEVELS, "level")
        for v in (*self.inlet_algorithms.values(), *self.type_algorithms.values()):
            _check(v, ALGORITHMS, "algorithm")
        for v in (*self.inlet_targets.values(), *self.type_targets.values()):
            _check(v, TARGETS, "target")
        for name in ("pi_kp", "pi_ki", "deadband", "opening_deadband"):
            value = getattr(self, name)
            if not (finite_number(value) and 0 <= value <= 2):
                raise ValueError(f"{name} must be within 0…2, got {value!r}")
        if not (finite_number(self.forgetting) and 0.5 <= self.forgetting <= 1.0):
            raise ValueError(f"forgetting must be within 0.5…1, got {self.forgetting!r}")
        for name in ("aim", "pi_aim"):
            value = getattr(self, name)
            if not (finite_number(value) and 0.9 <= value <= 1.2):
                raise ValueError(f"{name} must be within 0.9…1.2, got {value!r}")
        for iid, w in self.weights.items():
            lo, hi = WEIGHT_RANGE
            if not (finite_number(w) and lo <= w <= hi):
                raise ValueError(f"weight of {iid} must be within {lo:g}…{hi:g}, got {w!r}")
        for iid, h in self.commissioned.items():
            if not (finite_number(h) and 0.0 <= h <= 1.0):
                raise ValueError(f"commissioned opening of {iid} must be within 0…1, got {h!r}")
        if isinstance(self.limits, Mapping):
            self.limits = SafetyLimits.from_dict(self.limits)
        if not isinstance(self.limits, SafetyLimits):
            raise ValueError(f"limits must be safety limits, got {self.limits!r}")

    def _kinds(self) -> None:
        """Refuse a switch that is not a bool, a map or a list of inlets of another kind."""
        for name in ("auto", "pump_control"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in _MAPS:
            if not isinstance(getattr(self, name), Mapping):
                raise ValueError(f"{name} must be a mapping, got {getattr(self, name)!r}")
        manual = self.manual_inlets
        if isinstance(manual, str | bytes) or not all(isinstance(i, str) for i in manual):
            raise ValueError(f"manual_inlets must be a list of inlet ids, got {manual!r}")

    def algorithm_of(self, inlet_id: str, device_type: str) -> str:
        """The algorithm that moves this inlet's device."""
        return self.inlet_algorithms.get(
            inlet_id, self.type_algorithms.get(device_type, self.algorithm)
        )

    def target_of(self, inlet_id: str, device_type: str) -> str:
        """The control target of this inlet (§4.1.1)."""
        return self.inlet_targets.get(inlet_id, self.type_targets.get(device_type, self.target))

    def weight_of(self, inlet: Inlet) -> float:
        """The inlet's §5.3.6-5 weight: the operator's, else the network file's."""
        return float(self.weights.get(inlet.id, inlet.weight))

    def set_flow(self, inlet: Inlet) -> float:
        """The inlet's set flow (m³/h), design flow × weight: the one rule the plan, the
        evaluation, the minimum-flow guard and the minimum-flow alarm share."""
        return flow_setpoint(inlet, self.weight_of(inlet))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the integration stores it with the controller's state)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ControllerConfig:
        """Read back :meth:`to_dict` from a store (unknown keys ignored): a damaged setting
        restarts at its default alone, a damaged limit likewise
        (:meth:`SafetyLimits.restored`), and the damaged names are logged once. Before,
        a limit stored as text or a bool restored as its number (True: a step limit of 1)
        and any other damaged setting dropped all of them."""
        damaged: list[str] = []
        kwargs: dict[str, Any] = {}
        for name in (f.name for f in fields(cls) if f.name in data):
            value = data[name]
            if name == "limits":
                value, bad = SafetyLimits.restored(value)
                damaged += [f"limits.{n}" for n in bad]
            try:
                cls(**{name: value})  # the setting alone, by the rules above
            except RESTORE_ERRORS:
                damaged.append(name)
                continue
            kwargs[name] = value
        if damaged:
            _LOGGER.warning(
                "Stored controller settings: %d damaged restarted at their defaults: %s",
                len(damaged),
                ", ".join(damaged[:10]),
            )
        return cls(**kwargs)


def usable(value: Any) -> float | None:
    """A reading as a float if it is a finite number (numeric text too, as cleaning reads
    it), else None: never NaN, an infinity, a bool or anything that raises."""
    if type(value) is float:  # the common case, millions of calls a cycle at 23k inlets
        return value if value - value == 0.0 else None  # x − x is 0 for finite x only
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # an int beyond a float's range too
        return None
    return number if math.isfinite(number) else None


def band_chance(mean: float, std: float, lo: float, hi: float) -> float:
    """P(lo ≤ x ≤ hi) for x ~ N(mean, std²): how likely a noisy value lies in a band."""
    scale = std * math.sqrt(2.0)
    return 0.5 * (math.erf((hi - mean) / scale) - math.erf((lo - mean) / scale))


def plausible_temperature(value: float | None) -> float | None:
    """A temperature inside the physical range, else None (a broken sensor)."""
    if value is None:
        return None
    lo, hi = TEMPERATURE_RANGE_C
    return value if lo <= value <= hi else None


_MAPS = (
    "inlet_algorithms",
    "type_algorithms",
    "inlet_targets",
    "type_targets",
    "weights",
    "commissioned",
)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    """Raise a ValueError naming the allowed values."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
