"""Model files: skops (no code runs), SageMaker artifacts (model.tar.gz, xgboost-model)."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import xgboost as xgb
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from clarify_engine.errors import ModelError
from clarify_engine.predict.transports._inprocess import InProcessModel, load_model
from clarify_engine.predict.transports._model_files import TRUSTED_ENV

FEATURES = ["a", "b", "c"]
#: Set by Marker.__setstate__: proves whether loading ran code of the file's types.
RAN: list[str] = []


class Marker:
    """A type skops does not trust: its __setstate__ records that it ran."""

    def __init__(self):
        self.x = 1

    def __setstate__(self, state):
        RAN.append("setstate")
        self.__dict__.update(state)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=FEATURES)
    y = (X["a"] + X["c"] > 0).astype(int).to_numpy()
    return X, y


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def _booster(X, y, objective="binary:logistic", **params):
    return xgb.train({"objective": objective, "max_depth": 2, **params}, xgb.DMatrix(X.to_numpy(), label=y), 4)


# -- skops -------------------------------------------------------------------------------------
def test_skops_pipeline_round_trip_with_string_features(tmp_path):
    X = pd.DataFrame({"color": ["red", "blue", "green", "red"] * 10, "size": np.arange(40.0)})
    y = (X["color"] == "red").astype(int)
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["color"]), remainder="passthrough"),
                         LogisticRegression()).fit(X, y)
    sio.dump(pipe, tmp_path / "pipe.skops")
    loaded = load_model(tmp_path / "pipe.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert InProcessModel(loaded).feature_names == ["color", "size"]


def test_skops_refuses_untrusted_types_before_running_their_code(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUSTED_ENV, raising=False)
    sio.dump({"model": Marker()}, tmp_path / "evil.skops")
    RAN.clear()
    with pytest.raises(ModelError) as err:
        load_model(tmp_path / "evil.skops")
    assert RAN == []
    assert str(err.value) == (
        f"skops model file {str(tmp_path / 'evil.skops')!r} holds types skops does not trust by default: "
        "['tests.predict.test_model_files.Marker']; if you trust them, name them in the environment variable "
        "CLARIFY_SKOPS_TRUSTED (comma-separated) or with serve-model --trust-type (for an xgboost model, "
        "save_model to .json or .ubj instead)"
    )
    # trusted by argument, or by the environment variable
    assert load_model(tmp_path / "evil.skops", trusted=["tests.predict.test_model_files.Marker"])["model"].x == 1
    monkeypatch.setenv(TRUSTED_ENV, "foo.Bar, tests.predict.test_model_files.Marker")
    assert load_model(tmp_path / "evil.skops")["model"].x == 1


def test_skops_xgboost_classifier_needs_its_types_trusted(tmp_path, data, monkeypatch):
    monkeypatch.delenv(TRUSTED_ENV, raising=False)
    X, y = data
    clf = xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y)
    sio.dump(clf, tmp_path / "xgb.skops")
    with pytest.raises(ModelError, match=r"\['xgboost.core.Booster', 'xgboost.sklearn.XGBClassifier'\]"):
        load_model(tmp_path / "xgb.skops")
    loaded = load_model(tmp_path / "xgb.skops", trusted=["xgboost.core.Booster", "xgboost.sklearn.XGBClassifier"])
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_corrupt_skops_file(tmp_path):
    (tmp_path / "bad.skops").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match=r"skops model file .*bad.skops' could not be read: BadZipFile"):
        load_model(tmp_path / "bad.skops")


# -- xgboost-model and model.tar.gz -----------------------------------------------------------
@pytest.mark.parametrize("form", ["save_model", "pickled_booster"])
def test_builtin_xgboost_model_file(tmp_path, data, form):
    """SageMaker's built-in XGBoost writes ``xgboost-model``: save_model (UBJSON), or a pickle."""
    X, y = data
    booster = _booster(X, y)
    path = tmp_path / "xgboost-model"
    if form == "save_model":
        booster.save_model(path.with_suffix(".ubj"))
        path.with_suffix(".ubj").rename(path)
    else:
        path.write_bytes(pickle.dumps(booster))
    loaded = load_model(path)
    assert isinstance(loaded, xgb.XGBClassifier)
    out = InProcessModel(loaded).predict(X)
    np.testing.assert_array_equal(out.scores[:, 0], booster.predict(xgb.DMatrix(X.to_numpy())))


def test_model_tar_gz_with_xgboost_model_and_code(tmp_path, data):
    X, y = data
    booster = _booster(X, X["a"].to_numpy(), objective="reg:squarederror")
    archive = _tar(tmp_path / "model.tar.gz", {
        "xgboost-model": bytes(booster.save_raw("ubj")),
        "code/inference.py": b"raise SystemExit('must not run')\n",
        "._xgboost-model": b"macOS metadata",
    })
    loaded = load_model(archive)
    assert isinstance(loaded, xgb.XGBRegressor)
    np.testing.assert_array_equal(InProcessModel(loaded).predict(X).scores[:, 0], booster.predict(xgb.DMatrix(X.to_numpy())))


@pytest.mark.parametrize("member", ["model.joblib", "sub/model.skops", "model.json"])
def test_model_tar_gz_with_other_model_files(tmp_path, data, member):
    X, y = data
    model = LogisticRegression().fit(X, y)
    if member.endswith(".joblib"):
        buf = io.BytesIO()
        joblib.dump(model, buf)
        content = buf.getvalue()
    elif member.endswith(".skops"):
        content = sio.dumps(model)
    else:
        model = xgb.XGBClassifier(n_estimators=3).fit(X, y)
        content = bytes(model.get_booster().save_raw("json"))
    loaded = load_model(_tar(tmp_path / "model.tar.gz", {member: content}))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize(
    "members, fragment",
    [
        ({"README": b"x", "code/inference.py": b"x"}, "holds no model file (found ['README', 'code/inference.py']); expected one file named xgboost-model or ending in"),
        ({"a.joblib": b"x", "xgboost-model": b"y"}, "holds several model files ['a.joblib', 'xgboost-model']; repack it with the one model to load"),
    ],
    ids=["none", "several"],
)
def test_model_tar_gz_errors(tmp_path, members, fragment):
    with pytest.raises(ModelError) as err:
        load_model(_tar(tmp_path / "model.tar.gz", members))
    assert fragment in str(err.value)


def test_not_a_tar_file(tmp_path):
    (tmp_path / "model.tar.gz").write_bytes(b"plain text")
    with pytest.raises(ModelError, match=r"model archive .* could not be read: ReadError: .*; expected a tar file"):
        load_model(tmp_path / "model.tar.gz")


def test_member_of_an_archive_is_named_in_errors(tmp_path):
    archive = _tar(tmp_path / "model.tar.gz", {"xgboost-model": b"{ not a model"})
    with pytest.raises(ModelError, match=r"xgboost model file '.*model.tar.gz!xgboost-model' could not be loaded") as err:
        load_model(archive)
    assert "\n" not in str(err.value) and "Stack trace" not in str(err.value)


def test_unknown_extension_lists_the_formats(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(ModelError) as err:
        load_model(tmp_path / "model.onnx")
    assert str(err.value).endswith(
        "unknown extension '.onnx'; expected one of .skops, .json, .ubj, .joblib, .pkl, .pickle, .sav, .jbl, "
        ".tar.gz, .tgz, .tar or xgboost-model"
    )
