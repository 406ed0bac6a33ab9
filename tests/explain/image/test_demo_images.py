"""The demo's image part: photographs scikit-image ships, a classifier trained on them, heat maps."""

from __future__ import annotations

import numpy as np

from clarify_engine.config import load_config
from clarify_engine.data._images import image_files, read_images
from clarify_engine.demo._images import DEMO_IMAGE_CONFIG, LABELS, make_images, train_classifier
from clarify_engine.explain.image import callable_score_fn
from clarify_engine.job._image import run_image_shap
from clarify_engine.job._plan_image import plan_image


def test_the_demo_classifier_recognises_each_photograph_and_each_gets_a_heat_map(tmp_path):
    classifier = train_classifier()
    make_images(tmp_path / "images")
    for f, image in read_images(image_files(str(tmp_path / "images"))):
        assert LABELS[int(np.argmax(classifier(image[None])[0]))] == f.stem
    spec = plan_image(load_config(DEMO_IMAGE_CONFIG))
    result = run_image_shap(spec, str(tmp_path / "images"), callable_score_fn(classifier, False), tmp_path / "out")
    assert [e["classes"][0]["label"] for e in result.entries] == ["astronaut", "cat", "coffee", "rocket"]
    for e in result.entries:
        assert (tmp_path / "out" / e["classes"][0]["heatmap"]).is_file()
        assert e["num_segments"] >= 10
