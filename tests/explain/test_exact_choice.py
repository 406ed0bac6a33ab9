"""The exact-path switch: ``methods.shap.exact``, ``--kernel-shap-only``, and the method chosen."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor

from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError
from clarify_engine.explain._exact import EXACT_TREE, KERNEL_SHAP, choose_method
from clarify_engine.explain._exact_spec import ExactSpec
from clarify_engine.job._plan_exact import exact_spec
from clarify_engine.predict import InProcessModel
from tests.config._cases import SHAP, edit

FEATURES = ["a", "b", "c"]


def config(**shap):
    return load_config(edit(SHAP, methods__shap=shap))


@pytest.mark.parametrize("shap, allowed, why", [
    ({}, True, None),
    ({"exact": "auto"}, True, None),
    ({"exact": True}, True, None),
    ({"exact": False}, False, "methods.shap.exact is false"),
])
def test_exact_key(shap, allowed, why):
    spec = exact_spec(config(**shap))
    assert spec == ExactSpec(allowed, why)


def test_kernel_shap_only_wins_over_the_config():
    assert exact_spec(config(exact="auto"), kernel_shap_only=True) == ExactSpec(
        False, "Kernel SHAP was asked for (--kernel-shap-only)")


def test_exact_key_rejects_other_values():
    with pytest.raises(ConfigError, match="methods.shap.exact"):
        config(exact="always")


def model_and_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    return GradientBoostingRegressor(n_estimators=5, random_state=0).fit(X, X[:, 0] * X[:, 1]), X


def test_in_process_tree_takes_the_exact_path():
    model, X = model_and_data()
    choice = choose_method(ExactSpec(), InProcessModel(model), features=FEATURES, link="identity", X=X,
                           baseline=X[:2])
    assert choice.method == EXACT_TREE
    assert choice.reason == ("exact scores of this sklearn.GradientBoostingRegressor by interventional TreeSHAP "
                             "against the baseline rows")


def test_spec_off_and_endpoints_take_kernel_shap():
    model, X = model_and_data()
    off = choose_method(ExactSpec(False, "methods.shap.exact is false"), InProcessModel(model), features=FEATURES,
                        link="identity", X=X, baseline=X[:2])
    assert (off.method, off.reason) == (KERNEL_SHAP, "methods.shap.exact is false")

    class HttpPredictor:
        pass

    remote = choose_method(ExactSpec(), HttpPredictor(), features=FEATURES, link="identity", X=X, baseline=X[:2])
    assert remote.method == KERNEL_SHAP
    assert remote.reason.startswith("the model is called through HttpPredictor, not in process")
