"""The Store's form: the learning as compact JSON text, read back value for value; a large
network's as deflated JSON lines, written and read a slice at a time (issue 10: nothing
blocking in the event loop); a Store written before (the learning as an indented JSON tree,
or as one deflated text) still loads."""

from __future__ import annotations

import base64
import math
import weakref
import zlib
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import json as json_helper
from homeassistant.util.json import json_loads, load_json
from pytest_homeassistant_custom_component.common import flush_store

from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.memory_lines import SLICE_KEYS, deflated_lines
from custom_components.heatbalance.memory_release import release
from custom_components.heatbalance.persistence import (
    FILE_MIN_BYTES,
    MEMORY_JSON,
    MEMORY_LINES,
    MEMORY_TREE,
    MEMORY_ZLIB,
    memory_form,
    packed_memory,
    stored_memory,
)

from .conftest import add_network, cycles


def _file(folder: Path, data: dict[str, Any]) -> Path:
    """The file HA's Store writes for ``data`` (``save_json``: its indented JSON)."""
    path = folder / f"store{len(list(folder.iterdir()))}.json"
    json_helper.save_json(str(path), {"version": 1, "key": "k", "data": data})
    return path


def _read(path: Path) -> Any:
    """What HA's Store reads back from ``path`` (``load_json``)."""
    return load_json(path)["data"]  # type: ignore[index,call-overload]


def _identifier_samples(entry: Any) -> dict[str, int]:
    loop = entry.runtime_data.coordinator.memory.loop
    assert loop is not None
    return {i: b["samples"] for i, b in loop.controller.model.to_dict()["identifiers"].items()}


async def test_learning_is_stored_as_compact_text(
    hass: HomeAssistant, hass_storage: dict, tmp_path: Path
) -> None:
    """HA indents a Store's JSON one number per line: the learning goes as text, so the file
    holds it at its compact size, and it reads back equal to what the loop had learnt."""
    entry = await add_network(hass, "district120", options={"algorithm": "ai"})
    # the test runs the cycles: with HA's polling on, the 10 s timer's cycle could come
    # between ``learnt`` and the unload's save on a loaded machine (then they differ)
    await cycles(hass, entry, 3)
    coordinator = entry.runtime_data.coordinator
    learnt = json_loads(json_helper.json_bytes(coordinator.memory.as_dict()))
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await flush_store(coordinator.store)
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    assert MEMORY_TREE not in stored
    assert isinstance(stored[MEMORY_JSON], str)
    assert stored_memory(stored) == learnt  # every part, value for value
    as_tree = {**{k: v for k, v in stored.items() if k != MEMORY_JSON}, MEMORY_TREE: learnt}
    text_file, tree_file = _file(tmp_path, stored), _file(tmp_path, as_tree)
    assert text_file.stat().st_size < 0.6 * tree_file.stat().st_size
    assert stored_memory(_read(text_file)) == stored_memory(_read(tree_file)) == learnt


async def _restarts_from(hass: HomeAssistant, hass_storage: dict, form: str, write: Any) -> None:
    """Learn for 4 cycles, rewrite the Store's learning in ``form`` (``write``: the learnt
    tree → that form's value), restart: the identification continues where it was and the
    loop built from it cycles on."""
    entry = await add_network(hass, options={"algorithm": "ai"})
    await cycles(hass, entry, 4)
    samples = _identifier_samples(entry)
    assert max(samples.values()) >= 3
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    key = f"{DOMAIN}.{entry.entry_id}"
    stored = hass_storage[key]["data"]
    rewritten = {k: v for k, v in stored.items() if k != MEMORY_JSON}
    rewritten[form] = write(stored_memory(stored))
    hass_storage[key]["data"] = rewritten
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    again = _identifier_samples(entry)
    assert all(again[i] >= n for i, n in samples.items())  # continued, not restarted
    await cycles(hass, entry, 1)
    assert entry.runtime_data.coordinator.last_update_success


