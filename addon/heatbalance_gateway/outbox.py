"""Durable store-and-forward outbox in SQLite (WAL) — §6.0.3 resume after interruption.

Every poll cycle's readings are committed in one transaction before anything is sent. Each
reading gets a sequence number (``AUTOINCREMENT``: strictly increasing, never reused, even after
deletes or restarts) and keeps its original timestamp. Rows are deleted only when the consumer
acknowledges, at application level, the highest contiguous sequence it has stored: a broker
PUBACK is not delivery (FACTS.md: mosquitto lost up to 2,000 of 3,000 acked messages with the
subscriber offline). A size cap and a TTL bound the file; what they drop is counted and reported
as an alarm, never silently lost.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    device TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    request_id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    result TEXT
);
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One stored reading."""

    seq: int
    ts: float
    device: str
    payload: str  # JSON object of values, stored pre-encoded so replay does no re-encoding


class Outbox:
    """SQLite outbox; single writer (the gateway's event loop thread)."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 2_000_000,
        ttl_s: float = 200 * 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self.ttl_s = ttl_s
        self.clock = clock
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed cycle survives power loss too, not only a process kill.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.stream = self._meta("stream") or self._set_meta("stream", secrets.token_hex(6))
        self.dropped = int(self._meta("dropped") or 0)
        self.count = int(self.db.execute("SELECT COUNT(*) FROM readings").fetchone()[0])
        self._last_ttl_check = 0.0

    # ---- meta -------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> str:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        return value

    # ---- writing ----------------------------------------------------------------------
    def append(self, readings: Iterable[tuple[float, str, dict[str, Any]]]) -> int:
        """Store one cycle of readings atomically; returns the last sequence number."""
        rows = [
            (ts, device, json.dumps(values, separators=(",", ":")))
            for ts, device, values in readings
        ]
        if not rows:
            return self.last_seq()
        with self._tx():
            self.db.executemany("INSERT INTO readings (ts, device, payload) VALUES (?, ?, ?)", rows)
            self.count += len(rows)
            self._enforce_limits()
        return self.last_seq()

    def _enforce_limits(self) -> None:
        """Drop oldest beyond the cap, and anything past the TTL; count what is dropped."""
        dropped = 0
        if self.count > self.max_rows:
            excess = self.count - self.max_rows
            cur = self.db.execute(
                "DELETE FROM readings WHERE seq IN (SELECT seq FROM readings ORDER BY seq LIMIT ?)",
                (excess,),
            )
            dropped += cur.rowcount
        now = self.clock()
        if now - self._last_ttl_check > 1.0:
            self._last_ttl_check = now
            cur = self.db.execute("DELETE FROM readings WHERE ts < ?", (now - self.ttl_s,))
            dropped += cur.rowcount
        if dropped:
            self.count -= dropped
            self.dropped += dropped
            self._set_meta("dropped", str(self.dropped))

    def expire(self) -> None:
        """Apply the TTL now (also done on every append)."""
        self._last_ttl_check = 0.0
        with self._tx():
            self._enforce_limits()

    def ack(self, seq: int) -> int:
        """Delete every row up to ``seq`` (the consumer stored them); returns rows deleted."""
        with self._tx():
            cur = self.db.execute("DELETE FROM readings WHERE seq <= ?", (seq,))
            self.count -= cur.rowcount
            if seq > int(self._meta("acked") or 0):
                self._set_meta("acked", str(seq))
        return cur.rowcount

    # ---- reading ----------------------------------------------------------------------
    def fetch(self, after_seq: int, limit: int) -> list[Row]:
        """Rows with seq > after_seq in order."""
        cur = self.db.execute(
            "SELECT seq, ts, device, payload FROM readings WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [Row(*r) for r in cur.fetchall()]

    def last_seq(self) -> int:
        """Highest sequence ever issued (0 if none)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
        return 0 if row is None else int(row[0])

    def acked(self) -> int:
        """Highest sequence acknowledged by the consumer."""
        return int(self._meta("acked") or 0)

    def floor(self) -> int:
        """Lowest sequence still stored; everything below is acked or dropped."""
        row = self.db.execute("SELECT MIN(seq) FROM readings").fetchone()
        return self.last_seq() + 1 if row[0] is None else int(row[0])

    def backlog(self) -> dict[str, Any]:
        """Rows waiting for an ack, age of the oldest, and drops so far (statistics)."""
        row = self.db.execute("SELECT MIN(ts) FROM readings").fetchone()
        age = None if row[0] is None else max(0.0, self.clock() - float(row[0]))
        return {
            "rows": self.count,
            "oldest_age_s": None if age is None else round(age, 1),
            "dropped": self.dropped,
            "last_seq": self.last_seq(),
            "acked_seq": self.acked(),
        }

    # ---- command journal (request ids execute once) ------------------------------------
    def command_seen(self, request_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(seen, stored result or None while pending/interrupted)."""
        row = self.db.execute(
            "SELECT result FROM commands WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row is None:
            return False, None
        return True, None if row[0] is None else json.loads(row[0])

    def command_start(self, request_id: str) -> None:
        """Journal a command before executing it, so a restart never repeats it."""
        self.db.execute(
            "INSERT OR IGNORE INTO commands (request_id, ts, result) VALUES (?, ?, NULL)",
            (request_id, self.clock()),
        )

    def command_done(self, request_id: str, result: dict[str, Any]) -> None:
        """Store the command's result for repeated requests."""
        self.db.execute(
            "UPDATE commands SET result = ? WHERE request_id = ?", (json.dumps(result), request_id)
        )

    def prune_commands(self, older_than_s: float = 7 * 86400.0) -> None:
        """Forget request ids after a week."""
        self.db.execute("DELETE FROM commands WHERE ts < ?", (self.clock() - older_than_s,))

    # ---- plumbing ---------------------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        """Close the database (WAL is checkpointed by SQLite)."""
        self.db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error (autocommit connection)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
