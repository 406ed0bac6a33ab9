"""``serve-model`` as SageMaker's built-in algorithms: their artifacts and their reply shapes.

Each server is a real subprocess; the end-to-end jobs run through the CLI (``run_cli``).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import urllib3
import xgboost as xgb
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier

import clarify_engine
from clarify_engine.predict.transports._inprocess import load_model
from tests.helpers import ServerProcess, run_cli

FEATURES = ["Age", "Gender", "Income", "Occupation"]


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"Age": rng.normal(size=200), "Gender": rng.integers(0, 2, 200).astype(float),
                      "Income": rng.normal(size=200), "Occupation": rng.integers(0, 3, 200).astype(float)})
    y = ((X["Age"] + X["Income"] + 0.5 * X["Gender"]) > 0.2).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, data) -> dict[str, Path]:
    """SageMaker-style artifacts: built-in XGBoost model.tar.gz files and .skops files."""
    X, y = data
    folder = tmp_path_factory.mktemp("builtin")
    dm = xgb.DMatrix(X.to_numpy(), label=y)
    binary = xgb.train({"objective": "binary:logistic", "max_depth": 3}, dm, 8)
    multi = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2},
                      xgb.DMatrix(X.to_numpy(), label=X["Occupation"].to_numpy()), 4)
    paths = {
        "xgb_binary": _tar(folder / "binary.tar.gz", {"xgboost-model": bytes(binary.save_raw("ubj"))}),
        "xgb_multi": _tar(folder / "multi.tar.gz", {"xgboost-model": bytes(multi.save_raw("ubj"))}),
    }
    for name, model in [("ll_binary", LogisticRegression().fit(X, y)),
                        ("ll_multi", LogisticRegression().fit(X, X["Occupation"].astype(int))),
                        ("ll_regressor", LinearRegression().fit(X, X["Income"])),
                        ("labels_only", RidgeClassifier().fit(X, y))]:
        paths[name] = folder / f"{name}.skops"
        sio.dump(model, paths[name])
    return paths


@pytest.fixture(scope="module")
def servers(artifacts):
    started: dict[str, ServerProcess] = {}

    def get(name: str, reply_format: str) -> ServerProcess:
        key = f"{name}/{reply_format}"
        if key not in started:
            started[key] = ServerProcess(artifacts[name], "--reply-format", reply_format)
        return started[key]

    yield get
    for server in started.values():
        server.stop()


def _post(server: ServerProcess, frame: pd.DataFrame, accept: str):
    body = frame.to_csv(header=False, index=False).encode()
    return urllib3.request("POST", server.url + "/invocations", body=body,
                           headers={"Content-Type": "text/csv", "Accept": accept}, retries=False)


def _booster_scores(artifact: Path, X: pd.DataFrame) -> np.ndarray:
    with tarfile.open(artifact) as tar:
        booster = xgb.Booster()
        booster.load_model(bytearray(tar.extractfile("xgboost-model").read()))
    return booster.predict(xgb.DMatrix(X.to_numpy())).astype(np.float64)


# -- reply shapes ---------------------------------------------------------------------------------
def test_xgboost_replies_for_a_binary_artifact(servers, artifacts, data):
    X = data[0].head(25)
    want = _booster_scores(artifacts["xgb_binary"], X)
    server = servers("xgb_binary", "xgboost")
    reply = _post(server, X, "text/csv")
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/csv"
    np.testing.assert_array_equal([float(line) for line in reply.data.decode().splitlines()], want)
    doc = json.loads(_post(server, X, "application/json").data)
    assert list(doc) == ["predictions"] and all(list(p) == ["score"] for p in doc["predictions"])
    np.testing.assert_array_equal([p["score"] for p in doc["predictions"]], want)
    lines = [json.loads(line) for line in _post(server, X, "application/jsonlines").data.decode().splitlines()]
    assert lines == [{"score": s} for s in want.tolist()]


def test_xgboost_replies_for_a_multiclass_artifact(servers, artifacts, data):
    X = data[0].head(10)
    want = _booster_scores(artifacts["xgb_multi"], X)
    server = servers("xgb_multi", "xgboost")
    rows = np.loadtxt(_post(server, X, "text/csv").data.decode().splitlines(), delimiter=",")
    np.testing.assert_array_equal(rows, want)
    doc = json.loads(_post(server, X, "application/json").data)
    np.testing.assert_array_equal([p["score"] for p in doc["predictions"]], want)


def test_linear_learner_replies(servers, artifacts, data):
    X = data[0].head(15)
    binary = sio.load(artifacts["ll_binary"])
    server = servers("ll_binary", "linear-learner")
    doc = json.loads(_post(server, X, "application/json").data)
    assert [list(p) for p in doc["predictions"]] == [["score", "predicted_label"]] * 15
    np.testing.assert_array_equal([p["score"] for p in doc["predictions"]], binary.predict_proba(X)[:, 1])
    np.testing.assert_array_equal([p["predicted_label"] for p in doc["predictions"]], binary.predict(X))
    lines = [json.loads(line) for line in _post(server, X, "application/jsonlines").data.decode().splitlines()]
    assert lines == doc["predictions"]

    multi = sio.load(artifacts["ll_multi"])
    doc = json.loads(_post(servers("ll_multi", "linear-learner"), X, "application/json").data)
    np.testing.assert_array_equal([p["score"] for p in doc["predictions"]], multi.predict_proba(X))
    np.testing.assert_array_equal([p["predicted_label"] for p in doc["predictions"]], multi.predict(X))

    regressor = sio.load(artifacts["ll_regressor"])
    doc = json.loads(_post(servers("ll_regressor", "linear-learner"), X, "application/json").data)
    assert [list(p) for p in doc["predictions"]] == [["score"]] * 15
    np.testing.assert_allclose([p["score"] for p in doc["predictions"]], regressor.predict(X), rtol=0, atol=1e-12)


def test_linear_learner_refuses_csv_replies(servers, data):
    reply = _post(servers("ll_binary", "linear-learner"), data[0].head(2), "text/csv")
    assert reply.status == 406
    assert reply.data == (b"Accept 'text/csv' is not answered by reply format linear-learner (LinearLearner replies "
                          b"in application/json or application/jsonlines); ask for one of those, or serve with "
                          b"--reply-format xgboost or default for text/csv")


def test_xgboost_reply_needs_scores(servers, data):
    reply = _post(servers("labels_only", "xgboost"), data[0].head(2), "text/csv")
    assert reply.status == 500
    assert reply.data == (b"the model gives labels only, no scores; reply format xgboost sends scores: serve a "
                          b"model with predict_proba, or use --reply-format default")


# -- whole jobs through the CLI ---------------------------------------------------------------
def _job(tmp_path: Path, data, predictor: dict) -> tuple[dict, Path]:
    X, y = data
    frame = X.assign(Target=y)[["Target", *FEATURES]]
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    config = {
        "dataset_type": "text/csv",
        "headers": ["Target", *FEATURES],
        "label": "Target",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}],
        "methods": {"post_training_bias": {"methods": "all"},
                    "shap": {"num_clusters": 2, "num_samples": 32, "seed": 3}},
        "predictor": predictor,
    }
    return config, path


def _run(tmp_path: Path, config: dict, data_path: Path, model: str) -> dict:
    (tmp_path / "analysis_config.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    proc = run_cli("analyze", "--config", str(tmp_path / "analysis_config.json"), "--data", str(data_path),
                   "--output", str(out), "--model", model)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "analysis.json").read_text())


@pytest.mark.parametrize(
    "reply_format, predictor",
    [
        ("linear-learner", {"content_type": "application/jsonlines", "accept_type": "application/jsonlines",
                            "content_template": '{"features":$features}',
                            "label": "predicted_label", "probability": "score"}),
        ("xgboost", {"content_type": "text/csv", "accept_type": "application/json",
                     "probability": "predictions[*].score"}),
        ("xgboost", {"content_type": "text/csv", "accept_type": "text/csv"}),
    ],
    ids=["linear-learner-jsonlines", "xgboost-json", "xgboost-csv"],
)
def test_job_against_a_served_model_tar_gz(tmp_path, artifacts, data, servers, reply_format, predictor):
    """A config written for the built-in algorithm's endpoint, unchanged, against serve-model."""
    config, data_path = _job(tmp_path, data, {"endpoint_name": "xgb-endpoint", **predictor})
    served = _run(tmp_path, config, data_path, servers("xgb_binary", reply_format).url)
    in_process = clarify_engine.analyze(config, data=data_path, model=load_model(artifacts["xgb_binary"])).to_dict()
    assert served == in_process
    assert served["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]
    assert set(served["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == set(FEATURES)


def test_analyze_with_a_skops_model_file(tmp_path, artifacts, data):
    config, data_path = _job(tmp_path, data, {"content_type": "text/csv", "accept_type": "text/csv"})
    from_file = _run(tmp_path, config, data_path, str(artifacts["ll_binary"]))
    direct = clarify_engine.analyze(config, data=data_path, model=sio.load(artifacts["ll_binary"])).to_dict()
    assert from_file == direct
    assert from_file["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]


def test_serve_model_trust_type_for_a_skops_xgboost_classifier(tmp_path, data):
    X, y = data
    clf = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y)
    path = tmp_path / "xgb.skops"
    sio.dump(clf, path)
    proc = run_cli("serve-model", str(path), "--port", "0", env={"CLARIFY_SKOPS_TRUSTED": ""})
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"clarify-engine serve-model: error: skops model file {str(path)!r} holds types "
                                  "skops does not trust by default: ['xgboost.core.Booster', "
                                  "'xgboost.sklearn.XGBClassifier']; if you trust them")
    server = ServerProcess(path, "--trust-type", "xgboost.core.Booster", "--trust-type", "xgboost.sklearn.XGBClassifier")
    try:
        reply = _post(server, X.head(5), "text/csv")
        np.testing.assert_array_equal([float(v) for v in reply.data.decode().split()], clf.predict_proba(X.head(5))[:, 1])
    finally:
        server.stop()
