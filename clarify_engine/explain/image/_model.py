"""The score function of an image model called in this process (a remote model's is
:func:`clarify_engine.predict.codecs._image.image_score_fn`)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from clarify_engine.explain.image._engine import ScoreFn

__all__ = ["callable_score_fn"]


def callable_score_fn(model: Callable, detection: bool) -> ScoreFn:
    """A :data:`ScoreFn` calling an in-process model on the (n, H, W, 3) uint8 batch.

    A detector may return one list of detections per image (lists of different lengths are
    padded with NaN rows).
    """

    def score(images: np.ndarray) -> np.ndarray:
        out = model(images)
        if not detection:
            return np.asarray(out, dtype=np.float64)
        if isinstance(out, np.ndarray) and out.ndim == 3:
            return out.astype(np.float64)
        per_image = [np.asarray(d, dtype=np.float64).reshape(-1, 6) for d in out]
        slots = max((d.shape[0] for d in per_image), default=0)
        padded = np.full((len(per_image), slots, 6), np.nan)
        for i, d in enumerate(per_image):
            padded[i, : d.shape[0]] = d
        return padded

    return score
