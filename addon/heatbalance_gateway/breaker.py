"""Per-device circuit breaker.

Known gateways freeze a whole RS-485 line on one dead device because every poll of it burns
``(retries + 1) × timeout`` per register block. The breaker opens after ``failures`` consecutive
failed polls: the device is marked unavailable and only gets a single short probe (first block,
no retries) once per backoff period. The first successful probe closes it again (issue 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    """Closed = healthy; open = backed off; half_open = the next poll is a probe."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    """Consecutive-failure breaker with exponential backoff in units of poll intervals."""

    failures_to_open: int = 3
    max_backoff_polls: int = 1
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    backoff_polls: int = 0
    _skip: int = 0

    @property
    def available(self) -> bool:
        """Whether the device is reported available (closed breaker)."""
        return self.state is BreakerState.CLOSED

    def plan(self) -> str:
        """Called once per scheduled poll: ``"full"``, ``"probe"`` or ``"skip"``.

        While open, ``backoff_polls - 1`` scheduled polls are skipped before a probe; with
        ``max_backoff_polls = 1`` every scheduled poll is a probe, so a device that comes back
        is seen at its very next poll.
        """
        if self.state is BreakerState.CLOSED:
            return "full"
        if self._skip > 0:
            self._skip -= 1
            return "skip"
        self.state = BreakerState.HALF_OPEN
        return "probe"

    def record_success(self) -> bool:
        """Register an answered poll; returns True if this closed the breaker."""
        reopened = self.state is not BreakerState.CLOSED
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.backoff_polls = 0
        self._skip = 0
        return reopened

    def record_failure(self) -> bool:
        """Register a failed poll; returns True if this opened the breaker."""
        self.consecutive_failures += 1
        if self.state is BreakerState.CLOSED:
            if self.consecutive_failures >= self.failures_to_open:
                self._open(1)
                return True
            return False
        self._open(min(max(self.backoff_polls, 1) * 2, self.max_backoff_polls))
        return False

    def _open(self, backoff_polls: int) -> None:
        self.state = BreakerState.OPEN
        self.backoff_polls = max(1, min(backoff_polls, self.max_backoff_polls))
        self._skip = self.backoff_polls - 1
