"""Device profiles: YAML register maps with validation.

A profile says which registers a device model exposes, how to decode them and which points may
be written. Writable points MUST carry ``min``/``max``: the gateway never writes outside them
(issue 5; §5.3.6-3 safety thresholds start at the field device). Profiles live in
``heatbalance_gateway/profiles/<name>.yaml``; a site may add its own directory.

Every value read is checked before it is published (issue 11): NaN/Inf, the "not available"
sentinels of the register type (SunSpec convention: int16 0x8000, uint16 0xFFFF, int32
0x80000000, uint32 0xFFFFFFFF; a point may list its own ``sentinels`` or none) and anything
outside the point's physical range (``valid_min``/``valid_max``, else a writable point's
``min``/``max``) is invalid: counted and published as unavailable, never as a value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml

from . import codec

PROFILE_DIR = Path(__file__).with_name("profiles")
FUNCTIONS = ("holding", "input", "coil", "discrete")
WRITABLE_FUNCTIONS = ("holding", "coil")
HA_COMPONENTS = ("sensor", "binary_sensor", "number", "valve")
DEFAULT_SENTINELS: dict[str, tuple[int, ...]] = {
    "int16": (-(2**15),),
    "uint16": (2**16 - 1,),
    "int32": (-(2**31),),
    "uint32": (2**32 - 1,),
    "float32": (),
    "bool": (),
}
# Energy counters are published in kWh whatever unit the meter counts in: the integration's
# meter check (Q = ṁ·c_p·ΔT, §4.1.2) reads them as kWh, as it reads flow in m³/h. A point is
# an energy counter by its key ``energy`` or its device class; its unit gives the factor.
ENERGY_UNIT = "kWh"
ENERGY_KWH: dict[str, float] = {
    "Wh": 1e-3,
    "kWh": 1.0,
    "MWh": 1e3,
    "GWh": 1e6,
    "kJ": 1 / 3600,
    "MJ": 1 / 3.6,
    "GJ": 1e3 / 3.6,
    "kcal": 1.163e-3,  # IT calorie: 4.1868 kJ
    "Mcal": 1.163,
    "Gcal": 1163.0,
}


class ProfileError(ValueError):
    """A profile is invalid; the message names the profile and the field."""


def _finite(value: Any) -> float:
    number: float = vol.Coerce(float)(value)
    if not math.isfinite(number):
        raise vol.Invalid("must be a finite number")
    return number


def _nonzero(value: Any) -> float:
    number = _finite(value)
    if number == 0:
        raise vol.Invalid("must not be 0")
    return number


POINT_SCHEMA = vol.Schema(
    {
        vol.Required("key"): vol.Match(r"^[a-z][a-z0-9_]{0,47}$"),
        vol.Required("name"): vol.All(str, vol.Length(min=1, max=80)),
        vol.Required("address"): vol.All(int, vol.Range(min=0, max=65535)),
        vol.Required("function"): vol.In(FUNCTIONS),
        vol.Optional("type", default="uint16"): vol.In(codec.DATA_TYPES),
        vol.Optional("word_order", default="big"): vol.In(("big", "little")),
        vol.Optional("scale", default=1.0): _nonzero,
        vol.Optional("offset", default=0.0): _finite,
        vol.Optional("unit"): vol.Any(None, str),
        vol.Optional("device_class"): str,
        vol.Optional("state_class"): vol.In(("measurement", "total", "total_increasing")),
        vol.Optional("writable", default=False): bool,
        vol.Optional("min"): _finite,
        vol.Optional("max"): _finite,
        vol.Optional("step"): vol.All(_finite, vol.Range(min=0, min_included=False)),
        vol.Optional("tolerance"): vol.All(_finite, vol.Range(min=0)),
        vol.Optional("ha"): vol.In(HA_COMPONENTS),
        vol.Optional("feedback"): str,
        vol.Optional("valid_min"): _finite,
        vol.Optional("valid_max"): _finite,
        vol.Optional("sentinels"): [vol.All(int, vol.Range(min=-(2**31), max=2**32 - 1))],
    },
    extra=vol.PREVENT_EXTRA,
)

PROFILE_FIELDS: dict[Any, Any] = {
    vol.Required("name"): vol.Match(r"^[a-z][a-z0-9_]{0,47}$"),
    vol.Optional("manufacturer", default="generic"): str,
    vol.Optional("model", default=""): str,
    vol.Optional("description", default=""): str,
}
"""A profile's descriptive fields (Modbus and M-Bus profiles alike)."""

PROFILE_SCHEMA = vol.Schema(
    {**PROFILE_FIELDS, vol.Required("points"): vol.All(list, vol.Length(min=1, max=500))},
    extra=vol.PREVENT_EXTRA,
)


