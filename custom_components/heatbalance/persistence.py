"""What a network keeps over a restart of Home Assistant, in its ``Store``.

The cycle's memory (heat counters, the engine loop's learning and transmission counts), the
active alarms with their acknowledgements, the §8.2.5/§8.2.6 balance state with the clock it
counts on, and the simulated plant's valves, pump and time. A damaged or foreign part starts
afresh; nothing worse (regulation restarts, no crash).

The learning is kept as one compact JSON text (``memory_json``), not as a JSON tree: Home
Assistant writes every Store indented by two spaces, one number per line, and on a
23,000-household network the learning's tree (estimators, meter check, diagnoser,
identification) made ≈120 MB a save, 49 MB of it data — on the SD card of a typical HA box,
once a cycle. As text it is written at its compact size, parsed by the same JSON library,
so it reads back value for value. A Store written before (``memory`` as a tree) still
loads; an older version of the integration ignores the text and starts its learning afresh.

A large network's learning (from :data:`FILE_MIN_BYTES` of JSON lines) is not kept in the
Store at all: it goes to a file of its own beside it (:mod:`.memory_file`: deflated JSON
lines, written and read a chunk at a time in the executor), and the Store keeps a pointer
to it (``memory_file``: the file's name, size and SHA-256). Inside the Store, HA's own read
parsed it and every save serialised it in one call each, holding the GIL (so the event loop)
for their length (issue 10, nothing blocking in the event loop). Below that size the Store's
calls on its text take under 0.5 ms. A file that is missing, damaged
or not the one named gives an empty learning, flagged (the caller raises a repair); where
the file cannot be written, the learning goes into the Store as deflated lines
(``memory_lines``, :mod:`.memory_lines`), as it did before. Every older form still loads:
``memory_lines``, ``memory_zlib`` (the text deflated as one base64 text), ``memory_json``
and ``memory``; the first save writes the current form. A version of the integration from
before the file ignores the pointer and restarts its learning (the Store itself loads).
"""

from __future__ import annotations

import base64
import binascii
import logging
import zlib
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from typing import Any

from homeassistant.helpers.json import json_bytes
from homeassistant.util.json import JSON_DECODE_EXCEPTIONS, json_loads

from .const import CONF_ACTUATOR_ENTITY, CONF_FLOW_ENTITY, SOURCE_SIMULATOR
from .cycle import CycleMemory
from .engine.alarms import AlarmBook
from .engine.control.base import usable
from .engine.diagnosis import RESTORE_ERRORS
from .engine.evaluation import BalanceStateMachine
from .engine.simulator import Simulator
from .memory_file import LearningFiles, LearningUnreadableError
from .memory_lines import deflated, lines, read_deflated_lines
from .settings import InletConfig

_LOGGER = logging.getLogger(__name__)

STORE_VERSION = 1
SAVE_DELAY_S = 30
PLANT_CLOCK = "plant"  # §8.2.6 timer on the simulated plant's time
WALL_CLOCK = "wall"  # §8.2.6 timer on wall-clock time (real plants)
MEMORY_JSON = "memory_json"  # the cycle memory as compact JSON text (see the module's doc)
MEMORY_TREE = "memory"  # the same as a JSON tree: Stores written before the text form
MEMORY_ZLIB = "memory_zlib"  # the text deflated, as base64: Stores written before the lines
MEMORY_LINES = "memory_lines"  # JSON lines deflated, as base64: if the file cannot be written
MEMORY_FILE = "memory_file"  # the pointer to a large network's learning file (module doc)
FILE_MIN_BYTES = 1_000_000  # JSON lines of at least this size go to the learning file


