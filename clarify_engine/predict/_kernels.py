"""numba kernels of the model client: request bytes laid out in one buffer, and row dedupe.

Both run once per chunk of records on the encoding thread; they release the GIL, so workers
with a reply to read are not held up while they run. Plain-Python twins live in the tests
(``tests/predict/naive.py``).

``lay_out``
    Turns ``orjson.dumps`` of a 2-D float64 block (``[[v,v],[v,v]]``) into the records of a
    request body laid end to end, each as ``prefix + values + suffix + separator``, with the
    byte offset where each record starts. Values are copied as orjson wrote them (the
    shortest text that reads back to the same float64) except that a trailing ``.0`` is
    dropped (``35.0`` → ``35``) and ``null`` becomes ``missing``. A record with no text
    between its prefix and suffix gets ``empty`` there (CSV writes a lone missing value as
    ``""`` so that the line is not blank).

``dedupe_rows``
    Gives every row of a chunk the index of the first row with identical key words,
    across chunks, with an open-addressing hash table of first-appearance row numbers. Two
    rows are the same record exactly when their key words are equal; the caller makes keys
    from the raw values, so equal keys mean equal values and hence equal request bytes.
"""

from __future__ import annotations

import numpy as np

from clarify_engine._jit import jit

__all__ = ["EMPTY_SLOT", "dedupe_rows", "lay_out", "rehash"]

#: Marks a free slot of the hash table.
EMPTY_SLOT = -1

_COMMA = ord(",")
_POINT = ord(".")
_ZERO = ord("0")
_N = ord("n")

_MIX = np.uint64(0x9E3779B97F4A7C15)
_SEED = np.uint64(0x243F6A8885A308D3)


@jit
def lay_out(dump, ends, edit, prefix, suffix, separator, missing, empty):
    """Records of ``dump`` (orjson's text of an (n_rows, m) float64 block) end to end.

    Parameters
    ----------
    dump : uint8 array
        ``orjson.dumps(block, option=OPT_SERIALIZE_NUMPY)`` of a block with at least one row
        and no infinities.
    ends : int64 array of shape (n_rows,)
        Position in ``dump`` of the ``]`` closing each row.
    edit : bool array of shape (n_rows,)
        Rows holding a NaN or an integral value; the others are copied as they are.
    prefix, suffix, separator, missing, empty : uint8 arrays
        Bytes around each record's values, after each record, for a NaN, and for a record
        whose values wrote no text at all.

    Returns
    -------
    out : uint8 array
        The records, each followed by ``separator``.
    starts : int64 array of shape (n_rows + 1,)
        ``out[starts[r]:starts[r + 1] - len(separator)]`` is record ``r``.
    """
    n_rows = ends.shape[0]
    grow = prefix.shape[0] + suffix.shape[0] + separator.shape[0] + empty.shape[0]
    out = np.empty(dump.shape[0] + n_rows * grow, dtype=np.uint8)
    starts = np.empty(n_rows + 1, dtype=np.int64)
    n_missing = missing.shape[0]
    o = 0
    for r in range(n_rows):
        starts[r] = o
        i = 2 if r == 0 else ends[r - 1] + 3  # past "[[" or "],["
        stop = ends[r]
        out[o : o + prefix.shape[0]] = prefix
        o += prefix.shape[0]
        first = o
        if not edit[r]:
            out[o : o + stop - i] = dump[i:stop]
            o += stop - i
        else:
            value = o  # where the current value's text starts in out
            while i <= stop:
                c = dump[i]
                if c == _COMMA or i == stop:
                    if o - value > 2 and out[o - 2] == _POINT and out[o - 1] == _ZERO:
                        o -= 2  # an integral value: no ".0"
                    if i == stop:
                        break
                    out[o] = c
                    o += 1
                    value = o
                    i += 1
                elif c == _N:  # null: a NaN
                    out[o : o + n_missing] = missing
                    o += n_missing
                    i += 4
                else:
                    out[o] = c
                    o += 1
                    i += 1
        if o == first:
            out[o : o + empty.shape[0]] = empty
            o += empty.shape[0]
        out[o : o + suffix.shape[0]] = suffix
        o += suffix.shape[0]
        out[o : o + separator.shape[0]] = separator
        o += separator.shape[0]
    starts[n_rows] = o
    return out[:o], starts


@jit
def _hash(keys, row):
    h = _SEED
    for k in range(keys.shape[1]):
        h = (h ^ keys[row, k]) * _MIX
        h ^= h >> np.uint64(29)
    return h


@jit
def _same(keys, a, b):
    for k in range(keys.shape[1]):
        if keys[a, k] != keys[b, k]:
            return False
    return True


@jit
def dedupe_rows(keys, start, stop, table, first_rows, n_unique, codes):
    """Distinct-record index of rows ``start:stop`` of ``keys``, adding new records as met.

    Parameters
    ----------
    keys : uint64 array of shape (n_rows, w)
        Each row's identity (equal rows exactly when their words are equal).
    start, stop : int
        The rows to index now; rows before ``start`` were indexed by earlier calls.
    table : int64 array, a power of two long
        Hash slots holding distinct-record indices (:data:`EMPTY_SLOT` when free); more than
        ``n_unique + stop - start`` slots, so a free one is always found.
    first_rows : intp array of shape (n_rows,)
        ``first_rows[u]`` is the row where distinct record ``u`` first appeared (filled here
        for new records).
    n_unique : int
        Distinct records found before this call.
    codes : intp array of shape (stop - start,)
        Filled with each row's distinct-record index.

    Returns
    -------
    int
        Distinct records found after this call.
    """
    mask = np.uint64(table.shape[0] - 1)
    for r in range(start, stop):
        slot = _hash(keys, r) & mask
        while True:
            u = table[slot]
            if u == EMPTY_SLOT:
                table[slot] = n_unique
                first_rows[n_unique] = r
                codes[r - start] = n_unique
                n_unique += 1
                break
            if _same(keys, first_rows[u], r):
                codes[r - start] = u
                break
            slot = (slot + np.uint64(1)) & mask
    return n_unique


@jit
def rehash(keys, first_rows, n_unique, table):
    """Fill a fresh ``table`` (all :data:`EMPTY_SLOT`) with distinct records ``0:n_unique``."""
    mask = np.uint64(table.shape[0] - 1)
    for u in range(n_unique):
        slot = _hash(keys, first_rows[u]) & mask
        while table[slot] != EMPTY_SLOT:
            slot = (slot + np.uint64(1)) & mask
        table[slot] = u
