"""The SDK fixtures' predictor blocks, unchanged, against ``clarify-engine serve-model``.

The project's request codec writes the body, :class:`HttpTransport` sends it to the server
subprocess, the project's response codec reads the reply: the decoded labels and scores must
be the model's own predictions. Only the server's CSV layout is chosen per fixture (the one
that fixture's ``label``/``probability`` indices describe).
"""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from clarify_engine.predict.codecs import request_codec, response_codec
from clarify_engine.predict.transports._http import HttpTransport
from tests.helpers import SDK_CONFIGS
from tests.predict.test_serve import ServerProcess

FEATURES = ["Age", "Gender", "Income", "Occupation"]

#: fixture -> CSV reply layout that matches its predictor's label/probability indices
CASES = {
    "05_csv_posttraining_model_name_probability_threshold.json": "probability",  # probability: 0
    "10_jsonlines_bias_content_template.json": None,
    "12_json_dataset_records_template_features_kvp.json": None,
    "14_parquet_shap_inline_baseline_seed.json": "label,probability",  # probability: 1
    "16_csv_shap_num_clusters_pdp_top_k.json": "probability",  # whole row = scores
    "18_csv_shap_features_to_explain_excluded_columns.json": "label",  # label: 0
}


@pytest.fixture(scope="module")
def loans(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame({
        "Age": rng.integers(18, 80, n),
        "Gender": rng.integers(0, 2, n),
        "Income": rng.normal(50000, 15000, n).round(2),
        "Occupation": rng.choice(["engineer", 'says "hi", twice', "ünïcode", "nurse"], n),
    })
    y = ((X["Income"] > 50000) ^ (X["Occupation"] == "nurse")).astype(int)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["Occupation"]), remainder=StandardScaler()),
        LogisticRegression(),
    ).fit(X, y)
    path = tmp_path_factory.mktemp("loans") / "loans.joblib"
    joblib.dump(model, path)
    server = ServerProcess(path)
    yield X, model, server
    server.stop()


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_fixture_predictor_against_the_server(loans, fixture):
    X, model, server = loans
    config = json.loads((SDK_CONFIGS / fixture).read_text())
    predictor = config["predictor"]
    content_type = predictor.get("content_type", config["dataset_type"])
    accept_type = predictor.get("accept_type", content_type)
    rows = X.head(40)
    codec = request_codec(content_type, feature_names=FEATURES,
                          content_template=predictor.get("content_template"),
                          record_template=predictor.get("record_template"))
    body = codec.join(codec.encode_records(rows.to_numpy().tolist()))
    layout = CASES[fixture]
    transport = HttpTransport(server.url + "/invocations", headers={"X-Clarify-Output": layout} if layout else None)
    reply = transport.send(body, content_type=content_type, accept=accept_type)
    out = response_codec(accept_type, label=predictor.get("label"), probability=predictor.get("probability")).decode(reply, len(rows))

    want_p = model.predict_proba(rows)[:, 1]
    want_l = model.predict(rows)
    if "label" in predictor:
        np.testing.assert_array_equal(np.asarray(out.labels, dtype=float), want_l)
    if "probability" in predictor or "label" not in predictor:
        np.testing.assert_allclose(out.scores[:, 0], want_p, rtol=0, atol=1e-15)
    transport.close()
