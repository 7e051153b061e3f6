"""Many short series of floats as one matrix: a row per key (speed, issue 10).

The meter check keeps a window of numbers per inlet (the supply offsets: up to 48 each,
23,870 inlets at 23k). As Python lists, every cycle read each list twice — its ``sum`` per
inlet and a float matrix built from all of them for the neighbours' prior — ≈70 ms CPU a
cycle, most of it following pointers to scattered floats. Held as the rows of one matrix,
a cycle's new numbers go in as one array step and the sums are taken on the rows at once
(:func:`.rowsums.python_sums`, bit for bit Python's ``sum`` of each row's list).

Each row holds its series oldest first from column 0, zeros after its end; a full row drops
its oldest number when a new one comes (the window).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .rowsums import columns, python_sums


class SeriesTable:
    """A window of up to ``width`` floats per key, the keys' rows in one matrix."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: dict[str, int] = {}  # key → its row
        self.values = np.zeros((0, width))
        self.lengths = np.zeros(0, dtype=np.intp)

    def row(self, key: str) -> int:
        """The key's row (a new, empty one for a new key)."""
        at = self.rows.get(key)
        if at is None:
            at = self.rows[key] = len(self.rows)
            if at == len(self.lengths):  # grow by half (23,870 keys one by one: ≈20 copies)
                self._reserve(max(16, at + at // 2))
        return at

    def _reserve(self, size: int) -> None:
        """Room for ``size`` rows (new rows empty)."""
        if size <= len(self.lengths):
            return
        values = np.zeros((size, self.width))
        values[: len(self.lengths)] = self.values
        lengths = np.zeros(size, dtype=np.intp)
        lengths[: len(self.lengths)] = self.lengths
        self.values, self.lengths = values, lengths

    def load(self, series: Mapping[str, list[float]]) -> None:
        """Put each key's series (its last ``width`` numbers) at once: a Store read of
        23,870 inlets in array steps, not a row at a time."""
        if not series:
            return
        self._reserve(len(self.rows) + len(series))
        rows = np.fromiter(map(self.row, series), dtype=np.intp, count=len(series))
        width = self.width
        cols, lengths = columns([s if len(s) <= width else s[-width:] for s in series.values()])
        self.values[rows] = 0.0
        self.values[rows, : len(cols)] = cols.T
        self.lengths[rows] = lengths

    def get(self, key: str) -> list[float]:
        """The key's series, oldest first (empty for a key never set)."""
        at = self.rows.get(key)
        if at is None:
            return []
        out: list[float] = self.values[at, : self.lengths[at]].tolist()
        return out

    def set(self, key: str, series: Sequence[float]) -> None:
        """Put ``series`` (its last ``width`` numbers) as the key's series."""
        at = self.row(key)
        kept = list(series)[-self.width :] if self.width else []
        self.values[at] = 0.0
        self.values[at, : len(kept)] = kept
        self.lengths[at] = len(kept)

    def append(self, rows: np.ndarray, new: np.ndarray) -> None:
        """Append ``new[i]`` to row ``rows[i]`` (distinct rows), each row's oldest number
        dropped where it is full."""
        lengths = self.lengths[rows]
        full = rows[lengths >= self.width]
        if full.size:
            self.values[full, :-1] = self.values[full, 1:]
        at = np.minimum(lengths, self.width - 1)
        self.values[rows, at] = new
        self.lengths[rows] = at + 1

    def columns(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows' series as :func:`.rowsums.columns` gives lists: a matrix whose column
        ``i`` holds row ``rows[i]``'s series (zeros after its end), and their lengths."""
        lengths = self.lengths[rows]
        width = int(lengths.max()) if len(rows) else 0
        return np.ascontiguousarray(self.values[rows, :width].T), lengths

    def sums(self, rows: np.ndarray) -> np.ndarray:
        """Python's ``sum`` of each row's series, bit for bit (0.0 for an empty one)."""
        return python_sums(*self.columns(rows))

    def all_lists(self, keys: Iterable[str]) -> dict[str, list[float]]:
        """Each key's series as a list (one conversion of the matrix: a Store write)."""
        numbers = self.values.tolist()
        lengths = self.lengths.tolist()
        out: dict[str, list[float]] = {}
        for key in keys:
            at = self.rows.get(key)
            out[key] = [] if at is None else numbers[at][: lengths[at]]
        return out
