"""A large network's learning in a file of its own beside its Store, never in the Store.

Issue 10, "nothing blocking in the event loop": kept inside Home Assistant's ``Store``, a
23,000-household network's learning (29 MB deflated, 39 MB of base64 in a 41 MB Store file)
was parsed by HA's own Store read in one ``orjson`` call (62-79 ms thread CPU with the GIL
held, 0.4-0.75 s of stall at load 30) and serialised at every save in another (18-21 ms);
both run in the executor, but a C call keeps the GIL, so the loop waits as long. Here the
learning is written to ``.storage/heatbalance.<entry id>.learning-<slot>`` as deflated JSON
lines (:mod:`.memory_lines`: one slice of the tree a line), and the Store keeps only a
pointer: the file's name, size and SHA-256. The file is read and written a chunk at a time
in the executor, so no single call holds the GIL for long, and neither HA version ever
parses or serialises the learning.

The file is written atomically (a temporary file, ``fsync``, rename, the folder's
``fsync``), into one of two slots: the one the Store on disk does not point to. A crash
between the file and the Store's write leaves the Store pointing to the other slot, whole
and matching. A file that is missing, damaged, or not the one the Store names (its digest
differs: a Store or a file restored from different backups) gives an empty learning and
the caller flags it; nothing raises. The files go with HA's backups (``.storage``).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.util.json import JSON_DECODE_EXCEPTIONS

from .const import DOMAIN
from .memory_lines import ZLIB_LEVEL, inflated_lines

SLOTS = ("a", "b")
READ_CHUNK = 1 << 18  # bytes read, hashed and inflated at a time (≈2 MB of lines at 23k)
FORMAT = 1  # the pointer's format: deflated JSON lines (memory_lines)


def storage_folder(hass: HomeAssistant) -> Path:
    """Where the files live: Home Assistant's own ``.storage``, beside the Stores (kept in
    its backups, §5.3.10)."""
    return Path(hass.config.path(STORAGE_DIR))


class LearningUnreadableError(Exception):
    """The learning file the Store names is missing, damaged or another one."""


@dataclass(frozen=True)
class LearningFiles:
    """The learning files of one network entry in HA's ``.storage`` folder."""

    folder: Path
    entry_id: str

    @classmethod
    def of(cls, hass: HomeAssistant, entry_id: str) -> LearningFiles:
        """The files of entry ``entry_id`` in :func:`storage_folder`."""
        return cls(storage_folder(hass), entry_id)

    def path(self, slot: str) -> Path:
        """The file of ``slot`` (one of :data:`SLOTS`)."""
        return self.folder / f"{DOMAIN}.{self.entry_id}.learning-{slot}"

    def slot_of(self, pointer: Any) -> str | None:
        """The slot a Store's pointer names; None for anything else (a name from a damaged
        or edited Store never reaches the file system: only this entry's slot files)."""
        name = pointer.get("file") if isinstance(pointer, Mapping) else None
        return next((s for s in SLOTS if self.path(s).name == name), None)

    def write(self, slot: str, lines: Iterable[bytes]) -> dict[str, Any]:
        """Write ``lines`` deflated to ``slot``'s file, atomically; the Store's pointer.
        Raises ``OSError`` where the file cannot be written (the temporary file removed)."""
        path = self.path(slot)
        temporary = path.with_name(f"{path.name}.tmp")
        digest = hashlib.sha256()
        squeeze = zlib.compressobj(ZLIB_LEVEL)
        size = text = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with temporary.open("wb") as out:
                for line in lines:
                    text += len(line) + 1
                    size += _put(out, digest, squeeze.compress(line + b"\n"))
                size += _put(out, digest, squeeze.flush())
                out.flush()
                os.fsync(out.fileno())
            temporary.replace(path)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        _sync_folder(self.folder)
        return {
            "file": path.name,
            "format": FORMAT,
            "bytes": size,
            "text_bytes": text,
            "sha256": digest.hexdigest(),
        }

    def read(self, pointer: Any) -> dict[str, Any]:
        """The learning the Store's ``pointer`` names, read and inflated a chunk at a time.
        Raises :class:`LearningUnreadableError` (with the reason) where the file is missing,
        damaged, or not the one the pointer names."""
        slot = self.slot_of(pointer)
        if slot is None or pointer.get("format") != FORMAT:
            raise LearningUnreadableError(
                "the Store's pointer names no learning file of this entry"
            )
        chunks: list[bytes] = []
        digest = hashlib.sha256()
        try:
            with self.path(slot).open("rb") as source:
                while chunk := source.read(READ_CHUNK):
                    digest.update(chunk)
                    chunks.append(chunk)
        except FileNotFoundError as err:
            raise LearningUnreadableError(f"{self.path(slot).name} is missing") from err
        except OSError as err:
            raise LearningUnreadableError(f"{self.path(slot).name} unreadable: {err}") from err
        if digest.hexdigest() != pointer.get("sha256"):
            raise LearningUnreadableError(f"{self.path(slot).name} is not the file the Store names")
        chunks.reverse()  # popped from the end: each chunk let go once inflated
        try:
            return inflated_lines(chunks.pop() for _ in range(len(chunks)))
        except (ValueError, zlib.error, *JSON_DECODE_EXCEPTIONS) as err:
            raise LearningUnreadableError(f"{self.path(slot).name} is damaged: {err}") from err

    def remove(self) -> None:
        """Remove every learning file of the entry (it is removed, or its learning went
        back into the Store)."""
        for slot in SLOTS:
            path = self.path(slot)
            path.unlink(missing_ok=True)
            path.with_name(f"{path.name}.tmp").unlink(missing_ok=True)


def _put(out: Any, digest: Any, data: bytes) -> int:
    """Write and hash ``data``; its length."""
    if data:
        digest.update(data)
        out.write(data)
    return len(data)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (the folder's entry), where the system allows it."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
