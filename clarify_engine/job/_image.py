"""An image SHAP job: read each image, explain it, write its outputs, then the section.

Images are explained one at a time in sorted order and their heat maps are written before the
next image is read, so a job stopped half way keeps every image it finished. An image that
cannot be read is reported by name (``failed_images``) and the job goes on; a model error
stops the job (it would fail for every image).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.data._images import ImageFile, ImageReadError, decode_image, files_of, image_files, read_images
from clarify_engine.data._sources import open_binary, resolve_location
from clarify_engine.errors import ConfigError, DataError, ModelError
from clarify_engine.explain.image import (ImageSpec, ScoreFn, callable_score_fn, explain_image, noise_image,
                                         resize_baseline)
from clarify_engine.job._meter import StageCalls
from clarify_engine.predict import load_model
from clarify_engine.predict.codecs._image import image_score_fn
from clarify_engine.report._image_outputs import ImageOutputWriter, image_shap_section

__all__ = ["ImageShapResult", "run_image_shap", "run_image_shap_job", "select_images"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageShapResult:
    """What an image SHAP job produced.

    Attributes
    ----------
    model_type : str
    entries : tuple of dict
        One ``analysis.json`` entry per explained image, in order.
    errors : tuple of dict
        ``{"image", "reason"}`` of every image that could not be read.
    pending : dict
        Output files not written yet (relative path -> bytes): the job ran without an output
        folder; ``AnalysisResult.write`` writes them.
    """

    model_type: str
    entries: tuple
    errors: tuple
    pending: dict = field(default_factory=dict)

    def section(self) -> dict:
        """``analysis.json`` ``explanations.image_shap``."""
        return image_shap_section(self.model_type, self.entries, self.errors)

    def manifest(self) -> dict:
        """For ``run_manifest.json``: images explained and failed, the model type."""
        return {"model_type": self.model_type, "images_explained": len(self.entries),
                "images_failed": len(self.errors)}


def select_images(files: list[ImageFile], spec: ImageSpec) -> list[ImageFile]:
    """The images ``debug`` asks for: ``sample_from .. sample_to`` (indices into the sorted list,
    both included), then only those named in ``image_names``.

    Raises
    ------
    ConfigError
        An ``image_names`` entry that is not in the dataset, or an empty selection.
    """
    chosen = files
    if spec.sample_from is not None or spec.sample_to is not None:
        lo = spec.sample_from or 0
        hi = len(files) - 1 if spec.sample_to is None else spec.sample_to
        chosen = chosen[lo: hi + 1]
    if spec.image_names is not None:
        by_name = {f.name: f for f in chosen}
        missing = [n for n in spec.image_names if n not in by_name]
        if missing:
            raise ConfigError("methods.shap.image_config.debug.image_names",
                              f"{missing} are not among the dataset's images{' in the sampled range' if chosen is not files else ''} "
                              f"(first names: {[f.name for f in files[:5]]}); use names relative to the dataset location")
        chosen = [by_name[n] for n in spec.image_names]
    if not chosen:
        raise ConfigError("methods.shap.image_config.debug",
                          f"selects no image of the {len(files)} in the dataset; widen sample_from/sample_to")
    return chosen


def _load_baseline(location: str | None, storage_options, base_dir) -> np.ndarray | None:
    if location is None:
        return None
    location = resolve_location(location, base_dir)
    try:
        with open_binary(location, storage_options) as stream:
            data = stream.read()
    except DataError as exc:
        raise ConfigError("methods.shap.baseline", f"the baseline image cannot be read: {exc}") from exc
    try:
        return decode_image(data, location)
    except DataError as exc:
        raise ConfigError("methods.shap.baseline", f"{exc} Give a .jpg or .png baseline image.") from exc


def run_image_shap(spec: ImageSpec, dataset, score_fn: ScoreFn, output_dir=None, *,
                   storage_options: dict | None = None, base_dir=None) -> ImageShapResult:
    """Explain every image of a dataset location and write the outputs as each finishes.

    Parameters
    ----------
    spec : ImageSpec
    dataset : str or sequence of ImageFile
        Folder, ``s3://`` prefix, image file or manifest; or the images already listed.
    score_fn : ScoreFn
        The model (see :func:`~clarify_engine.explain.image.explain_image`).
    output_dir : path, optional
        Where heat maps and local values are written as each image finishes; None keeps
        them in the result's ``pending`` files.
    storage_options : dict, optional
        fsspec options for URLs.
    base_dir : path, optional
        Folder a relative baseline location is taken from.

    Returns
    -------
    ImageShapResult

    Raises
    ------
    DataError
        No image could be read (names each with its reason).
    ConfigError
        Unreadable baseline image, a ``debug`` selection naming unknown images.
    ModelError
        The model failed or answered in an unexpected shape.
    """
    listed = image_files(dataset, storage_options) if isinstance(dataset, str) else list(dataset)
    files = select_images(listed, spec)
    baseline_source = _load_baseline(spec.baseline, storage_options, base_dir)
    writer = ImageOutputWriter(None if output_dir is None else Path(output_dir), spec.save_local_values)
    entries, errors = [], []
    progress = Progress("Image SHAP", len(files), "images")
    try:
        for f, image in read_images(files, storage_options):
            _stop.check()
            if isinstance(image, ImageReadError):
                errors.append(image.to_dict())
                progress.update(1)
                continue
            h, w = image.shape[:2]
            if baseline_source is not None:
                baseline = resize_baseline(baseline_source, h, w)
            else:
                baseline = noise_image(h, w, spec.seed, f.name)
            explanation = explain_image(f.name, image, baseline, spec, score_fn)
            entries.append(writer.write(image, explanation, spec.model_type))
            progress.update(1)
        progress.close()
    finally:
        progress.close(finished=False)
    if not entries and errors:
        raise DataError("No image could be read: " + "; ".join(f"{e['image']}: {e['reason']}" for e in errors))
    return ImageShapResult(model_type=spec.model_type, entries=tuple(entries), errors=tuple(errors),
                           pending=writer.pending)


def _in_process_score_fn(model: Any, spec: ImageSpec, calls) -> ScoreFn:
    """The score function of an in-process image model (a callable of images, an estimator's
    ``predict_proba``, or a model file holding either), its calls counted in ``calls``."""
    if isinstance(model, (str, os.PathLike)):
        model = load_model(Path(model))
    fn = model.predict_proba if callable(getattr(model, "predict_proba", None)) else model
    if not callable(fn):
        raise ModelError(f"the image model of type {type(model).__name__} is not callable and has no predict_proba; "
                         "pass a function of an (n, H, W, 3) uint8 image batch")
    inner = callable_score_fn(fn, spec.detection)

    def score(images: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = inner(images)
        calls.rows += images.shape[0]
        calls.calls += 1
        calls.seconds += time.perf_counter() - start
        return out

    return score


def run_image_shap_job(spec: ImageSpec, dataset, meter, model: Any = None, output_dir=None,
                       base_dir=None) -> ImageShapResult:
    """The image step of a planned job (``job._run.run_job``).

    Parameters
    ----------
    spec : ImageSpec
    dataset : Dataset
        From :func:`clarify_engine.data._images.load_image_dataset` (one row per image).
    meter : ModelMeter
        The job's metered model. A remote model's requests carry packed images
        (``predict/codecs/_image.py``); an in-process ``model`` is called on image batches.
    model : object, optional
        The model given to the job (a callable of images, an estimator, a model file, a URL).
    output_dir, base_dir : path, optional
    """
    if meter.predictor.batcher is not None:  # remote: through the batched, retrying client
        score_fn = image_score_fn(meter.scorer("image_shap"), spec.detection)
    else:
        score_fn = _in_process_score_fn(model, spec, meter.stages.setdefault("image_shap", StageCalls()))
    return run_image_shap(spec, files_of(dataset.frame), score_fn, output_dir, base_dir=base_dir)