async def test_a_store_written_before_still_loads(hass: HomeAssistant, hass_storage: dict) -> None:
    """A Store from before the text form (the learning as a tree under ``memory``, as the
    integration wrote it until then) restores the learning: the identification continues
    where it was, it does not start again."""
    await _restarts_from(hass, hass_storage, MEMORY_TREE, lambda learnt: learnt)


async def test_a_store_in_lines_restores_the_learning(
    hass: HomeAssistant, hass_storage: dict
) -> None:
    """The lines form (a large network's, as a 23k network's is written) restores the
    learning through HA's Store and the first cycle: the identification continues where it
    was, and the loop built from it cycles on (the read-back tree is let go a record at a
    time after the loop is built)."""
    await _restarts_from(hass, hass_storage, MEMORY_LINES, lambda learnt: deflated_lines(learnt)[0])


def test_the_text_reads_back_as_the_tree_did(tmp_path: Path) -> None:
    """Encoded as HA encodes the tree: a NaN comes back as null and a number key as text, in
    both forms alike; damaged text gives an empty memory (the learning restarts)."""
    memory = {"a": {"1": [1.5, None, 2], 3: 0.1 + 0.2}, "b": [math.nan, -0.0, 1e-300]}
    tree = _read(_file(tmp_path, {MEMORY_TREE: memory}))
    text = _read(_file(tmp_path, {MEMORY_JSON: packed_memory(memory)}))
    assert stored_memory(text) == stored_memory(tree) == tree[MEMORY_TREE]
    assert stored_memory(text)["a"]["3"] == 0.1 + 0.2  # every bit of a double kept
    assert stored_memory({MEMORY_JSON: "{not json"}) == {}
    assert stored_memory({MEMORY_JSON: "[1, 2]"}) == {}
    assert stored_memory({MEMORY_TREE: "text"}) == {}
    assert stored_memory({}) == {}


def _large_memory() -> dict[str, Any]:
    """A learning the size of a large network's (per inlet: estimates, counts, records),
    with large mappings at several depths, as the controller's is."""
    return {
        "controller": {
            "estimators": {
                f"B{k:05d}": {"flow_m3h": [0.1 * k + 0.2, 1.0 / (k + 3), k % 7, None], "n": k}
                for k in range(20_000)
            },
            "model": {"planned": {f"B{k:05d}": k * 0.5 for k in range(3_000)}, "step": 4},
            "empty": {},
        },
        "odd": {"nan": math.nan, 3: 0.1 + 0.2, "tiny": 1e-300, "neg": -0.0},
    }


def _old_deflated(memory: dict[str, Any]) -> str:
    """The learning as the integration deflated it until now: one text (``memory_zlib``)."""
    return base64.b64encode(zlib.compress(json_helper.json_bytes(memory), 1)).decode("ascii")


def _deflated(text: bytes) -> str:
    return base64.b64encode(zlib.compress(text)).decode()


def test_a_large_learning_is_stored_deflated(tmp_path: Path) -> None:
    """A large network's learning is deflated (a Store a quarter of the text's on the SD
    card, written once a cycle) and reads back value for value, keys in their order, as the
    text form did; a small one stays text (readable, as the test above stores district120's)."""
    memory = _large_memory()
    form = memory_form(memory)
    assert list(form) == [MEMORY_LINES]
    text = packed_memory(memory)
    assert len(text) >= FILE_MIN_BYTES
    deflated_file = _file(tmp_path, form)
    text_file = _file(tmp_path, {MEMORY_JSON: text})
    assert deflated_file.stat().st_size < 0.4 * text_file.stat().st_size
    back = stored_memory(_read(deflated_file))
    assert back == stored_memory(_read(text_file)) == json_loads(text)
    assert json_helper.json_bytes(back) == json_helper.json_bytes(json_loads(text))  # order
    assert back["odd"]["3"] == 0.1 + 0.2  # every bit of a double kept
    assert back["odd"]["nan"] is None  # as HA encodes a NaN
    assert back["controller"]["empty"] == {}
    assert list(memory_form({"a": [1.5]})) == [MEMORY_JSON]


