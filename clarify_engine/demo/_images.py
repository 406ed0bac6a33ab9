"""The demo's image part: four photographs that scikit-image ships, a classifier trained here on
crops of them, and Clarify's image classification explanation of each photograph.

The classifier (:class:`ThumbnailClassifier`) averages an image down to an 8x8 RGB thumbnail
and applies a multinomial logistic regression trained on random crops and flips of the four
photographs (labels: the photograph's subject). It is a real function of the pixels, small
enough to train in a second, so the heat maps show which superpixels the thumbnail weights
read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DEMO_IMAGE_CONFIG", "LABELS", "ThumbnailClassifier", "make_images", "run_image_demo", "train_classifier"]

#: The photographs (scikit-image ``data`` functions) and the class each one is.
LABELS = ("cat", "coffee", "astronaut", "rocket")
_SOURCES = ("chelsea", "coffee", "astronaut", "rocket")
#: Side of the demo images, in pixels.
SIZE = 96
SEED = 20261128

#: The analysis config of the image part (as ``SageMakerClarifyProcessor`` writes it for an
#: ``ImageConfig``), run against the in-process classifier.
DEMO_IMAGE_CONFIG = {
    "dataset_type": "application/x-image",
    "methods": {"shap": {"num_samples": 300, "seed": SEED, "use_logit": False, "save_local_shap_values": True,
                         "image_config": {"model_type": "IMAGE_CLASSIFICATION", "num_segments": 20,
                                          "segment_compactness": 20}}},
    "predictor": {"model_name": "demo-thumbnail-classifier", "instance_type": "local", "initial_instance_count": 1,
                  "content_type": "image/png", "label_headers": list(LABELS)},
}


def _photo(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def _thumbnails(images: np.ndarray) -> np.ndarray:
    """(n, H, W, 3) uint8 -> (n, 192) float: means over an 8x8 grid of blocks, in [0, 1]."""
    n, h, w, _ = images.shape
    rows = np.linspace(0, h, 9).astype(int)
    cols = np.linspace(0, w, 9).astype(int)
    x = images.astype(np.float64) / 255.0
    out = np.empty((n, 8, 8, 3))
    for i in range(8):
        for j in range(8):
            out[:, i, j] = x[:, rows[i]:rows[i + 1], cols[j]:cols[j + 1]].mean(axis=(1, 2))
    return out.reshape(n, 192)


class ThumbnailClassifier:
    """``classifier(images (n, H, W, 3) uint8) -> probabilities (n, 4)`` over :data:`LABELS`."""

    def __init__(self, model):
        self.model = model

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(_thumbnails(np.asarray(images)))


def train_classifier(n_crops: int = 60, seed: int = SEED) -> ThumbnailClassifier:
    """Train on ``n_crops`` random crops (60-100 % of the side, half flipped) of each photograph."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, name in enumerate(_SOURCES):
        photo = _resize(_photo(name), 128)  # crops of a small copy: training takes a second
        h, w = photo.shape[:2]
        for _ in range(n_crops):
            side = int(min(h, w) * rng.uniform(0.6, 1.0))
            y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = _resize(photo[y0:y0 + side, x0:x0 + side], 32)
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            xs.append(crop)
            ys.append(label)
    model = LogisticRegression(max_iter=2000, C=10.0)
    model.fit(_thumbnails(np.stack(xs)), np.asarray(ys))
    return ThumbnailClassifier(model)


def make_images(folder: str | Path) -> list[Path]:
    """Write the four photographs, :data:`SIZE` pixels square, as JPEGs into ``folder``."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, name in zip(LABELS, _SOURCES):
        path = folder / f"{label}.jpg"
        Image.fromarray(_resize(_photo(name), SIZE)).save(path, quality=95)
        paths.append(path)
    return paths


def run_image_demo(output_dir: str | Path):
    """The image part of the demo: write the photographs into ``output_dir/data``, train the
    classifier, and explain each photograph into ``output_dir`` (heat maps ``shap_<name>.jpeg``,
    ``analysis.json``), through :func:`clarify_engine.analyze` like every job.

    Returns
    -------
    AnalysisResult
    """
    from clarify_engine._api import analyze

    output_dir = Path(output_dir)
    data = output_dir / "data"
    make_images(data)
    return analyze(DEMO_IMAGE_CONFIG, data=str(data), model=train_classifier(), output_dir=output_dir)
