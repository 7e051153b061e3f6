"""The Store's form: the learning as compact JSON text, read back value for value; a Store
written before (the learning as an indented JSON tree) still loads."""

from __future__ import annotations

import base64
import math
import zlib
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import json as json_helper
from homeassistant.util.json import json_loads, load_json
from pytest_homeassistant_custom_component.common import flush_store

from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.persistence import (
    MEMORY_JSON,
    MEMORY_TREE,
    MEMORY_ZLIB,
    ZLIB_MIN_BYTES,
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
    hass.config_entries.async_update_entry(entry, pref_disable_polling=True)
    await hass.async_block_till_done()
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


async def test_a_store_written_before_still_loads(hass: HomeAssistant, hass_storage: dict) -> None:
    """A Store from before the text form (the learning as a tree under ``memory``) restores
    the learning: the identification continues where it was, it does not start again."""
    entry = await add_network(hass, options={"algorithm": "ai"})
    await cycles(hass, entry, 4)
    samples = _identifier_samples(entry)
    assert max(samples.values()) >= 3
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    key = f"{DOMAIN}.{entry.entry_id}"
    stored = hass_storage[key]["data"]
    old = {k: v for k, v in stored.items() if k != MEMORY_JSON}
    old[MEMORY_TREE] = stored_memory(stored)
    hass_storage[key]["data"] = old  # as the integration wrote it until now
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    again = _identifier_samples(entry)
    assert all(again[i] >= n for i, n in samples.items())  # continued, not restarted
    await cycles(hass, entry, 1)
    assert entry.runtime_data.coordinator.last_update_success


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
    """A learning the size of a large network's (per inlet: estimates, counts, records)."""
    return {
        "controller": {
            f"B{k:05d}": {"flow_m3h": [0.1 * k + 0.2, 1.0 / (k + 3), k % 7, None], "n": k}
            for k in range(20_000)
        },
        "odd": {"nan": math.nan, 3: 0.1 + 0.2, "tiny": 1e-300, "neg": -0.0},
    }


def test_a_large_learning_is_stored_deflated(tmp_path: Path) -> None:
    """A large network's learning is deflated (a Store a quarter of the text's on the SD
    card, written once a cycle) and reads back value for value as the text form did; a
    small one stays text (readable, as the test above stores district120's)."""
    memory = _large_memory()
    form = memory_form(memory)
    assert list(form) == [MEMORY_ZLIB]
    text = packed_memory(memory)
    assert len(text) >= ZLIB_MIN_BYTES
    deflated_file = _file(tmp_path, form)
    text_file = _file(tmp_path, {MEMORY_JSON: text})
    assert deflated_file.stat().st_size < 0.4 * text_file.stat().st_size
    back = stored_memory(_read(deflated_file))
    assert back == stored_memory(_read(text_file)) == json_loads(text)
    assert back["odd"]["3"] == 0.1 + 0.2  # every bit of a double kept
    assert back["odd"]["nan"] is None  # as HA encodes a NaN
    assert list(memory_form({"a": [1.5]})) == [MEMORY_JSON]


def test_a_damaged_deflated_learning_restarts() -> None:
    """A damaged deflated learning gives an empty memory (the learning restarts), never an
    exception out of the restore."""
    good = memory_form(_large_memory())[MEMORY_ZLIB]
    assert stored_memory({MEMORY_ZLIB: good[:-400]}) == {}  # cut short
    assert stored_memory({MEMORY_ZLIB: "not base64!"}) == {}
    assert stored_memory({MEMORY_ZLIB: good[:1000] + "AAAA" + good[1004:]}) == {}
    assert stored_memory({MEMORY_ZLIB: base64.b64encode(zlib.compress(b"[1]")).decode()}) == {}
    assert stored_memory({MEMORY_ZLIB: base64.b64encode(zlib.compress(b"\xff{")).decode()}) == {}
