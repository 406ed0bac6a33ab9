"""The local model server, run as a real subprocess (``python -m clarify_engine.serve``).

Also holds the helpers the transport tests share: model files and a server process.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import jmespath
import joblib
import numpy as np
import pandas as pd
import pytest
import urllib3
from sklearn.linear_model import LinearRegression, LogisticRegression

from clarify_engine.predict.transports._http import HttpTransport, ping
from clarify_engine.serve import main as serve_main
from clarify_engine.serve import make_server
from tests.helpers import SDK_CONFIGS
from tests.helpers import ServerProcess  # noqa: F401 - re-exported for the other predict tests

FEATURES = ["Age", "Gender", "Income", "Occupation"]


class FailingModel:
    """A classifier that raises on a negative Age (to test model-error replies)."""

    classes_ = np.array([0, 1])
    feature_names_in_ = np.array(FEATURES, dtype=object)
    n_features_in_ = 4

    def predict_proba(self, X):
        if (np.asarray(X["Age"], dtype=float) < 0).any():
            raise ValueError("Age must be >= 0")
        p = 1.0 / (1.0 + np.exp(-np.asarray(X["Income"], dtype=float)))
        return np.column_stack([1.0 - p, p])


def training_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=FEATURES)
    y = (X["Age"] + 0.5 * X["Income"] > 0).astype(int).to_numpy()
    return X, y


@dataclass
class Models:
    X: pd.DataFrame
    binary: LogisticRegression
    multi: LogisticRegression
    regressor: LinearRegression
    paths: dict[str, Path]


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Models:
    folder = tmp_path_factory.mktemp("models")
    X, y = training_frame()
    binary = LogisticRegression().fit(X, y)
    y3 = np.digitize(X["Age"].to_numpy(), [-0.5, 0.5])
    multi = LogisticRegression().fit(X, np.array(["low", "mid", "high"])[y3])
    regressor = LinearRegression().fit(X, X["Income"] * 2 + 1)
    paths = {}
    for name, model in [("binary", binary), ("multi", multi), ("regressor", regressor), ("failing", FailingModel())]:
        paths[name] = folder / f"{name}.joblib"
        joblib.dump(model, paths[name])
    return Models(X, binary, multi, regressor, paths)


@pytest.fixture(scope="module")
def binary_server(models):
    server = ServerProcess(models.paths["binary"], "--endpoint-name", "my-endpoint")
    yield server
    server.stop()


def csv_body(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(header=False, index=False).encode()


def post(url: str, body: bytes, content_type: str, accept: str | None = None, headers: dict | None = None):
    all_headers = {"Content-Type": content_type, **(headers or {})}
    if accept:
        all_headers["Accept"] = accept
    return urllib3.request("POST", url, body=body, headers=all_headers, retries=False)


# -- process & routes -------------------------------------------------------------------
def test_ping_and_first_line_is_the_port(binary_server):
    ping(binary_server.url)
    reply = urllib3.request("GET", binary_server.url + "/ping")
    assert reply.status == 200 and reply.data == b""
    assert urllib3.request("GET", binary_server.url + "/nope").status == 404


def test_unknown_post_route_is_404(binary_server):
    reply = post(binary_server.url + "/predict", b"1,2,3,4", "text/csv")
    assert reply.status == 404
    assert b"/invocations" in reply.data


def test_csv_probability_default_matches_predict_proba(binary_server, models):
    X = models.X.head(50)
    reply = post(binary_server.url + "/invocations", csv_body(X), "text/csv", "text/csv")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv"
    got = np.loadtxt(reply.data.decode().splitlines())
    np.testing.assert_allclose(got, models.binary.predict_proba(X)[:, 1], rtol=0, atol=1e-15)


def test_csv_label_probability_by_header_and_custom_attributes(binary_server, models):
    X = models.X.head(20)
    want_p = models.binary.predict_proba(X)[:, 1]
    want_l = models.binary.predict(X)
    for headers in ({"X-Clarify-Output": "label,probability"},
                    {"X-Amzn-SageMaker-Custom-Attributes": "foo=bar;clarify-output=label,probability"}):
        reply = post(binary_server.url + "/invocations", csv_body(X), "text/csv", "text/csv", headers)
        rows = np.loadtxt(reply.data.decode().splitlines(), delimiter=",")
        np.testing.assert_array_equal(rows[:, 0], want_l)
        np.testing.assert_allclose(rows[:, 1], want_p, atol=1e-15)
    reply = post(binary_server.url + "/invocations", csv_body(X), "text/csv", "text/csv", {"X-Clarify-Output": "label"})
    np.testing.assert_array_equal(np.loadtxt(reply.data.decode().splitlines()), want_l)
    reply = post(binary_server.url + "/invocations", csv_body(X), "text/csv", "text/csv", {"X-Clarify-Output": "probabilities"})
    np.testing.assert_allclose(np.loadtxt(reply.data.decode().splitlines(), delimiter=","), models.binary.predict_proba(X), atol=1e-15)
    reply = post(binary_server.url + "/invocations", csv_body(X), "text/csv", "text/csv", {"X-Clarify-Output": "scores"})
    assert reply.status == 400 and b"'scores' is not one of" in reply.data


def test_accept_defaults_to_content_type(binary_server, models):
    body = "\n".join(json.dumps(r) for r in models.X.head(3).to_numpy().tolist()).encode()
    reply = post(binary_server.url + "/invocations", body, "application/jsonlines")
    assert reply.headers["Content-Type"] == "application/jsonlines"
    assert len(reply.data.decode().splitlines()) == 3


def test_fixture_10_jsonlines_template_and_jmespath(binary_server, models):
    """Config 10: content_template {"Features":$features}, label/probability JMESPath per line."""
    cfg = json.loads((SDK_CONFIGS / "10_jsonlines_bias_content_template.json").read_text())["predictor"]
    X = models.X.head(7)
    body = "\n".join(cfg["content_template"].replace("$features", json.dumps(r)) for r in X.to_numpy().tolist())
    reply = post(binary_server.url + "/endpoints/my-endpoint/invocations", body.encode(), cfg["content_type"], cfg["accept_type"])
    assert reply.status == 200, reply.data
    lines = [json.loads(line) for line in reply.data.decode().splitlines()]
    labels = [jmespath.search(cfg["label"], d) for d in lines]
    probs = [jmespath.search(cfg["probability"], d) for d in lines]
    np.testing.assert_array_equal(labels, models.binary.predict(X))
    np.testing.assert_allclose(probs, models.binary.predict_proba(X)[:, 1], atol=1e-15)


def test_fixture_12_json_records_features_kvp_and_jmespath(binary_server, models):
    """Config 12: {"instances":$records} with $features_kvp records, predictions[*].score."""
    cfg = json.loads((SDK_CONFIGS / "12_json_dataset_records_template_features_kvp.json").read_text())["predictor"]
    X = models.X.head(9)
    # $features_kvp in an order other than the model's, to check name-based ordering.
    records = [json.dumps(dict(reversed(list(r.items())))) for r in X.to_dict(orient="records")]
    body = cfg["content_template"].replace("$records", "[" + ",".join(records) + "]")
    reply = post(binary_server.url + "/invocations", body.encode(), cfg["content_type"], cfg["accept_type"])
    assert reply.status == 200, reply.data
    doc = json.loads(reply.data)
    np.testing.assert_array_equal(jmespath.search(cfg["label"], doc), models.binary.predict(X))
    np.testing.assert_allclose(jmespath.search(cfg["probability"], doc), models.binary.predict_proba(X)[:, 1], atol=1e-15)
    np.testing.assert_allclose([p["probabilities"] for p in doc["predictions"]], models.binary.predict_proba(X), atol=1e-15)


@pytest.mark.parametrize("shape", ["bare_list", "instances_lists", "instances_features_objects"])
def test_json_request_shapes(binary_server, models, shape):
    X = models.X.head(4)
    rows = X.to_numpy().tolist()
    doc = {"bare_list": rows, "instances_lists": {"instances": rows},
           "instances_features_objects": {"instances": [{"features": r} for r in rows]}}[shape]
    reply = post(binary_server.url + "/invocations", json.dumps(doc).encode(), "application/json", "text/csv")
    assert reply.status == 200, reply.data
    np.testing.assert_allclose(np.loadtxt(reply.data.decode().splitlines()), models.binary.predict_proba(X)[:, 1], atol=1e-15)


def test_multiclass_and_regression_replies(models):
    multi = ServerProcess(models.paths["multi"])
    reg = ServerProcess(models.paths["regressor"])
    try:
        X = models.X.head(6)
        proba = models.multi.predict_proba(X)
        reply = post(multi.url + "/invocations", csv_body(X), "text/csv", "application/jsonlines")
        lines = [json.loads(line) for line in reply.data.decode().splitlines()]
        assert [d["predicted_label"] for d in lines] == models.multi.predict(X).tolist()
        np.testing.assert_allclose([d["probabilities"] for d in lines], proba, atol=1e-15)
        np.testing.assert_allclose([d["probability"] for d in lines], proba.max(axis=1), atol=1e-15)
        reply = post(multi.url + "/invocations", csv_body(X), "text/csv", "text/csv")
        np.testing.assert_allclose(np.loadtxt(reply.data.decode().splitlines(), delimiter=","), proba, atol=1e-15)
        reply = post(multi.url + "/invocations", csv_body(X), "text/csv", "text/csv", {"X-Clarify-Output": "label,probability"})
        first = [line.split(",")[0] for line in reply.data.decode().splitlines()]
        assert first == models.multi.predict(X).tolist()

        reply = post(reg.url + "/invocations", csv_body(X), "text/csv", "application/json")
        np.testing.assert_allclose([p["score"] for p in json.loads(reply.data)["predictions"]], models.regressor.predict(X), atol=1e-12)
        reply = post(reg.url + "/invocations", csv_body(X), "text/csv", "text/csv")
        np.testing.assert_allclose(np.loadtxt(reply.data.decode().splitlines()), models.regressor.predict(X), atol=1e-12)
    finally:
        multi.stop()
        reg.stop()


# -- bad requests and model errors ------------------------------------------------------
@pytest.mark.parametrize(
    "body, content_type, accept, status, fragment",
    [
        (b"1,2,3\n", "text/csv", "text/csv", 400, b"3 feature values; the model expects 4"),
        (b"", "text/csv", "text/csv", 400, b"empty request body"),
        (b"[1,2,3,4]\n{bad\n", "application/jsonlines", "text/csv", 400, b"line 2 is not JSON"),
        (b'{"rows": []}', "application/json", "text/csv", 400, b'expected {"instances"'),
        (b'{"instances": [{"Age": 1}]}', "application/json", "text/csv", 400, b"lack the model's features"),
        (b'[[1,2,3,4],[1,2,3]]', "application/json", "text/csv", 400, b"record 1: 3 feature values"),
        (b"1,2,3,4", "application/x-npy", "text/csv", 415, b"Content-Type 'application/x-npy' is not supported"),
        (b"1,2,3,4", "text/csv", "image/png", 406, b"Accept 'image/png' is not supported"),
    ],
    ids=["csv_width", "empty", "jsonl_bad_line", "json_no_instances", "json_missing_names", "json_ragged", "content_type", "accept"],
)
def test_bad_requests_are_4xx_with_a_message(binary_server, body, content_type, accept, status, fragment):
    reply = post(binary_server.url + "/invocations", body, content_type, accept)
    assert reply.status == status
    assert fragment in reply.data, reply.data


def test_model_error_is_500_and_runtime_route_wraps_it_as_model_error(models):
    server = ServerProcess(models.paths["failing"])
    try:
        bad = b"-1,0,1,0\n"
        reply = post(server.url + "/invocations", bad, "text/csv", "text/csv")
        assert reply.status == 500
        assert b"FailingModel failed to predict 1 records: ValueError: Age must be >= 0" in reply.data
        reply = post(server.url + "/endpoints/any-name/invocations", bad, "text/csv", "text/csv")
        assert reply.status == 424
        assert reply.headers["x-amzn-ErrorType"].startswith("ModelError")
        doc = json.loads(reply.data)
        assert doc["OriginalStatusCode"] == 500
        assert "Age must be >= 0" in doc["OriginalMessage"]
        # the server keeps serving after a model error
        assert post(server.url + "/invocations", b"1,0,1,0\n", "text/csv", "text/csv").status == 200
    finally:
        server.stop()


def test_unknown_endpoint_name_is_a_validation_error(binary_server):
    reply = post(binary_server.url + "/endpoints/other/invocations", b"1,2,3,4", "text/csv", "text/csv")
    assert reply.status == 400
    assert reply.headers["x-amzn-ErrorType"].startswith("ValidationError")
    assert b"Endpoint other not found" in reply.data


def test_keep_alive_reuses_one_connection(binary_server, models):
    transport = HttpTransport(binary_server.url + "/invocations", pool_size=1)
    body = csv_body(models.X.head(5))
    for _ in range(20):
        transport.send(body, content_type="text/csv", accept="text/csv")
    assert transport._connections.opened == 1
    transport.close()


def test_concurrent_requests_get_their_own_answers(binary_server, models):
    transport = HttpTransport(binary_server.url + "/invocations", pool_size=8)
    X = models.X
    want = models.binary.predict_proba(X)[:, 1]
    chunks = [(i, X.iloc[i:i + 25]) for i in range(0, len(X), 25)]
    results: dict[int, np.ndarray] = {}

    def work(start, frame):
        reply = transport.send(csv_body(frame), content_type="text/csv", accept="text/csv")
        results[start] = np.loadtxt(reply.decode().splitlines())

    threads = [threading.Thread(target=work, args=c) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = np.concatenate([results[i] for i, _ in chunks])
    np.testing.assert_allclose(got, want, atol=1e-15)
    transport.close()


def test_string_features_reach_a_pipeline_as_strings(tmp_path):
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = pd.DataFrame({"color": ["red", "blue", "red", "green"] * 10, "size": np.arange(40.0)})
    y = (X["color"] == "red").astype(int)
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["color"]), remainder="passthrough"),
                         LogisticRegression()).fit(X, y)
    server = make_server(pipe, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = b'"red",1.0\n"blue",2.0\n'
        reply = post(server.url + "/invocations", body, "text/csv", "text/csv", {"X-Clarify-Output": "label"})
        assert reply.data == b"1\n0\n"
    finally:
        server.shutdown()
        server.server_close()


def test_main_reports_a_missing_model_file(tmp_path, capsys):
    assert serve_main([str(tmp_path / "nope.joblib"), "--port", "0"]) == 1
    assert "does not exist" in capsys.readouterr().err


# -- requests answered chunk by chunk -------------------------------------------------------
@pytest.fixture(scope="module")
def chunked_server(models):
    """An in-process server that parses and predicts 7 records at a time."""
    server = make_server(models.binary, "127.0.0.1", 0, chunk_records=7)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("shape", ["csv", "jsonl", "json_numeric", "json_objects", "json_kvp"])
@pytest.mark.parametrize("accept", ["text/csv", "application/jsonlines", "application/json"])
def test_chunked_answers_equal_one_prediction(chunked_server, models, shape, accept):
    X = models.X.head(50)
    rows = X.to_numpy().tolist()
    body, content_type = {
        "csv": (csv_body(X), "text/csv"),
        "jsonl": ("\n".join(map(json.dumps, rows)).encode(), "application/jsonlines"),
        "json_numeric": (json.dumps({"instances": rows}, indent=1).encode(), "application/json"),
        "json_objects": (json.dumps({"instances": [{"features": r} for r in rows]}).encode(), "application/json"),
        "json_kvp": (json.dumps(X.to_dict(orient="records")).encode(), "application/json"),
    }[shape]
    reply = post(chunked_server.url + "/invocations", body, content_type, accept)
    assert reply.status == 200, reply.data
    want_p, want_l = models.binary.predict_proba(X)[:, 1], models.binary.predict(X)
    if accept == "text/csv":
        np.testing.assert_allclose(np.loadtxt(reply.data.decode().splitlines()), want_p, rtol=0, atol=1e-15)
        return
    if accept == "application/jsonlines":
        records = [json.loads(line) for line in reply.data.decode().splitlines()]
        key = "probability"
    else:
        records = json.loads(reply.data)["predictions"]
        key = "score"
    # (chunks of 7 rows may round the last bit differently from one call on 50)
    np.testing.assert_allclose([r[key] for r in records], want_p, rtol=0, atol=1e-15)
    np.testing.assert_array_equal([r["predicted_label"] for r in records], want_l)


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        ("\n".join(["[1,2,3,4]"] * 10 + ["[1,2,3]"]), "application/jsonlines",
         "application/jsonlines record 10: 3 feature values, but record 0 has 4"),
        (json.dumps([[1, 2, 3, 4]] * 9 + [{"Age": 1, "Gender": 0, "Income": 1, "Occupation": 2}] * 2), "application/json",
         "application/json instances record 9: expected a list of feature values like record 7, found an object"),
        ("\n".join(["[1,2,3,4]"] * 12 + ["{bad"]), "application/jsonlines",
         "application/jsonlines line 13 is not JSON"),
    ],
    ids=["jsonl_width_in_chunk_2", "json_mixed_in_chunk_2", "jsonl_bad_line_13"],
)
def test_errors_in_later_chunks_name_the_record(chunked_server, body, content_type, message):
    reply = post(chunked_server.url + "/invocations", body.encode(), content_type, "text/csv")
    assert reply.status == 400
    assert reply.data.decode().startswith(message), reply.data


def test_large_numeric_json_is_decoded_in_pieces_and_errors_name_the_record(chunked_server, models):
    """A numeric {"instances": [[...]]} body over 2 MB is decoded piece by piece."""
    rows = np.random.default_rng(2).normal(size=(40_000, 4))
    body = json.dumps({"instances": rows.tolist()}).encode()
    assert len(body) > 2 * 1024 * 1024
    reply = post(chunked_server.url + "/invocations", body, "application/json", "text/csv")
    assert reply.status == 200
    X = pd.DataFrame(rows, columns=FEATURES)
    np.testing.assert_allclose(np.loadtxt(reply.data.decode().splitlines()), models.binary.predict_proba(X)[:, 1],
                               rtol=0, atol=1e-15)
    broken = body[:-2] + b",[1,2,x]]}"
    reply = post(chunked_server.url + "/invocations", broken, "application/json", "text/csv")
    assert reply.status == 400
    assert reply.data.startswith(b"application/json body is not JSON after record "), reply.data


def test_nan_in_a_later_piece_of_a_large_json_body_is_read_like_in_a_small_one():
    """NaN literals (which the standard json module reads) are accepted in every piece."""
    server = make_server(lambda frame: np.isnan(frame.to_numpy(dtype=float)).sum(axis=1).astype(float), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rows = np.random.default_rng(4).normal(size=(40_000, 4)).tolist()
        body = json.dumps({"instances": rows + [[1.0, float("nan"), 2.0, float("nan")]]}).encode()
        assert len(body) > 2 * 1024 * 1024 and body.endswith(b"NaN]]}")
        reply = post(server.url + "/invocations", body, "application/json", "text/csv")
        assert reply.status == 200, reply.data[:300]
        got = np.loadtxt(reply.data.decode().splitlines())
        assert got.shape == (40_001,) and got[-1] == 2 and not got[:-1].any()
    finally:
        server.shutdown()
        server.server_close()
