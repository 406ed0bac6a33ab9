"""What an image SHAP job does, every value resolved (built from the config by
``clarify_engine.job._plan_image.plan_image``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLASSIFICATION", "DETECTION", "IMAGE_DATASET_TYPE", "ImageSpec"]

IMAGE_DATASET_TYPE = "application/x-image"
CLASSIFICATION = "IMAGE_CLASSIFICATION"
DETECTION = "OBJECT_DETECTION"


@dataclass(frozen=True)
class ImageSpec:
    """Resolved settings of image explanations (``methods.shap.image_config`` and friends).

    Attributes
    ----------
    model_type : {"IMAGE_CLASSIFICATION", "OBJECT_DETECTION"}
    num_segments : int
        SLIC's target number of superpixels.
    compactness : float
        SLIC's compactness.
    num_samples : int or None
        Kernel SHAP coalitions per explained image (None: the engine's default for the
        real segment count).
    seed : int or None
        Seed of the coalition sampler and of the noise baseline.
    use_logit : bool
    baseline : str or None
        Location of the baseline image (None: seeded white noise per image).
    label_headers : tuple of str
        Class names by class id.
    probability_threshold : float
        Detections below it are not explained.
    max_objects, iou_threshold, context
        Object detection settings.
    class_ids : tuple of int or None
        ``debug.class_ids``: classes explained (classification) or kept (detection).
    image_names : tuple of str or None
        ``debug.image_names``: only these images (names relative to the dataset location).
    sample_from, sample_to : int or None
        ``debug.sample_from`` / ``sample_to``: a slice of the sorted image list (both ends included).
    save_local_values : bool
        Write the per-image local-values files.
    regression_adjusted : bool
        Regression-adjust sampled values with a cubic surrogate of the superpixel game
        (``explain/image/_adjust.py``; ``methods.shap.regression_adjusted``, on unless false).
    """

    model_type: str
    num_segments: int = 20
    compactness: float = 5.0
    num_samples: int | None = None
    seed: int | None = None
    use_logit: bool = False
    baseline: str | None = None
    label_headers: tuple = ()
    probability_threshold: float = 0.5
    max_objects: int = 3
    iou_threshold: float = 0.5
    context: float = 1.0
    class_ids: tuple | None = None
    image_names: tuple | None = None
    sample_from: int | None = None
    sample_to: int | None = None
    save_local_values: bool = True
    regression_adjusted: bool = True

    @property
    def detection(self) -> bool:
        """True for object detection."""
        return self.model_type == DETECTION