def stored_state(
    memory: dict[str, Any],
    alarms: AlarmBook,
    balance: BalanceStateMachine,
    clock: str,
    simulator: Simulator,
    sources: Mapping[str, list[str | None]] | None = None,
    write: Callable[[Iterable[bytes]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything the Store keeps (JSON); ``memory`` is the cycle memory already serialised
    (in the executor: the controller's learning is large on big networks); ``sources`` the
    devices the learning was made on (:func:`source_keys`); ``write`` writes a large
    learning to its file (:func:`memory_form`)."""
    sim = simulator
    return {
        **memory_form(memory, write),
        "alarms": alarms.as_dict(),
        "balance": balance.as_dict(),
        "balance_clock": clock,
        "plant": {
            "time_s": sim.time_s,
            "pump_speed": sim.pump_speed,
            "openings": {iid: float(sim.openings[k]) for k, iid in enumerate(sim.ids)},
            "sources": dict(sources or {}),
        },
    }


def restore_state(
    stored: dict[str, Any],
    alarms: AlarmBook,
    clock: str,
    simulator: Simulator,
    inlets: Mapping[str, InletConfig] | None = None,
    files: LearningFiles | None = None,
) -> tuple[CycleMemory, BalanceStateMachine, str | None]:
    """Read back :func:`stored_state`: alarms and the simulated plant in place; returns the
    cycle's memory, the balance state (fresh when it counted another clock's seconds) and
    why the learning file named was not read (:func:`restored_memory`; ``files``: the
    entry's learning files).

    Inlets whose source changed since (``inlets`` against the stored keys) are named in the
    memory's ``changed``: the engine loop forgets what it learnt on the old devices (the
    network model's valve follows the new device's feedback, or the commands it is sent).
    """
    learnt, lost = restored_memory(stored, files)
    memory = CycleMemory.from_dict(learnt)
    del learnt
    alarms.restore(stored.get("alarms", {}))
    try:
        balance = BalanceStateMachine.from_dict(stored.get("balance", {}))
    except RESTORE_ERRORS:  # a damaged store restarts regulation, nothing worse
        balance = BalanceStateMachine()
    if stored.get("balance_clock", PLANT_CLOCK) != clock:
        balance = BalanceStateMachine()
    plant = stored.get("plant")
    plant = plant if isinstance(plant, Mapping) else {}
    _restore_plant(plant, simulator)
    keys = plant.get("sources")
    memory.sources = {str(k): v for k, v in keys.items()} if isinstance(keys, Mapping) else {}
    memory.changed = changed_sources(keys, inlets or {})
    return memory, balance, lost


def packed_memory(memory: Mapping[str, Any]) -> str:
    """The cycle memory as compact JSON text, encoded as HA encodes its Stores (orjson with
    HA's defaults: a NaN becomes null, a non-text key text), so reading it back gives what
    the indented tree gave (:func:`memory_form` stores it, deflated when large)."""
    return json_bytes(memory).decode("utf-8")


def memory_form(
    memory: Mapping[str, Any],
    write: Callable[[Iterable[bytes]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Store's entry for the cycle memory: from :data:`FILE_MIN_BYTES` of JSON lines
    on, the pointer ``write`` returns once it wrote them to the learning file
    (:data:`MEMORY_FILE`, :meth:`.LearningFiles.write`) — without ``write``, or where it
    fails, the lines deflated into the Store (:data:`MEMORY_LINES`); below, the
    :func:`packed_memory` text (:data:`MEMORY_JSON`). The lines are deflated only once
    they are known to be that large: a small network's are counted, then dropped."""
    stream = lines(memory)
    head: list[bytes] = []
    size = 0
    for line in stream:
        head.append(line)
        size += len(line) + 1
        if size >= FILE_MIN_BYTES:
            break
    else:
        return {MEMORY_JSON: packed_memory(memory)}
    every: Iterable[bytes] = chain(head, stream)
    del head
    if write is not None:
        try:
            return {MEMORY_FILE: write(every)}
        except OSError as err:
            _LOGGER.warning("The learning file was not written (%s); kept in the Store", err)
            every = lines(memory)
    return {MEMORY_LINES: deflated(every)[0]}


def restored_memory(
    stored: Mapping[str, Any], files: LearningFiles | None
) -> tuple[dict[str, Any], str | None]:
    """The cycle memory of a Store in any form, the learning file's (:data:`MEMORY_FILE`)
    read through ``files``; with why the file's learning was not read (None when it was,
    or the Store holds none): an empty learning then, never an exception."""
    pointer = stored.get(MEMORY_FILE)
    if pointer is None:
        return stored_memory(stored), None
    try:
        if files is None:
            raise LearningUnreadableError("no learning files here")
        return files.read(pointer), None
    except LearningUnreadableError as err:
        _LOGGER.warning("The controller's learning is lost, it restarts: %s", err)
        return {}, str(err)


def stored_memory(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The cycle memory of a Store in any form (:data:`MEMORY_LINES`, :data:`MEMORY_JSON`
    text, or an older Store's :data:`MEMORY_ZLIB` text or :data:`MEMORY_TREE`); an empty
    one where it is damaged (the learning restarts)."""
    lines = stored.get(MEMORY_LINES)
    if isinstance(lines, str):
        return read_deflated_lines(lines)
    deflated = stored.get(MEMORY_ZLIB)
    text = stored.get(MEMORY_JSON)
    if isinstance(deflated, str):
        try:
            text = zlib.decompress(base64.b64decode(deflated, validate=True))
        except (binascii.Error, ValueError, zlib.error):
            return {}
    if isinstance(text, str | bytes):
        try:
            data = json_loads(text)
        except JSON_DECODE_EXCEPTIONS:
            return {}
    else:
        data = stored.get(MEMORY_TREE, {})
    return data if isinstance(data, dict) else {}


def source_key(cfg: InletConfig) -> list[str | None]:
    """The devices an inlet's valve position and flow come from: when this changes, what
    was learnt on the old ones (where the valve stood, the flow's estimate) is void."""
    if cfg.source == SOURCE_SIMULATOR:
        return [SOURCE_SIMULATOR]
    entities = cfg.entities
    return [
        cfg.source,
        entities.get(CONF_ACTUATOR_ENTITY),
        entities.get(CONF_FLOW_ENTITY),
        cfg.gateway_id,
        cfg.gateway_valve,
        cfg.gateway_meter,
    ]


def source_keys(
    inlets: Mapping[str, InletConfig], before: Mapping[str, list[str | None]]
) -> dict[str, list[str | None]]:
    """The source keys to store: the mapped inlets', and those of inlets whose subentry was
    removed — their valve keeps the last command it received, so mapped again to the same
    devices, what was known of it still holds (no command reached it meanwhile)."""
    return {**before, **{iid: source_key(cfg) for iid, cfg in inlets.items()}}


def left_real(
    stored: Mapping[str, list[str | None]], inlets: Mapping[str, InletConfig]
) -> set[str]:
    """Inlets no subentry maps any more whose valve was a real device: it stands where its
    last command put it (the network model keeps that), not at the configured opening."""
    return {iid for iid, key in stored.items() if iid not in inlets and key != [SOURCE_SIMULATOR]}


def changed_sources(stored: Any, inlets: Mapping[str, InletConfig]) -> set[str]:
    """Inlets whose :func:`source_key` differs from the stored one. An inlet the Store does
    not name was unmapped: the simulated plant's (or assumed) valve. A Store written before
    sources were kept names none: nothing is known to have changed."""
    if not isinstance(stored, Mapping):
        return set()
    unmapped = [SOURCE_SIMULATOR]
    return {iid for iid, cfg in inlets.items() if stored.get(iid, unmapped) != source_key(cfg)}


def _restore_plant(plant: Mapping[str, Any], simulator: Simulator) -> None:
    """The simulated plant's valves, pump and clock as stored; a damaged value (text, NaN,
    not a mapping) is left as the plant has it. ``float`` raised on text and the simulator
    on NaN, in the coordinator's setup: the entry did not load."""
    openings = plant.get("openings")
    for iid, opening in openings.items() if isinstance(openings, Mapping) else ():
        value = usable(opening)
        if iid in simulator.network.inlets and value is not None:
            simulator.set_opening(iid, value)  # clamped to the device's limits
    speed = usable(plant.get("pump_speed"))
    if speed is not None:
        simulator.set_pump_speed(speed)
    time_s = usable(plant.get("time_s", 0.0))
    if time_s is not None:
        simulator.time_s = time_s
