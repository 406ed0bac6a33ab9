"""Property: ``validate`` passes ⇒ ``analyze`` does not fail for a reason it could have found first.

Configs are drawn from valid and broken pieces (columns that do not exist, continuous facets
without a threshold, baselines of the wrong width, unknown features to explain or plot, text
configs, missing models, ...) on a small dataset with an in-process model. For each:

* ``validate`` raises ⇒ ``analyze`` raises the same error type with the same message;
* ``validate`` passes ⇒ ``analyze`` succeeds, runs exactly ``report.would_run`` and skips
  exactly ``report.not_run``;
* without the data, ``validate`` plans the same methods (``_plan_without_data`` == ``run.plan``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clarify_engine
from clarify_engine.errors import ClarifyError

N = 60  # 0/1 columns are then categorical (distinct fraction below 5%), as in real data
_rng = np.random.default_rng(3)
FRAME = pd.DataFrame({
    "y": _rng.integers(0, 2, N),
    "a": np.round(_rng.normal(size=N), 3),
    "b": _rng.integers(18, 60, N),
    "s": np.tile([0, 1], N // 2),
    "c": np.tile(["u", "v", "w"], N // 3),
    "p": _rng.integers(0, 2, N),
})


class Model:
    """A binary classifier of whatever feature columns it is given (strings count by length).

    ``calls`` counts ``predict_proba`` calls: a failure after the model answered is about
    its answers, not something validate could have found without calling it.
    """

    classes_ = np.array([0, 1])

    def __init__(self):
        self.calls = 0

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        frame = pd.DataFrame(frame)  # estimators without feature names get arrays
        total = np.zeros(len(frame))
        for name in frame.columns:
            col = frame[name].infer_objects()
            numeric = pd.to_numeric(col, errors="coerce")
            total += np.where(numeric.notna(), numeric.fillna(0), col.astype(str).str.len())
        score = 1 / (1 + np.exp(-(total - 40.0) / 10.0))
        return np.column_stack([1 - score, score])


def _width_rows(width: int) -> list[list[float]]:
    return [[0.5] * width]


FACETS = st.sampled_from([
    [{"name_or_index": "c"}],
    [{"name_or_index": "s", "value_or_threshold": [0]}, {"name_or_index": "c"}],
    [{"name_or_index": "s"}],
    [{"name_or_index": "s", "value_or_threshold": [1]}],
    [{"name_or_index": "c", "value_or_threshold": ["u"]}],
    [{"name_or_index": "a"}],  # continuous, no threshold
    [{"name_or_index": "a", "value_or_threshold": [0.1]}],
    [{"name_or_index": "zz"}],
    [{"name_or_index": 3}],
    [{"name_or_index": 40}],
])
SHAP = st.one_of(
    st.fixed_dictionaries({"num_clusters": st.integers(1, 3), "seed": st.just(1)},
                          optional={"num_samples": st.integers(1, 40),
                                    "features_to_explain": st.sampled_from([["a"], ["a", "b"], ["zz"], [9], ["a", "a"]]),
                                    "save_local_shap_values": st.booleans()}),
    st.builds(lambda w: {"baseline": _width_rows(w), "seed": 1}, st.integers(1, 6)),
    st.just({"text_config": {"granularity": "token", "language": "english"}}),
)
PDP = st.fixed_dictionaries({"grid_resolution": st.integers(1, 4)},
                            optional={"features": st.sampled_from([["a"], ["c", "b"], ["zz"], [12], ["a", "a"]]),
                                      "top_k_features": st.integers(1, 3)})
ANALYSES = {
    "pre_training_bias": st.sampled_from([{"methods": "all"}, {"methods": ["CI", "DPL"]}]),
    "post_training_bias": st.sampled_from([{"methods": ["DPPL", "DI"]}, {"methods": "all"}]),
    "shap": SHAP,
    "pdp": PDP,
}
#: True (keep the key valid) seven times in eight; sampled_from draws uniformly, where small
#: integers would be drawn far more often than others.
VALID = st.sampled_from([True] * 7 + [False])


@st.composite
def job(draw):
    names = draw(st.lists(st.sampled_from(sorted(ANALYSES)), min_size=1, max_size=4, unique=True))
    methods = {name: draw(ANALYSES[name]) for name in names}
    if "pdp" in methods and "shap" not in methods and draw(VALID):
        methods["pdp"] = {**methods["pdp"], "features": draw(st.sampled_from([["a"], ["c", "b"]]))}
    if not draw(VALID):
        methods["report"] = {"name": "report"}
    config = {"dataset_type": "text/csv", "methods": methods}
    if draw(VALID):
        config["label"] = "y" if draw(VALID) else draw(st.sampled_from(["zz", 0, 30]))
    if draw(VALID):
        config["label_values_or_threshold"] = draw(st.sampled_from([[1], [1], [0.5], ["yes"]]))
    if draw(VALID):
        config["facet"] = draw(FACETS)
    for key, values in {
        "predicted_label": st.sampled_from(["p", "p", "zz"]),
        "excluded_columns": st.sampled_from([["c"], ["zz"], ["p"]]),
        "group_variable": st.sampled_from(["b", "b", "zz"]),
        "segment_config": st.just([{"name_or_index": "c", "segments": [["u"]]}]),
    }.items():
        if draw(st.sampled_from([False, False, False, True])):
            config[key] = draw(values)
    given_model = draw(st.sampled_from(["callable", "callable", "callable", "none"]))
    if given_model == "none" and draw(st.booleans()):
        config["predictor"] = {"endpoint_name": "never-called"}  # only when no model is needed (see below)
    return config, (Model() if given_model == "callable" else None)


def _outcome(call):
    try:
        return call(), None
    except ClarifyError as exc:
        return None, exc


def _analyze_outcome(call):
    """Like ``_outcome``, but any exception counts: analyze may fail outside ClarifyError."""
    try:
        return call(), None
    except clarify_engine.PartialFailure as exc:
        # Methods that needed nothing at fault completed; the failed ones failed with this error.
        return None, exc.__cause__
    except Exception as exc:  # noqa: BLE001 - compared with validate's error below
        return None, exc


def _needs_model(config) -> bool:
    m = config["methods"]
    return "shap" in m or "pdp" in m or ("post_training_bias" in m and "predicted_label" not in config)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(job())
def test_validate_passes_then_analyze_does_not_fail_before_compute(case):
    config, given_model = case
    if given_model is None and "predictor" in config and _needs_model(config):
        config = {k: v for k, v in config.items() if k != "predictor"}  # never call a real endpoint
    report, error = _outcome(lambda: clarify_engine.validate(config, data=FRAME, model=given_model))
    result, analyze_error = _analyze_outcome(lambda: clarify_engine.analyze(config, data=FRAME, model=given_model))
    if analyze_error is not None and getattr(given_model, "calls", 0) and not isinstance(
            analyze_error, (clarify_engine.ConfigError, clarify_engine.NotSupportedError)):
        return  # analyze failed on the model's answers (e.g. no positive prediction): found by calling it only
    if error is not None:
        assert analyze_error is not None, f"validate failed but analyze ran: {error}"
        assert (type(analyze_error), str(analyze_error)) == (type(error), str(error))
        return
    assert analyze_error is None, f"validate passed ({report.would_run}) but analyze failed: {analyze_error!r}"
    assert list(report.would_run) == result.manifest["methods_run"]
    assert [n.to_dict() for n in report.not_run] == result.manifest["not_run"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(job())
def test_plan_without_data_agrees_with_run_plan(case):
    config, given_model = case
    with_data, error = _outcome(lambda: clarify_engine.validate(config, data=FRAME, model=given_model))
    if error is not None:
        return
    without = clarify_engine.validate(config, model=given_model)
    assert without.would_run == with_data.would_run
    assert without.not_run == with_data.not_run
    assert without.model_needed == with_data.model_needed
