"""The planner: one typed plan from the config, every default resolved, engines never see the config."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clarify_engine
from clarify_engine.bias import BiasSpec
from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError, NotSupportedError
from clarify_engine.explain import BaselineSpec, PdpSpec, ShapSpec
from clarify_engine.job import Job, plan, plan_data
from clarify_engine.predict import ModelSpec
from clarify_engine.report import ReportSpec

PACKAGE = Path(clarify_engine.__file__).parent

FRAME = pd.DataFrame({"y": [0, 1, 0, 1], "age": [30, 40, 50, 60], "sex": ["m", "f", "f", "m"],
                      "id": [1, 2, 3, 4]})


def _config(**top):
    cfg = {"dataset_type": "text/csv", "headers": list(FRAME.columns), "label": "y",
           "label_values_or_threshold": [1], "facet": [{"name_or_index": "sex", "value_or_threshold": ["f"]}],
           "joinsource_name_or_index": "id",
           "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": ["DPPL", "DI"]},
                       "shap": {"baseline": [[35, "m"]], "num_samples": 8},
                       "pdp": {"grid_resolution": 4}, "report": {"name": "report"}},
           "predictor": {"endpoint_name": "e", "content_type": "text/csv"}}
    cfg.update(top)
    return load_config({k: v for k, v in cfg.items() if v is not None})


def _plan(config, model=None):
    return plan(config, clarify_engine.load_dataset(config, FRAME), model)


def test_every_spec_resolved_with_the_declared_defaults():
    job = _plan(_config())
    assert isinstance(job, Job) and job.runnable == ("pre_training_bias", "post_training_bias", "shap", "pdp")
    pre, post = job.bias
    assert pre == BiasSpec(stage="pre_training", methods=("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"),
                           label="y", label_values=(1,), facets=pre.facets, group_variable=None,
                           predicted_label=None, probability_threshold=None, column_typing="clarify")
    assert [(f.name, f.values) for f in pre.facets] == [("sex", ("f",))]
    assert post.methods == ("DI", "DPPL") and post.predicted_label is None  # catalogue order  # labels come from the model
    assert job.shap == ShapSpec(features=("age", "sex"), explain=(0, 1),
                                baseline=BaselineSpec(given=((35, "m"),), dataset_type="text/csv"),
                                num_samples=8, seed=None, agg_method="mean_abs", link="identity",
                                save_local=True, joinsource="id")
    assert job.pdp == PdpSpec(features=None, top_k_features=10, grid_resolution=4)
    assert job.model == ModelSpec(endpoint_name="e", content_type="text/csv", accept_type="text/csv",
                                  probability_threshold=0.5)
    assert job.needs_model
    assert job.report == ReportSpec("report", "SageMaker AI Analysis Report", (1,))


def test_specs_are_frozen():
    job = _plan(_config())
    for spec in (job, job.shap, job.pdp, job.model, job.report, *job.bias):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(spec, dataclasses.fields(spec)[0].name, None)


def test_a_model_server_without_a_predictor_block_gets_csv_for_parquet_data():
    """One policy for the request format, in the planner (the client used to keep its own table)."""
    config = _config(dataset_type="application/x-parquet", predictor=None)
    job = _plan(config, model="http://localhost:1")
    assert (job.model.content_type, job.model.accept_type) == ("text/csv", "text/csv")


def test_features_lists_are_resolved_once_and_name_the_entry():
    shap = {"baseline": [[35]], "features_to_explain": ["sex", 0]}
    job = _plan(_config(methods={"shap": shap, "pdp": {"grid_resolution": 3, "features": [1, "age"]}}))
    assert job.shap.explain == (0, 1) and job.pdp.features == ("sex", "age")
    with pytest.raises(ConfigError) as err:
        _plan(_config(methods={"pdp": {"grid_resolution": 3, "features": ["y"]}}), model=lambda f: f)
    assert err.value.path == "methods.pdp.features[0]"


def test_plan_data_refuses_what_the_loader_cannot_read():
    with pytest.raises(NotSupportedError, match="application/x-image"):
        plan_data(load_config({"dataset_type": "application/x-image", "methods": {"shap": {"image_config": {
            "model_type": "IMAGE_CLASSIFICATION"}}}, "predictor": {"model_name": "m", "instance_type": "ml.m5.xlarge",
                                                                     "initial_instance_count": 1,
                                                                     "label_headers": ["cat", "dog"]}}))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("package", ["data", "bias", "explain", "predict", "report", "job"])
def test_no_engine_module_reads_the_config_except_the_planner(package):
    readers = sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / package).rglob("*.py")
                     if any(m == "clarify_engine.config" or m.startswith("clarify_engine.config.")
                            for m in _imports(p)))
    # the planner: job/_plan.py and its one module per capability (job/_plan_<area>.py)
    assert all(r.startswith("job/_plan") for r in readers) and (package == "job" or not readers), readers


def test_engines_take_their_spec_not_the_config():
    """The explainers run from specs and a plain score function: no config, no model client."""
    from clarify_engine.explain import as_scorer, run_pdp, run_shap

    records = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 0.0, 0.0]})
    spec = ShapSpec(features=("a", "b"), explain=(0, 1), baseline=BaselineSpec(given=[[0.0, 0.0]]))
    result = run_shap(records, spec, as_scorer(lambda f: 2 * f["a"].to_numpy() + f["b"].to_numpy(), ["score"]))
    np.testing.assert_allclose(result.values[:, :, 0], np.column_stack([2 * records["a"], records["b"]]), atol=1e-12)
    assert result.labels == ("score",)
    pdp = run_pdp(records, PdpSpec(features=None, top_k_features=1, grid_resolution=3),
                  lambda f: 2 * f["a"].to_numpy(), ranking=result)
    assert pdp.features == ["a"]  # ranked from the typed SHAP result


def test_the_client_recognises_exactly_the_config_schemas_media_types():
    """The codecs keep their own list (no config import below the planner); it cannot drift from the schema's."""
    from clarify_engine.config import _constants as C
    import importlib

    _codecs = importlib.import_module("clarify_engine.predict._codecs")

    assert _codecs.CONTENT_TYPES == C.CONTENT_TYPES and _codecs.ACCEPT_TYPES == C.ACCEPT_TYPES
