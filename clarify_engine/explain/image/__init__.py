"""Computer-vision explanations: SLIC superpixels as Kernel SHAP features, for image
classifiers and object detectors (``docs/images.md``)."""

from clarify_engine.explain.image._baseline import noise_image, resize_baseline
from clarify_engine.explain.image._detect import Detection, iou, matched_scores, select_detections
from clarify_engine.explain.image._engine import ImageExplanation, ImageTarget, ScoreFn, explain_image
from clarify_engine.explain.image._masking import Masker, context_window
from clarify_engine.explain.image._model import callable_score_fn
from clarify_engine.explain.image._segments import segment_image
from clarify_engine.explain.image._spec import ImageSpec

__all__ = [
    "Detection",
    "ImageExplanation",
    "ImageSpec",
    "ImageTarget",
    "Masker",
    "ScoreFn",
    "callable_score_fn",
    "context_window",
    "explain_image",
    "iou",
    "matched_scores",
    "noise_image",
    "resize_baseline",
    "segment_image",
    "select_detections",
]
