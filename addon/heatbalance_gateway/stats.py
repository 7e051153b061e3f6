"""Communication statistics per device and per link (§6.0.6, §5.3.7-1).

§6.0.6 asks for a first-attempt transmission success rate of at least 95 % on wired links and
80 % on wireless ones. A "request" is one Modbus transaction the gateway wants done (a block
read, a write, a read-back); it succeeds at first try when the first attempt gets a valid
answer (an exception response or a short/garbled frame is no success, issue 11).
Rates use a rolling window so an old outage does not hide today's state, and alarms need a
minimum sample so one lost frame after start-up does not raise one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

FIRST_TRY_THRESHOLD = {"wired": 0.95, "wireless": 0.80}  # §6.0.6
MIN_SAMPLE = 20
WINDOW = 1000


@dataclass(slots=True)
class LinkStats:
    """Counters for one device or one link (bus)."""

    link: str = "wired"
    requests: int = 0
    first_try_ok: int = 0
    attempts: int = 0
    no_response: int = 0
    retries: int = 0
    failures: int = 0
    latency_sum_s: float = 0.0
    latency_count: int = 0
    latency_max_s: float = 0.0
    exceptions: int = 0  # Modbus exception responses (device alive, no data)
    bad_responses: int = 0  # short, garbled or mismatched frames (issue 11)
    invalid_values: int = 0  # NaN/Inf, sentinels, outside the physical range
    poll_errors: int = 0  # unexpected errors inside a poll (logged with a traceback)
    window: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def record(self, attempts: int, answered: bool, first_answered: bool, latency_s: float) -> None:
        """Add one finished request: how many attempts, whether it finally got an answer."""
        self.requests += 1
        self.attempts += attempts
        self.retries += attempts - 1
        self.no_response += attempts - (1 if answered else 0)
        self.first_try_ok += int(first_answered)
        self.window.append(first_answered)
        if answered:
            self.latency_sum_s += latency_s
            self.latency_count += 1
            self.latency_max_s = max(self.latency_max_s, latency_s)
        else:
            self.failures += 1

    @property
    def first_try_rate(self) -> float | None:
        """Share of requests answered at the first attempt over the rolling window."""
        if not self.window:
            return None
        return sum(self.window) / len(self.window)

    @property
    def alarm(self) -> bool:
        """True when the rate is below the §6.0.6 threshold for this link type."""
        rate = self.first_try_rate
        if rate is None or len(self.window) < MIN_SAMPLE:
            return False
        return rate < FIRST_TRY_THRESHOLD[self.link]

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready figures (rates in %, latencies in ms)."""
        rate = self.first_try_rate
        average = self.latency_sum_s / self.latency_count if self.latency_count else None
        return {
            "link": self.link,
            "requests": self.requests,
            "attempts": self.attempts,
            "first_try_ok": self.first_try_ok,
            "first_try_rate": None if rate is None else round(rate * 100, 2),
            "threshold": FIRST_TRY_THRESHOLD[self.link] * 100,
            "retries": self.retries,
            "no_response": self.no_response,
            "failures": self.failures,
            "exceptions": self.exceptions,
            "bad_responses": self.bad_responses,
            "invalid_values": self.invalid_values,
            "poll_errors": self.poll_errors,
            "latency_ms_avg": None if average is None else round(average * 1000, 1),
            "latency_ms_max": round(self.latency_max_s * 1000, 1),
            "alarm": self.alarm,
        }
