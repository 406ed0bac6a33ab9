"""Masked images: the superpixels of a coalition from the image, the others from the baseline."""

from __future__ import annotations

import numpy as np

from clarify_engine.explain.image._kernels import compose_masked, segment_runs

__all__ = ["Masker", "context_window"]


def context_window(box: tuple[float, float, float, float], context: float, height: int, width: int,
                   ) -> tuple[int, int, int, int]:
    """Pixel window ``(x0, y0, x1, y1)`` (end exclusive) of a normalised box widened by ``context``.

    Each side of the box moves toward the image border by ``context`` times its distance to it:
    0 keeps the box, 1 gives the whole image (``docs/images.md``).
    """
    xmin, ymin, xmax, ymax = (min(max(float(v), 0.0), 1.0) for v in box)
    c = min(max(float(context), 0.0), 1.0)
    xmin, ymin = xmin * (1.0 - c), ymin * (1.0 - c)
    xmax, ymax = xmax + (1.0 - xmax) * c, ymax + (1.0 - ymax) * c
    x0, y0 = int(np.floor(xmin * width)), int(np.floor(ymin * height))
    x1, y1 = int(np.ceil(xmax * width)), int(np.ceil(ymax * height))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


class Masker:
    """Builds the masked images of coalitions of one image's superpixels.

    Parameters
    ----------
    image, baseline : ndarray (H, W, 3) uint8
    segments : ndarray (H, W) int
        Segment of each pixel, ``0 .. M-1``.
    window : (x0, y0, x1, y1), optional
        Only pixels inside follow the coalition; the others are always the baseline's
        (object detection with ``context < 1``). None: the whole image.

    Attributes
    ----------
    active : ndarray of int
        The segments that can change a masked image: those with a pixel inside the window where
        the image and the baseline differ. Two coalitions give identical images exactly when
        they differ only on the other segments.

    Notes
    -----
    Plain form: ``masked[i] = where(z[i][segments], image, baseline)`` (then the baseline
    outside the window).
    """

    def __init__(self, image: np.ndarray, baseline: np.ndarray, segments: np.ndarray, window=None):
        self.image = image
        self.baseline = baseline
        self.segments = segments
        self.n_segments = int(segments.max()) + 1
        self.inside = np.ones(segments.shape, dtype=bool)
        if window is not None:
            x0, y0, x1, y1 = window
            self.inside[:] = False
            self.inside[y0:y1, x0:x1] = True
        # Segments with a pixel in the window where the image and the baseline differ. The
        # others never change a masked image: whether present or not, the images are identical.
        differs = np.any(image != baseline, axis=-1) & self.inside
        self.active = np.flatnonzero(np.bincount(segments[differs], minlength=self.n_segments) > 0)
        h, w, c = image.shape
        self._runs = segment_runs(np.where(self.inside, segments, -1).reshape(h * w).astype(np.int32))
        self._image = np.ascontiguousarray(image.reshape(h * w, c))
        self._baseline = np.ascontiguousarray(baseline.reshape(h * w, c))

    def compose(self, present: np.ndarray) -> np.ndarray:
        """Masked images of coalitions ``present`` (n, M) bool: (n, H, W, 3) uint8.

        A numba kernel (:func:`._kernels.compose_masked`) copies runs of same-segment pixels
        (a few per image row) instead of gathering an (n, H, W) mask and selecting pixel by
        pixel as the plain ``where`` does (kept in ``tests/explain/image/naive.py``).
        """
        present = np.ascontiguousarray(present, dtype=np.bool_)
        h, w, c = self.image.shape
        out = np.empty((present.shape[0], h * w, c), dtype=np.uint8)
        compose_masked(present, *self._runs, self._image, self._baseline, out)
        return out.reshape(present.shape[0], h, w, c)
