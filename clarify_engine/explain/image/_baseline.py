"""The image that absent superpixels are painted from: a baseline image resized to each
input, or white noise drawn from a seed."""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["noise_image", "resize_baseline"]


def resize_baseline(baseline: np.ndarray, height: int, width: int) -> np.ndarray:
    """``baseline`` (h, w, 3) uint8 resized to (height, width, 3) (Pillow, bilinear).

    Clarify "loads the mask image and resizes it to the same resolution as the input image"
    (Developer Guide, *Analysis Configuration Files*, ``baseline``).
    """
    if baseline.shape[:2] == (height, width):
        return baseline
    from PIL import Image

    resized = Image.fromarray(baseline).resize((width, height), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(resized, dtype=np.uint8))


def noise_image(height: int, width: int, seed: int | None, name: str) -> np.ndarray:
    """Uniform white noise (height, width, 3) uint8 for the image ``name``.

    With a seed the noise of an image depends only on the seed and the image's name, so a re-run
    (or an image explained on its own through ``debug.image_names``) paints the same pixels.
    Without a seed it is fresh entropy (not reproducible), as ``methods.shap.seed`` documents.
    """
    if seed is None:
        rng = np.random.default_rng()
    else:
        rng = np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
