"""Computer-vision explanations: SLIC superpixels as Kernel SHAP features, for image
classifiers and object detectors (``docs/images.md``)."""

from clarify_engine.explain.image._baseline import noise_image, resize_baseline
from clarify_engine.explain.image._detect import Detection, iou, matched_scores, select_detections
from clarify_engine.explain.image._engine import ImageExplanation, ImageTarget, ScoreFn, explain_image
from clarify_engine.explain.image._job import ImageShapResult, run_image_shap, select_images
from clarify_engine.explain.image._masking import Masker, context_window
from clarify_engine.explain.image._model import batched_score_fn, callable_score_fn
from clarify_engine.explain.image._segments import segment_image

__all__ = [
    "Detection",
    "ImageExplanation",
    "ImageShapResult",
    "ImageTarget",
    "Masker",
    "ScoreFn",
    "batched_score_fn",
    "callable_score_fn",
    "context_window",
    "explain_image",
    "iou",
    "matched_scores",
    "noise_image",
    "resize_baseline",
    "run_image_shap",
    "segment_image",
    "select_images",
    "select_detections",
]
