"""Every predictor block of the SDK-written fixtures: build its codecs, round-trip a request,
decode a reply shaped as that predictor describes, and derive labels and score names."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from clarify_engine.predict.codecs import request_codec, response_codec
from clarify_engine.predict._labels import model_scores, predicted_labels, score_columns
from tests.helpers import sdk_config_files

CONFIGS = {p.name[:2]: json.loads(p.read_text()) for p in sdk_config_files()}

SAMPLE_VALUES = {
    "Age": [35, 51, 23],
    "Gender": [0, 1, 1],
    "Income": [52000.5, 1e5, np.nan],
    "Occupation": ["engineer", 'says "hi", twice', "ünïcode"],
    "Rating": [5, 1, 3],
    "Comments": ["This is a good product", "bad, very bad", ""],
    "Target": [1, 0, 1],
}

#: fixture prefix → (reply body for 3 records, labels, scores, predicted labels, score columns)
REPLIES = {
    "05": (b"0.9\n0.2\n0.85\n", None, [[0.9], [0.2], [0.85]], [1, 0, 1], ["label0"]),
    "10": (
        b'{"predicted_label":1,"probability":0.9}\n{"predicted_label":0,"probability":0.2}\n'
        b'{"predicted_label":1,"probability":0.6}\n',
        [1, 0, 1], [[0.9], [0.2], [0.6]], [1, 0, 1], ["label0"],
    ),
    "12": (
        b'{"predictions":[{"predicted_label":"yes","score":0.9},{"predicted_label":"no","score":0.2},'
        b'{"predicted_label":"yes","score":0.6}]}',
        ["yes", "no", "yes"], [[0.9], [0.2], [0.6]], ["yes", "no", "yes"], ["label0"],
    ),
    "14": (b"1,0.9\n0,0.2\n1,0.6", None, [[0.9], [0.2], [0.6]], [1, 0, 1], ["approved"]),
    "16": (b"0.9,0.2,0.6", None, [[0.9], [0.2], [0.6]], [1, 0, 1], ["label0"]),
    "18": (b"0.9,x\n0.2,y\n0.6,z", [0.9, 0.2, 0.6], None, [0.9, 0.2, 0.6], ["label0"]),
    "20": (b"0.9\n0.2\n0.6", None, [[0.9], [0.2], [0.6]], [1, 0, 1], ["label0"]),
}


#: fixtures whose model takes images (tests/explain/image covers their codecs in depth).
IMAGE_MODELS = {"22"}


def test_every_fixture_predictor_has_a_case():
    assert {k for k, c in CONFIGS.items() if "predictor" in c} == set(REPLIES) | IMAGE_MODELS


@pytest.mark.parametrize("prefix", sorted(IMAGE_MODELS))
def test_image_model_fixture_sends_one_encoded_image_per_request(prefix):
    from clarify_engine.predict.codecs._image import pack_images

    predictor = CONFIGS[prefix]["predictor"]
    codec = request_codec(predictor["content_type"], feature_names=["image"])
    assert codec.content_type == predictor["content_type"] and codec.max_records == 1
    [piece] = codec.encode_records(pack_images(np.zeros((1, 4, 4, 3), np.uint8)))
    assert piece.startswith(b"\xff\xd8")  # a JPEG


def _features(config) -> list[str]:
    dropped = {config.get("label"), config.get("joinsource_name_or_index"), *config.get("excluded_columns", [])}
    return [h for h in config["headers"] if h not in dropped]


def _rows(features) -> list[list]:
    return [list(r) for r in zip(*(SAMPLE_VALUES[f] for f in features))]


def _decoded_request(predictor, content_type, body: bytes, features):
    """The records back out of a request body, as the model would read them."""
    if content_type == "text/csv":
        frame = pd.read_csv(io.StringIO(body.decode()), header=None, names=features, keep_default_na=False,
                            na_values={"Income": [""]})
        return frame.to_numpy().tolist()
    if content_type == "application/jsonlines":
        prefix, suffix = predictor["content_template"].split("$features")
        key = json.loads(prefix + "null" + suffix)
        assert list(key) == ["Features"]
        return [json.loads(line)["Features"] for line in body.decode().split("\n")]
    document = json.loads(body)
    assert predictor["content_template"] == '{"instances":$records}'
    return [[record[f] for f in features] for record in document["instances"]]


@pytest.mark.parametrize("prefix", sorted(REPLIES))
def test_fixture_predictor(prefix):
    config = CONFIGS[prefix]
    predictor = config["predictor"]
    content_type = predictor.get("content_type", config["dataset_type"])
    accept_type = predictor.get("accept_type", content_type)
    features = _features(config)
    rows = _rows(features)

    codec = request_codec(
        content_type, feature_names=features, content_template=predictor.get("content_template"),
        record_template=predictor.get("record_template"),
    )
    pieces = codec.encode_records(rows)
    request = codec.join(pieces)
    back = _decoded_request(predictor, content_type, request, features)
    expected = [[None if isinstance(v, float) and np.isnan(v) else v for v in r] for r in rows]
    got = [[None if isinstance(v, float) and np.isnan(v) else v for v in r] for r in back]
    assert got == expected
    assert len(request) == sum(map(len, pieces)) + codec.overhead() + len(codec.separator) * (len(pieces) - 1)

    body, labels, scores, predicted, columns = REPLIES[prefix]
    output = response_codec(accept_type, label=predictor.get("label"), probability=predictor.get("probability")).decode(body, 3)
    assert (output.labels is None) == (labels is None)
    if labels is not None:
        assert output.labels.tolist() == labels
    assert (output.scores is None) == (scores is None)
    if scores is not None:
        np.testing.assert_array_equal(output.scores, scores)
    threshold = config.get("probability_threshold", 0.5)
    headers = predictor.get("label_headers")
    assert predicted_labels(output, label_headers=headers, probability_threshold=threshold).tolist() == predicted
    assert score_columns(output, headers) == columns
    assert model_scores(output).shape == (3, 1)
