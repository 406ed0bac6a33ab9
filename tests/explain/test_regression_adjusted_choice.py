"""methods.shap.regression_adjusted: "auto" adjusts Kernel SHAP for a remote model only.

A real model server (``serve-model`` subprocess over HTTP) against the same model in process:
the run manifest says whether the surrogate control variate ran, and the values differ only
where it did.
"""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor

import clarify_engine
from clarify_engine.job import plan
from clarify_engine.config import load_config
from tests.helpers import ServerProcess

M = 6  # 2M + 2048 > 2^M - 2: a budget of 40 has 40 - 2M = 28 random draws >= 2M


def _config(**shap):
    return {
        "dataset_type": "text/csv",
        "headers": [f"x{j}" for j in range(M)] + ["y"],
        "label": "y",
        "methods": {"shap": {"baseline": [[0.0] * M], "num_samples": 40, "seed": 3,
                             "save_local_shap_values": False, **shap}},
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import joblib

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, M))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3]
    model = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    joblib.dump(model, path)
    frame = pd.DataFrame(X[:4], columns=[f"x{j}" for j in range(M)]).assign(y=y[:4])
    server = ServerProcess(path)
    try:
        yield server.url + "/invocations", model, frame
    finally:
        server.stop()


@pytest.mark.parametrize("key, expected", [(None, "auto"), ("auto", "auto"), (True, "on"), (False, "off")])
def test_the_key_is_planned(key, expected):
    shap = {} if key is None else {"regression_adjusted": key}
    cfg = load_config(_config(**shap))
    frame = pd.DataFrame(np.zeros((3, M + 1)), columns=cfg.headers)
    dataset = clarify_engine.load_dataset(cfg, frame)
    assert plan(cfg, dataset, lambda f: np.zeros(len(f))).shap.regression_adjusted == expected


def test_auto_adjusts_a_remote_model_and_not_an_in_process_one(served):
    url, model, frame = served
    remote = clarify_engine.analyze(_config(), data=frame, model=url)
    local = clarify_engine.analyze(_config(exact=False), data=frame, model=model)
    assert remote.manifest["kernel_shap"]["regression_adjusted"] is True
    assert local.manifest["kernel_shap"]["regression_adjusted"] is False
    # same model, same plan: only the estimator differs
    a = remote.shap.core.values
    b = local.shap.core.values
    assert a.shape == b.shape and not np.allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(a.sum(axis=1), b.sum(axis=1), atol=1e-9)  # both additive


@pytest.mark.parametrize("setting, remote_expected, local_expected", [(True, True, True), (False, False, False)])
def test_true_and_false_override_auto(served, setting, remote_expected, local_expected):
    url, model, frame = served
    remote = clarify_engine.analyze(_config(regression_adjusted=setting), data=frame, model=url)
    local = clarify_engine.analyze(_config(regression_adjusted=setting, exact=False), data=frame, model=model)
    assert remote.manifest["kernel_shap"]["regression_adjusted"] is remote_expected
    assert local.manifest["kernel_shap"]["regression_adjusted"] is local_expected
    if setting is False:  # plain Kernel SHAP: the same values wherever the model runs
        np.testing.assert_allclose(remote.shap.core.values, local.shap.core.values, rtol=1e-9, atol=1e-12)


def test_an_exact_plan_is_never_adjusted(served):
    url, _, frame = served
    result = clarify_engine.analyze(_config(num_samples=2 ** M - 2, regression_adjusted=True), data=frame, model=url)
    entry = result.manifest["kernel_shap"]
    assert entry["exact"] is True and entry["regression_adjusted"] is False
    json.dumps(entry)
