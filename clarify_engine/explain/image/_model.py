"""Score functions of image models: a remote model behind the batched client, or a Python callable."""

from __future__ import annotations

from typing import Callable

import numpy as np

from clarify_engine.errors import ModelError
from clarify_engine.explain.image._engine import ScoreFn
from clarify_engine.predict._image_codec import detections, pack_images

__all__ = ["batched_score_fn", "callable_score_fn"]


def batched_score_fn(predict: Callable, detection: bool) -> ScoreFn:
    """A :data:`ScoreFn` sending images through ``predict`` (e.g. ``Batcher.predict``).

    Parameters
    ----------
    predict : callable
        ``predict(records) -> ModelOutput`` for records of
        :func:`~clarify_engine.predict._image_codec.pack_images`, with an image request codec
        and a classifier or detection reply codec. The batcher packs the masked images into
        requests within the payload limit, sends them concurrently with retries, and never
        sends two identical images in one call.
    detection : bool
        The model is a detector (replies become (n, slots, 6) detections).
    """

    def score(images: np.ndarray) -> np.ndarray:
        out = predict(pack_images(images))
        if out.scores is None:
            raise ModelError("The image model's replies held no scores; expected class scores or detections.")
        return detections(out.scores) if detection else out.scores

    return score


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
