"""An image SHAP job: heat maps and local values written as each image finishes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from clarify_engine import _stop
from clarify_engine.errors import ConfigError, DataError
from clarify_engine.explain.image import callable_score_fn
from clarify_engine.job._image import run_image_shap, select_images
from clarify_engine.data._images import image_files
from clarify_engine.explain.image import ImageSpec
from clarify_engine.report._image_outputs import heatmap

from ._remote import remote_score_fn
from .conftest import IMAGES
from .image_server import region_scores

SCENES = str(IMAGES / "scenes")
LABELS = ("red", "other", "flat")


def classifier(images):
    return np.asarray([region_scores(im) for im in images])


def spec(**kw):
    base = dict(model_type="IMAGE_CLASSIFICATION", num_segments=10, label_headers=LABELS, num_samples=60, seed=7)
    base.update(kw)
    return ImageSpec(**base)


def read_jpeg(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))


def test_a_classification_job_writes_a_heat_map_and_local_values_per_image(tmp_path):
    result = run_image_shap(spec(), SCENES, callable_score_fn(classifier, False), tmp_path)
    stems = ["a_red", "b_green", "c_both", "d_gray", "e_alpha"]
    assert [e["image"] for e in result.entries] == [s + (".jpg" if s == "b_green" else ".png") for s in stems]
    for stem, entry in zip(stems, result.entries):
        assert (tmp_path / f"shap_{stem}.jpeg").is_file()
        assert read_jpeg(tmp_path / f"shap_{stem}.jpeg").shape == (48, 48, 3)
        [cls] = entry["classes"]
        assert cls["heatmap"] == f"shap_{stem}.jpeg"
        assert len(cls["segment_shap_values"]) == entry["num_segments"]
        assert sum(cls["segment_shap_values"]) == pytest.approx(cls["fx"] - cls["expected_value"], abs=1e-9)
        local = json.loads((tmp_path / "explanations_shap" / "images" / f"{stem}.json").read_text())
        assert local["classes"] == entry["classes"] and len(local["standard_errors"][0]) == entry["num_segments"]
        from PIL import Image

        seg = np.asarray(Image.open(tmp_path / "explanations_shap" / "images" / f"{stem}_segments.png"))
        assert seg.shape == (48, 48) and int(seg.max()) + 1 == entry["num_segments"]
    section = result.section()
    assert section["model_type"] == "IMAGE_CLASSIFICATION" and "failed_images" not in section
    assert json.dumps(section)  # plain JSON


def test_a_rerun_with_the_same_seed_writes_the_same_bytes(tmp_path):
    fn = callable_score_fn(classifier, False)
    run_image_shap(spec(), SCENES, fn, tmp_path / "one")
    run_image_shap(spec(), SCENES, fn, tmp_path / "two")
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert len(files) == 15
    for rel in files:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
    run_image_shap(spec(seed=8), SCENES, fn, tmp_path / "three")
    assert (tmp_path / "three" / "shap_a_red.jpeg").read_bytes() != (tmp_path / "one" / "shap_a_red.jpeg").read_bytes()


def test_a_stopped_job_keeps_the_heat_maps_it_finished(tmp_path):
    from .conftest import load

    third = load("scenes/c_both.png")

    def model(images):
        if any(np.array_equal(im, third) for im in images):
            _stop.request_stop()  # SIGTERM arrives while the third image is explained
        return classifier(images)

    try:
        with pytest.raises(_stop.JobStopped):
            run_image_shap(spec(), SCENES, callable_score_fn(model, False), tmp_path)
    finally:
        _stop._stopped.clear()
    written = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert written == ["shap_a_red.jpeg", "shap_b_green.jpeg"]
    for name in written:
        assert read_jpeg(tmp_path / name).shape == (48, 48, 3)  # whole files
    assert not list(tmp_path.rglob(".*.tmp"))


def test_unreadable_images_are_listed_and_the_others_explained(tmp_path):
    result = run_image_shap(spec(), str(IMAGES / "broken"), callable_score_fn(classifier, False), tmp_path)
    assert [e["image"] for e in result.entries] == ["good.png"]
    assert [e["image"] for e in result.section()["failed_images"]] == ["not_really.jpg", "truncated.png"]


def test_a_dataset_without_a_readable_image_fails_naming_each(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.png").write_bytes(b"nope")
    with pytest.raises(DataError) as info:
        run_image_shap(spec(), str(data), callable_score_fn(classifier, False), tmp_path / "out")
    assert str(info.value) == ("No image could be read: x.png: Image x.png cannot be decoded (not an image format "
                               "Pillow identifies); replace or remove the file.")


def test_a_baseline_image_is_resized_to_each_input(tmp_path):
    result = run_image_shap(spec(baseline=str(IMAGES / "baseline.png")), SCENES,
                            callable_score_fn(classifier, False), tmp_path)
    gray = np.full((48, 48, 3), 128, np.uint8)
    cls = result.entries[0]["classes"][0]
    assert cls["expected_value"] == pytest.approx(region_scores(gray)[0])


def test_an_unreadable_baseline_image_is_refused_naming_the_key(tmp_path):
    bad = tmp_path / "base.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ConfigError) as info:
        run_image_shap(spec(baseline=str(bad)), SCENES, callable_score_fn(classifier, False), tmp_path / "o")
    assert str(info.value) == (f"methods.shap.baseline: Image {bad} cannot be decoded (not an image format Pillow "
                               "identifies); replace or remove the file. Give a .jpg or .png baseline image.")


def test_debug_selects_images_by_range_and_name():
    files = image_files(SCENES)
    assert [f.name for f in select_images(files, spec(sample_from=1, sample_to=2))] == ["b_green.jpg", "c_both.png"]
    assert [f.name for f in select_images(files, spec(image_names=("c_both.png", "a_red.png")))] == \
        ["c_both.png", "a_red.png"]
    with pytest.raises(ConfigError) as info:
        select_images(files, spec(image_names=("zebra.jpg",)))
    assert str(info.value) == ("methods.shap.image_config.debug.image_names: ['zebra.jpg'] are not among the "
                               "dataset's images (first names: ['a_red.png', 'b_green.jpg', 'c_both.png', "
                               "'d_gray.png', 'e_alpha.png']); use names relative to the dataset location")


def test_heat_maps_are_blue_where_values_are_positive_and_red_where_negative():
    image = np.full((10, 20, 3), 200, np.uint8)
    segments = np.zeros((10, 20), np.int32)
    segments[:, 10:] = 1
    out = heatmap(image, segments, np.array([0.4, -0.2]))
    left, right = out[5, 4].astype(int), out[5, 15].astype(int)
    assert left[2] > left[0] + 60  # blue
    assert right[0] > right[2] + 20  # red, weaker (half the magnitude)
    assert (out[:, 9] == 0).all() or (out[:, 10] == 0).all()  # the boundary is drawn


def test_a_detection_job_over_http_writes_one_heat_map_per_object_and_the_boxes(detector_server, tmp_path):
    score_fn, _, transport = remote_score_fn(detector_server.url, "application/x-npy", "OBJECT_DETECTION")
    od = spec(model_type="OBJECT_DETECTION", label_headers=("red", "green", "scene"), image_names=("c_both.png",),
              probability_threshold=0.5, max_objects=3)
    try:
        result = run_image_shap(od, SCENES, score_fn, tmp_path)
    finally:
        transport.close()
    [entry] = result.entries
    assert [o["label"] for o in entry["objects"]] in (["red", "green"], ["green", "red"])
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "c_both_objects.jpeg", "shap_c_both_box1_object.jpeg", "shap_c_both_box2_object.jpeg"]
    assert entry["objects_image"] == "c_both_objects.jpeg"
    for o in entry["objects"]:
        assert sum(o["segment_shap_values"]) == pytest.approx(o["fx"] - o["expected_value"], abs=1e-9)
        assert o["fx"] == pytest.approx(o["score"])
