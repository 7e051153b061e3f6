"""Durable store-and-forward outbox in SQLite (WAL) — §6.0.3 resume after interruption.

Every poll cycle's readings are committed in one transaction before anything is sent. Each
reading gets a sequence number (``AUTOINCREMENT``: strictly increasing, never reused, even after
deletes or restarts) and keeps its original timestamp. Rows are deleted only when the consumer
acknowledges, at application level, the highest contiguous sequence it has stored: a broker
PUBACK is not delivery (FACTS.md: mosquitto lost up to 2,000 of 3,000 acked messages with the
subscriber offline). A size cap and a TTL bound the file; what they drop is counted and reported
as an alarm, never silently lost.

Storage that cannot lie (issue 11):

* **Epochs.** The stream id names one life of the file. It is new whenever the file is created
  or recreated (a file found empty is alarmed), and whenever the consumer acknowledges a
  sequence beyond anything this file ever sent (``sent_max``, persisted before each send): the
  file was restored from a backup or lost its WAL tail, and its new sequences would collide with
  ones the consumer already holds. Rows the consumer provably holds are deleted, the rest is
  sent again under the new stream, which the consumer takes as a new stream.
* **Storage faults.** A file that is corrupt (moved aside), read-only or on a full disk never
  stops the gateway: the error is logged with the path, the outbox continues in memory (a new
  epoch, at most ``memory_rows`` rows, oldest dropped and counted) so polling and forwarding go
  on, and :meth:`retry_file` moves the rows back into the file once it is writable again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)
MEMORY_ROWS = 200_000  # in-memory fallback cap (~200 bytes a row)

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


def _filesystem_state(path: Path) -> str:
    """What the filesystem says about the outbox's directory — SQLite reports a read-only
    filesystem only as 'unable to open database file'."""
    try:
        fs = os.statvfs(path.parent)
    except OSError as err:
        return f" ({path.parent}: {err.strerror})"
    if fs.f_flag & os.ST_RDONLY:
        return " (read-only filesystem)"
    if fs.f_bavail == 0:
        return " (no space left on the filesystem)"
    return ""


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
        memory_rows: int = MEMORY_ROWS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.max_rows = max_rows
        self.memory_rows = memory_rows
        self.clock = clock
        self.ttl_s = ttl_s
        self.storage_error: str | None = None  # set while the outbox lives in memory
        self.epoch_reason = "opened"
        self.epoch_changes = 0
        self.recreated = False  # the file was found empty: what it held is gone (alarmed)
        self.drops_since_report = 0
        self._last_ttl_check = 0.0
        try:
            self.db = self._open_file()
        except (sqlite3.Error, OSError) as err:
            self.db = self._memory_db(err, [], [])
        self._load_state()

    # ---- opening ----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists() and self.path.stat().st_size > 0
        empty = self.path.exists() and not existed
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed cycle survives power loss too, not only a process kill.
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            # a write at open: a read-only file or full disk shows now, not at the first cycle
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('opened', ?)",
                (repr(self.clock()),),
            )
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                db.close()
            raise
        if empty or (existed and _meta(db, "stream") is None):
            self.recreated = True
            _LOGGER.warning(
                "outbox %s was empty: anything it held is lost; a new stream starts", self.path
            )
        return db

    def _open_file(self) -> sqlite3.Connection:
        """Open (or create) the file; a corrupt one is moved aside and replaced."""
        try:
            return self._connect()
        except sqlite3.DatabaseError as err:
            if not _corrupt(err):
                raise
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(self.clock())}")
            _LOGGER.error(
                "outbox %s is corrupt (%s): moved to %s, a new outbox starts", self.path, err, aside
            )
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                extra = self.path.with_name(self.path.name + suffix)
                if extra.exists():
                    extra.replace(aside.with_name(aside.name + suffix))
            self.recreated = True
            return self._connect()

    def _load_state(self) -> None:
        stream = _meta(self.db, "stream")
        if stream is None:
            stream = self._set_meta("stream", secrets.token_hex(6))
            self.epoch_reason = "new outbox"
        self.stream = stream
        self.dropped = int(self._meta("dropped") or 0)
        self.count = int(self.db.execute("SELECT COUNT(*) FROM readings").fetchone()[0])
        self._sent_max = int(self._meta("sent_max") or 0)

    @property
    def cap(self) -> int:
        """Rows kept at most (smaller while in memory)."""
        return self.max_rows if self.storage_error is None else min(self.max_rows, self.memory_rows)

    # ---- storage faults -----------------------------------------------------------------
    def _guarded[T](self, operation: Callable[[], T]) -> T:
        """Run a database operation; a storage fault moves the outbox to memory and retries."""
        try:
            return operation()
        except sqlite3.Error as err:
            if self.storage_error is not None:
                raise  # memory failed: a bug, not a storage fault
            self._to_memory(err)
            return operation()

    def _to_memory(self, err: Exception) -> None:
        rows: list[tuple[Any, ...]] = []
        commands: list[tuple[Any, ...]] = []
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
        try:
            rows = self.db.execute(
                "SELECT seq, ts, device, payload FROM readings ORDER BY seq"
            ).fetchall()
            commands = self.db.execute("SELECT request_id, ts, result FROM commands").fetchall()
        except sqlite3.Error as read_err:
            _LOGGER.error(
                "outbox %s: its %d rows cannot be read: %s", self.path, self.count, read_err
            )
            self._count_drop(self.count)
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        self.db = self._memory_db(err, rows, commands)
        self._load_state()

    def _memory_db(
        self, err: Exception, rows: list[tuple[Any, ...]], commands: list[tuple[Any, ...]]
    ) -> sqlite3.Connection:
        self.storage_error = f"{type(err).__name__}: {err}{_filesystem_state(self.path)}"
        _LOGGER.error(
            "outbox %s unusable (%s): readings are kept in memory (at most %d) and forwarded; "
            "the file is retried",
            self.path,
            self.storage_error,
            self.memory_rows,
        )
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.executescript(SCHEMA)
        keep = rows[-self.memory_rows :]
        if len(keep) < len(rows):
            self._count_drop(len(rows) - len(keep))
        db.executemany("INSERT INTO readings (seq, ts, device, payload) VALUES (?, ?, ?, ?)", keep)
        db.executemany("INSERT INTO commands (request_id, ts, result) VALUES (?, ?, ?)", commands)
        _put_meta(db, "stream", secrets.token_hex(6))
        _put_meta(db, "dropped", str(getattr(self, "dropped", 0)))
        self._new_epoch("storage moved to memory")
        return db

    def retry_file(self) -> bool:
        """Move an in-memory outbox back into its file when the file is writable again.

        Call it only while nothing is in flight to the consumer (the forwarder knows); returns
        True when the outbox is in its file afterwards.
        """
        if self.storage_error is None:
            return True
        db: sqlite3.Connection | None = None
        try:
            db = self._open_file()
            rows = self.db.execute("SELECT seq, ts, device, payload FROM readings").fetchall()
            commands = self.db.execute("SELECT request_id, ts, result FROM commands").fetchall()
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM readings")  # they were carried into memory, or unreadable
            db.executemany(
                "INSERT OR REPLACE INTO readings (seq, ts, device, payload) VALUES (?, ?, ?, ?)",
                rows,
            )
            db.executemany(
                "INSERT OR REPLACE INTO commands (request_id, ts, result) VALUES (?, ?, ?)",
                commands,
            )
            _put_meta(db, "stream", secrets.token_hex(6))
            _put_meta(db, "dropped", str(self.dropped))
            _put_meta(db, "sent_max", "0")
            db.execute("COMMIT")
        except (sqlite3.Error, OSError) as err:
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            _LOGGER.debug("outbox %s still unusable: %s", self.path, err)
            return False
        _LOGGER.warning(
            "outbox %s usable again: %d readings moved from memory (was: %s)",
            self.path,
            len(rows),
            self.storage_error,
        )
        self.db.close()
        self.db = db
        self.storage_error = None
        self._new_epoch("storage back in the file")
        self._load_state()
        return True

    # ---- epochs -------------------------------------------------------------------------
    def _new_epoch(self, reason: str) -> None:
        self.epoch_changes += 1
        self.epoch_reason = reason

    @property
    def sent_max(self) -> int:
        """Highest sequence ever sent from this stream (persisted before sending)."""
        return self._sent_max

    def mark_sent(self, seq: int) -> None:
        """Persist that rows up to ``seq`` are about to be sent."""
        if seq > self._sent_max:
            self._guarded(lambda: self._set_meta("sent_max", str(seq)))
            self._sent_max = seq

    def rollback(self, acked: int) -> None:
        """The consumer acked ``acked`` beyond anything sent: the file was restored or lost its
        tail. Rows up to ``sent_max`` are the consumer's already (same stream, same sequence,
        same reading) and go; the rest is sent again under a new stream."""
        held = self._sent_max
        _LOGGER.warning(
            "outbox %s: the consumer acknowledged seq %d of stream %s, but this file sent only "
            "up to %d — restored or rolled back; rows after %d are resent under a new stream",
            self.path,
            acked,
            self.stream,
            held,
            held,
        )

        def restart() -> None:
            with self._tx():
                cur = self.db.execute("DELETE FROM readings WHERE seq <= ?", (held,))
                self.count -= cur.rowcount
                self.stream = self._set_meta("stream", secrets.token_hex(6))
                self._set_meta("acked", str(held))

        self._guarded(restart)
        self._new_epoch("rollback detected (ack beyond what was sent)")

    # ---- meta -------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        return _meta(self.db, key)

    def _set_meta(self, key: str, value: str) -> str:
        _put_meta(self.db, key, value)
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

        def insert() -> None:
            with self._tx():
                self.db.executemany(
                    "INSERT INTO readings (ts, device, payload) VALUES (?, ?, ?)", rows
                )
                self.count += len(rows)
                self._enforce_limits()

        self._guarded(insert)
        return self.last_seq()

    def _enforce_limits(self) -> None:
        """Drop oldest beyond the cap, and anything past the TTL; count what is dropped."""
        dropped = 0
        if self.count > self.cap:
            excess = self.count - self.cap
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
            self._count_drop(dropped)
            self._set_meta("dropped", str(self.dropped))

    def _count_drop(self, rows: int) -> None:
        if not self.drops_since_report:
            _LOGGER.warning(
                "outbox %s full (cap %d rows%s): dropping the oldest readings",
                self.path,
                self.cap,
                ", in memory" if self.storage_error else "",
            )
        self.dropped = getattr(self, "dropped", 0) + rows
        self.drops_since_report += rows

    def report_drops(self) -> int:
        """Drops since the last report (logged); the drop alarm clears when this is 0."""
        drops, self.drops_since_report = self.drops_since_report, 0
        if drops:
            _LOGGER.warning(
                "outbox %s dropped %d oldest readings (%d in total)", self.path, drops, self.dropped
            )
        return drops

    def expire(self) -> None:
        """Apply the TTL now (also done on every append)."""
        self._last_ttl_check = 0.0

        def run() -> None:
            with self._tx():
                self._enforce_limits()

        self._guarded(run)

    def ack(self, seq: int) -> int:
        """Delete every row up to ``seq`` (the consumer stored them); returns rows deleted."""

        def run() -> int:
            with self._tx():
                cur = self.db.execute("DELETE FROM readings WHERE seq <= ?", (seq,))
                self.count -= cur.rowcount
                if seq > int(self._meta("acked") or 0):
                    self._set_meta("acked", str(seq))
            return int(cur.rowcount)

        return self._guarded(run)

    # ---- reading ----------------------------------------------------------------------
    def fetch(self, after_seq: int, limit: int) -> list[Row]:
        """Rows with seq > after_seq in order."""
        cur = self._guarded(
            lambda: self.db.execute(
                "SELECT seq, ts, device, payload FROM readings WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            )
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
        """Rows waiting for an ack, age of the oldest, drops, epoch and storage (statistics)."""
        row = self.db.execute("SELECT MIN(ts) FROM readings").fetchone()
        age = None if row[0] is None else max(0.0, self.clock() - float(row[0]))
        return {
            "rows": self.count,
            "oldest_age_s": None if age is None else round(age, 1),
            "dropped": self.dropped,
            "last_seq": self.last_seq(),
            "acked_seq": self.acked(),
            "stream": self.stream,
            "epoch_changes": self.epoch_changes,
            "epoch_reason": self.epoch_reason,
            "storage": "memory" if self.storage_error else "file",
            "storage_error": self.storage_error,
            "recreated": self.recreated,
        }

    # ---- command journal (request ids execute once) ------------------------------------
    def command_seen(self, request_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(seen, stored result or None while pending/interrupted)."""
        row = self._guarded(
            lambda: self.db.execute(
                "SELECT result FROM commands WHERE request_id = ?", (request_id,)
            ).fetchone()
        )
        if row is None:
            return False, None
        return True, None if row[0] is None else json.loads(row[0])

    def command_start(self, request_id: str) -> None:
        """Journal a command before executing it, so a restart never repeats it."""
        self._guarded(
            lambda: self.db.execute(
                "INSERT OR IGNORE INTO commands (request_id, ts, result) VALUES (?, ?, NULL)",
                (request_id, self.clock()),
            )
        )

    def command_done(self, request_id: str, result: dict[str, Any]) -> None:
        """Store the command's result for repeated requests."""
        self._guarded(
            lambda: self.db.execute(
                "UPDATE commands SET result = ? WHERE request_id = ?",
                (json.dumps(result), request_id),
            )
        )

    def prune_commands(self, older_than_s: float = 7 * 86400.0) -> None:
        """Forget request ids after a week."""
        self._guarded(
            lambda: self.db.execute(
                "DELETE FROM commands WHERE ts < ?", (self.clock() - older_than_s,)
            )
        )

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
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            with contextlib.suppress(sqlite3.Error):  # the database may be the problem
                self.db.execute("ROLLBACK")


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _put_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _corrupt(err: sqlite3.DatabaseError) -> bool:
    """A damaged file (as opposed to a read-only one or a full disk)."""
    text = str(err).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text
