"""Baselines: inline rows per dataset type, files, k-means snapping, k-prototypes modes, k choice; coding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clarify_engine.errors import ConfigError, DataError
from clarify_engine.explain import BaselineSpec, given_baseline
from clarify_engine.explain._baseline import (
    choose_num_clusters,
    cluster_baseline,
    encode_features,
)
from tests.data._spec import load_dataset


def baseline_from_config(shap, dataset, *, dataset_type, base_dir=None, features_path=None, storage_options=None):
    """``methods.shap`` (as a dict) planned into a BaselineSpec, then read as the SHAP stage reads it."""
    given = shap.get("baseline")
    spec = BaselineSpec(given=None if isinstance(given, str) else given,
                        location=given if isinstance(given, str) else None, dataset_type=dataset_type,
                        features_path=features_path, num_clusters=shap.get("num_clusters"))
    return given_baseline(spec, dataset.features, dataset.frame, base_dir=base_dir, storage_options=storage_options)

CSV_CONFIG = {"dataset_type": "text/csv", "headers": ["Target", "Age", "Gender", "Income"], "label": "Target"}


@pytest.fixture
def csv_dataset(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("Target,Age,Gender,Income\n1,30,M,1000.5\n0,40,F,2000.0\n1,50,F,3000.0\n")
    return load_dataset(CSV_CONFIG, path)


# ------------------------------------------------------------------------ inline and file baselines


def test_inline_csv_rows_typed_like_dataset(csv_dataset):
    frame = baseline_from_config({"baseline": [[35, "F", 1500], [45, None, None]]}, csv_dataset,
                                 dataset_type="text/csv")
    assert list(frame.columns) == ["Age", "Gender", "Income"]
    assert frame["Age"].tolist() == [35, 45]
    assert frame["Age"].dtype == np.int64
    assert frame["Gender"].tolist()[0] == "F" and pd.isna(frame["Gender"].tolist()[1])
    assert frame["Income"].dtype == np.float64 and np.isnan(frame["Income"][1])


def test_inline_row_of_wrong_width_names_the_row(csv_dataset):
    with pytest.raises(ConfigError) as err:
        baseline_from_config({"baseline": [[35, "F", 1500], [45, "M"]]}, csv_dataset, dataset_type="text/csv")
    assert err.value.path == "methods.shap.baseline[1]"
    assert "expected 3 values" in str(err.value) and "found 2" in str(err.value)


def test_inline_text_for_numeric_feature_is_refused(csv_dataset):
    with pytest.raises(ConfigError, match="'Age' is numeric .* gives 'old'"):
        baseline_from_config({"baseline": [["old", "F", 1]]}, csv_dataset, dataset_type="text/csv")


def test_no_baseline_gives_none(csv_dataset):
    assert baseline_from_config({"num_clusters": 2}, csv_dataset, dataset_type="text/csv") is None


def test_jsonlines_objects_read_with_features_path(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"features": [1, 2.5], "label": 0}\n{"features": [3, 4.5], "label": 1}\n')
    config = {"dataset_type": "application/jsonlines", "features": "features", "label": "label",
              "headers": ["a", "b", "y"]}
    dataset = load_dataset(config, path)
    frame = baseline_from_config({"baseline": [{"features": [0, 0.5]}]}, dataset,
                                 dataset_type="application/jsonlines", features_path="features")
    assert frame.to_numpy().tolist() == [[0, 0.5]]
    with pytest.raises(ConfigError, match=r"baseline\[0\].*features path 'features'"):
        baseline_from_config({"baseline": [{"other": [0, 0.5]}]}, dataset,
                             dataset_type="application/jsonlines", features_path="features")


def test_json_document_baseline_same_structure_as_input(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"instances": [[1, 2], [3, 4]], "labels": [0, 1]}))
    config = {"dataset_type": "application/json", "features": "instances", "label": "labels",
              "headers": ["a", "b", "y"]}
    dataset = load_dataset(config, path)
    frame = baseline_from_config({"baseline": {"instances": [[9, 8], [7, 6]]}}, dataset,
                                 dataset_type="application/json", features_path="instances")
    assert frame.to_numpy().tolist() == [[9, 8], [7, 6]]


def test_parquet_inline_rows(tmp_path):
    frame = pd.DataFrame({"Target": [0, 1], "Age": [20, 30], "Gender": [0, 1], "Income": [1.0, 2.0],
                          "Occupation": [1, 2]})
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    from tests.data.conftest import sdk_config

    config = sdk_config("14")
    dataset = load_dataset(config, path)
    baseline = baseline_from_config(config["methods"]["shap"], dataset, dataset_type=config["dataset_type"])
    assert baseline.to_numpy().tolist() == [[35, 0, 3000, 1], [50, 1, 6000, 2]]


def test_file_baseline_in_dataset_format(csv_dataset, tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "baseline.csv").write_text("Age,Gender,Income\n33,M,10\n")
    frame = baseline_from_config({"baseline": "base/baseline.csv"}, csv_dataset, dataset_type="text/csv",
                                 base_dir=tmp_path)
    assert frame.to_numpy().tolist() == [[33, "M", 10.0]]
    (tmp_path / "bad.csv").write_text("1,2\n")
    with pytest.raises(DataError, match="baseline file .*bad.csv.* 3 feature columns"):
        baseline_from_config({"baseline": str(tmp_path / "bad.csv")}, csv_dataset, dataset_type="text/csv")


def test_baseline_written_by_the_job_reads_back(csv_dataset, tmp_path):
    """A job computes a baseline and writes explanations_shap/baseline.csv (the production path,
    analyze -> run.py); that file, given back as methods.shap.baseline, reads as the same rows."""
    from clarify_engine import analyze

    config = {**CSV_CONFIG, "methods": {"shap": {"num_clusters": 2, "seed": 0}}}
    analyze(config, csv_dataset.frame, lambda f: f["Age"].to_numpy() * 0.01 + (f["Gender"] == "F") * 0.1,
            output_dir=tmp_path)
    path = tmp_path / "explanations_shap" / "baseline.csv"
    frame, _ = cluster_baseline(csv_dataset.frame[csv_dataset.features], 2, seed=0)
    again = baseline_from_config({"baseline": str(path)}, csv_dataset, dataset_type="text/csv")
    pd.testing.assert_frame_equal(again, frame, check_dtype=False)
    assert again["Gender"].tolist() == frame["Gender"].tolist()


# ------------------------------------------------------------------------ computed baselines


def test_kmeans_centres_snapped_to_observed_values():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"flag": rng.integers(0, 2, 300), "x": rng.normal(size=300).round(2),
                          "y": np.r_[rng.normal(0, 0.1, 150), rng.normal(10, 0.1, 150)]})
    base, weights = cluster_baseline(frame, 2, seed=3)
    assert len(base) == 2 and weights.sum() == 300
    for column in frame.columns:
        assert set(base[column]).issubset(set(frame[column]))
    assert sorted(weights.tolist()) == [150.0, 150.0]
    assert base["flag"].dtype == frame["flag"].dtype


def test_kmeans_imputes_missing_values_by_column_mean():
    frame = pd.DataFrame({"a": [1.0, np.nan, 1.0, 9.0, 9.0, np.nan], "b": [0.0, 0.0, 0.1, 5.0, 5.1, 5.0]})
    base, weights = cluster_baseline(frame, 2, seed=0)
    assert not base.isna().any().any()
    assert sorted(weights.tolist()) == [3.0, 3.0]


def test_kprototypes_keeps_modes_never_means():
    rng = np.random.default_rng(0)
    n = 400
    group = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    colour = np.where(group == 0, rng.choice(["red", "red", "red", "blue"], n),
                      rng.choice(["green", "green", "blue"], n))
    frame = pd.DataFrame({"x": np.where(group == 0, 0.0, 20.0) + rng.normal(0, 1, n),
                          "colour": pd.array(colour, dtype="str"),
                          "member": rng.random(n) < np.where(group == 0, 0.9, 0.1)})
    base, weights = cluster_baseline(frame, 2, seed=0)
    assert base["colour"].dtype == frame["colour"].dtype and base["member"].dtype == bool
    by_x = base.sort_values("x").reset_index(drop=True)
    assert by_x["colour"].tolist() == ["red", "green"]
    assert by_x["member"].tolist() == [True, False]
    assert set(base["x"]).issubset(set(frame["x"]))
    assert sorted(weights.tolist()) == [200.0, 200.0]


def test_only_categorical_columns_cluster_by_modes():
    frame = pd.DataFrame({"c": ["a"] * 6 + ["b"] * 4, "d": ["x"] * 5 + ["y"] * 5})
    base, weights = cluster_baseline(frame, 1, seed=0)
    assert base.to_dict("records") == [{"c": "a", "d": "x"}]
    assert weights.tolist() == [10.0]


def test_more_clusters_than_distinct_rows_is_reduced():
    frame = pd.DataFrame({"a": [1.0, 1.0, 2.0, 2.0]})
    base, weights = cluster_baseline(frame, 5, seed=0)
    assert sorted(base["a"].tolist()) == [1.0, 2.0] and weights.tolist() == [2.0, 2.0]


def test_cluster_baseline_is_deterministic_for_a_seed():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=200), "c": rng.choice(["p", "q", "r"], 200)})
    first = cluster_baseline(frame, 3, seed=11)
    second = cluster_baseline(frame, 3, seed=11)
    pd.testing.assert_frame_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("centres", [3, 5])
def test_k_choice_finds_separated_blobs(centres):
    rng = np.random.default_rng(centres)
    points = np.vstack([rng.normal(10 * c, 0.5, size=(100, 2)) for c in range(centres)])
    assert choose_num_clusters(points, np.zeros(2, bool), seed=0) == centres


def test_k_choice_with_categorical_columns():
    rng = np.random.default_rng(2)
    num = np.r_[rng.normal(0, 0.3, 100), rng.normal(8, 0.3, 100)]
    cat = np.r_[np.zeros(100), np.ones(100)]
    coded = np.c_[num, cat]
    assert choose_num_clusters(coded, np.array([False, True]), seed=0) == 2


def test_k_choice_is_one_for_identical_rows_and_without_structure():
    assert choose_num_clusters(np.ones((50, 3)), np.zeros(3, bool)) == 1
    frame = pd.DataFrame({"a": [1.0] * 30})
    base, weights = cluster_baseline(frame, None)
    assert base["a"].tolist() == [1.0] and weights.tolist() == [30.0]


def test_k_choice_is_one_on_noise_because_no_silhouette_reaches_the_threshold():
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(9)
    points = rng.normal(size=(3000, 6))
    # independently: the best mean silhouette over k = 2..12 on Gaussian noise is below 0.25
    # (one thread: KMeans' OpenMP threads crawl on the shared machine)
    with threadpool_limits(1):
        best = max(silhouette_score(points[:1000], KMeans(k, n_init=1, random_state=0).fit_predict(points)[:1000])
                   for k in range(2, 13))
    assert best < 0.25
    assert choose_num_clusters(points, np.zeros(6, bool), seed=1) == 1


# ------------------------------------------------------------------------ coding


def test_encode_decode_round_trip_with_strings_nan_bools():
    frame = pd.DataFrame({
        "i": pd.Series([1, 2, 3], dtype=np.int64),
        "f": [0.5, np.nan, 2.0],
        "s": pd.array(["a", None, "b"], dtype="str"),
        "o": pd.Series(["x", 3, None], dtype=object),
        "b": [True, False, True],
        "c": pd.Categorical(["u", "v", "u"]),
        "n": pd.array([1, None, 3], dtype="Int64"),
    })
    X, coder = encode_features(frame)
    assert X.dtype == np.float64 and X.shape == (3, 7)
    back = coder(X)
    assert list(back.dtypes) == list(frame.dtypes)
    pd.testing.assert_frame_equal(back, frame)


def test_codes_are_shared_with_the_baseline():
    frame = pd.DataFrame({"s": ["a", "b"], "x": [1.0, 2.0]})
    base = pd.DataFrame({"s": ["c", "b"], "x": [0.0, 2.0]})
    X, coder = encode_features(frame, base)
    B = coder.encode(base)
    assert X[1, 0] == B[1, 0]  # "b" has one code
    assert B[0, 0] not in X[:, 0]
    assert coder(B)["s"].tolist() == ["c", "b"]


def test_missing_category_has_its_own_code_equal_to_itself():
    frame = pd.DataFrame({"s": ["a", None, None]})
    X, coder = encode_features(frame)
    assert X[1, 0] == X[2, 0] and X[0, 0] != X[1, 0]
    assert pd.isna(coder(X)["s"][1])


def test_unknown_category_is_reported_with_row_and_column():
    _, coder = encode_features(pd.DataFrame({"s": ["a"]}))
    with pytest.raises(DataError, match=r"baseline row 1: column 's' has value 'z'"):
        coder.encode(pd.DataFrame({"s": ["a", "z"]}), "baseline")


def test_url_baseline_read_through_fsspec(csv_dataset):
    import fsspec

    with fsspec.open("memory://shap-test/baseline.csv", "w") as handle:
        handle.write("31,F,12.5\n")
    frame = baseline_from_config({"baseline": "memory://shap-test/baseline.csv"}, csv_dataset,
                                 dataset_type="text/csv")
    assert frame.to_numpy().tolist() == [[31, "F", 12.5]]
