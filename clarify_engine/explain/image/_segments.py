"""Superpixels: each SLIC segment of an image is one Kernel SHAP feature."""

from __future__ import annotations

import numpy as np

__all__ = ["segment_image"]


def segment_image(image: np.ndarray, num_segments: int, compactness: float) -> np.ndarray:
    """SLIC superpixels of an RGB image, numbered ``0 .. M-1`` in order of first appearance.

    Parameters
    ----------
    image : ndarray (H, W, 3) uint8
    num_segments : int
        ``image_config.num_segments``: the number of superpixels SLIC aims at.
    compactness : float
        ``image_config.segment_compactness``: higher values give squarer superpixels.

    Returns
    -------
    ndarray (H, W) int32
        The segment of every pixel. The real count ``M = segments.max() + 1`` may differ from
        ``num_segments`` (SLIC places a grid of centres and merges small regions).

    Notes
    -----
    ``skimage.segmentation.slic(image, n_segments=num_segments, compactness=compactness,
    start_label=0)`` on the RGB image (SLIC works in CIELAB for three channels), as the
    Developer Guide names it; the labels are renumbered so that they are contiguous.
    """
    from skimage.segmentation import slic

    labels = slic(image, n_segments=int(num_segments), compactness=float(compactness), start_label=0,
                  channel_axis=-1)
    flat = labels.reshape(-1)
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # renumber by first appearance in raster order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return rank[inverse.reshape(-1)].reshape(labels.shape).astype(np.int32)
