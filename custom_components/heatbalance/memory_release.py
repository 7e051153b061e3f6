"""Let go of a large tree a slice at a time, so the event loop is never held.

A 23,000-household network's learning read back from the Store is a tree of millions of
Python objects (≈156 MB as JSON). Dropped at once, it is freed in one cascade of
deallocations: one C call, holding the GIL (so the event loop, another thread of the same
process) for its whole length — 0.3 s on this 2-core machine when quiet. :func:`release`
frees it a record at a time from Python, so the interpreter hands the GIL to the event loop
between two whenever it asks (``sys.getswitchinterval``, 5 ms). Issue 10, "nothing blocking
in the event loop". Pure Python, no Home Assistant.
"""

from __future__ import annotations

import sys
from typing import Any

LARGE = 128  # a mapping with more keys is emptied a key at a time


def release(trees: list[dict[str, Any]]) -> None:
    """Empty the read-back learnings in ``trees`` (the caller's list, their only holder)
    a slice at a time, so no single cascade of deallocations holds the GIL for long (see the
    module's doc); ``trees`` ends empty.

    Only mappings nothing else refers to are emptied: the control loop built from a tree
    may have kept some of its parts as they are, and those stay whole (they are freed when
    the loop lets them go)."""
    while trees:
        # ``trees``' slot and getrefcount's argument: held by nothing else
        if sys.getrefcount(trees[-1]) > 2:
            trees.pop()
            continue
        node = trees.pop()
        if len(node) > LARGE:
            while node:
                node.popitem()  # one record freed at a time
        else:
            trees.extend(v for v in node.values() if isinstance(v, dict))
            node.clear()
