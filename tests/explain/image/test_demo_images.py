"""The demo's image part: photographs scikit-image ships, a classifier trained on them, heat maps."""

from __future__ import annotations

import json

import numpy as np

from clarify_engine.data._images import image_files, read_images
from clarify_engine.demo._images import LABELS, make_images, train_classifier
from tests.helpers import run_cli


def test_the_demo_classifier_recognises_each_photograph(tmp_path):
    classifier = train_classifier()
    make_images(tmp_path / "images")
    for f, image in read_images(image_files(str(tmp_path / "images"))):
        assert LABELS[int(np.argmax(classifier(image[None])[0]))] == f.stem


def test_the_demo_command_explains_the_photographs(tmp_path):
    out = tmp_path / "demo"
    proc = run_cli("demo", "--images", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    section = json.loads((out / "analysis.json").read_text())["explanations"]["image_shap"]
    assert [e["classes"][0]["label"] for e in section["images"]] == ["astronaut", "cat", "coffee", "rocket"]
    for e in section["images"]:
        assert (out / e["classes"][0]["heatmap"]).is_file() and e["num_segments"] >= 10
        assert f"{e['image']}: {e['classes'][0]['label']}" in proc.stdout
