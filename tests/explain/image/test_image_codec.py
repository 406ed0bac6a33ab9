"""Image request codecs and computer-vision reply codecs (clarify_engine/predict/codecs/_image.py)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict.codecs import request_codec
from clarify_engine.predict.codecs._image import (
    ClassifierResponseCodec,
    DetectionResponseCodec,
    NpyRequestCodec,
    detections,
    image_request_codec,
    image_response_codec,
    pack_images,
    unpack_record,
)

from ._remote import remote_score_fn
from .conftest import load


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(0, 2 ** 32 - 1))
def test_packed_records_give_back_their_images(n, h, w, seed):
    images = np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    records = pack_images(images)
    assert records.dtype == np.uint64 and records.shape == (n, 1 + (h * w * 3 + 7) // 8)
    for i in range(n):
        np.testing.assert_array_equal(unpack_record(records[i]), images[i])


def test_a_npy_request_is_one_uint8_batch_array():
    images = np.random.default_rng(0).integers(0, 256, (3, 5, 4, 3), dtype=np.uint8)
    codec = NpyRequestCodec()
    pieces = codec.encode_records(pack_images(images))
    body = codec.wrap(codec.separator.join(pieces))
    assert body == codec.join(pieces)
    back = np.load(io.BytesIO(body), allow_pickle=False)
    assert back.dtype == np.uint8 and back.shape == (3, 5, 4, 3)
    np.testing.assert_array_equal(back, images)
    assert len(body) <= sum(map(len, pieces))  # the batcher's size accounting is an upper bound


@pytest.mark.parametrize("content_type, magic", [("image/jpeg", b"\xff\xd8"), ("image/jpg", b"\xff\xd8"),
                                                 ("image/png", b"\x89PNG")])
def test_encoded_image_requests_hold_one_image(content_type, magic):
    image = load("scenes/c_both.png")
    codec = request_codec(content_type, feature_names=[])
    assert codec.max_records == 1
    [piece] = codec.encode_records(pack_images(image[None]))
    assert piece.startswith(magic)
    from PIL import Image

    decoded = np.asarray(Image.open(io.BytesIO(piece)).convert("RGB"))
    if content_type == "image/png":
        np.testing.assert_array_equal(decoded, image)  # lossless
    else:
        assert np.abs(decoded.astype(int) - image).mean() < 1.5  # quality 95, 4:4:4


def test_an_unknown_image_content_type_is_refused():
    with pytest.raises(ConfigError) as info:
        image_request_codec("image/gif")
    assert str(info.value) == ("predictor.content_type: expected one of ['image/jpeg', 'image/jpg', 'image/png', "
                               "'application/x-npy'] for an image model, found 'image/gif'")


@pytest.mark.parametrize("body, n, expected", [
    (b'{"prediction": [0.1, 0.9]}', 1, [[0.1, 0.9]]),
    (b'[0.1, 0.9]', 1, [[0.1, 0.9]]),
    (b'[[0.1, 0.9], [0.7, 0.3]]', 2, [[0.1, 0.9], [0.7, 0.3]]),
    (b'{"prediction": [[0.1, 0.9], [0.7, 0.3]]}', 2, [[0.1, 0.9], [0.7, 0.3]]),
])
def test_classifier_replies_in_the_built_in_and_bare_shapes(body, n, expected):
    out = ClassifierResponseCodec().decode(body, n)
    np.testing.assert_array_equal(out.scores, expected)


def test_classifier_replies_through_the_configured_jmespath():
    codec = image_response_codec("IMAGE_CLASSIFICATION", "application/json", "result.probs")
    np.testing.assert_array_equal(codec.decode(b'{"result": {"probs": [0.2, 0.8]}}', 1).scores, [[0.2, 0.8]])
    lines = image_response_codec("IMAGE_CLASSIFICATION", "application/jsonlines")
    np.testing.assert_array_equal(lines.decode(b'{"prediction": [1, 0]}\n[0.5, 0.5]\n', 2).scores, [[1, 0], [0.5, 0.5]])


def test_a_classifier_reply_of_the_wrong_shape_is_refused_quoting_it():
    with pytest.raises(ModelError) as info:
        ClassifierResponseCodec().decode(b'{"label": "cat"}', 1)
    assert str(info.value).startswith(
        "expected class scores for 1 image(s): a list of numbers per image ([p0, p1, ...] or "
        "{\"prediction\": [p0, p1, ...]}, or predictor.probability pointing at it); found: ")
    assert "label" in str(info.value)


def test_detection_replies_single_and_batch():
    codec = DetectionResponseCodec(slots=3)
    one = detections(codec.decode(b'{"prediction": [[4.0, 0.86, 0.3, 0.07, 0.71, 0.93]]}', 1).scores)
    assert one.shape == (1, 3, 6)
    np.testing.assert_array_equal(one[0, 0], [4.0, 0.86, 0.3, 0.07, 0.71, 0.93])
    assert np.isnan(one[0, 1:]).all()
    batch = detections(codec.decode(json.dumps([[[1, 0.5, 0, 0, 1, 1], [-1, 0, 0, 0, 0, 0]], []]).encode(), 2).scores)
    np.testing.assert_array_equal(batch[0, 0], [1, 0.5, 0, 0, 1, 1])
    assert np.isnan(batch[0, 1:]).all() and np.isnan(batch[1]).all()  # class -1 rows are padding
    bare = detections(codec.decode(b'[[0, 0.9, 0.1, 0.1, 0.2, 0.2]]', 1).scores)
    assert bare[0, 0, 1] == 0.9
    assert np.isnan(detections(codec.decode(b'[]', 1).scores)).all()


def test_more_detections_than_slots_keep_the_highest_scores():
    rows = [[0, s, 0, 0, 1, 1] for s in (0.1, 0.9, 0.5, 0.7)]
    out = detections(DetectionResponseCodec(slots=2).decode(json.dumps({"prediction": rows}).encode(), 1).scores)
    np.testing.assert_array_equal(out[0, :, 1], [0.9, 0.7])


def test_a_detection_reply_of_the_wrong_shape_is_refused():
    with pytest.raises(ModelError) as info:
        DetectionResponseCodec().decode(b'{"prediction": [[1, 0.5, 0.1]]}', 1)
    assert str(info.value).startswith(
        "expected detections for 1 image(s): per image a list of [class_id, score, xmin, ymin, xmax, ymax] "
        "({\"prediction\": [...]} for one image, a list of such lists for a batch); found: ")


def test_an_image_model_with_a_csv_accept_type_is_refused():
    with pytest.raises(ConfigError) as info:
        image_response_codec("OBJECT_DETECTION", "text/csv")
    assert str(info.value) == ("predictor.accept_type: expected application/json or application/jsonlines for an "
                               "image model, found 'text/csv'")


def test_the_batcher_sends_identical_images_once_over_http(region_server):
    image = load("scenes/a_red.png")
    other = load("scenes/c_both.png")
    score_fn, batcher, transport = remote_score_fn(region_server.url, "image/png", "IMAGE_CLASSIFICATION")
    region_server.reset()
    try:
        scores = score_fn(np.stack([image, other, image, image, other]))
    finally:
        transport.close()
    assert scores.shape == (5, 3)
    np.testing.assert_array_equal(scores[0], scores[2])
    assert region_server.requests() == [("image/png", 1), ("image/png", 1)]
    assert batcher.stats.unique_rows == 2
