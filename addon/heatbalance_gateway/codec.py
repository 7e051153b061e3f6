"""Register <-> engineering value conversion for Modbus points.

Modbus carries 16-bit registers big-endian; 32-bit types span two registers whose order differs
between vendors ("big" = high word first, "little" = low word first). Scaling turns the raw integer
into engineering units (value = raw * scale). Kept pure so it can be fuzzed without a bus.
"""

from __future__ import annotations

import math
import struct
from typing import Final

DATA_TYPES: Final = ("int16", "uint16", "int32", "uint32", "float32", "bool")
REGISTER_COUNT: Final = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "bool": 1,
}
_INT_RANGE: Final = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "bool": (0, 1),
}
_STRUCT: Final = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}


class EncodeError(ValueError):
    """A value cannot be represented in the point's register type."""


def _words(registers: list[int], word_order: str) -> list[int]:
    """Return registers in high-word-first order."""
    return list(reversed(registers)) if word_order == "little" else list(registers)


def decode(registers: list[int], data_type: str, word_order: str = "big") -> float:
    """Decode raw registers (unscaled) into a number."""
    if data_type == "bool":
        return float(bool(registers[0]))
    words = _words(registers[: REGISTER_COUNT[data_type]], word_order)
    raw = b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in words)
    return float(struct.unpack(_STRUCT[data_type], raw)[0])


def encode(raw: float, data_type: str, word_order: str = "big") -> list[int]:
    """Encode an unscaled number into registers; raises EncodeError if it does not fit."""
    if not math.isfinite(raw):
        raise EncodeError(f"{raw!r} is not a finite number")
    if data_type == "float32":
        packed = struct.pack(">f", raw)
        if not math.isfinite(struct.unpack(">f", packed)[0]):
            raise EncodeError(f"{raw!r} overflows float32")
    else:
        value = round(raw)
        low, high = _INT_RANGE[data_type]
        if not low <= value <= high:
            raise EncodeError(f"{value} outside {data_type} range {low}..{high}")
        if data_type == "bool":
            return [value]
        packed = struct.pack(_STRUCT[data_type], value)
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
    return _words(words, word_order)


def to_engineering(raw: float, scale: float, offset: float = 0.0) -> float:
    """Scale a decoded raw number into engineering units."""
    return raw * scale + offset


def to_raw(value: float, scale: float, offset: float = 0.0) -> float:
    """Inverse of :func:`to_engineering` (before rounding/encoding)."""
    return (value - offset) / scale
