"""A large network's learning in a file of its own beside its Store (issue 10: neither HA
version parses or serialises it on the event loop; ``memory_file``).

Through Home Assistant's harness with real learning files (in the test's own folder): the
Store keeps only a pointer; every older Store form restores and moves to the file at the
first save; a missing, damaged or foreign file restarts the learning with a repair, never a
crash; the files go with the entry; a Store written by an older version after the file
wins over the files it left. The size from which a learning goes to its file is lowered,
so estate12's goes there (a 23,000-household network's does at the default)."""

from __future__ import annotations

import base64
import hashlib
import logging
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import json as json_helper
from homeassistant.helpers import storage as ha_storage
from homeassistant.util.json import json_loads

from custom_components.heatbalance import memory_file, persistence
from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.memory_file import SLOTS, LearningFiles, LearningUnreadableError
from custom_components.heatbalance.memory_lines import deflated_lines, lines
from custom_components.heatbalance.persistence import (
    MEMORY_FILE,
    MEMORY_JSON,
    MEMORY_LINES,
    MEMORY_TREE,
    MEMORY_ZLIB,
    memory_form,
    stored_memory,
)
from custom_components.heatbalance.repairs import LEARNING_LOST

from .conftest import add_network, cycles

# Home Assistant's own Store I/O, taken before the harness replaces it by its in-memory mock
REAL_STORE = {n: ha_storage.Store.__dict__[n] for n in ("_async_load", "_async_write_data")}
FORMS = (MEMORY_FILE, MEMORY_JSON, MEMORY_LINES, MEMORY_TREE, MEMORY_ZLIB)


