"""Numba kernels of the segment rules: one pass over a numeric column sets each row's segment bits.

Plain twins live in ``tests/bias/naive.py`` (``interval_bits``).
"""

from __future__ import annotations

import numpy as np

from clarify_engine._jit import jit


@jit
def _interval_bits(values, lows, highs, segment_of, default_bit):
    """Bit ``segment_of[k]`` set for every interval ``k`` holding the row; ``default_bit`` when none does.

    Parameters
    ----------
    values : float64 array, shape (n,)
        The segment column (NaN is inside no interval).
    lows, highs : float64 arrays, shape (n_intervals,)
        Closed bounds: interval ``k`` holds ``lows[k] <= v <= highs[k]`` (an open bound is
        passed as the next float inside, see :func:`closed_bounds`).
    segment_of : int64 array, shape (n_intervals,)
        Segment of each interval (several intervals may form one segment).
    default_bit : int
        Bit of the ``__default__`` segment.

    Plain form: ``bits = Σ_k ((lows[k] <= v) & (v <= highs[k])) << segment_of[k]``, 0 → default.
    """
    n = values.shape[0]
    out = np.empty(n, dtype=np.int64)
    k_max = lows.shape[0]
    default = np.int64(1) << default_bit
    for i in range(n):
        v = values[i]
        b = np.int64(0)
        for k in range(k_max):
            b |= np.int64((v >= lows[k]) & (v <= highs[k])) << segment_of[k]
        out[i] = b if b != 0 else default
    return out


def closed_bounds(left: float, right: float, left_closed: bool, right_closed: bool) -> tuple[float, float]:
    """The closed float64 bounds of an interval: an open bound moves to the next float inside."""
    low = float(left) if left_closed else float(np.nextafter(left, np.inf))
    high = float(right) if right_closed else float(np.nextafter(right, -np.inf))
    return low, high
