"""plan_bias: analysis_config.json + dataset → BiasSpec, and the spec reproduces the job's sections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clarify_engine import analyze
from clarify_engine.bias import BiasSpec, FacetSpec, bias_report
from clarify_engine.config import load_config
from clarify_engine import load_dataset
from clarify_engine.job._plan_bias import plan_bias


def frame(n=150, seed=3):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"Target": rng.integers(0, 2, n), "Sex": rng.choice(["F", "M"], n),
                         "Age": rng.integers(18, 80, n), "Group": rng.integers(0, 3, n),
                         "x": rng.normal(size=n).round(3), "Pred": rng.integers(0, 2, n)})


def config(**extra):
    cfg = {"dataset_type": "text/csv", "headers": list(frame().columns), "label": "Target",
           "predicted_label": "Pred", "label_values_or_threshold": [1],
           "facet": [{"name_or_index": "Sex", "value_or_threshold": ["F"]}, {"name_or_index": "Age",
                                                                            "value_or_threshold": [40]}],
           "group_variable": "Group",
           "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": ["DI", "AD"]}}}
    cfg.update(extra)
    return cfg


def test_specs_hold_resolved_values():
    cfg = load_config(config(probability_threshold=0.7, column_typing="intent"))
    specs = plan_bias(cfg, load_dataset(cfg, frame()))
    assert list(specs) == ["pre_training_bias", "post_training_bias"]
    pre, post = specs["pre_training_bias"], specs["post_training_bias"]
    assert pre == BiasSpec("pre_training", "Target", (1,), (FacetSpec("Sex", ("F",)), FacetSpec("Age", (40,))),
                           ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"), None, "Group", "intent", 0.7)
    assert post.methods == ("AD", "DI") and post.predicted_label == "Pred" and post.stage == "post_training"
    assert len({pre, post, pre}) == 2  # frozen and hashable


def test_predictions_from_the_model_leave_the_column_to_the_job():
    cfg = config(methods={"post_training_bias": {"methods": ["DPPL"]}}, probability_threshold=0.7,
                 predictor={"endpoint_name": "e"})
    del cfg["predicted_label"]
    cfg["headers"] = [c for c in cfg["headers"] if c != "Pred"]
    loaded = load_config(cfg)
    (spec,) = plan_bias(loaded, load_dataset(loaded, frame().drop(columns="Pred"))).values()
    # no predicted label in the data: the job fills it; the threshold is applied by the model client instead
    assert spec.predicted_label is None and spec.probability_threshold is None
    assert spec.with_predicted_label("predicted_label").predicted_label == "predicted_label"


def test_no_bias_method_no_spec():
    cfg = load_config(config(methods={"shap": {"baseline": [[1, "F", 30, 0, 0.0]]}}))
    assert plan_bias(cfg, load_dataset(cfg, frame())) == {}


@pytest.mark.parametrize("extra", [{}, {"column_typing": "intent"}])
def test_spec_reproduces_the_job_sections(extra):
    cfg = config(**extra)
    result = analyze(cfg, frame())
    loaded = load_config(cfg)
    dataset = load_dataset(loaded, frame())
    for method, spec in plan_bias(loaded, dataset).items():
        want = result.to_dict()[f"{method}_metrics"]
        assert bias_report(dataset.frame, spec).to_clarify_dict() == want
