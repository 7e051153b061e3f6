"""A large network's learning written and read in slices, so the event loop is never held.

Issue 10, "nothing blocking in the event loop": the Store's learning of a 23,000-household
network is ≈156 MB of JSON. Read as one text, ``orjson.loads`` built its whole tree in one
C call, and a C call keeps the GIL until it returns: the event loop (another thread of the
same process) stood still for the whole parse, 0.7-1.0 s on a quiet machine, although the
restore ran in the executor. The one-shot ``zlib`` and ``base64`` calls around it held the
GIL for their length too, and so did writing it (``orjson.dumps``) at every save.

So the learning is kept as JSON lines: each line ``[path, part]`` is one slice of the tree —
``part`` a mapping merged into the mapping at ``path`` (a list of keys from the root). A
mapping with more than :data:`SLICE_KEYS` keys (the per-inlet records: estimators, meter
check, diagnoser, …) is cut into slices of that many keys; a smaller one's mapping values
are sliced the same way down to :data:`SLICE_DEPTH`, everything else goes whole. Lines come
in the tree's own order, so the tree read back has its keys in the order written.
Every call that holds the GIL — one line's ``dumps`` or ``loads``, a chunk's deflating or
base64 — now handles a slice (≈0.1-1 MB); between two the interpreter hands the GIL to the
event loop when it asks (``sys.getswitchinterval``, 5 ms).

The tree read back is emptied slice by slice once the control loop is built from it
(:func:`.memory_release.release`).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from homeassistant.helpers.json import json_bytes
from homeassistant.util.json import JSON_DECODE_EXCEPTIONS, json_loads

SLICE_KEYS = 128  # keys per line of a large mapping (≈0.1-0.7 MB of text at 23k)
SLICE_DEPTH = 4  # mappings below this depth are looked into for large ones
ZLIB_LEVEL = 1  # zlib's fastest: 58 → 11 MB in 0.3 s at 23k (level 6: 9.8 MB in 1.2 s)
B64_CHUNK = 1 << 18  # base64 characters decoded at a time (a multiple of 4: 192 KiB raw)
RAW_CHUNK = 3 * (1 << 16)  # deflated bytes encoded at a time (a multiple of 3)


def lines(memory: Mapping[str, Any]) -> Iterator[bytes]:
    """``memory`` as JSON lines (each encoded as HA encodes its Stores: a NaN becomes null,
    a non-text key text), in the tree's order."""
    for path, part in _slices(memory, [], 0):
        yield json_bytes([path, part])


def _slices(
    node: Mapping[Any, Any], path: list[str], depth: int
) -> Iterator[tuple[list[str], dict[Any, Any]]]:
    """The ``[path, part]`` slices of ``node`` (see the module's doc); at least one, so an
    empty mapping is written too."""
    if len(node) > SLICE_KEYS:
        items = list(node.items())
        for start in range(0, len(items), SLICE_KEYS):
            yield path, dict(items[start : start + SLICE_KEYS])
        return
    whole: dict[Any, Any] = {}
    written = False
    for key, value in node.items():
        if isinstance(value, Mapping) and value and depth < SLICE_DEPTH:
            if whole:
                yield path, whole
                whole = {}
            yield from _slices(value, [*path, str(key)], depth + 1)
            written = True
        else:
            whole[key] = value
    if whole or not written:
        yield path, whole


def deflated_lines(memory: Mapping[str, Any]) -> tuple[str, int]:
    """``memory``'s :func:`lines`, deflated and base64-encoded a slice at a time; with the
    size of the lines' text (bytes)."""
    return deflated(lines(memory))


def deflated(stream: Iterable[bytes]) -> tuple[str, int]:
    """The lines of ``stream`` deflated and base64-encoded a slice at a time; with the size
    of their text (bytes)."""
    squeeze = zlib.compressobj(ZLIB_LEVEL)
    out: list[str] = []
    pending = bytearray()
    size = 0
    for line in stream:
        size += len(line) + 1
        pending += squeeze.compress(line + b"\n")
        if len(pending) >= RAW_CHUNK:
            cut = len(pending) - len(pending) % 3
            out.append(base64.b64encode(pending[:cut]).decode("ascii"))
            del pending[:cut]
    pending += squeeze.flush()
    for start in range(0, len(pending), RAW_CHUNK):
        out.append(base64.b64encode(pending[start : start + RAW_CHUNK]).decode("ascii"))
    return "".join(out), size


def read_deflated_lines(encoded: str) -> dict[str, Any]:
    """The tree :func:`deflated_lines` wrote; an empty one where the text is damaged (cut
    short, not base64, not deflate, a line not a ``[path, mapping]``): the learning
    restarts, nothing worse."""
    chunks = (
        base64.b64decode(encoded[start : start + B64_CHUNK], validate=True)
        for start in range(0, len(encoded), B64_CHUNK)
    )
    try:
        return inflated_lines(chunks)
    except (binascii.Error, ValueError, zlib.error, *JSON_DECODE_EXCEPTIONS):
        return {}


def inflated_lines(chunks: Iterable[bytes]) -> dict[str, Any]:
    """The tree whose deflated :func:`lines` come in ``chunks``, inflated and merged a
    chunk at a time. Raises ``zlib.error``, ``ValueError`` or a JSON decode error where
    they are damaged (cut short: the stream or its last line never ended)."""
    inflate = zlib.decompressobj()
    root: dict[str, Any] = {}
    rest = b""
    for raw in chunks:
        rest = _merge_lines(rest + inflate.decompress(raw), root)
    rest = _merge_lines(rest + inflate.flush(), root)
    if rest or not inflate.eof:
        raise ValueError("cut short: the last line never ended")
    return root


def _merge_lines(text: bytes, root: dict[str, Any]) -> bytes:
    """Merge ``text``'s complete lines into ``root``; returns the incomplete last one.
    Raises ValueError on a line that is no ``[path, mapping]`` slice of a tree."""
    *complete, rest = text.split(b"\n")
    for line in complete:
        entry = json_loads(line)
        if not (isinstance(entry, list) and len(entry) == 2):
            raise ValueError("not a [path, part] line")
        path, part = entry
        if not isinstance(path, list) or not isinstance(part, dict):
            raise ValueError("not a [path, part] line")
        node: Any = root
        for key in path:
            node = node.setdefault(key, {}) if isinstance(key, str) else None
            if not isinstance(node, dict):
                raise ValueError("a path through something other than a mapping")
        node.update(part)
    return rest
