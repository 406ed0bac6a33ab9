"""Partial dependence: grids, data types, feature choice, and parity with scikit-learn's brute method."""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.inspection import partial_dependence as sk_partial_dependence
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from clarify_engine import load_dataset
from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.explain import KernelShapResult, ShapResult
from clarify_engine.explain._pdp import _chunks, partial_dependence, run_pdp, top_k_by_shap
from clarify_engine.job import ModelMeter, plan, resolve_features
from clarify_engine.report._explanations import pdp_entries, pdp_manifest
from clarify_engine.explain._pdp_grid import UNSUPPORTED_MESSAGE, column_grid, data_type, numerical_grid
from clarify_engine.predict import make_predictor

ENTRY_KEYS = ["feature_name", "data_type", "feature_values", "data_distribution", "model_predictions",
              "label_headers"]


def _frame(n=150, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "Target": rng.integers(0, 2, n),
        "Age": rng.integers(18, 80, n),
        "Income": rng.normal(3000, 800, n).round(2),
        "Occupation": rng.choice(["clerk", "engineer", "nurse", "teacher"], n),
        "Score": rng.uniform(-1, 1, n),
    })


def _config(pdp, methods=None, **top):
    cfg = {"dataset_type": "text/csv", "headers": ["Target", "Age", "Income", "Occupation", "Score"],
           "label": "Target", "methods": {"pdp": pdp, **(methods or {})}}
    cfg.update(top)
    return load_config(cfg)


def _pipeline(estimator):
    return make_pipeline(make_column_transformer((OneHotEncoder(), ["Occupation"]), remainder="passthrough"),
                         estimator)


def _run(config, frame, model, shap_section=None, **kwargs):
    """The PDP stage of a job: planned, run against a metered predictor, rendered as the job renders it."""
    dataset = load_dataset(config, frame)
    job = plan(config, dataset, model)
    ranking = None if shap_section is None else _shap_result(shap_section)
    with make_predictor(job.model, dataset.features, model) as predictor:
        scorer = ModelMeter(predictor, job.model).scorer("pdp")
        result = run_pdp(dataset.frame.loc[:, dataset.features], job.pdp, scorer, ranking=ranking, **kwargs)
    return pdp_entries(result), pdp_manifest(result, scorer.calls), dataset


def _shap_result(section):
    """A SHAP result holding only the global values of ``section`` ({label: {"global_shap_values": ...}})."""
    labels = list(section)
    features = list(dict.fromkeys(f for entry in section.values() for f in entry["global_shap_values"]))
    values = np.array([[section[k]["global_shap_values"].get(f, np.nan) for k in labels] for f in features])
    empty = np.zeros((0, len(features), len(labels)))
    core = KernelShapResult(values=empty, expected_value=np.zeros(len(labels)), fx=np.zeros((0, len(labels))),
                            standard_errors=empty, n_coalitions=0, exact=True, reference=np.zeros((0, len(labels))))
    return ShapResult(features=tuple(features), labels=tuple(labels), core=core, global_values=values,
                      global_standard_errors=np.zeros_like(values), agg_method="mean_abs", link="identity", seed=None,
                      num_samples=None, budget_note=None, budget_to_determine_every_value=0, baseline=pd.DataFrame(),
                      baseline_weights=np.ones(0), baseline_source="config")


def _sklearn(model, X, entry):
    """scikit-learn's brute partial dependence on our grid (int columns as float: sklearn refuses ints)."""
    name = entry["feature_name"]
    X = X.astype({c: np.float64 for c in X.columns if pd.api.types.is_integer_dtype(X[c].dtype)})
    categorical = entry["data_type"] == "categorical"
    grid = np.array(entry["feature_values"], dtype=object if categorical else np.float64)
    result = sk_partial_dependence(model, X, [name], custom_values={name: grid}, method="brute", kind="average",
                                   categorical_features=[name] if categorical else None)
    assert [list(v) for v in result["grid_values"]] == [list(grid)]
    return result["average"]  # (n_outputs, g)


