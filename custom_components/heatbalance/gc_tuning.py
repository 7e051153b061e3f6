"""Keep a large network's long-lived objects out of CPython's full garbage collections.

A 23,000-household network holds millions of Python objects for as long as the entry runs
(the network model, the simulated plant, the controller's state per inlet). CPython's
collector walks every tracked object on each full collection, with the GIL held, so the
event loop stops with it: on the generated 23,870-inlet network such passes took up to
seconds at a time (``benchmarks/bench_product.py`` prints the collector's pauses).
``gc.freeze()`` after the entry's setup moves what exists then into a permanent generation
that collections skip; the objects a cycle makes and drops are still collected as before.

The freeze is process-wide, so it is done only for networks above :data:`LARGE_NETWORK`
inlets, and undone when such an entry unloads (its objects must become collectable again;
another large entry is frozen anew at its next setup). Small networks are left alone. The
setup freezes after each step that builds many objects (network and plant, first cycle,
entities), so each later full collection of the setup walks only what came since.

The engine's work for such a network (loading it, building the simulator, restoring and
building the control loop, every cycle) runs in the executor with the cyclic collector
paused (:func:`run_paused`): it allocates hundreds of thousands of objects that live on or
die by reference counting, and each collection those allocations triggered walked
everything not yet frozen — 1.3 s of a 4.2 s first cycle after a restart at 23,870 inlets.
The pause is process-wide and lasts one executor job (seconds); garbage in reference
cycles made meanwhile is collected by the next collection after it.

A cycle's job ends by settling the heap (:func:`run_cycle_paused`): what a cycle leaves
behind (≈124,000 new long-lived objects at 23,870 inlets, ≈200,000 through HA; the state it
replaced is freed by reference counting) was walked by the following collections,
≈170–190 ms of collector CPU per cycle through HA and pauses up to 218–272 ms with the GIL
held. Now the survivors are frozen at once, without a collection: any collection of them
costs 75–220 ms (the job ran with the collector paused, so they are all still young), and
a full one found 0–22 objects of garbage per cycle (the engine's cycle leaves none in
reference cycles: 0 objects per cycle measured on gen23k and district120). What garbage is
frozen so, or falls into a garbage cycle after being frozen alive, is collected every
:data:`REFREEZE_CYCLES`-th cycle, which unfreezes and collects everything (one full
collection, as the collector ran by itself every few cycles before).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

LARGE_NETWORK = 5000  # inlets; below this a full collection costs a few ms
REFREEZE_CYCLES = 30  # a large network's cycles between two collections of everything
FROZEN = "heatbalance_gc_frozen"  # hass.data: entry ids whose setup froze the heap
_pause = threading.Lock()
_paused = [0, False]  # jobs running paused; whether the collector was on before the first
_settled = [0]  # cycles settled since everything was last collected


@callback
def async_freeze(hass: HomeAssistant, entry: ConfigEntry, inlets: int) -> None:
    """Freeze what exists now if the network is large; unfreeze when the entry unloads
    (HA also runs the unload callbacks of a setup that fails)."""
    if inlets < LARGE_NETWORK:
        return
    frozen: set[str] = hass.data.setdefault(FROZEN, set())
    gc.freeze()  # O(1); counting the frozen objects (gc.get_freeze_count) walks them all
    if entry.entry_id in frozen:
        return
    frozen.add(entry.entry_id)

    @callback
    def unfreeze() -> None:
        frozen.discard(entry.entry_id)
        gc.unfreeze()  # the entry's objects (and everything frozen with them) collectable

    entry.async_on_unload(unfreeze)


@contextmanager
def paused(inlets: int) -> Iterator[None]:
    """The cyclic collector paused while the block runs, if the network is large.

    Blocks of several entries (or platforms) may overlap: the collector is switched back on
    when the last one ends, and only if it was on when the first began.
    """
    if inlets < LARGE_NETWORK:
        yield
        return
    with _pause:
        if _paused[0] == 0:
            _paused[1] = gc.isenabled()
            gc.disable()
        _paused[0] += 1
    try:
        yield
    finally:
        with _pause:
            _paused[0] -= 1
            if _paused[0] == 0 and _paused[1]:
                gc.enable()


def freeze_large(inlets: int) -> None:
    """Freeze what exists now if the network is large (the entry's setup registered the
    unfreeze at unload, :func:`async_freeze`): ending a pause during which a large
    network's entities were added, so the deferred collection does not walk them all on
    the loop (327 ms in one callback at 23k)."""
    if inlets >= LARGE_NETWORK:
        gc.freeze()


def run_paused[T](inlets: int, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` with the collector :func:`paused` (an executor job)."""
    with paused(inlets):
        return func(*args)


def run_frozen[T](inlets: int, func: Callable[..., T], *args: Any) -> T:
    """:func:`run_paused`, then for a large network what exists frozen before the collector
    is on again: a job that leaves a large structure for a later one (the Store's learning
    parsed at a restart, ≈156 MB of JSON at 23,870 inlets, which the first cycle reads into
    the control loop and drops). Left young, the next collection after the job walked all
    of it — 0.27 s CPU (Python 3.14) / 0.38 s (3.13) with the GIL held, on whichever thread
    allocated next, and the older generations' collections walked it again. Frozen, it is
    still freed by reference counting once dropped (a JSON tree holds no reference cycles);
    the entry's unload unfreezes (:func:`async_freeze` registered it)."""
    with paused(inlets):
        out = func(*args)
        freeze_large(inlets)
    return out


def run_cycle_paused[T](inlets: int, func: Callable[..., T], *args: Any) -> T:
    """A cycle's job: :func:`run_paused`, then for a large network the heap settled — the
    survivors frozen (every :data:`REFREEZE_CYCLES`-th time everything unfrozen and
    collected first). See the module's docstring."""
    with paused(inlets):
        out = func(*args)
        if inlets >= LARGE_NETWORK:
            settle()
    return out


def settle() -> None:
    """Freeze what exists; every :data:`REFREEZE_CYCLES`-th time unfreeze and collect
    everything first (the entry's unload unfreezes as before)."""
    _settled[0] += 1
    if _settled[0] >= REFREEZE_CYCLES:
        _settled[0] = 0
        gc.unfreeze()
        gc.collect()
    gc.freeze()
