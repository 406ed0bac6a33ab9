"""Kernel SHAP over superpixels: exact values, additivity, classifiers and detectors over HTTP."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from clarify_engine.errors import ModelError
from clarify_engine.explain.image import (
    Masker,
    callable_score_fn,
    context_window,
    explain_image,
    matched_scores,
    segment_image,
    select_detections,
)
from clarify_engine.explain.image import ImageSpec

from .conftest import load
from ._remote import remote_score_fn
from .image_server import REGION, detect, region_scores

IC = "IMAGE_CLASSIFICATION"
OD = "OBJECT_DETECTION"


def exact_shapley(value, m):
    """Shapley values of the set function ``value(frozenset)`` over ``m`` players, by enumeration."""
    cache = {}

    def v(s):
        if s not in cache:
            cache[s] = value(s)
        return cache[s]

    phi = np.zeros(m)
    for j in range(m):
        others = [k for k in range(m) if k != j]
        for r in range(m):
            w = math.factorial(r) * math.factorial(m - r - 1) / math.factorial(m)
            for s in itertools.combinations(others, r):
                phi[j] += w * (v(frozenset(s) | {j}) - v(frozenset(s)))
    return phi


def masked(image, baseline, segments, s):
    keep = np.isin(segments, sorted(s))
    return np.where(keep[..., None], image, baseline)


def nonlinear_classifier(images):
    """Two class scores with interactions between regions (not additive in the segments)."""
    x = images.astype(np.float64) / 255.0
    a = x[:, :24, :24, 0].mean(axis=(1, 2))
    b = x[:, 24:, 24:, 1].mean(axis=(1, 2))
    c = x[:, :, :, 2].mean(axis=(1, 2))
    return np.stack([a * b + np.sin(3 * c), b - a * c], axis=1)


@pytest.mark.parametrize("use_logit", [False, True])
def test_values_are_the_exact_shapley_values_when_the_budget_covers_every_coalition(use_logit):
    image = load("scenes/c_both.png")
    baseline = np.full_like(image, 128)
    spec = ImageSpec(model_type=IC, num_segments=8, label_headers=("p", "q"), num_samples=10_000, seed=3,
                     use_logit=use_logit)
    model = (lambda ims: 1 / (1 + np.exp(-nonlinear_classifier(ims)))) if use_logit else nonlinear_classifier
    out = explain_image("c_both.png", image, baseline, spec, callable_score_fn(model, False))
    m = out.n_segments
    assert 2 <= m <= 10 and out.exact
    target = out.targets[0]
    full = model(image[None])[0]
    assert target.class_id == int(np.argmax(full)) and target.label == "pq"[target.class_id]
    link = (lambda p: np.log(p / (1 - p))) if use_logit else (lambda p: p)
    expected = exact_shapley(
        lambda s: link(model(masked(image, baseline, out.segments, s)[None])[0, target.class_id]), m)
    np.testing.assert_allclose(target.values, expected, atol=1e-8, rtol=0)
    np.testing.assert_allclose(target.values.sum(), target.fx - target.expected_value, atol=1e-10)
    assert target.fx == pytest.approx(link(full[target.class_id]))
    assert target.expected_value == pytest.approx(link(model(baseline[None])[0, target.class_id]))


def test_debug_class_ids_explain_the_named_classes_instead_of_the_top_one():
    image = load("scenes/c_both.png")
    spec = ImageSpec(model_type=IC, num_segments=6, label_headers=("p", "q"), num_samples=200, seed=0,
                     class_ids=(1, 0))
    out = explain_image("c", image, np.zeros_like(image), spec, callable_score_fn(nonlinear_classifier, False))
    assert [t.class_id for t in out.targets] == [1, 0]
    assert [t.label for t in out.targets] == ["q", "p"]
    for t in out.targets:
        assert t.values.sum() == pytest.approx(t.fx - t.expected_value, abs=1e-10)


def test_sampled_values_add_up_and_are_reproducible_with_a_seed():
    image = load("scenes/c_both.png")
    spec = ImageSpec(model_type=IC, num_segments=30, label_headers=("p", "q"), num_samples=120, seed=11)
    fn = callable_score_fn(nonlinear_classifier, False)
    one = explain_image("c", image, np.zeros_like(image), spec, fn)
    two = explain_image("c", image, np.zeros_like(image), spec, fn)
    assert one.n_segments > 10 and not one.exact
    t = one.targets[0]
    assert t.values.sum() == pytest.approx(t.fx - t.expected_value, abs=1e-10)
    np.testing.assert_array_equal(t.values, two.targets[0].values)


def test_a_classifier_answering_another_number_of_scores_than_label_headers_is_refused():
    image = load("scenes/a_red.png")
    spec = ImageSpec(model_type=IC, num_segments=6, label_headers=("a", "b", "c"), num_samples=50)
    with pytest.raises(ModelError) as info:
        explain_image("a_red.png", image, np.zeros_like(image), spec, callable_score_fn(nonlinear_classifier, False))
    assert str(info.value) == ("Image a_red.png: the classifier answered 2 scores; predictor.label_headers names 3 "
                               "classes. List one label header per score.")


def test_a_classifier_answering_nan_is_refused():
    image = load("scenes/a_red.png")
    spec = ImageSpec(model_type=IC, num_segments=6, label_headers=("a",), num_samples=50)
    with pytest.raises(ModelError) as info:
        explain_image("a", image, np.zeros_like(image), spec, lambda ims: np.full((len(ims), 1), np.nan))
    assert str(info.value) == ("The classifier answered with a score that is not a finite number (NaN or inf); "
                               "expected finite class scores.")


@pytest.mark.parametrize("content_type", ["image/png", "application/x-npy"])
def test_the_segments_of_the_region_a_served_classifier_reads_rank_first(region_server, content_type):
    image = load("scenes/a_red.png")
    baseline = np.full_like(image, 128)
    spec = ImageSpec(model_type=IC, num_segments=20, label_headers=("red", "other", "flat"), num_samples=300, seed=5)
    score_fn, _, transport = remote_score_fn(region_server.url, content_type, IC)
    try:
        out = explain_image("a_red.png", image, baseline, spec, score_fn)
    finally:
        transport.close()
    t = out.targets[0]
    assert t.label == "red" and t.score == pytest.approx(region_scores(image)[0])
    # the model is additive in the pixels of REGION: segments outside it are worth 0 (to rounding)
    inside = np.zeros(out.segments.shape, dtype=bool)
    inside[REGION] = True
    touching = np.unique(out.segments[inside])
    others = np.setdiff1d(np.arange(out.n_segments), touching)
    assert others.size > 0
    np.testing.assert_allclose(t.values[others], 0.0, atol=1e-9)
    ranked = np.argsort(-np.abs(t.values))
    assert set(ranked[: touching.size].tolist()) == set(touching.tolist())
    assert t.values.sum() == pytest.approx(region_scores(image)[0] - region_scores(baseline)[0], abs=1e-9)


def test_npy_requests_carry_many_images_and_no_masked_image_is_sent_twice(region_server):
    image = load("scenes/a_red.png")
    spec = ImageSpec(model_type=IC, num_segments=12, label_headers=("red", "other", "flat"), num_samples=100, seed=2)
    score_fn, batcher, transport = remote_score_fn(region_server.url, "application/x-npy", IC,
                                                   max_payload_bytes=60_000)
    region_server.reset()
    try:
        out = explain_image("a_red.png", image, np.full_like(image, 128), spec, score_fn)
    finally:
        transport.close()
    served = region_server.requests()
    images = sum(n for _, n in served)
    # the unmasked image once, the baseline once, each coalition once
    assert images == out.n_coalitions + 2
    assert max(n for _, n in served) > 1  # several masked images per request
    assert all(n * image.nbytes < 60_000 for _, n in served)  # within the payload limit


def test_identical_masked_images_are_never_built_or_sent_twice():
    """A baseline equal to the image on some segments makes coalitions collide: each image once,
    and those segments get exactly 0."""
    image = load("scenes/a_red.png")
    baseline = image.copy()
    baseline[:24] = 0  # the lower half equals the image: segments there change nothing
    seen = []

    def model(images):
        seen.extend(im.tobytes() for im in images)
        return region_scores_batch(images)

    spec = ImageSpec(model_type=IC, num_segments=12, label_headers=("red", "other", "flat"), num_samples=200, seed=2)
    out = explain_image("a", image, baseline, spec, callable_score_fn(model, False))
    lower = np.setdiff1d(np.arange(out.n_segments), np.unique(out.segments[:24]))
    assert lower.size > 0
    assert np.all(out.targets[0].values[lower] == 0.0)
    assert len(seen) == len(set(seen))
    # Coalitions are drawn over the segments that can change the image only: each is one
    # distinct image (plus the image and the baseline), and 200 covers all 2^k - 2 of them.
    assert len(seen) == out.n_coalitions + 2 and out.exact


def region_scores_batch(images):
    return np.asarray([region_scores(im) for im in images])


def test_detections_are_filtered_by_threshold_and_max_objects_and_named_by_score():
    dets = np.array([[2, 0.2, 0, 0, 1, 1], [0, 0.9, 0.1, 0.1, 0.4, 0.4], [1, 0.95, 0.5, 0.5, 0.9, 0.9],
                     [0, 0.6, 0.6, 0.1, 0.7, 0.2], [np.nan] * 6])
    objs = select_detections(dets, 0.5, 2)
    assert [(o.box, o.class_id, o.score) for o in objs] == [("box1", 1, 0.95), ("box2", 0, 0.9)]
    assert [o.class_id for o in select_detections(dets, 0.5, 5, class_ids=(0,))] == [0, 0]
    assert select_detections(dets, 0.99, 3) == []


def test_a_masked_detection_counts_only_when_class_and_iou_match():
    objs = select_detections(np.array([[0, 0.9, 0.0, 0.0, 0.5, 0.5]]), 0.5, 3)
    masked_dets = np.array([
        [[0, 0.7, 0.0, 0.0, 0.5, 0.5], [0, 0.8, 0.0, 0.0, 0.5, 0.25]],  # IoU 1 (0.7) and IoU 0.5 (0.8)
        [[1, 0.99, 0.0, 0.0, 0.5, 0.5], [np.nan] * 6],  # another class
        [[0, 0.6, 0.5, 0.5, 1.0, 1.0], [np.nan] * 6],  # no overlap
    ])
    np.testing.assert_allclose(matched_scores(masked_dets, objs, 0.5)[:, 0], [0.8, 0.0, 0.0])
    np.testing.assert_allclose(matched_scores(masked_dets, objs, 0.6)[:, 0], [0.7, 0.0, 0.0])


def test_the_context_window_grows_the_box_toward_the_border():
    assert context_window((0.25, 0.25, 0.5, 0.5), 0.0, 100, 200) == (50, 25, 100, 50)
    assert context_window((0.25, 0.25, 0.5, 0.5), 1.0, 100, 200) == (0, 0, 200, 100)
    assert context_window((0.2, 0.4, 0.6, 0.8), 0.5, 10, 10) == (1, 2, 8, 9)


def test_detector_values_are_exact_and_one_per_kept_object(detector_server):
    image = load("scenes/c_both.png")
    baseline = np.full_like(image, 128)
    spec = ImageSpec(model_type=OD, num_segments=8, label_headers=("red", "green", "scene"), num_samples=10_000,
                     seed=1, probability_threshold=0.5, max_objects=5, iou_threshold=0.5)
    score_fn, _, transport = remote_score_fn(detector_server.url, "application/x-npy", OD)
    try:
        out = explain_image("c_both.png", image, baseline, spec, score_fn)
    finally:
        transport.close()
    assert out.exact
    # the weak whole-image detection (0.2) is below the threshold: red and green squares remain
    assert [(t.box, t.label) for t in out.targets] == [("box1", "red"), ("box2", "green")] or \
        [(t.box, t.label) for t in out.targets] == [("box1", "green"), ("box2", "red")]
    truth = detect(image)
    for t in out.targets:
        row = next(d for d in truth if d[0] == t.class_id)
        assert t.score == pytest.approx(row[1]) and t.bbox == pytest.approx(tuple(row[2:]))

        def value(s, t=t):
            dets = np.asarray(detect(masked(image, baseline, out.segments, s)), dtype=np.float64)
            return matched_scores(dets[None], [type("O", (), {"class_id": t.class_id, "bbox": t.bbox})()], 0.5)[0, 0]

        np.testing.assert_allclose(t.values, exact_shapley(value, out.n_segments), atol=1e-8)
        assert t.values.sum() == pytest.approx(t.score - t.expected_value, abs=1e-10)


def test_max_objects_keeps_the_best_detection_only(detector_server):
    image = load("scenes/c_both.png")
    spec = ImageSpec(model_type=OD, num_segments=8, label_headers=("red", "green", "scene"), num_samples=50,
                     seed=1, max_objects=1, probability_threshold=0.1)
    score_fn, _, transport = remote_score_fn(detector_server.url, "image/png", OD)
    try:
        out = explain_image("c_both.png", image, np.full_like(image, 128), spec, score_fn)
    finally:
        transport.close()
    best = max(detect(image), key=lambda d: d[1])
    assert len(out.targets) == 1 and out.targets[0].class_id == int(best[0])


def test_with_context_zero_segments_outside_the_box_get_exactly_zero():
    image = load("scenes/c_both.png")
    spec = ImageSpec(model_type=OD, num_segments=16, label_headers=("red", "green", "scene"), num_samples=200,
                     seed=4, context=0.0)
    out = explain_image("c", image, np.full_like(image, 128), spec, callable_score_fn(lambda ims: [detect(i) for i in ims], True))
    assert out.targets
    for t in out.targets:
        h, w = out.segments.shape
        window = context_window(t.bbox, 0.0, h, w)
        masker = Masker(image, np.full_like(image, 128), out.segments, window)
        outside = np.setdiff1d(np.arange(out.n_segments), masker.active)
        assert outside.size > 0
        assert np.all(t.values[outside] == 0.0) and np.all(t.standard_errors[outside] == 0.0)
        assert t.values.sum() == pytest.approx(t.fx - t.expected_value, abs=1e-10)


def test_a_detector_that_finds_nothing_gives_an_image_without_targets():
    image = load("scenes/a_red.png")
    spec = ImageSpec(model_type=OD, num_segments=8, label_headers=("red",), probability_threshold=0.5)
    out = explain_image("a", image, image, spec, callable_score_fn(lambda ims: [[] for _ in ims], True))
    assert out.targets == () and out.n_segments == int(segment_image(image, 8, 5.0).max()) + 1