# ---------------------------------------------------------------- parity with scikit-learn


@pytest.mark.parametrize("max_rows", [100_000, 400, 60], ids=["one-call", "whole-grid-values", "split-values"])
def test_classifier_matches_sklearn_brute_positive_class(max_rows):
    frame = _frame()
    config = _config({"grid_resolution": 7, "features": ["Age", "Income", "Occupation", "Score"]})
    dataset = load_dataset(config, frame)
    X = dataset.frame[dataset.features]
    model = _pipeline(LogisticRegression(max_iter=1000)).fit(X, frame["Target"])
    entries, manifest, _ = _run(config, frame, model, max_rows_per_call=max_rows)
    assert [e["feature_name"] for e in entries] == ["Age", "Income", "Occupation", "Score"]
    for entry in entries:
        assert list(entry) == ENTRY_KEYS
        assert entry["label_headers"] == ["label0"]
        np.testing.assert_allclose(entry["model_predictions"], _sklearn(model, X, entry), rtol=0, atol=1e-12)
    assert [e["data_type"] for e in entries] == ["numerical", "numerical", "categorical", "numerical"]
    # cost: every grid value x every record, in calls of at most max_rows rows
    assert manifest["model_rows_sent"] == (7 + 7 + 4 + 7) * len(frame)
    assert manifest["model_calls"] >= -(-manifest["model_rows_sent"] // max_rows)
    if max_rows == 100_000:
        assert manifest["model_calls"] == 4  # one call per feature


def test_regressor_matches_sklearn_brute():
    frame = _frame(seed=3)
    frame["Target"] = frame["Income"] * 0.01 + frame["Age"] - 3 * frame["Score"]
    config = _config({"grid_resolution": 15, "features": ["Income", "Occupation", 0]})
    dataset = load_dataset(config, frame)
    X = dataset.frame[dataset.features]
    model = _pipeline(RandomForestRegressor(n_estimators=15, random_state=0)).fit(X, frame["Target"])
    entries, _, _ = _run(config, frame, model)
    assert [e["feature_name"] for e in entries] == ["Income", "Occupation", "Age"]  # config order; 0 -> Age
    for entry in entries:
        np.testing.assert_allclose(entry["model_predictions"], _sklearn(model, X, entry), rtol=0, atol=1e-12)


def test_multiclass_one_curve_per_class_and_label_headers():
    frame = _frame(n=120, seed=5)
    frame["Target"] = np.where(frame["Score"] > 0.3, "high", np.where(frame["Score"] < -0.3, "low", "mid"))
    config = _config({"grid_resolution": 4, "features": ["Score", "Occupation"]},
                     predictor={"label_headers": ["high", "low", "mid"]})
    dataset = load_dataset(config, frame)
    X = dataset.frame[dataset.features]
    model = _pipeline(GradientBoostingClassifier(n_estimators=10, random_state=0)).fit(X, frame["Target"])
    entries, manifest, _ = _run(config, frame, model)
    score, occupation = entries
    assert np.shape(score["model_predictions"]) == (3, 4)
    assert np.shape(occupation["model_predictions"]) == (3, 4)
    assert score["label_headers"] == ["high", "low", "mid"] == manifest["labels"]
    for entry in entries:
        np.testing.assert_allclose(entry["model_predictions"], _sklearn(model, X, entry), rtol=0, atol=1e-12)
        # probabilities of all classes average to 1 at every grid value
        np.testing.assert_allclose(np.sum(entry["model_predictions"], axis=0), 1.0, atol=1e-12)


def test_multiclass_without_label_headers_names_scores_label0_label1():
    frame = _frame(n=60, seed=6)
    frame["Target"] = np.digitize(frame["Score"], [-0.3, 0.3])
    config = _config({"grid_resolution": 3, "features": ["Score"]})
    dataset = load_dataset(config, frame)
    model = _pipeline(GradientBoostingClassifier(n_estimators=5, random_state=0))
    model.fit(dataset.frame[dataset.features], frame["Target"])
    (entry,), _, _ = _run(config, frame, model)
    assert entry["label_headers"] == ["label0", "label1", "label2"]


def test_entries_serialise_to_json_as_plain_scalars():
    frame = _frame(n=40)
    config = _config({"grid_resolution": 3, "features": ["Age", "Occupation"]})
    entries, manifest, _ = _run(config, frame, lambda f: f["Age"].to_numpy(dtype=float) / 100)
    text = json.dumps({"pdp": entries, "manifest": manifest}, allow_nan=False)
    back = json.loads(text)["pdp"]
    assert back == entries
    assert all(type(v) is float for e in entries for v in e["feature_values"] if e["data_type"] == "numerical")
    assert all(type(v) is str for v in entries[1]["feature_values"])


# ---------------------------------------------------------------- grids and distributions


def test_bucket_centres_and_right_closed_distribution_on_hand_made_data():
    #       range [0, 10], 5 buckets of width 2: [0,2] (2,4] (4,6] (6,8] (8,10]
    values = pd.Series([0.0, 2.0, 2.5, 4.0, 4.0001, 6.0, 9.0, 10.0, np.nan, 10.0], name="x")
    grid = column_grid(values, 5)
    assert grid.data_type == "numerical"
    assert grid.values == [1.0, 3.0, 5.0, 7.0, 9.0]
    # 0, 2 -> first bucket; 2.5, 4 -> second; 4.0001, 6 -> third; none -> fourth; 9, 10, 10 -> last
    assert grid.distribution == pytest.approx([2 / 9, 2 / 9, 2 / 9, 0.0, 3 / 9], abs=1e-15)
    assert grid.missing == 1
    assert sum(grid.distribution) == pytest.approx(1.0)
    assert grid.column.dtype == np.float64


def test_docs_example_age_axis_has_constant_step():
    """Developer Guide: Age centres 20.4, 23.2, 26.0, ... (step 2.8) -> range 19..61 in 15 buckets."""
    centres, counts = numerical_grid(np.array([19.0, 61.0, 40.0]), 15)
    np.testing.assert_allclose(centres[:3], [20.4, 23.2, 26.0], atol=1e-12)
    np.testing.assert_allclose(np.diff(centres), 2.8, atol=1e-12)
    assert counts.sum() == 3 and counts[0] == 1 and counts[-1] == 1


def test_infinite_values_count_in_edge_buckets_and_constant_column_has_one_value():
    grid = column_grid(pd.Series([-np.inf, 1.0, 2.0, 3.0, np.inf], name="x"), 2)
    assert grid.values == [1.5, 2.5]
    assert grid.distribution == [0.6, 0.4]  # -inf, 1, 2 | 3, +inf
    const = column_grid(pd.Series([4.5, 4.5, np.nan], name="c"), 15)
    assert const.values == [4.5] and const.distribution == [1.0] and const.missing == 1
    with pytest.raises(ValueError, match="'e' has no finite numerical value"):
        column_grid(pd.Series([np.nan, np.inf], name="e"), 3)


def test_naive_bucket_assignment_agrees_on_random_data():
    rng = np.random.default_rng(11)
    for trial in range(30):
        values = rng.normal(size=int(rng.integers(1, 300))).round(int(rng.integers(0, 3)))
        g = int(rng.integers(1, 20))
        centres, counts = numerical_grid(values, g)
        lo, hi = values.min(), values.max()
        if lo == hi:
            assert list(centres) == [lo] and list(counts) == [len(values)]
            continue
        edges = list(np.linspace(lo, hi, g + 1))
        naive = [0] * g
        for v in values:  # slow twin: first bucket whose upper edge is >= v
            naive[next(i for i in range(g) if v <= edges[i + 1] or i == g - 1)] += 1
        assert list(counts) == naive, trial
        np.testing.assert_allclose(centres, [(a + b) / 2 for a, b in zip(edges, edges[1:])], atol=1e-12)


def test_categorical_values_sorted_with_shares_and_dtype_kept():
    series = pd.Series(["b", "a", "c", "a", None, "b", "a"], name="s", dtype="str")
    grid = column_grid(series, 15)
    assert grid.data_type == "categorical"
    assert grid.values == ["a", "b", "c"]
    assert grid.distribution == pytest.approx([3 / 6, 2 / 6, 1 / 6])
    assert grid.missing == 1
    assert grid.column.dtype == series.dtype and list(grid.column) == ["a", "b", "c"]
    ints = column_grid(pd.Series([3, 1, 2, 1] * 30, name="i"), 15)
    assert ints.data_type == "categorical" and ints.values == [1, 2, 3]
    assert all(type(v) is int for v in ints.values) and ints.column.dtype == np.int64
    flags = column_grid(pd.Series([True, False, True], name="f"), 15)
    assert flags.values == [False, True] and flags.distribution == pytest.approx([1 / 3, 2 / 3])
    mixed = column_grid(pd.Series(["x", 2, 1.5], dtype=object, name="m"), 15)
    assert mixed.values == [1.5, 2, "x"]


class Typed(NamedTuple):
    series: pd.Series
    kind: str
    id: str


TYPED = [
    Typed(pd.Series([0.5, 1.0, 1.0]), "numerical", "float"),
    Typed(pd.Series(range(100)), "numerical", "int-many-distinct"),
    Typed(pd.Series([0, 1] * 50), "categorical", "int-two-values"),
    Typed(pd.Series(pd.array([1, 2, None] * 10 + list(range(100, 140)), dtype="Int64")), "numerical", "Int64"),
    Typed(pd.Series([True, False]), "categorical", "bool"),
    Typed(pd.Series(["a", "b", "a"]), "categorical", "str"),
    Typed(pd.Series(["New York", "Paris", "New York", "Paris"]), "categorical", "str-repeated-phrases"),
    Typed(pd.Series(pd.Categorical(["lo", "hi", "lo"])), "categorical", "category"),
    Typed(pd.Series(["a great product", "did not work at all", "fine", "would buy again"]), "free_text", "text"),
    Typed(pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"])), "datetime", "datetime"),
]


@pytest.mark.parametrize("case", TYPED, ids=[c.id for c in TYPED])
def test_data_type_detection(case):
    assert data_type(case.series) == case.kind


# ---------------------------------------------------------------- error entries


def test_text_column_gets_the_contract_error_entry_and_others_still_run():
    frame = _frame(n=30)
    frame["Review"] = [f"review number {i} of the product" for i in range(len(frame))]
    config = load_config({"dataset_type": "text/csv", "headers": list(frame.columns), "label": "Target",
                          "methods": {"pdp": {"grid_resolution": 4, "features": ["Review", "Age"]}}})
    entries, manifest, _ = _run(config, frame, lambda f: f["Age"].to_numpy(dtype=float))
    assert entries[0] == {"feature_name": "Review", "data_type": "free_text", "error": UNSUPPORTED_MESSAGE}
    assert UNSUPPORTED_MESSAGE == ("Detected data type is not supported for PDP. PDP can only be computed for "
                                   "numerical or categorical columns")
    assert list(entries[1]) == ENTRY_KEYS
    np.testing.assert_allclose(entries[1]["model_predictions"], [entries[1]["feature_values"]], atol=1e-12)
    assert manifest["model_rows_sent"] == 4 * len(frame)
    assert manifest["per_feature"]["Review"]["error"] == UNSUPPORTED_MESSAGE


def test_all_missing_column_is_an_error_entry():
    frame = _frame(n=20)
    frame["Score"] = np.nan
    config = _config({"grid_resolution": 3, "features": ["Score"]})
    (entry,), manifest, _ = _run(config, frame, lambda f: f["Age"].to_numpy(dtype=float))
    assert entry == {"feature_name": "Score", "data_type": "numerical",
                     "error": "Column 'Score' has no finite numerical value; PDP needs at least one"}
    assert manifest["model_rows_sent"] == 0


# ---------------------------------------------------------------- choice of features


def resolve_pdp_features(entries, features):
    return [features[j] for j in resolve_features(entries, features, "methods.pdp.features")]


def test_resolve_features_names_indices_and_errors():
    features = ["Age", "Income", "Occupation"]
    assert resolve_pdp_features(["Occupation", 0], features) == ["Occupation", "Age"]
    with pytest.raises(ConfigError, match=r"methods\.pdp\.features\[1\].*found 'Target'"):
        resolve_pdp_features(["Age", "Target"], features)
    with pytest.raises(ConfigError, match=r"methods\.pdp\.features\[0\].*\(0\.\.2\), found 3"):
        resolve_pdp_features([3], features)
    with pytest.raises(ConfigError, match=r"methods\.pdp\.features\[1\].*'Age' is listed twice"):
        resolve_pdp_features(["Age", 0], features)
    with pytest.raises(ConfigError, match=r"features\[0\].*found True"):
        resolve_pdp_features([True], features)


SHAP = {"label0": {"global_shap_values": {"Age": 0.01, "Income": 0.30, "Occupation": 0.02, "Score": 0.2},
                   "expected_value": 0.5}}


def test_top_k_from_shap_section_runs_those_features_largest_first():
    frame = _frame(n=30)
    config = _config({"grid_resolution": 3, "top_k_features": 2}, methods={"shap": {"num_clusters": 1}})
    entries, manifest, _ = _run(config, frame, lambda f: f["Score"].to_numpy(), shap_section=SHAP)
    assert [e["feature_name"] for e in entries] == ["Income", "Score"]
    assert manifest["selection"]["source"] == "top_k_features by global SHAP"
    assert manifest["selection"]["scores"] == {"Income": 0.30, "Score": 0.2}


def test_top_k_with_several_labels_ranks_by_sum_of_absolute_values():
    section = {"a": {"global_shap_values": {"Age": 0.5, "Income": 0.1, "Score": -0.45}},
               "b": {"global_shap_values": {"Age": 0.0, "Income": 0.3, "Score": 0.1}}}
    chosen, scores = top_k_by_shap(_shap_result(section), ["Age", "Income", "Occupation", "Score"], 10)
    assert chosen == ["Score", "Age", "Income"]  # 0.55, 0.5, 0.4; Occupation absent from SHAP
    assert scores["Score"] == pytest.approx(0.55)
    tie, _ = top_k_by_shap(_shap_result({"l": {"global_shap_values": {"Income": 1.0, "Age": 1.0}}}),
                           ["Age", "Income"], 1)
    assert tie == ["Age"]  # ties keep model order


def test_no_features_and_no_shap_section_is_a_config_error():
    frame = _frame(n=10)
    config = _config({"grid_resolution": 3}, methods={"shap": {"num_clusters": 1}})
    with pytest.raises(ConfigError, match=r"methods\.pdp\.features: required when no SHAP results"):
        _run(config, frame, lambda f: f["Score"].to_numpy())


# ---------------------------------------------------------------- cost and model faults


def test_chunks_cover_the_virtual_table_within_the_limit():
    for g, n, m in [(15, 10, 100), (15, 100, 100), (3, 250, 100), (7, 33, 1), (1, 1, 5), (4, 101, 100)]:
        chunks = _chunks(g, n, m)
        assert chunks[0][0] == 0 and chunks[-1][1] == g * n
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
        assert all(0 < stop - start <= m for start, stop in chunks)


def test_no_copy_per_grid_value_and_few_calls():
    calls = []

    def model(frame):
        calls.append(len(frame))
        return frame["Score"].to_numpy() * 2

    frame = _frame(n=50)
    config = _config({"grid_resolution": 15, "features": ["Score", "Age"]})
    entries, manifest, _ = _run(config, frame, model, max_rows_per_call=400)
    assert calls == [400, 350] * 2  # 15 grid values x 50 rows = 750 rows per feature, 8 values per call
    assert manifest["model_calls"] == 4 and manifest["model_rows_sent"] == 1500
    np.testing.assert_allclose(entries[0]["model_predictions"][0], np.array(entries[0]["feature_values"]) * 2,
                               atol=1e-12)
    np.testing.assert_allclose(entries[1]["model_predictions"][0], 2 * frame["Score"].mean(), atol=1e-12)


def test_partial_dependence_matches_naive_loop():
    rng = np.random.default_rng(2)
    records = pd.DataFrame({"a": rng.normal(size=37), "b": rng.integers(0, 5, 37)})
    grid = pd.Series([-1.0, 0.0, 2.5])

    def score(frame):
        return np.column_stack([np.sin(frame["a"]) * frame["b"], frame["a"] ** 2 + frame["b"]])

    naive = np.array([[score(records.assign(a=v))[:, k].mean() for v in grid] for k in range(2)])
    for m in (5, 37, 50, 1000):
        np.testing.assert_allclose(partial_dependence(records, "a", grid, score, max_rows_per_call=m), naive,
                                   rtol=0, atol=1e-13)


def test_model_answering_too_few_rows_is_a_model_error():
    frame = _frame(n=10)
    config = _config({"grid_resolution": 2, "features": ["Age"]})
    with pytest.raises(ModelError, match="for 20 records"):
        _run(config, frame, lambda f: f["Age"].to_numpy(dtype=float)[:-1])


# ---------------------------------------------------------------- end to end (needs run.py wiring)


def test_analyze_end_to_end_writes_pdp_section(tmp_path):
    import clarify_engine

    frame = _frame(n=80)
    config = {"dataset_type": "text/csv", "headers": list(frame.columns), "label": "Target",
              "methods": {"pdp": {"grid_resolution": 5, "features": ["Income", "Occupation"]}}}
    X = frame.drop(columns="Target")
    model = _pipeline(LogisticRegression(max_iter=1000)).fit(X, frame["Target"])
    result = clarify_engine.analyze(config, data=frame, model=model, output_dir=tmp_path)
    pdp = result.to_dict()["explanations"]["pdp"]
    assert [e["feature_name"] for e in pdp] == ["Income", "Occupation"]
    for entry in pdp:
        assert list(entry) == ENTRY_KEYS
        np.testing.assert_allclose(entry["model_predictions"], _sklearn(model, X, entry), rtol=0, atol=1e-12)
    written = json.loads((tmp_path / "analysis.json").read_text())
    assert written["explanations"]["pdp"] == pdp


def test_model_changing_its_number_of_scores_between_calls_is_a_model_error():
    from clarify_engine.predict import ModelOutput

    class Flaky:
        label_headers = None
        calls = 0

        def predict(self, frame):
            self.calls += 1
            return ModelOutput(labels=None, scores=np.zeros((len(frame), self.calls)))

    frame = _frame(n=10)
    config = _config({"grid_resolution": 2, "features": ["Age", "Score"]})
    dataset = load_dataset(config, frame)
    job = plan(config, dataset, Flaky())
    scorer = ModelMeter(Flaky(), job.model).scorer("pdp")
    with pytest.raises(ModelError, match="2 scores per record, but 1 in an earlier call"):
        run_pdp(dataset.frame.loc[:, dataset.features], job.pdp, scorer)


def test_model_receives_grid_values_with_the_columns_dtype_and_other_columns_unchanged():
    records = pd.DataFrame({
        "cat": pd.Categorical(["lo", "hi", "lo", None]),
        "num": pd.array([1, None, 3, 4], dtype="Int64"),
        "txt": pd.Series(["a", "b", "a", "c"], dtype="str"),
    })
    seen = []

    def score(frame):
        seen.append(frame)
        return np.zeros((len(frame), 1))

    cat = column_grid(records["cat"], 5)
    assert cat.values == ["hi", "lo"] and cat.missing == 1
    partial_dependence(records, "cat", cat.column, score)
    (frame,) = seen
    assert isinstance(frame["cat"].dtype, pd.CategoricalDtype)
    assert list(frame["cat"]) == ["hi"] * 4 + ["lo"] * 4
    assert frame["num"].dtype == records["num"].dtype and frame["txt"].dtype == records["txt"].dtype
    pd.testing.assert_frame_equal(frame[["num", "txt"]].iloc[4:].reset_index(drop=True), records[["num", "txt"]])
    num = column_grid(records["num"], 3, kind="numerical")
    assert num.values == [1.5, 2.5, 3.5] and num.distribution == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    partial_dependence(records, "num", num.column, score)
    assert seen[-1]["num"].dtype == np.float64 and list(seen[-1]["num"]) == [1.5] * 4 + [2.5] * 4 + [3.5] * 4


# ---------------------------------------------------------------- ICE curves


def test_individual_curves_are_every_records_scores_and_average_to_the_pdp():
    rng = np.random.default_rng(3)
    records = pd.DataFrame({"a": rng.normal(size=23), "b": rng.integers(0, 3, 23)})
    grid = pd.Series([-1.0, 0.0, 0.5, 2.0])

    def score(frame):
        return np.column_stack([np.sin(frame["a"]) * frame["b"], frame["a"] ** 2 - frame["b"]])

    naive = np.array([[score(records.iloc[[i]].assign(a=v))[0] for v in grid] for i in range(len(records))])
    naive = naive.transpose(0, 2, 1)  # (n, g, D) -> (n, D, g)
    for m in (5, 23, 1000):
        ice = partial_dependence(records, "a", grid, score, max_rows_per_call=m, kind="individual")
        np.testing.assert_allclose(ice, naive, rtol=0, atol=1e-13)
        average, both = partial_dependence(records, "a", grid, score, max_rows_per_call=m, kind="both")
        np.testing.assert_allclose(both, naive, rtol=0, atol=1e-13)
        np.testing.assert_allclose(average, naive.mean(axis=0), rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="kind must be one of 'average', 'individual', 'both'; found 'ice'"):
        partial_dependence(records, "a", grid, score, kind="ice")


def test_individual_curves_match_scikit_learn():
    """ICE against scikit-learn's ``kind="individual"`` on its own grid of a numerical feature."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x0": rng.normal(size=60), "x1": rng.uniform(size=60)})
    y = X["x0"] * 2 + np.sin(3 * X["x1"]) + rng.normal(scale=0.1, size=60)
    model = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    theirs = sk_partial_dependence(model, X, [1], kind="individual", grid_resolution=7)
    grid = pd.Series(theirs["grid_values"][0])
    ours = partial_dependence(X, "x1", grid, lambda f: model.predict(f), kind="individual")
    np.testing.assert_allclose(ours[:, 0, :], theirs["individual"][0], rtol=0, atol=1e-12)


def test_run_pdp_keeps_individual_curves_when_asked():
    frame = _frame(n=20)
    config = _config({"grid_resolution": 3, "features": ["Age"]})
    dataset = load_dataset(config, frame)
    job = plan(config, dataset, lambda f: f["Age"].to_numpy(dtype=float))
    records = dataset.frame.loc[:, dataset.features]
    result = run_pdp(records, job.pdp, lambda f: f["Age"].to_numpy(dtype=float) / 10, individual=True)
    (curve,) = result.curves
    assert curve.individual.shape == (20, 1, len(curve.values))
    np.testing.assert_allclose(curve.individual.mean(axis=0), curve.predictions, atol=1e-12)
    assert run_pdp(records, job.pdp, lambda f: f["Age"].to_numpy(dtype=float)).curves[0].individual is None
