"""Object detection: the detections explained, and each one's score on a masked image.

A detection is ``[class_id, score, xmin, ymin, xmax, ymax]`` with the box corners normalised by
the image's width and height (the built-in object-detection algorithm's format, Developer
Guide *Object Detection Response Formats*). A model's answer for ``n`` images is an
(n, K, 6) float array, detections in any order, rows of NaN padding the shorter lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Detection", "iou", "matched_scores", "select_detections"]


@dataclass(frozen=True)
class Detection:
    """One detected object of the unmasked image, explained as ``box<k>``."""

    box: str
    class_id: int
    score: float
    bbox: tuple[float, float, float, float]


def select_detections(dets: np.ndarray, probability_threshold: float, max_objects: int,
                      class_ids: tuple[int, ...] | None = None) -> list[Detection]:
    """The detections to explain: score >= ``probability_threshold``, the ``max_objects`` best.

    Parameters
    ----------
    dets : ndarray (K, 6)
        Detections of the unmasked image (NaN rows are padding).
    probability_threshold : float
        Top-level ``probability_threshold``: lower scores are dropped (Developer Guide).
    max_objects : int
        ``image_config.max_objects``: most objects explained.
    class_ids : tuple of int, optional
        ``debug.class_ids``: only these classes.

    Returns
    -------
    list of Detection
        Named ``box1``, ``box2``, ... in descending score order (ties: the model's order).
    """
    rows = dets[~np.isnan(dets).any(axis=1)]
    rows = rows[rows[:, 1] >= probability_threshold]
    if class_ids is not None:
        rows = rows[np.isin(rows[:, 0].astype(np.int64), np.asarray(class_ids, dtype=np.int64))]
    order = np.argsort(-rows[:, 1], kind="stable")[:max_objects]
    return [Detection(box=f"box{k + 1}", class_id=int(rows[i, 0]), score=float(rows[i, 1]),
                      bbox=tuple(float(v) for v in rows[i, 2:6]))
            for k, i in enumerate(order)]


def iou(boxes: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Intersection over union of each of ``boxes`` (..., 4) with ``box`` (corners, any unit).

    Empty boxes (zero area) have IoU 0 with everything.
    """
    bx0, by0, bx1, by1 = box
    x0 = np.maximum(boxes[..., 0], bx0)
    y0 = np.maximum(boxes[..., 1], by0)
    x1 = np.minimum(boxes[..., 2], bx1)
    y1 = np.minimum(boxes[..., 3], by1)
    inter = np.clip(x1 - x0, 0.0, None) * np.clip(y1 - y0, 0.0, None)
    area = np.clip(boxes[..., 2] - boxes[..., 0], 0.0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0.0, None)
    union = area + max(bx1 - bx0, 0.0) * max(by1 - by0, 0.0) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out


def matched_scores(dets: np.ndarray, objects: list[Detection], iou_threshold: float) -> np.ndarray:
    """Score of each explained object on each masked image.

    Parameters
    ----------
    dets : ndarray (n, K, 6)
        Detections of ``n`` masked images (NaN rows are padding).
    objects : list of Detection
    iou_threshold : float
        ``image_config.iou_threshold``.

    Returns
    -------
    ndarray (n, len(objects))
        For object ``k``: the highest score among the masked image's detections of the same
        class whose box has IoU >= ``iou_threshold`` with the object's box; 0 when there is
        none (``docs/images.md``).
    """
    n = dets.shape[0]
    out = np.zeros((n, len(objects)))
    if dets.shape[1] == 0:
        return out
    valid = ~np.isnan(dets).any(axis=2)  # (n, K)
    cls = np.where(valid, dets[..., 0], -1.0)
    score = np.where(valid, dets[..., 1], 0.0)
    boxes = np.where(valid[..., None], dets[..., 2:6], 0.0)
    for k, obj in enumerate(objects):
        hit = valid & (cls == obj.class_id) & (iou(boxes, obj.bbox) >= iou_threshold)
        out[:, k] = np.where(hit, score, 0.0).max(axis=1, initial=0.0)
    return out
