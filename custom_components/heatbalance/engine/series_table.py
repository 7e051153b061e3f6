"""Many short series of floats as one matrix: a row per key (speed, issue 10).

The meter check keeps a window of numbers per inlet (the supply offsets: up to 48 each,
23,870 inlets at 23k). As Python lists, every cycle read each list twice — its ``sum`` per
inlet and a float matrix built from all of them for the neighbours' prior — ≈70 ms CPU a
cycle, most of it following pointers to scattered floats. Held as the rows of one matrix,
a cycle's new numbers go in as one array step and the sums are taken on the rows at once
(:func:`.rowsums.python_sums`, bit for bit Python's ``sum`` of each row's list).

Each row holds its series oldest first from column 0, zeros after its end; a full row drops
its oldest number when a new one comes (the window).

:class:`DiffTable` holds the check's witness residuals the same way (valve, network model,
circuit: a row per inlet each, ≈ 24k rows at 23k), with each row's squared successive
differences and their count — the noise the per-inlet ``_Series`` learnt — so a cycle's
41,000 new values go in as three array steps and the verdicts' means and pooled noise are
taken on the rows (24d), each bit for bit what the lists gave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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

    def restart(self, rows: np.ndarray) -> None:
        """Empty the rows (a new series each)."""
        self.values[rows] = 0.0
        self.lengths[rows] = 0

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


class DiffTable(SeriesTable):
    """A :class:`SeriesTable` whose rows also learn their noise from successive
    differences: per row the sum of squared differences of successive values and their
    count, kept exactly as the meter check's ``_Series.add`` keeps them for exact values
    (no stroke, no register quantisation: the valve's, the model's and the circuit's
    residuals). The noise pooled over all rows (:meth:`pooled`) adds them up in row order.
    """

    def __init__(self, width: int) -> None:
        super().__init__(width)
        self.diff_sq = np.zeros(0)
        self.diffs = np.zeros(0, dtype=np.int64)

    def _reserve(self, size: int) -> None:
        old = len(self.lengths)
        super()._reserve(size)
        if len(self.lengths) == old:
            return
        diff_sq, diffs = np.zeros(len(self.lengths)), np.zeros(len(self.lengths), np.int64)
        diff_sq[:old], diffs[:old] = self.diff_sq, self.diffs
        self.diff_sq, self.diffs = diff_sq, diffs

    def add(self, rows: np.ndarray, new: np.ndarray) -> None:
        """Append ``new[i]`` to row ``rows[i]`` (distinct rows); a row that had a value
        learns ``(new − last) ** 2``. Python's ``**`` (libm's ``pow``) each, as ``_Series``
        squares it: numpy's square (``v * v``) differs from it in about one of 1,200."""
        lengths = self.lengths[rows]
        had = lengths > 0
        if had.any():
            at = rows[had]
            steps = (new[had] - self.values[at, lengths[had] - 1]).tolist()
            self.diff_sq[at] += np.array([step**2 for step in steps])
            self.diffs[at] += 1
        self.append(rows, new)

    def restart(self, rows: np.ndarray) -> None:
        """Empty the rows: no values, nothing learnt (a new series)."""
        super().restart(rows)
        self.diff_sq[rows] = 0.0
        self.diffs[rows] = 0

    def lasts(self) -> list[float | None]:
        """Each row's newest value (None for an empty row), by row."""
        count = len(self.rows)
        lengths = self.lengths[:count]
        newest = self.values[np.arange(count), np.maximum(lengths - 1, 0)].tolist()
        return [v if n else None for v, n in zip(newest, lengths.tolist(), strict=True)]

    def pooled(self, start: float) -> tuple[float, int]:
        """(``start`` + Σ diff_sq, Σ diffs) over the rows, the floats added to ``start`` a
        row at a time in row order, as a loop over the rows' series adds them."""
        total = start
        for value in self.diff_sq[: len(self.rows)].tolist():
            total += value
        return total, int(self.diffs[: len(self.rows)].sum())

    def load_series(self, series: Mapping[str, tuple[list[float], float, int]]) -> None:
        """Put each key's (values, diff_sq, diffs) at once (a Store read)."""
        self.load({key: values for key, (values, _sq, _n) in series.items()})
        if not series:
            return
        rows = np.fromiter(map(self.rows.__getitem__, series), dtype=np.intp, count=len(series))
        self.diff_sq[rows] = [sq for _values, sq, _n in series.values()]
        self.diffs[rows] = [n for _values, _sq, n in series.values()]

    def all_plain(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Each key's series as ``_Series`` is stored — values, diff_sq, diffs, extras
        (zeros: no stroke) and no quantisation — from one conversion of the matrix."""
        values = self.all_lists(keys)
        diff_sq, diffs = self.diff_sq.tolist(), self.diffs.tolist()
        out: dict[str, dict[str, Any]] = {}
        for key, kept in values.items():
            at = self.rows.get(key)
            out[key] = {
                "values": kept,
                "diff_sq": 0.0 if at is None else diff_sq[at],
                "diffs": 0 if at is None else diffs[at],
                "extras": [0.0] * len(kept),
                "quants": [],
            }
        return out
