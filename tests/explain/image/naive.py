"""Slow, obviously correct twins of the image kernels."""

from __future__ import annotations

import numpy as np


def compose(present, segments, inside, image, baseline):
    """Masked images (n, H, W, C): a pixel from ``image`` when its segment is present and it is
    inside the window, else from ``baseline``."""
    out = []
    for z in present:
        keep = z[segments] & inside
        out.append(np.where(keep[..., None], image, baseline))
    return np.array(out, dtype=np.uint8).reshape(len(present), *image.shape)