@dataclass(frozen=True, slots=True)
class Point:
    """One readable (and maybe writable) value of a device."""

    key: str
    name: str
    address: int
    function: str
    type: str
    word_order: str
    scale: float
    offset: float
    unit: str | None
    device_class: str | None
    state_class: str | None
    writable: bool
    min: float | None
    max: float | None
    step: float | None
    tolerance: float
    ha: str
    feedback: str | None
    valid_min: float | None = None
    valid_max: float | None = None
    sentinels: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        """Registers (or bits) the point occupies."""
        return codec.REGISTER_COUNT[self.type]

    def decode(self, registers: list[int]) -> float:
        """Registers -> engineering value."""
        raw = codec.decode(registers, self.type, self.word_order)
        if self.type == "bool":
            return raw
        value = codec.to_engineering(raw, self.scale, self.offset)
        # 424 * 0.1 is 42.400000000000006 in binary floating point; a limit check at max=100
        # would refuse raw 1000. Integer registers carry at most ~10 significant digits.
        return value if self.type == "float32" else round(value, 9)

    def read(self, registers: list[int]) -> tuple[float | None, str | None]:
        """Registers -> (value, None) when valid, (None, why) when not (issue 11).

        Never raises: a short or garbled frame is the device's fault, not the line's.
        """
        if len(registers) != self.count:
            return None, f"{len(registers)} of {self.count} registers"
        try:
            raw = codec.decode(registers, self.type, self.word_order)
            value = self.decode(registers)
        except (ValueError, TypeError, OverflowError, KeyError) as err:  # struct.error is one
            return None, f"undecodable: {err}"
        if not math.isfinite(value):
            return None, f"not finite ({value})"
        if raw in self.sentinels:
            return None, f"sentinel {int(raw)}"
        if self.valid_min is not None and value < self.valid_min:
            return None, f"{value} below {self.valid_min}"
        if self.valid_max is not None and value > self.valid_max:
            return None, f"{value} above {self.valid_max}"
        return value, None

    def encode_setpoint(self, value: float) -> tuple[list[int], float]:
        """Engineering value -> registers, refusing anything outside ``min``..``max``.

        Rounding to the register resolution can push a value just past a limit; the raw value
        is then nudged back inside, and refused if no representable value is inside. Returns
        the registers and the value the device will actually hold.
        """
        if not self.writable or self.min is None or self.max is None:
            raise codec.EncodeError(f"point {self.key!r} is not writable")
        if not math.isfinite(value) or not self.min <= value <= self.max:
            raise codec.EncodeError(
                f"{value!r} outside the allowed range {self.min}..{self.max} of {self.key!r}"
            )
        if self.type == "bool":
            return [round(value)], float(round(value))
        raw = codec.to_raw(value, self.scale, self.offset)
        candidates = (
            [raw] if self.type == "float32" else [round(raw), math.floor(raw), math.ceil(raw)]
        )
        for candidate in candidates:
            try:
                registers = codec.encode(candidate, self.type, self.word_order)
            except codec.EncodeError:
                continue
            effective = self.decode(registers)
            if self.min <= effective <= self.max:
                return registers, effective
        raise codec.EncodeError(
            f"no value of {self.key!r} near {value!r} fits {self.min}..{self.max}"
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """A device model: name, descriptive fields and its points."""

    name: str
    manufacturer: str
    model: str
    description: str
    points: tuple[Point, ...]

    def point(self, key: str) -> Point:
        """Look a point up by key (KeyError if absent)."""
        for point in self.points:
            if point.key == key:
                return point
        raise KeyError(key)


def _default_component(raw: dict[str, Any]) -> str:
    if raw.get("writable"):
        return "number"
    return "binary_sensor" if raw["function"] in ("coil", "discrete") else "sensor"


def energy_factor(raw: dict[str, Any]) -> float | None:
    """An energy counter's factor from its unit to kWh; None for any other point.

    Raises vol.Invalid for an energy counter without an energy unit or that is writable.
    """
    if raw["key"] != "energy" and raw.get("device_class") != "energy":
        return None
    factor = ENERGY_KWH.get(raw.get("unit") or "")
    if factor is None:
        units = ", ".join(ENERGY_KWH)
        raise vol.Invalid(f"an energy counter needs an energy unit ({units})", path=["unit"])
    if raw.get("writable"):
        raise vol.Invalid("an energy counter is read-only", path=["writable"])
    return factor


def in_kwh(raw: dict[str, Any]) -> dict[str, Any]:
    """An energy counter's fields converted to kWh (scale, offset, physical range); any
    other point as it is."""
    factor = energy_factor(raw)
    if factor is None:
        return raw
    scaled = {k: raw[k] * factor for k in ("scale", "offset", "valid_min", "valid_max") if k in raw}
    return raw | scaled | {"unit": ENERGY_UNIT}


def _check_point(raw: dict[str, Any]) -> Point:
    """Cross-field rules voluptuous cannot express per field."""
    raw = in_kwh(raw)
    key = raw["key"]
    bit = raw["function"] in ("coil", "discrete")
    if bit and raw["type"] != "bool":
        raise vol.Invalid(f"type must be bool for function {raw['function']}", path=["type"])
    if not bit and raw["type"] == "bool":
        raise vol.Invalid("type bool needs function coil or discrete", path=["type"])
    if raw["address"] + codec.REGISTER_COUNT[raw["type"]] > 65536:
        raise vol.Invalid("point runs past address 65535", path=["address"])
    if raw["writable"]:
        if raw["function"] not in WRITABLE_FUNCTIONS:
            raise vol.Invalid("only holding registers and coils are writable", path=["function"])
        for limit in ("min", "max"):
            if limit not in raw:
                raise vol.Invalid(f"writable point needs '{limit}'", path=[limit])
        if raw["min"] > raw["max"]:
            raise vol.Invalid("min is greater than max", path=["min"])
    low = raw.get("valid_min", raw.get("min"))
    high = raw.get("valid_max", raw.get("max"))
    if low is not None and high is not None and low > high:
        raise vol.Invalid("valid_min is greater than valid_max", path=["valid_min"])
    component = raw.get("ha") or _default_component(raw)
    if component in ("number", "valve") and not raw["writable"]:
        raise vol.Invalid(f"ha: {component} needs writable: true", path=["ha"])
    return Point(
        key=key,
        name=raw["name"],
        address=raw["address"],
        function=raw["function"],
        type=raw["type"],
        word_order=raw["word_order"],
        scale=raw["scale"],
        offset=raw["offset"],
        unit=raw.get("unit"),
        device_class=raw.get("device_class"),
        state_class=raw.get("state_class"),
        writable=raw["writable"],
        min=raw.get("min"),
        max=raw.get("max"),
        step=raw.get("step"),
        tolerance=raw.get("tolerance", abs(raw["scale"]) / 2),
        ha=component,
        feedback=raw.get("feedback"),
        valid_min=low,
        valid_max=high,
        sentinels=tuple(raw.get("sentinels", DEFAULT_SENTINELS[raw["type"]])),
    )


def _overlaps(points: list[Point]) -> str | None:
    """Name two points sharing a register of the same function, if any."""
    taken: dict[tuple[str, int], str] = {}
    for point in points:
        table = point.function  # each Modbus table is its own address space
        for address in range(point.address, point.address + point.count):
            other = taken.setdefault((table, address), point.key)
            if other != point.key:
                return f"points {other!r} and {point.key!r} overlap at {table} {address}"
    return None


def parse_profile(data: Any, source: str = "<profile>") -> Profile:
    """Validate a profile mapping; ProfileError names the source, point and field."""
    try:
        top = PROFILE_SCHEMA(data)
    except vol.Invalid as err:
        raise ProfileError(f"{source}: {_where(err)}: {err.msg}") from err
    points: list[Point] = []
    for index, raw_point in enumerate(top["points"]):
        label = raw_point.get("key", index) if isinstance(raw_point, dict) else index
        try:
            points.append(_check_point(POINT_SCHEMA(raw_point)))
        except vol.Invalid as err:
            raise ProfileError(f"{source}: points[{label}].{_where(err)}: {err.msg}") from err
    keys = [p.key for p in points]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ProfileError(f"{source}: duplicate point keys {duplicates}")
    if overlap := _overlaps(points):
        raise ProfileError(f"{source}: {overlap}")
    for point in points:
        if point.feedback is not None and point.feedback not in keys:
            raise ProfileError(f"{source}: points[{point.key}].feedback: unknown point")
    return Profile(
        name=top["name"],
        manufacturer=top["manufacturer"],
        model=top["model"],
        description=top["description"],
        points=tuple(points),
    )


def _where(err: vol.Invalid) -> str:
    return ".".join(str(p) for p in err.path) or "(top)"


def load_profile(name_or_path: str, extra_dirs: tuple[Path, ...] = ()) -> Profile:
    """Load a built-in profile by name, or a YAML file by path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        for directory in (*extra_dirs, PROFILE_DIR):
            candidate = directory / f"{name_or_path}.yaml"
            if candidate.is_file():
                path = candidate
                break
        else:
            raise ProfileError(f"unknown profile {name_or_path!r} (built-in: {builtin_profiles()})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(f"{path}: cannot read: {err}") from err
    return parse_profile(data, str(path.name))


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with the gateway."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))
