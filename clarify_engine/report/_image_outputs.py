"""Outputs of image explanations, written as each image finishes (``docs/images.md``).

At the root of the output folder (where the notebooks of Clarify's computer-vision examples
read them):

* ``shap_<stem>.jpeg`` (classification) — the image with its SLIC boundaries and each segment
  tinted by its SHAP value: blue positive, red negative, on a colour scale symmetric around 0
  (``±max|value|``), alpha 0.5;
* ``shap_<stem>_box<k>_object.jpeg`` (detection) — the same for object ``k``, its box drawn;
* ``<stem>_objects.jpeg`` (detection) — the image with every explained box and its label.

Per image, when ``save_local_shap_values`` is on, ``explanations_shap/images/<stem>.json``
(the image's entry of ``analysis.json`` plus standard errors) and
``explanations_shap/images/<stem>_segments.png`` (the segment of each pixel, 16-bit grayscale).

Every file is written with :func:`clarify_engine._io.atomic_write`: a job stopped half way keeps
whole files of the images it finished. JPEGs are encoded by Pillow at quality 95 from
deterministic arrays, so a re-run with the same seed writes the same bytes.
"""

from __future__ import annotations

import io
import json
import posixpath
from pathlib import Path

import numpy as np

from clarify_engine._io import atomic_write

__all__ = ["LOCAL_DIR", "ImageOutputWriter", "heatmap", "image_shap_section", "objects_image", "write_pending"]

#: Folder of the per-image local values, relative to the output folder.
LOCAL_DIR = "explanations_shap/images"

#: JPEG quality of the written images.
QUALITY = 95
#: Opacity of the SHAP tint over the image.
ALPHA = 0.5
_BLUE = np.array([0.0, 0.25, 1.0])
_RED = np.array([1.0, 0.0, 0.0])
_BOX = (255, 215, 0)


def _jpeg(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=QUALITY, subsampling=0)
    return buffer.getvalue()


def heatmap(image: np.ndarray, segments: np.ndarray, values: np.ndarray, bbox=None) -> np.ndarray:
    """The heat map of one explained class or object, (H, W, 3) uint8.

    Parameters
    ----------
    image : ndarray (H, W, 3) uint8
    segments : ndarray (H, W) int
    values : ndarray (M,)
        SHAP value per segment.
    bbox : (xmin, ymin, xmax, ymax), optional
        Normalised box drawn on top (detections).

    Notes
    -----
    Tint ``t = values / max|values|`` in [-1, 1]; a pixel of segment ``j`` becomes
    ``(1 - a) image + a ((1 - |t_j|) white + |t_j| colour)``, colour blue for ``t_j > 0`` and red
    for ``t_j < 0``, ``a = 0.5``; then the segment boundaries in black
    (``skimage.segmentation.mark_boundaries``).
    """
    from skimage.segmentation import mark_boundaries

    scale = float(np.max(np.abs(values))) if values.size else 0.0
    t = values / scale if scale > 0 else np.zeros_like(values)
    colour = np.where(t[:, None] >= 0, _BLUE[None, :], _RED[None, :])
    tint = (1.0 - np.abs(t))[:, None] + np.abs(t)[:, None] * colour  # (M, 3) in [0, 1]
    base = image.astype(np.float64) / 255.0
    mixed = (1.0 - ALPHA) * base + ALPHA * tint[segments]
    marked = mark_boundaries(mixed, segments, color=(0.0, 0.0, 0.0), mode="inner")
    out = np.clip(np.rint(marked * 255.0), 0, 255).astype(np.uint8)
    if bbox is not None:
        out = _draw_boxes(out, [(bbox, None)])
    return out


def _draw_boxes(image: np.ndarray, boxes) -> np.ndarray:
    from PIL import Image, ImageDraw

    h, w = image.shape[:2]
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(min(h, w) / 100))
    for (xmin, ymin, xmax, ymax), text in boxes:
        x0, y0 = round(xmin * (w - 1)), round(ymin * (h - 1))
        x1, y1 = max(x0, round(xmax * (w - 1))), max(y0, round(ymax * (h - 1)))
        draw.rectangle((x0, y0, x1, y1), outline=_BOX, width=width)
        if text:
            draw.text((x0 + width + 1, y0 + width + 1), text, fill=_BOX)
    return np.asarray(canvas, dtype=np.uint8)


