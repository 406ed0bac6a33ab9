"""Exact SHAP paths through the job: analyze(), the CLI, and the fall-backs the manifest records."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

from clarify_engine import analyze
from tests.helpers import run_cli

FEATURES = ["Age", "Income", "Tenure"]


def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"Target": rng.integers(0, 2, n), "Age": rng.integers(20, 70, n).astype(float),
                         "Income": rng.normal(3000, 500, n).round(1), "Tenure": rng.integers(0, 10, n).astype(float)})


def _config(**shap):
    return {"dataset_type": "text/csv", "headers": ["Target", *FEATURES], "label": "Target",
            "methods": {"shap": {"baseline": [[40.0, 3000.0, 5.0]], "seed": 0, "save_local_shap_values": True,
                                 **shap}}}


def _regressor(frame):
    X = frame[FEATURES].to_numpy()
    return GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(
        X, X[:, 0] * 0.1 + np.sin(X[:, 1] / 300) * X[:, 2])


def test_analyze_takes_the_exact_path_and_says_so(tmp_path):
    frame = _frame()
    model = _regressor(frame)
    exact = analyze(_config(), frame, model, output_dir=tmp_path / "exact")
    kernel = analyze(_config(), frame, model, kernel_shap_only=True)
    m_exact, m_kernel = exact.manifest["kernel_shap"], kernel.manifest["kernel_shap"]
    assert m_exact["method"] == "exact_tree"
    assert m_exact["method_reason"] == ("exact scores of this sklearn.GradientBoostingRegressor by interventional "
                                        "TreeSHAP against the baseline rows")
    assert m_exact["model_rows_sent"] == 0 and m_exact["exact"] and m_exact["n_coalitions"] == 0
    assert m_kernel["method"] == "kernel_shap"
    assert m_kernel["method_reason"] == "Kernel SHAP was asked for (--kernel-shap-only)"
    assert m_kernel["model_rows_sent"] > 0 and m_kernel["exact"]  # M = 3: every coalition
    # the same values (Kernel SHAP enumerates every coalition here) in the same shapes
    np.testing.assert_allclose(exact.shap.values, kernel.shap.values, atol=1e-9, rtol=0)
    a, b = exact.analysis["explanations"]["kernel_shap"], kernel.analysis["explanations"]["kernel_shap"]
    assert a.keys() == b.keys() and a["label0"].keys() == b["label0"].keys()
    assert np.isclose(a["label0"]["expected_value"], b["label0"]["expected_value"], atol=1e-9)
    out = pd.read_csv(tmp_path / "exact" / "explanations_shap" / "out.csv")
    errors = pd.read_csv(tmp_path / "exact" / "explanations_shap" / "out_standard_errors.csv")
    assert list(out.columns) == [f"{f}_label0" for f in FEATURES] and out.shape == (40, 3)
    assert (errors.to_numpy() == 0).all()
    written = json.loads((tmp_path / "exact" / "run_manifest.json").read_text())["kernel_shap"]
    assert written["method"] == "exact_tree"


def test_exact_false_and_unsupported_outputs_fall_back_with_the_reason():
    frame = _frame()
    model = _regressor(frame)
    off = analyze(_config(exact=False), frame, model).manifest["kernel_shap"]
    assert (off["method"], off["method_reason"]) == ("kernel_shap", "methods.shap.exact is false")

    X = frame[FEATURES].to_numpy()
    clf = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, frame["Target"])
    proba = analyze(_config(), frame, clf).manifest["kernel_shap"]
    assert proba["method"] == "kernel_shap"
    assert "are probabilities, a sigmoid of an additive margin, which are not additive; set use_logit" in \
        proba["method_reason"]
    logodds = analyze(_config(use_logit=True), frame, clf)
    assert logodds.manifest["kernel_shap"]["method"] == "exact_tree"
    reference = analyze(_config(use_logit=True), frame, clf, kernel_shap_only=True)
    np.testing.assert_allclose(logodds.shap.values, reference.shap.values, atol=1e-8, rtol=0)

    def callable_model(f):
        return f["Age"].to_numpy() * 2.0

    custom = analyze(_config(), frame, callable_model).manifest["kernel_shap"]
    assert custom["method"] == "kernel_shap"
    assert "neither a tree ensemble nor a linear model the exact path reads" in custom["method_reason"]


def test_cli_flag_forces_kernel_shap(tmp_path):
    frame = _frame()
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False, header=False)
    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps(_config()))
    model_file = tmp_path / "model.joblib"
    joblib.dump(_regressor(frame), model_file)
    methods = {}
    for flag in ([], ["--kernel-shap-only"]):
        out = tmp_path / ("kernel" if flag else "exact")
        proc = run_cli("analyze", "--config", str(config), "--data", str(data), "--output", str(out),
                       "--model", str(model_file), *flag)
        assert proc.returncode == 0, proc.stderr
        methods[bool(flag)] = json.loads((out / "run_manifest.json").read_text())["kernel_shap"]["method"]
    assert methods == {False: "exact_tree", True: "kernel_shap"}
