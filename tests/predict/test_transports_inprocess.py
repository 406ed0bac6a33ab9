"""In-process models: estimators, callables, model files."""

from __future__ import annotations

import pickle
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier

from clarify_engine.errors import ModelError
from clarify_engine.predict.transports._inprocess import InProcessModel, load_model

FEATURES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=FEATURES)
    y = (X["a"] - X["b"] > 0).astype(int).to_numpy()
    return X, y


def test_binary_classifier_reports_the_positive_class_probability(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    out = InProcessModel(model).predict(X)
    assert out.scores.shape == (300, 1) and out.scores.dtype == np.float64
    np.testing.assert_array_equal(out.scores[:, 0], model.predict_proba(X)[:, 1])
    np.testing.assert_array_equal(out.labels, model.predict(X))
    assert len(out) == 300


@pytest.mark.parametrize("labels", [np.array([False, True]), np.array(["no", "yes"])], ids=["bool", "str"])
def test_binary_labels_keep_the_class_values(data, labels):
    X, y = data
    model = LogisticRegression().fit(X, labels[y])
    wrapped = InProcessModel(model)
    out = wrapped.predict(X)
    np.testing.assert_array_equal(out.labels, model.predict(X))
    np.testing.assert_array_equal(wrapped.classes, labels)
    # the score is that of classes_[1]: high where the label is classes_[1]
    assert ((out.scores[:, 0] > 0.5) == (out.labels == labels[1])).all()


def test_multiclass_reports_every_class_in_classes_order(data):
    X, _ = data
    y = np.array(["x", "y", "z"])[np.digitize(X["a"], [-0.4, 0.4])]
    model = LogisticRegression().fit(X, y)
    wrapped = InProcessModel(model)
    out = wrapped.predict(X)
    np.testing.assert_array_equal(out.scores, model.predict_proba(X))
    np.testing.assert_array_equal(out.labels, model.predict(X))
    assert wrapped.classes.tolist() == ["x", "y", "z"]


def test_predict_only_classifier_gives_labels(data):
    X, y = data
    model = RidgeClassifier().fit(X, y)
    out = InProcessModel(model).predict(X)
    assert out.scores is None
    np.testing.assert_array_equal(out.labels, model.predict(X))


def test_regressor_gives_one_score_per_record(data):
    X, _ = data
    model = LinearRegression().fit(X, X["a"] * 3)
    out = InProcessModel(model).predict(X)
    assert out.labels is None and out.scores.shape == (300, 1)
    np.testing.assert_allclose(out.scores[:, 0], model.predict(X))


def test_columns_are_reordered_by_feature_names(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    shuffled = X[["c", "a", "b"]]
    out = InProcessModel(model).predict(shuffled)
    np.testing.assert_array_equal(out.scores[:, 0], model.predict_proba(X)[:, 1])


def test_model_fitted_on_arrays_gets_arrays_without_warnings(data):
    X, y = data
    model = LogisticRegression().fit(X.to_numpy(), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = InProcessModel(model).predict(X)
    np.testing.assert_array_equal(out.scores[:, 0], model.predict_proba(X.to_numpy())[:, 1])


@pytest.mark.parametrize(
    "fn, output, want_labels, want_scores_shape",
    [
        (lambda df: df["a"].to_numpy() * 0.1, "auto", False, (300, 1)),
        (lambda df: (df["a"] > 0).to_numpy().astype(int), "auto", True, None),
        (lambda df: np.where(df["a"] > 0, "pos", "neg"), "auto", True, None),
        (lambda df: np.column_stack([df["a"], df["b"]]), "auto", False, (300, 2)),
        (lambda df: (df["a"] > 0).to_numpy().astype(float), "labels", True, None),
        (lambda df: (df["a"] > 0).to_numpy().astype(int), "scores", False, (300, 1)),
    ],
    ids=["float_scores", "int_labels", "str_labels", "2d_scores", "forced_labels", "forced_scores"],
)
def test_callables(data, fn, output, want_labels, want_scores_shape):
    X, _ = data
    out = InProcessModel(fn, output=output).predict(X)
    assert (out.labels is not None) == want_labels
    assert (None if out.scores is None else out.scores.shape) == want_scores_shape


def test_callable_receives_the_frame(data):
    X, _ = data
    seen = []
    InProcessModel(lambda df: seen.append(df) or np.zeros(len(df))).predict(X)
    assert isinstance(seen[0], pd.DataFrame) and list(seen[0].columns) == FEATURES


class Exploding:
    def predict_proba(self, X):
        raise ValueError("bad input at row 3")


def test_model_errors_name_the_model_type_and_keep_the_cause(data):
    X, _ = data
    with pytest.raises(ModelError, match=r"model of type tests\.Exploding failed to predict 300 records: "
                                         r"ValueError: bad input at row 3") as info:
        InProcessModel(Exploding()).predict(X)
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (lambda df: np.zeros(len(df) - 1), r"returned shape \(299,\) for 300 records"),
        (lambda df: np.zeros((len(df), 2, 2)), r"returned shape \(300, 2, 2\)"),
        (lambda df: np.array([object()] * len(df)), None),
        (lambda df: np.full((len(df), 2), "x", dtype=object), "returned values of dtype object that are not numbers"),
    ],
    ids=["rows", "ndim", "objects_are_labels", "text_scores"],
)
def test_unusable_answers(data, fn, fragment):
    X, _ = data
    if fragment is None:  # 1-D object output is read as labels: no error
        assert InProcessModel(fn).predict(X).labels is not None
        return
    with pytest.raises(ModelError, match=fragment):
        InProcessModel(fn).predict(X)


def test_not_a_model_and_bad_output_option():
    with pytest.raises(ModelError, match="has neither predict_proba nor predict and is not callable"):
        InProcessModel(42)
    with pytest.raises(ValueError, match="output"):
        InProcessModel(len, output="probabilities")


def test_empty_frame(data):
    X, y = data
    out = InProcessModel(LogisticRegression().fit(X, y)).predict(X.head(0))
    assert len(out) == 0


# -- model files ----------------------------------------------------------------------------
def test_load_joblib_and_pickle(tmp_path, data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    joblib.dump(model, tmp_path / "m.joblib", compress=3)
    with (tmp_path / "m.pkl").open("wb") as fh:
        pickle.dump(model, fh)
    for name in ("m.joblib", "m.pkl"):
        loaded = load_model(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("missing.joblib", None, "does not exist"),
        ("model.onnx", b"x", "unknown extension '.onnx'"),
        ("broken.joblib", b"not a pickle", "could not be loaded"),
    ],
)
def test_load_errors(tmp_path, name, content, fragment):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(ModelError, match=fragment):
        load_model(tmp_path / name)


def test_xgboost_file_without_xgboost_says_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "model.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes "import xgboost" fail
    with pytest.raises(ModelError, match=r"xgboost package is not installed; install it"):
        load_model(tmp_path / "model.json")


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_xgboost_model_files(tmp_path, data, suffix):
    import xgboost as xgb
    X, y = data
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    clf.save_model(tmp_path / f"clf{suffix}")
    loaded = load_model(tmp_path / f"clf{suffix}")
    assert isinstance(loaded, xgb.XGBClassifier)
    out = InProcessModel(loaded).predict(X)
    np.testing.assert_allclose(out.scores[:, 0], clf.predict_proba(X)[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(out.labels, clf.predict(X))

    booster = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(X.to_numpy(), label=X["a"].to_numpy()), 3)
    booster.save_model(tmp_path / f"reg{suffix}")
    reg = load_model(tmp_path / f"reg{suffix}")
    assert isinstance(reg, xgb.XGBRegressor)
    out = InProcessModel(reg).predict(X)
    np.testing.assert_allclose(out.scores[:, 0], booster.predict(xgb.DMatrix(X.to_numpy())), rtol=1e-6)

    y3 = np.digitize(X["a"], [-0.4, 0.4])
    multi = xgb.train({"objective": "multi:softprob", "num_class": 3}, xgb.DMatrix(X.to_numpy(), label=y3), 3)
    multi.save_model(tmp_path / f"multi{suffix}")
    out = InProcessModel(load_model(tmp_path / f"multi{suffix}")).predict(X)
    np.testing.assert_allclose(out.scores, multi.predict(xgb.DMatrix(X.to_numpy())), rtol=1e-6)


def test_corrupt_xgboost_file(tmp_path):
    (tmp_path / "model.json").write_text('{"not": "a model"}')
    with pytest.raises(ModelError, match="xgboost model file .* could not be loaded"):
        load_model(tmp_path / "model.json")
