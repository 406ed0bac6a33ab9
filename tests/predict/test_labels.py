"""Predicted labels from labels, candidate lists or scores (contract §5.3); score column names."""

from __future__ import annotations

import numpy as np
import pytest

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict._labels import model_scores, predicted_labels, score_columns


def out(labels=None, scores=None) -> ModelOutput:
    labels = None if labels is None else np.array(labels, dtype=object if any(isinstance(v, str) for v in np.ravel(labels)) else None)
    scores = None if scores is None else np.array(scores, dtype=float).reshape(len(scores), -1)
    return ModelOutput(labels=labels, scores=scores)


def test_labels_win_over_scores():
    result = predicted_labels(out(labels=["a", "b"], scores=[0.9, 0.1]))
    assert result.tolist() == ["a", "b"]


def test_float_labels_pass_through():
    assert predicted_labels(out(labels=[0.3, 0.7])).tolist() == [0.3, 0.7]


@pytest.mark.parametrize(
    "threshold, expected", [(0.5, [0, 0, 1, 1]), (0.2, [0, 1, 1, 1]), (0.8, [0, 0, 0, 1])]
)
def test_binary_score_threshold(threshold, expected):
    result = predicted_labels(out(scores=[0.1, 0.5, 0.6, 0.9]), probability_threshold=threshold)
    assert result.tolist() == expected and result.dtype == np.int64


def test_score_equal_to_threshold_is_negative():
    assert predicted_labels(out(scores=[0.5]), probability_threshold=0.5).tolist() == [0]


def test_multiclass_argmax_with_and_without_headers():
    scores = [[0.35, 0.25, 0.4], [0.1, 0.8, 0.1], [0.5, 0.5, 0.0]]
    assert predicted_labels(out(scores=scores)).tolist() == [2, 1, 0]  # ties: the first maximum
    named = predicted_labels(out(scores=scores), label_headers=["cat", "dog", "fish"])
    assert named.tolist() == ["fish", "dog", "cat"]
    numbered = predicted_labels(out(scores=scores), label_headers=[10, 20, 30])
    assert numbered.tolist() == [30, 20, 10] and numbered.dtype == np.int64


def test_candidate_labels_with_scores():
    output = out(labels=[["cat", "dog", "fish"], ["cat", "dog", "fish"]], scores=[[0.35, 0.25, 0.4], [0.1, 0.8, 0.1]])
    assert predicted_labels(output).tolist() == ["fish", "dog"]


def test_candidate_labels_need_matching_scores():
    with pytest.raises(ModelError, match="3 candidate labels per record and no scores"):
        predicted_labels(out(labels=[["a", "b", "c"]]))
    with pytest.raises(ModelError, match="3 candidate labels per record and 2 scores per record"):
        predicted_labels(out(labels=[["a", "b", "c"]], scores=[[0.1, 0.9]]))


def test_nothing_to_predict_from():
    with pytest.raises(ModelError, match="neither labels nor scores; set predictor.label or predictor.probability"):
        predicted_labels(ModelOutput(labels=None, scores=None))


def test_header_count_mismatch():
    with pytest.raises(ConfigError, match=r"predictor.label_headers: expected 3 name\(s\), one per score .* found 2: \['a', 'b'\]"):
        predicted_labels(out(scores=[[0.1, 0.2, 0.7]]), label_headers=["a", "b"])


@pytest.mark.parametrize("bad", ["high", None, True])
def test_bad_threshold(bad):
    with pytest.raises(ConfigError, match="probability_threshold: expected a number"):
        predicted_labels(out(scores=[0.1]), probability_threshold=bad)


def test_score_columns():
    assert score_columns(out(scores=[[0.1, 0.9]])) == ["label0", "label1"]
    assert score_columns(out(scores=[[0.1, 0.9]]), label_headers=["no", 1]) == ["no", "1"]
    assert score_columns(out(scores=[0.3]), label_headers=["approved"]) == ["approved"]
    assert score_columns(out(labels=[0.3, 0.4])) == ["label0"]  # SDK model_scores written to `label`
    with pytest.raises(ConfigError, match="predictor.label_headers: expected 2"):
        score_columns(out(scores=[[0.1, 0.9]]), label_headers=["only one"])
    with pytest.raises(ConfigError, match="expected a list of names"):
        score_columns(out(scores=[[0.1, 0.9]]), label_headers="ab")


def test_model_scores():
    np.testing.assert_array_equal(model_scores(out(scores=[[0.1, 0.9]])), [[0.1, 0.9]])
    np.testing.assert_array_equal(model_scores(out(labels=[1, 0])), [[1.0], [0.0]])
    np.testing.assert_array_equal(model_scores(out(labels=["0.25", "1"])), [[0.25], [1.0]])
    with pytest.raises(ModelError, match=r"^the model's output has no scores, and its label for row 1, 'cat', is not a "
                                         r"number; set predictor.probability to where the scores are in the reply "
                                         r"\(predictor.label is read as the scores only when they are numbers\)$"):
        model_scores(out(labels=["0.5", "cat"]))
    with pytest.raises(ModelError, match="no scores; set predictor.probability"):
        model_scores(ModelOutput(labels=None, scores=None))
