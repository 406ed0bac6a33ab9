"""The exact median of streamed local SHAP values, from a spill file: :class:`MedianSpill`.

A streamed job does not hold the local values, so ``agg_method: median`` keeps them in a
temporary file instead (each shard's values and standard errors appended, 16 bytes per record,
feature and label) and selects the middle values by radix selection over their bit patterns:

* each float is mapped to a 64-bit key whose unsigned order is the order of the floats
  (the sign bit flipped for positives, every bit for negatives; ``-0.0`` counts as ``0.0``, as
  numpy's sort compares them equal);
* four passes over the file, 16 bits of the key each, count the keys of each (feature, label)
  that share the prefix found so far in 65,536 buckets, and keep the bucket holding the rank
  sought: after the fourth pass the key, so the value, at that rank is known exactly, with the
  number of values below it;
* one more pass finds the record at that rank in the order of a *stable* sort (equal values in
  row order), whose standard error the in-memory aggregation reports.

The result is :func:`numpy.median`'s (for an even count the two middle values added and halved)
and :func:`~clarify_engine.explain._aggregate.aggregate_standard_error`'s, bit for bit (a median
that is a negative zero is written ``0.0``). Memory: the histograms (features x labels x 65,536
counts per rank) and one block of the file; disk: 16 bytes per local value.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["MedianSpill"]

#: Records read from the spill file at a time.
BLOCK_RECORDS = 1 << 16
_SIGN = np.uint64(1 << 63)


def _keys(values: np.ndarray) -> np.ndarray:
    """Unsigned keys in the order of the floats (``-0.0`` as ``0.0``)."""
    bits = (values + 0.0).view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def _value(key: int) -> float:
    bits = np.uint64(key)
    bits = bits & ~_SIGN if bits & _SIGN else ~bits
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


class MedianSpill:
    """Local values and standard errors of every record, kept on disk for an exact median.

    Use as a context manager (leaving it removes the file); :meth:`append` each shard in row
    order, then :meth:`median`.
    """

    def __init__(self) -> None:
        self.cells = 0
        self.rows = 0
        self.shape: tuple[int, ...] = ()
        fd, self.path = tempfile.mkstemp(prefix="clarify-shap-median-", suffix=".bin")
        self._file = os.fdopen(fd, "wb")

    def __enter__(self) -> MedianSpill:
        return self

    def __exit__(self, *exc) -> None:
        if not self._file.closed:
            self._file.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def append(self, values: np.ndarray, standard_errors: np.ndarray) -> None:
        """One shard's values and standard errors, shape (r, M, D) each."""
        r = values.shape[0]
        self.shape = values.shape[1:]
        self.cells = int(np.prod(self.shape))
        both = np.stack([values.reshape(r, self.cells), standard_errors.reshape(r, self.cells)], axis=1)
        both.astype(np.float64).tofile(self._file)  # (r, 2, cells): values then errors, record by record
        self.rows += r

    def _blocks(self):
        self._file.flush()
        width = 2 * self.cells
        with open(self.path, "rb") as fh:
            while True:
                block = np.fromfile(fh, dtype=np.float64, count=BLOCK_RECORDS * width)
                if block.size == 0:
                    return
                block = block.reshape(-1, 2, self.cells)
                yield block[:, 0, :], block[:, 1, :]

    def _select(self, ranks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Keys at each rank for each cell, shape (R, C), and the count of smaller keys."""
        n_ranks = len(ranks)
        prefix = np.zeros((n_ranks, self.cells), dtype=np.uint64)
        below = np.zeros((n_ranks, self.cells), dtype=np.int64)
        for shift in (48, 32, 16, 0):
            counts = np.zeros((n_ranks, self.cells, 1 << 16), dtype=np.int64)
            for values, _ in self._blocks():
                keys = _keys(values)  # (r, C)
                digits = ((keys >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.int64)
                for t in range(n_ranks):
                    for c in range(self.cells):
                        column = digits[:, c]
                        if shift < 48:
                            column = column[(keys[:, c] >> np.uint64(shift + 16)) == prefix[t, c]]
                        counts[t, c] += np.bincount(column, minlength=1 << 16)
            for t, rank in enumerate(ranks):
                for c in range(self.cells):
                    cumulative = np.cumsum(counts[t, c])
                    digit = int(np.searchsorted(cumulative, rank - below[t, c], side="right"))
                    below[t, c] += int(cumulative[digit - 1]) if digit else 0
                    prefix[t, c] = (prefix[t, c] << np.uint64(16)) | np.uint64(digit)
        return prefix, below

    def _errors_at(self, ranks: list[int], keys: np.ndarray, below: np.ndarray) -> np.ndarray:
        """The standard error of the record at each rank of a stable sort, shape (R, C)."""
        wanted = np.array(ranks, dtype=np.int64)[:, None] - below  # which of the equal keys, in row order
        seen = np.zeros_like(wanted)
        found = np.full(wanted.shape, np.nan)
        done = np.zeros(wanted.shape, dtype=bool)
        for values, errors in self._blocks():
            block_keys = _keys(values)
            for t in range(len(ranks)):
                for c in range(self.cells):
                    if done[t, c]:
                        continue
                    rows = np.flatnonzero(block_keys[:, c] == keys[t, c])
                    if seen[t, c] + len(rows) > wanted[t, c]:
                        found[t, c] = errors[rows[wanted[t, c] - seen[t, c]], c]
                        done[t, c] = True
                    seen[t, c] += len(rows)
        return found

    def median(self) -> tuple[np.ndarray, np.ndarray]:
        """The median of the local values and its standard error, each of shape (M, D), as the
        in-memory ``aggregate(values, "median")`` and ``aggregate_standard_error`` give them."""
        n = self.rows
        if n == 0:
            raise ValueError("cannot aggregate SHAP values over zero records")
        ranks = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
        keys, below = self._select(ranks)
        values = np.vectorize(_value, otypes=[np.float64])(keys)  # (R, C)
        errors = self._errors_at(ranks, keys, below)
        if n % 2:
            middle, error = values[0], errors[0]
        else:
            middle = (values[0] + values[1]) / 2.0
            error = 0.5 * np.sqrt(errors[0] ** 2 + errors[1] ** 2)
        return middle.reshape(self.shape), error.reshape(self.shape)