@pytest.fixture
def to_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every learning goes to its file (estate12's is ≈0.1 MB, under the default size)."""
    monkeypatch.setattr(persistence, "FILE_MIN_BYTES", 1)


def _samples(entry: Any) -> dict[str, int]:
    loop = entry.runtime_data.coordinator.memory.loop
    assert loop is not None
    return {i: b["samples"] for i, b in loop.controller.model.to_dict()["identifiers"].items()}


def _learnt(entry: Any) -> Any:
    """What the coordinator's learning reads back as (HA's encoding: NaN → null, …)."""
    return json_loads(json_helper.json_bytes(entry.runtime_data.coordinator.memory.as_dict()))


async def _unload(hass: HomeAssistant, entry: Any) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _setup(hass: HomeAssistant, entry: Any) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _learnt_for(
    hass: HomeAssistant, n: int, network: str = "estate12"
) -> tuple[Any, dict[str, int]]:
    """``network`` under AI after ``n`` cycles, unloaded (its Store written)."""
    entry = await add_network(hass, network, options={"algorithm": "ai"})
    await cycles(hass, entry, n)
    samples = _samples(entry)
    assert max(samples.values()) >= 3
    await _unload(hass, entry)
    return entry, samples


def _data(hass_storage: dict[str, Any], entry: Any) -> dict[str, Any]:
    data: dict[str, Any] = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    return data


def _issue(hass: HomeAssistant, entry: Any) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_{LEARNING_LOST}")


async def test_the_store_keeps_only_a_pointer_to_the_learning_file(
    hass: HomeAssistant, tmp_path: Path, to_file: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Home Assistant's own Store files: the Store holds the learning file's pointer
    and no learning; the file (deflated JSON lines, its digest the pointer's) reads back as
    the loop had learnt, and a restart continues the identification. The next save writes
    the other slot, so the one the Store on disk names is never written over: a file cut
    short in the slot not named (a crash before the Store's write) does not matter."""
    hass.config.config_dir = str(tmp_path)
    monkeypatch.setattr(memory_file, "storage_folder", lambda h: Path(h.config.path(".storage")))
    with pytest.MonkeyPatch.context() as real:
        for name, method in REAL_STORE.items():
            real.setattr(ha_storage.Store, name, method)
        entry = await add_network(hass, options={"algorithm": "ai"})
        await cycles(hass, entry, 4)
        learnt, samples = _learnt(entry), _samples(entry)
        await _unload(hass, entry)
        store_file = tmp_path / ".storage" / f"{DOMAIN}.{entry.entry_id}"
        data = json_loads(store_file.read_bytes())["data"]  # type: ignore[index,call-overload]
        assert [form for form in FORMS if form in data] == [MEMORY_FILE]
        pointer = data[MEMORY_FILE]
        files = LearningFiles(tmp_path / ".storage", entry.entry_id)
        first = files.path(SLOTS[0])
        assert pointer["file"] == first.name
        assert first.stat().st_size == pointer["bytes"]
        assert zlib.decompress(first.read_bytes()).count(b"\n") > 1  # JSON lines, deflated
        assert files.read(pointer) == learnt
        assert store_file.stat().st_size < first.stat().st_size * 2

        await _setup(hass, entry)
        again = _samples(entry)
        assert all(again[i] >= n for i, n in samples.items())  # continued, not restarted
        learnt = _learnt(entry)
        await _unload(hass, entry)
        second = json_loads(store_file.read_bytes())["data"][MEMORY_FILE]  # type: ignore[index,call-overload]
        assert second["file"] == files.path(SLOTS[1]).name
        assert files.read(second) == learnt

        first.write_bytes(first.read_bytes()[:100])  # the slot not named, cut short
        await _setup(hass, entry)
        assert _issue(hass, entry) is None
        assert all(_samples(entry)[i] >= n for i, n in again.items())
        await _unload(hass, entry)


def _old_zlib(learnt: Any) -> str:
    """The learning as one deflated text (``memory_zlib``, before the lines)."""
    return base64.b64encode(zlib.compress(json_helper.json_bytes(learnt), 1)).decode("ascii")


OLD_FORMS: dict[str, Callable[[Any], Any]] = {
    MEMORY_TREE: lambda learnt: learnt,
    MEMORY_JSON: lambda learnt: json_helper.json_bytes(learnt).decode(),
    MEMORY_ZLIB: _old_zlib,
    MEMORY_LINES: lambda learnt: deflated_lines(learnt)[0],
}


@pytest.mark.parametrize("form", list(OLD_FORMS))
async def test_every_older_store_form_restores_and_moves_to_the_file(
    hass: HomeAssistant, hass_storage: dict, learning_dir: Path, to_file: None, form: str
) -> None:
    """A Store holding the learning in a form an earlier version wrote (no learning file on
    disk) restores it — the identification continues — and its first save moves it to the
    learning file, the Store keeping only the pointer."""
    entry, samples = await _learnt_for(hass, 4)
    data = _data(hass_storage, entry)
    files = LearningFiles(learning_dir, entry.entry_id)
    learnt = files.read(data.pop(MEMORY_FILE))
    files.remove()
    data[form] = OLD_FORMS[form](learnt)
    await _setup(hass, entry)
    assert all(_samples(entry)[i] >= n for i, n in samples.items())
    learnt = _learnt(entry)
    await _unload(hass, entry)
    data = _data(hass_storage, entry)
    assert [f for f in FORMS if f in data] == [MEMORY_FILE]
    assert files.read(data[MEMORY_FILE]) == learnt


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def _flipped(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x55
    path.write_bytes(bytes(raw))


def _other(path: Path) -> None:
    """Another learning, whole, in the slot named (a file and a Store from two backups)."""
    other = LearningFiles(path.parent / "other", "x")
    other.write("a", lines({"energy_kwh": {"B001": 1.0}}))
    path.write_bytes(other.path("a").read_bytes())


DAMAGES: dict[str, Callable[[Path], None]] = {
    "missing": lambda path: path.unlink(),
    "cut short": _cut,
    "a byte changed": _flipped,
    "another learning": _other,
    "not deflate": lambda path: path.write_bytes(b"{}\n"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
async def test_a_missing_or_damaged_file_restarts_the_learning_with_a_repair(
    hass: HomeAssistant,
    hass_storage: dict,
    learning_dir: Path,
    to_file: None,
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The learning file the Store names is missing, damaged or another one: the entry sets
    up and cycles, the controller's learning restarts (alarms, counters and settings stay),
    a repair and a warning say why; the next save writes a sound file and the next start
    reads it and clears the repair."""
    entry, samples = await _learnt_for(hass, 4)
    data = _data(hass_storage, entry)
    files = LearningFiles(learning_dir, entry.entry_id)
    DAMAGES[damage](files.path(SLOTS[0]))
    assert data[MEMORY_FILE]["file"] == files.path(SLOTS[0]).name
    with caplog.at_level(logging.WARNING):
        await _setup(hass, entry)
    assert entry.runtime_data.coordinator.last_update_success
    assert max(_samples(entry).values()) < max(samples.values())  # learning afresh
    issue = _issue(hass, entry)
    assert issue is not None
    assert files.path(SLOTS[0]).name in issue.translation_placeholders["reason"]  # type: ignore[index]
    assert "learning is lost" in caplog.text
    await cycles(hass, entry, 1)
    learnt = _learnt(entry)
    await _unload(hass, entry)
    assert files.read(_data(hass_storage, entry)[MEMORY_FILE]) == learnt
    await _setup(hass, entry)
    assert _issue(hass, entry) is None
    await _unload(hass, entry)


async def test_a_pointer_naming_another_file_is_never_opened(
    hass: HomeAssistant, hass_storage: dict, learning_dir: Path, to_file: None
) -> None:
    """A damaged or edited Store's pointer names a file outside the entry's two slots: it is
    not opened (nothing outside them is read), the learning restarts with the repair."""
    entry, _ = await _learnt_for(hass, 3)
    outside = learning_dir.parent / "outside"
    LearningFiles(outside, "x").write("a", lines({"energy_kwh": {"B001": 1.0}}))
    data = _data(hass_storage, entry)
    data[MEMORY_FILE]["file"] = f"../outside/{LearningFiles(outside, 'x').path('a').name}"
    await _setup(hass, entry)
    assert entry.runtime_data.coordinator.last_update_success
    assert _issue(hass, entry) is not None
    await _unload(hass, entry)


async def test_removing_the_entry_removes_its_learning_files(
    hass: HomeAssistant, learning_dir: Path, to_file: None
) -> None:
    """Both slots (and a temporary file a crash left) go with the entry; another entry's
    files stay."""
    entry, _ = await _learnt_for(hass, 2)
    await _setup(hass, entry)
    await _unload(hass, entry)  # the second save: the other slot
    files = LearningFiles(learning_dir, entry.entry_id)
    left = files.path(SLOTS[0]).with_name(f"{files.path(SLOTS[0]).name}.tmp")
    left.write_bytes(b"cut")
    assert all(files.path(slot).exists() for slot in SLOTS)
    other, _ = await _learnt_for(hass, 2, "loop8")
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert sorted(p.name for p in learning_dir.iterdir()) == [
        LearningFiles(learning_dir, other.entry_id).path(SLOTS[0]).name
    ]


async def test_a_store_an_older_version_wrote_after_the_file_wins(
    hass: HomeAssistant, hass_storage: dict, learning_dir: Path, to_file: None
) -> None:
    """Downgraded and upgraded again: the older version wrote its Store with the learning
    inside (no pointer) and left the learning files as they were. The Store's learning is
    restored, not the files'; the first save writes a slot anew and points to it."""
    entry, _ = await _learnt_for(hass, 3)
    data = _data(hass_storage, entry)
    files = LearningFiles(learning_dir, entry.entry_id)
    learnt = files.read(data.pop(MEMORY_FILE))
    learnt["energy_kwh"]["B001"] = 123456.0  # what the older version counted meanwhile
    data[MEMORY_LINES] = deflated_lines(learnt)[0]
    files.write(SLOTS[1], lines({"energy_kwh": {"B001": 7.0}}))  # stale, in the other slot
    await _setup(hass, entry)
    assert entry.runtime_data.coordinator.memory.energy_kwh["B001"] >= 123456.0
    await _unload(hass, entry)
    pointer = _data(hass_storage, entry)[MEMORY_FILE]
    assert files.read(pointer)["energy_kwh"]["B001"] >= 123456.0


async def test_a_learning_file_that_cannot_be_written_stays_in_the_store(
    hass: HomeAssistant,
    hass_storage: dict,
    tmp_path: Path,
    to_file: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Where the file cannot be written (here its folder's place is a file), the learning
    goes into the Store as deflated lines, as before the file, with a warning; a restart
    continues from it."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    monkeypatch.setattr(memory_file, "storage_folder", lambda _hass: blocked / "storage")
    with caplog.at_level(logging.WARNING):
        entry, samples = await _learnt_for(hass, 4)
    data = _data(hass_storage, entry)
    assert [f for f in FORMS if f in data] == [MEMORY_LINES]
    assert "learning file was not written" in caplog.text
    await _setup(hass, entry)
    assert all(_samples(entry)[i] >= n for i, n in samples.items())
    await _unload(hass, entry)


async def test_a_small_learning_stays_in_the_store_as_text(
    hass: HomeAssistant, hass_storage: dict, learning_dir: Path
) -> None:
    """Below the size (estate12's learning at the default): the Store keeps the text as
    before, no learning file is written."""
    entry, _ = await _learnt_for(hass, 3)
    data = _data(hass_storage, entry)
    assert [f for f in FORMS if f in data] == [MEMORY_JSON]
    assert not learning_dir.exists() or not any(learning_dir.iterdir())


def test_a_small_learning_is_not_deflated(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learning below the size is counted in lines and kept as text: never deflated
    (before, every save deflated it whole and then dropped that)."""

    def refuse(*_: Any) -> Any:
        raise AssertionError("deflated")

    monkeypatch.setattr(persistence, "deflated", refuse)
    memory = {"energy_kwh": {f"B{k:03d}": k * 0.5 for k in range(300)}}
    assert memory_form(memory) == {MEMORY_JSON: json_helper.json_bytes(memory).decode()}


def test_the_file_reads_back_or_says_why_not(tmp_path: Path) -> None:
    """Without Home Assistant: written and read back value for value (key order, NaN as
    null, number keys as text); every kind of damage raises LearningUnreadableError with
    the reason, never anything else."""
    memory = {
        "estimators": {f"B{k:05d}": {"flow": [k * 0.1, None], "n": k} for k in range(500)},
        "odd": {"nan": float("nan"), 3: 0.1 + 0.2},
    }
    files = LearningFiles(tmp_path, "e")
    pointer = files.write("b", lines(memory))
    back = files.read(pointer)
    assert json_helper.json_bytes(back) == json_helper.json_bytes(memory)
    assert back["odd"] == {"nan": None, "3": 0.1 + 0.2}
    assert stored_memory({MEMORY_JSON: json_helper.json_bytes(back).decode()}) == back
    raw = files.path("b").read_bytes()
    for pointer_or_file, why in (
        ({**pointer, "file": "x"}, "names no learning file"),
        ({**pointer, "format": 2}, "names no learning file"),
        ({**pointer, "sha256": "0" * 64}, "not the file the Store names"),
        ("not a mapping", "names no learning file"),
    ):
        with pytest.raises(LearningUnreadableError, match=why):
            files.read(pointer_or_file)
    files.path("b").write_bytes(raw[:-5])
    with pytest.raises(LearningUnreadableError, match="not the file"):
        files.read(pointer)
    cut = {**pointer, "sha256": hashlib.sha256(raw[:-5]).hexdigest()}
    with pytest.raises(LearningUnreadableError, match="damaged"):
        files.read(cut)
    files.path("b").unlink()
    with pytest.raises(LearningUnreadableError, match="missing"):
        files.read(pointer)