def objects_image(image: np.ndarray, targets) -> np.ndarray:
    """The image with every explained detection's box and ``box<k> label score`` drawn."""
    return _draw_boxes(image, [(t.bbox, f"{t.box} {t.label} {t.score:.2f}") for t in targets])


def _segments_png(segments: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(segments.astype(np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


def _round(values: np.ndarray) -> list:
    return [float(v) if np.isfinite(v) else None for v in values]


class ImageOutputWriter:
    """Writes the outputs of each image as soon as it is explained.

    Parameters
    ----------
    output_dir : path or None
        The job's output folder (created if missing); None keeps the files in
        :attr:`pending` for :func:`write_pending`.
    save_local_values : bool
        Also write ``explanations_shap/images/<stem>.json`` and ``<stem>_segments.png``.
    """

    def __init__(self, output_dir=None, save_local_values: bool = True):
        self.root = None if output_dir is None else Path(output_dir)
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
        self.save_local_values = save_local_values
        self._stems: dict[str, str] = {}
        #: Files kept in memory (relative path -> bytes) when there is no output folder yet.
        self.pending: dict[str, bytes] = {}

    def _put(self, relative: str, data: bytes | str) -> None:
        """Write one output file now, or keep it for :func:`write_pending` without a folder."""
        if self.root is None:
            self.pending[relative] = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            return
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)

    def stem(self, name: str) -> str:
        """The output stem of image ``name``: its file name without extension; when two images
        share it, the later ones use their path with ``/`` as ``__`` (``sub__a``)."""
        if name in self._stems:
            return self._stems[name]
        base = posixpath.basename(name)
        stem = base.rsplit(".", 1)[0] if "." in base else base
        if stem in self._stems.values():
            stem = name.rsplit(".", 1)[0].replace("/", "__")
            while stem in self._stems.values():
                stem += "_"
        self._stems[name] = stem
        return stem

    def write(self, image: np.ndarray, explanation, model_type: str) -> dict:
        """Write the heat maps (and local values) of one explained image; return its entry.

        Returns
        -------
        dict
            The image's entry of ``analysis.json`` ``explanations.image_shap.images``.
        """
        stem = self.stem(explanation.name)
        detection = model_type == "OBJECT_DETECTION"
        key = "objects" if detection else "classes"
        items = []
        for t in explanation.targets:
            if detection:
                file = f"shap_{stem}_{t.box}_object.jpeg"
                item = {"box": t.box, "label": t.label, "class_id": t.class_id, "score": t.score,
                        "bbox": list(t.bbox)}
            else:
                file = f"shap_{stem}.jpeg" if len(explanation.targets) == 1 else f"shap_{stem}_class{t.class_id}.jpeg"
                item = {"label": t.label, "class_id": t.class_id, "score": t.score}
            self._put(file, _jpeg(heatmap(image, explanation.segments, t.values, t.bbox)))
            item.update({"expected_value": t.expected_value, "fx": t.fx,
                         "segment_shap_values": _round(t.values), "heatmap": file})
            items.append(item)
        entry = {"image": explanation.name, "num_segments": explanation.n_segments,
                 "num_coalitions": explanation.n_coalitions, "exact": explanation.exact, key: items}
        if detection and explanation.targets:
            file = f"{stem}_objects.jpeg"
            self._put(file, _jpeg(objects_image(image, explanation.targets)))
            entry["objects_image"] = file
        if self.save_local_values:
            local = dict(entry, standard_errors=[_round(t.standard_errors) for t in explanation.targets],
                         segments_file=f"{stem}_segments.png")
            self._put(f"{LOCAL_DIR}/{stem}_segments.png", _segments_png(explanation.segments))
            self._put(f"{LOCAL_DIR}/{stem}.json", json.dumps(local, indent=1, allow_nan=False))
        return entry


def write_pending(output_dir, files: dict) -> list[Path]:
    """Write files an :class:`ImageOutputWriter` kept in memory (a job run without an output
    folder, written later by ``AnalysisResult.write``)."""
    written = []
    for relative, data in files.items():
        target = Path(output_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write(target, data))
    return written


def image_shap_section(model_type: str, entries, errors=()) -> dict:
    """``analysis.json`` ``explanations.image_shap``: the entries of the explained images, and the
    images that could not be read or explained (``{"image", "reason"}``)."""
    section = {"model_type": model_type, "images": list(entries)}
    if errors:
        section["failed_images"] = [dict(e) for e in errors]
    return section
