"""Plain-Python twins of the model client's numba kernels (:mod:`clarify_engine.predict._kernels`)."""

from __future__ import annotations

import numpy as np


def lay_out(dump: bytes, prefix: bytes, suffix: bytes, separator: bytes, missing: bytes, empty: bytes):
    """Records of orjson's text of a 2-D float block, end to end, and where each starts."""
    rows = dump[2:-2].split(b"],[")
    data, starts = b"", [0]
    for row in rows:
        values = []
        for value in row.split(b",") if row else []:
            if value == b"null":
                value = missing
            elif len(value) > 2 and value.endswith(b".0"):
                value = value[:-2]
            values.append(value)
        text = b",".join(values) or empty
        data += prefix + text + suffix + separator
        starts.append(len(data))
    return data, np.array(starts, dtype=np.int64)


def dedupe_rows(keys: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Each row's distinct-record index (in order of first appearance), and each record's first row."""
    index: dict = {}
    codes = [index.setdefault(tuple(row), len(index)) for row in keys.tolist()]
    first = {}
    for row, code in enumerate(codes):
        first.setdefault(code, row)
    return np.array(codes, dtype=np.intp), [first[c] for c in range(len(index))]
