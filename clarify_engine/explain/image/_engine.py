"""Kernel SHAP over the superpixels of one image, for a classifier or an object detector.

Each SLIC segment is a feature. A coalition row ``z`` (1 = present) becomes the masked image
``where(z[segments], image, baseline)``; the model's score on it is the value of the
coalition. Kernel SHAP runs on the segments that can change a masked image, with the image
plan of :mod:`._plan` (stratified paired sampling without replacement) and the constrained
regression of the tabular core (:class:`clarify_engine.explain._kernel_shap._Solver`), so its
minimum-norm fallback, standard errors and exactness carry over: with every coalition in the
budget the values are the exact Shapley values, and they always add up to
``f(image) - f(baseline)`` (through the link). With ``spec.regression_adjusted`` (the default)
a sampled plan of enough coalitions is regression-adjusted by a cubic surrogate of the game
(:mod:`._adjust`): no extra model call, less error per model call.

A segment that cannot change a masked image (the image equals the baseline on it, or it lies
outside an object's context window) gets exactly 0 and is left out of the coalitions, so no
masked image is built or sent twice for one target, and the budget and the exactness
threshold ``2^M - 2`` count only the segments that matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from clarify_engine import _stop
from clarify_engine.errors import ModelError
from clarify_engine.explain._coalitions import default_num_samples
from clarify_engine.explain._kernel_shap import _apply_link, _one_blas_thread, _Solver
from clarify_engine.explain.image._adjust import adjustable, solve_adjusted
from clarify_engine.explain.image._detect import Detection, matched_scores, select_detections
from clarify_engine.explain.image._masking import Masker, context_window
from clarify_engine.explain.image._plan import image_plan
from clarify_engine.explain.image._segments import segment_image
from clarify_engine.explain.image._spec import ImageSpec

__all__ = ["ImageExplanation", "ImageTarget", "ScoreFn", "explain_image"]

log = logging.getLogger(__name__)

#: ``score_fn(images)``: ``images`` (n, H, W, 3) uint8 -> classifier scores (n, D), or
#: detections (n, K, 6) ``[class_id, score, xmin, ymin, xmax, ymax]`` with NaN rows as padding.
ScoreFn = Callable[[np.ndarray], np.ndarray]

#: Masked images built for one model call at most (bytes of pixels).
MAX_BATCH_BYTES = 64 * 2 ** 20


@dataclass(frozen=True)
class ImageTarget:
    """One explained class (classification) or object (detection) of an image.

    Attributes
    ----------
    label : str
        ``label_headers[class_id]``.
    class_id : int
    score : float
        The model's score of the class (or of the detection) on the unmasked image.
    values : ndarray (M,)
        SHAP value of each segment.
    standard_errors : ndarray (M,)
    expected_value : float
        ``link(f(baseline))``; ``values.sum() == fx - expected_value``.
    fx : float
        ``link(f)`` of the image (for a detection with ``context < 1``, of the image with the
        baseline outside the context window).
    box : str or None
        ``box1``, ``box2``, ... for detections.
    bbox : (xmin, ymin, xmax, ymax) or None
        Normalised box of a detection.
    """

    label: str
    class_id: int
    score: float
    values: np.ndarray
    standard_errors: np.ndarray
    expected_value: float
    fx: float
    box: str | None = None
    bbox: tuple | None = None


@dataclass(frozen=True)
class ImageExplanation:
    """The explanation of one image.

    Attributes
    ----------
    name : str
        The image's name relative to the dataset location.
    segments : ndarray (H, W) int32
        Segment of each pixel.
    n_segments : int
        The real SLIC segment count ``M``.
    targets : tuple of ImageTarget
        Explained classes or objects (empty when a detector found nothing to explain).
    n_coalitions : int
        Coalitions evaluated per target (without the empty and the full one).
    exact : bool
        True when every coalition was evaluated (exact Shapley values).
    detections : ndarray (K, 6) or None
        The detector's whole answer on the unmasked image (object detection).
    regression_adjusted : bool
        True when the values of at least one target are regression-adjusted (``._adjust``).
    """

    name: str
    segments: np.ndarray
    n_segments: int
    targets: tuple
    n_coalitions: int
    exact: bool
    detections: np.ndarray | None = field(default=None, repr=False)
    regression_adjusted: bool = False


def _scores(score_fn: ScoreFn, images: np.ndarray, detection: bool) -> np.ndarray:
    """``score_fn(images)`` checked: (n, D) finite scores, or (n, K, 6) detections."""
    out = np.asarray(score_fn(images), dtype=np.float64)
    n = images.shape[0]
    if detection:
        if out.ndim == 2 and out.shape[0] == n and out.shape[1] == 0:
            out = out.reshape(n, 0, 6)
        if out.ndim != 3 or out.shape[0] != n or out.shape[2] != 6:
            raise ModelError(f"The detector answered with shape {out.shape} for {n} image(s); expected "
                             "(images, detections, 6) rows [class_id, score, xmin, ymin, xmax, ymax].")
        return out
    if out.ndim == 1 and n == 1:
        out = out[None, :]
    if out.ndim != 2 or out.shape[0] != n:
        raise ModelError(f"The classifier answered with shape {out.shape} for {n} image(s); expected one "
                         "list of class scores per image.")
    if not np.all(np.isfinite(out)):
        raise ModelError("The classifier answered with a score that is not a finite number (NaN or inf); "
                         "expected finite class scores.")
    return out


def _rows_per_call(image: np.ndarray) -> int:
    return max(1, MAX_BATCH_BYTES // max(image.nbytes, 1))


@dataclass(frozen=True)
class _Estimate:
    """SHAP values of one image for ``D`` explained outputs (classes or objects)."""

    values: np.ndarray  # (M, D)
    standard_errors: np.ndarray  # (M, D)
    expected_value: np.ndarray  # (D,) link(f(baseline))
    fx: np.ndarray  # (D,) link(f(image))
    n_coalitions: int
    exact: bool
    images_sent: int
    regression_adjusted: bool = False


def _run(masker: Masker, score_fn: ScoreFn, value, spec: ImageSpec, full_value, detection: bool) -> _Estimate:
    """Kernel SHAP of one image over the segments that can change it (``masker.active``).

    The other segments are dummies: exactly 0, and left out of the coalitions, so no two
    coalitions give the same masked image and the budget is spent on distinct images only. The
    plan is :func:`._plan.image_plan`; the constrained regression, its minimum-norm fallback
    and the standard errors are the tabular core's (:class:`explain._kernel_shap._Solver`).
    """
    m = masker.n_segments
    active = masker.active
    k = active.shape[0]
    link = "logit" if spec.use_logit else "identity"
    per_call = _rows_per_call(masker.image)
    sent = 0

    def evaluate(present: np.ndarray) -> np.ndarray:
        nonlocal sent
        out = []
        for lo in range(0, present.shape[0], per_call):
            _stop.check()
            images = masker.compose(present[lo: lo + per_call])
            sent += images.shape[0]
            out.append(value(_scores(score_fn, images, detection)))
        return np.concatenate(out)

    v_empty = evaluate(np.zeros((1, m), dtype=bool))[0]
    v_full = full_value if full_value is not None else evaluate(np.ones((1, m), dtype=bool))[0]
    expected, fx = _apply_link(v_empty, link), _apply_link(np.asarray(v_full, dtype=np.float64), link)
    n_out = expected.shape[0]
    values = np.zeros((m, n_out))
    errors = np.zeros((m, n_out))
    if k == 1:
        values[active[0]] = fx - expected
    if k < 2:
        return _Estimate(values, errors, expected, fx, 0, True, sent)
    budget = default_num_samples(k) if spec.num_samples is None else spec.num_samples
    plan = image_plan(k, budget, spec.seed)
    present = np.zeros((plan.masks.shape[0], m), dtype=bool)
    present[:, active] = plan.masks.astype(bool)
    y = _apply_link(evaluate(present), link) - expected[None, :]
    adjusted = False
    with _one_blas_thread():
        solver = _Solver(plan)
        if spec.regression_adjusted and adjustable(solver, k):
            phi, se, which = solve_adjusted(solver, y, fx - expected)
            adjusted = bool(which.any())
        else:
            phi, se = solver.solve(y, fx - expected)
    values[active], errors[active] = phi, se
    return _Estimate(values, errors, expected, fx, plan.masks.shape[0], plan.exact, sent, adjusted)


def _classify(name, image, baseline, segments, spec: ImageSpec, score_fn: ScoreFn) -> ImageExplanation:
    full = _scores(score_fn, image[None], False)[0]
    n_labels = len(spec.label_headers)
    if full.shape[0] != n_labels:
        raise ModelError(f"Image {name}: the classifier answered {full.shape[0]} scores; predictor.label_headers "
                         f"names {n_labels} classes. List one label header per score.")
    class_ids = list(spec.class_ids) if spec.class_ids is not None else [int(np.argmax(full))]
    masker = Masker(image, baseline, segments)
    cols = np.asarray(class_ids)
    result = _run(masker, score_fn, lambda s: s[:, cols], spec, full[cols], False)
    sent = result.images_sent
    targets = tuple(
        ImageTarget(label=spec.label_headers[c], class_id=c, score=float(full[c]),
                    values=result.values[:, d].copy(), standard_errors=result.standard_errors[:, d].copy(),
                    expected_value=float(result.expected_value[d]), fx=float(result.fx[d]))
        for d, c in enumerate(class_ids))
    log.info("Image %s: %d segments, %d masked images sent, class %s explained.", name, masker.n_segments,
             sent, ", ".join(t.label for t in targets))
    return ImageExplanation(name=name, segments=segments, n_segments=masker.n_segments, targets=targets,
                            n_coalitions=result.n_coalitions, exact=result.exact,
                            regression_adjusted=result.regression_adjusted)


def _target(spec: ImageSpec, obj: Detection, result: _Estimate, d: int) -> ImageTarget:
    return ImageTarget(label=spec.label_headers[obj.class_id] if 0 <= obj.class_id < len(spec.label_headers)
                       else str(obj.class_id),
                       class_id=obj.class_id, score=obj.score,
                       values=result.values[:, d].copy(),
                       standard_errors=result.standard_errors[:, d].copy(),
                       expected_value=float(result.expected_value[d]), fx=float(result.fx[d]),
                       box=obj.box, bbox=obj.bbox)


def _detect(name, image, baseline, segments, spec: ImageSpec, score_fn: ScoreFn) -> ImageExplanation:
    dets = _scores(score_fn, image[None], True)[0]
    objects = select_detections(dets, spec.probability_threshold, spec.max_objects, spec.class_ids)
    m = int(segments.max()) + 1
    if not objects:
        log.info("Image %s: no detection scores %.3g or more; nothing to explain.", name, spec.probability_threshold)
        return ImageExplanation(name=name, segments=segments, n_segments=m, targets=(), n_coalitions=0,
                                exact=True, detections=dets)

    def value(objs):
        return lambda d: matched_scores(d, objs, spec.iou_threshold)

    targets, n_coal, exact, sent, adjusted = [], 0, True, 0, False
    if spec.context >= 1.0:  # one masked image serves every object: one run, one output per object
        masker = Masker(image, baseline, segments)
        full_value = matched_scores(dets[None], objects, spec.iou_threshold)[0]
        result = _run(masker, score_fn, value(objects), spec, full_value, True)
        sent = result.images_sent
        targets = [_target(spec, obj, result, d) for d, obj in enumerate(objects)]
        n_coal, exact, adjusted = result.n_coalitions, result.exact, result.regression_adjusted
    else:  # each object has its own context window, so its own masked images
        h, w = segments.shape
        for obj in objects:
            masker = Masker(image, baseline, segments, context_window(obj.bbox, spec.context, h, w))
            result = _run(masker, score_fn, value([obj]), spec, None, True)
            targets.append(_target(spec, obj, result, 0))
            n_coal, exact, sent = max(n_coal, result.n_coalitions), exact and result.exact, sent + result.images_sent
            adjusted = adjusted or result.regression_adjusted
    log.info("Image %s: %d segments, %d object(s) explained, %d masked images sent.", name, m, len(targets), sent)
    return ImageExplanation(name=name, segments=segments, n_segments=m, targets=tuple(targets),
                            n_coalitions=n_coal, exact=exact, detections=dets, regression_adjusted=adjusted)


def explain_image(name: str, image: np.ndarray, baseline: np.ndarray, spec: ImageSpec,
                  score_fn: ScoreFn) -> ImageExplanation:
    """Explain one image by Kernel SHAP over its SLIC superpixels.

    Parameters
    ----------
    name : str
        The image's name (for messages and outputs).
    image : ndarray (H, W, 3) uint8
    baseline : ndarray (H, W, 3) uint8
        What absent superpixels are painted from (already resized to the image).
    spec : ImageSpec
    score_fn : callable
        ``score_fn(images (n, H, W, 3) uint8)``: class scores (n, D) for a classifier,
        detections (n, K, 6) for a detector (:data:`ScoreFn`).

    Returns
    -------
    ImageExplanation

    Raises
    ------
    ModelError
        The model's answer has the wrong shape, a classifier's score count differs from
        ``label_headers``, or a score is not finite.
    """
    if image.shape != baseline.shape:
        raise ValueError(f"baseline shape {baseline.shape} differs from image shape {image.shape}")
    segments = segment_image(image, spec.num_segments, spec.compactness)
    if spec.detection:
        return _detect(name, image, baseline, segments, spec, score_fn)
    return _classify(name, image, baseline, segments, spec, score_fn)