def test_a_large_learning_goes_in_slices() -> None:
    """No call that holds the GIL handles the whole learning: it is written and read as
    lines, a large mapping's in slices of at most ``SLICE_KEYS`` keys, each line a small part
    of the text (as one text, one ``loads`` built the whole tree: 0.7-1.0 s of a 23k restart
    with the event loop standing)."""
    memory = _large_memory()
    encoded = memory_form(memory)[MEMORY_LINES]
    lines = zlib.decompress(base64.b64decode(encoded)).splitlines()
    assert len(lines) >= 20_000 // SLICE_KEYS
    assert max(len(line) for line in lines) < len(packed_memory(memory)) / 50
    for line in lines:
        path, part = json_loads(line)  # type: ignore[misc]
        assert len(part) <= SLICE_KEYS
        assert all(isinstance(k, str) for k in path)


def test_a_store_deflated_as_one_text_still_loads() -> None:
    """A Store from before the lines (the learning deflated as one text, ``memory_zlib``)
    reads back as it was written."""
    memory = _large_memory()
    assert stored_memory({MEMORY_ZLIB: _old_deflated(memory)}) == json_loads(packed_memory(memory))


def test_a_damaged_deflated_learning_restarts() -> None:
    """A damaged deflated learning gives an empty memory (the learning restarts), never an
    exception out of the restore: in the lines form and in the one-text form before it."""
    good, _ = deflated_lines(_large_memory())
    lines = (
        good[:-400],  # cut short
        good[: len(good) // 8 * 4],  # … at a chunk's end
        "not base64!",
        good[:1000] + "AAAA" + good[1004:],
        _deflated(b"[1]\n"),
        _deflated(b'[["a"], [1]]\n'),  # no mapping
        _deflated(b'[["a"], {"b": 1}]\n[["a", "b"], {}]\n'),  # a path through a number
        _deflated(b"\xff{\n"),
        _deflated(b'[[], {"a": 1}]\n[[], {"b"'),  # the last line never ends
    )
    for damaged in lines:
        assert stored_memory({MEMORY_LINES: damaged}) == {}
    assert stored_memory({MEMORY_LINES: _deflated(b'[[], {"a": 1}]\n')}) == {"a": 1}
    old = _old_deflated(_large_memory())
    assert stored_memory({MEMORY_ZLIB: old[:-400]}) == {}  # cut short
    assert stored_memory({MEMORY_ZLIB: "not base64!"}) == {}
    assert stored_memory({MEMORY_ZLIB: old[:1000] + "AAAA" + old[1004:]}) == {}
    assert stored_memory({MEMORY_ZLIB: _deflated(b"[1]")}) == {}
    assert stored_memory({MEMORY_ZLIB: _deflated(b"\xff{")}) == {}


class _Node(dict):  # type: ignore[type-arg]
    """A mapping a weak reference can follow (to see when it is freed)."""


def test_release_frees_only_what_nothing_else_holds() -> None:
    """``release`` frees the read-back tree it was handed a record at a time (each freed
    while its large mapping still stands: dropped at once, the mapping went first and its
    records after, in one cascade holding the GIL), and leaves whole what the control loop
    built from it kept (a mapping someone else refers to)."""
    seen: list[int] = []  # how many records the large mapping held as each was freed
    parent: list[weakref.ref[_Node]] = []

    class Record(_Node):
        def __del__(self) -> None:
            mapping = parent[0]()
            seen.append(-1 if mapping is None else len(mapping))

    kept = _Node({f"k{i}": _Node(v=[i]) for i in range(300)})
    tree = _Node(
        controller=_Node(estimators=_Node({f"B{i}": Record(n=i) for i in range(1000)}), kept=kept),
        small=_Node(a=_Node(b=1)),
    )
    parent.append(weakref.ref(tree["controller"]["estimators"]))
    watched = [parent[0], weakref.ref(tree["small"]["a"])]
    trees = [tree]
    del tree
    release(trees)
    assert trees == []
    assert all(ref() is None for ref in watched)  # freed within the release
    assert seen == list(range(999, -1, -1))  # a record at a time
    assert len(kept) == 300
    assert kept["k299"] == {"v": [299]}  # the loop's part: whole
