"""numba kernel of the image masker (plain twin: ``tests/explain/image/naive.py``)."""

from __future__ import annotations

import numpy as np

from clarify_engine._jit import jit

__all__ = ["compose_masked", "segment_runs"]


def segment_runs(pixel_segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of equal segment along the flat pixel order: (starts (R + 1,) int64, segment (R,) int32).

    Run ``r`` covers pixels ``starts[r]:starts[r + 1]``, all of segment ``segment[r]``.
    """
    n = pixel_segment.shape[0]
    if n == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    change = np.flatnonzero(pixel_segment[1:] != pixel_segment[:-1]) + 1
    starts = np.concatenate([[0], change, [n]]).astype(np.int64)
    return starts, np.ascontiguousarray(pixel_segment[starts[:-1]], dtype=np.int32)


@jit
def compose_masked(present: np.ndarray, run_starts: np.ndarray, run_segment: np.ndarray, image: np.ndarray,
                   baseline: np.ndarray, out: np.ndarray) -> None:
    """Write masked images into ``out``, one run of equal-segment pixels at a time.

    Parameters
    ----------
    present : ndarray (n, M) bool
        Coalitions: segment ``j`` of image ``i`` is taken from ``image`` when ``present[i, j]``.
    run_starts, run_segment : ndarray
        :func:`segment_runs` of the segment of each pixel, ``-1`` for pixels always taken from
        ``baseline`` (outside the window).
    image, baseline : ndarray (P, C) uint8
    out : ndarray (n, P, C) uint8

    Notes
    -----
    Plain form: ``out[i] = where(present[i][pixel_segment] & (pixel_segment >= 0), image, baseline)``.
    """
    n = present.shape[0]
    for i in range(n):
        for r in range(run_segment.shape[0]):
            a = run_starts[r]
            b = run_starts[r + 1]
            s = run_segment[r]
            if s >= 0 and present[i, s]:
                out[i, a:b, :] = image[a:b, :]
            else:
                out[i, a:b, :] = baseline[a:b, :]
