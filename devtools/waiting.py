"""Waiting on a real process (gateway, broker, consumer), for the add-on tests and the gateway
benchmarks (here, not in tests/: benchmarks use it too)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], bool], what: str = "", guard_s: float = 120.0) -> None:
    """Poll a condition; the guard only turns a hang into a failure (no timed assertion)."""
    end = time.monotonic() + guard_s
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached: {what}")
