"""Random SDK-style calls: the engine accepts what the client writes, and reads it back unchanged.

For tabular CSV jobs built from random (valid) arguments, the config a ``run_*`` call
writes passes the processor's early validation, and ``load_config(d).to_dict()`` is
``d`` key for key, in the same order, so nothing the client writes is lost or
reinterpreted by the engine.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.client import (
    BiasConfig,
    DataConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    SageMakerClarifyProcessor,
    SHAPConfig,
)
from clarify_engine.client._clarify_generator import _AnalysisConfigGenerator
from clarify_engine.config import BIAS_POSTTRAINING_METHODS, BIAS_PRETRAINING_METHODS, load_config
from tests.client.test_clarify_config_fixtures import ROLE, RecordingSession

NAMES = ["Target", "Age", "Gender", "Income", "Job", "Zip", "Id"]
VALUE = st.one_of(st.integers(-5, 50), st.sampled_from(["a", "b", "yes"]))


@st.composite
def tabular(draw):
    headers = draw(st.permutations(NAMES).map(lambda p: p[: 4 + len(p) % 3]))
    label = draw(st.sampled_from(headers))
    others = [h for h in headers if h != label]
    facets = draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True))
    values = draw(st.one_of(st.none(), st.lists(st.lists(VALUE, min_size=1, max_size=3),
                                                 min_size=len(facets), max_size=len(facets))))
    group = draw(st.one_of(st.none(), st.sampled_from(others)))
    data = DataConfig("s3://b/train.csv", "s3://b/out", label=label, headers=headers,
                      joinsource=draw(st.one_of(st.none(), st.sampled_from(others))))
    bias = BiasConfig(draw(st.lists(VALUE, min_size=1, max_size=2)), facets if len(facets) > 1 else facets[0],
                      values if len(facets) > 1 else (values[0] if values else None), group_name=group)
    return data, bias, others


def methods(names):
    return st.one_of(st.just("all"), st.lists(st.sampled_from(names), min_size=1, unique=True))


MODEL = st.builds(ModelConfig, model_name=st.just("m"), instance_count=st.integers(1, 3),
                  instance_type=st.just("ml.m5.large"), accept_type=st.sampled_from([None, "text/csv"]),
                  content_type=st.sampled_from([None, "text/csv"]),
                  endpoint_name_prefix=st.sampled_from([None, "my-prefix"]))
LABELS = st.one_of(st.none(), st.builds(ModelPredictedLabelConfig, label=st.sampled_from([None, 0]),
                                        probability=st.sampled_from([None, 1]),
                                        probability_threshold=st.sampled_from([None, 0.3, 0.75])))


@st.composite
def explain(draw, features):
    shap = draw(st.builds(SHAPConfig, num_samples=st.one_of(st.none(), st.integers(1, 500)),
                          agg_method=st.sampled_from([None, "mean_abs", "median", "mean_sq"]),
                          use_logit=st.booleans(), save_local_shap_values=st.booleans(),
                          seed=st.one_of(st.none(), st.integers(0, 2**31)),
                          num_clusters=st.one_of(st.none(), st.integers(1, 12))))
    pdp = PDPConfig(features=draw(st.one_of(st.none(), st.lists(st.sampled_from(features), min_size=1,
                                                                  unique=True))),
                    grid_resolution=draw(st.integers(2, 30)), top_k_features=draw(st.integers(1, 10)))
    return draw(st.sampled_from([shap, [shap, pdp], [pdp, shap]])) if pdp.pdp_config.get("features") is None \
        else draw(st.sampled_from([shap, pdp, [shap, pdp]]))


def _round_trips(config):
    parsed = load_config(json.loads(json.dumps(config))).to_dict()
    assert json.dumps(parsed) == json.dumps(config)


@settings(max_examples=60, deadline=None)
@given(tabular(), methods(BIAS_PRETRAINING_METHODS), methods(BIAS_POSTTRAINING_METHODS), MODEL, LABELS)
def test_bias_configs_round_trip_through_the_engine(case, pre, post, model, labels):
    data, bias, _ = case
    _round_trips(_AnalysisConfigGenerator.bias_pre_training(data, bias, pre))
    _round_trips(_AnalysisConfigGenerator.bias(data, bias, model, labels, pre, post))


@settings(max_examples=60, deadline=None)
@given(tabular().flatmap(lambda case: st.tuples(st.just(case), explain(case[2]))), MODEL,
       st.one_of(st.none(), st.sampled_from([0, "score"]), LABELS))
def test_explainability_configs_round_trip_through_the_engine(case_and_explain, model, scores):
    (data, bias, _), explainability = case_and_explain
    _round_trips(_AnalysisConfigGenerator.explainability(data, model, scores, explainability))
    _round_trips(_AnalysisConfigGenerator.bias_and_explainability(data, model, None, explainability, bias))


@settings(max_examples=20, deadline=None)
@given(tabular(), methods(BIAS_PRETRAINING_METHODS))
def test_the_written_bytes_are_the_generated_dict(case, pre):
    data, bias, _ = case
    session = RecordingSession()
    processor = SageMakerClarifyProcessor(role=ROLE, instance_type="ml.c5.xlarge", sagemaker_session=session,
                                          image_uri="img:1")
    processor.run_pre_training_bias(data, bias, pre, wait=False, logs=False, job_name="p")
    (body,) = session.uploads.values()
    assert body == json.dumps(_AnalysisConfigGenerator.bias_pre_training(data, bias, pre)).encode()
    assert not body.endswith(b"\n")
