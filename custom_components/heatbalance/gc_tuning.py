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
"""

from __future__ import annotations

import gc

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

LARGE_NETWORK = 5000  # inlets; below this a full collection costs a few ms
FROZEN = "heatbalance_gc_frozen"  # hass.data: entry ids whose setup froze the heap


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
