"""The SHAP job end to end in process: config -> baseline -> kernel_shap -> section, out.csv, extras."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from clarify_engine import analyze, load_dataset
from clarify_engine.explain import budget_note
from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError, NotSupportedError
from clarify_engine.explain._aggregate import aggregate, aggregate_standard_error
from clarify_engine.explain import run_shap
from clarify_engine.job import ModelMeter, plan, resolve_features, run_job
from clarify_engine.predict import make_predictor
from clarify_engine.report._explanations import (SE_SECTION_KEY, local_columns, shap_local_frame, shap_manifest,
                                                 shap_section, shap_standard_error_frame,
                                                 shap_standard_error_section)

WEIGHTS = {"Age": 0.5, "Income": -0.002, "Tenure": 3.0}


def _config(shap=None, **top):
    cfg = {"dataset_type": "text/csv", "headers": ["Target", "Age", "Income", "Tenure"], "label": "Target",
           "methods": {"shap": {"use_logit": False, "save_local_shap_values": True, **(shap or {})}}}
    cfg.update(top)
    return load_config(cfg)


def _frame(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"Target": rng.integers(0, 2, n), "Age": rng.integers(20, 70, n),
                         "Income": rng.normal(3000, 500, n).round(1), "Tenure": rng.integers(0, 10, n)})


def linear(frame: pd.DataFrame) -> np.ndarray:
    return 1.0 + sum(w * frame[c].to_numpy(dtype=float) for c, w in WEIGHTS.items())


def _run(config, frame, model, **kwargs):
    """The SHAP stage of a job: planned, run against a metered predictor, rendered as the job renders it."""
    dataset = load_dataset(config, frame)
    job = plan(config, dataset, model)
    with make_predictor(job.model, dataset.features, model) as predictor:
        scorer = ModelMeter(predictor, job.model).scorer("kernel_shap")
        result = run_shap(dataset.frame.loc[:, dataset.features], job.shap, scorer, **kwargs)
    extras = {"standard_errors": shap_standard_error_frame(result),
              "standard_error_section": shap_standard_error_section(result), "baseline": result.baseline,
              "baseline_weights": result.baseline_weights, "manifest": shap_manifest(result, scorer.calls),
              "result": result.core}
    return shap_section(result), shap_local_frame(result), extras, dataset


def _job(config, frame, model, output_dir, **kwargs):
    """The production path: ``analyze`` runs the job (run.py) and writes every file of it."""
    result = analyze(config, frame, model, output_dir=output_dir, **kwargs)
    return result.analysis["explanations"]["kernel_shap"], result.manifest["kernel_shap"], result


def _out(folder, name="out.csv"):
    return pd.read_csv(folder / "explanations_shap" / name)


def test_linear_model_exact_values_section_and_out_csv(tmp_path):
    frame = _frame()
    baseline = [[40, 2500.0, 5]]
    config = _config({"baseline": baseline, "seed": 7})
    section, manifest, _ = _job(config, frame, linear, tmp_path)
    dataset = load_dataset(config, frame)

    b = pd.DataFrame(baseline, columns=list(WEIGHTS))
    expected = np.column_stack([w * (frame[c] - b[c][0]) for c, w in WEIGHTS.items()])
    assert list(section) == ["label0"]
    assert list(section["label0"]) == ["global_shap_values", "expected_value"]
    assert list(section["label0"]["global_shap_values"]) == ["Age", "Income", "Tenure"]
    np.testing.assert_allclose(list(section["label0"]["global_shap_values"].values()),
                               np.abs(expected).mean(axis=0), atol=1e-10)
    assert section["label0"]["expected_value"] == pytest.approx(float(linear(b)[0]), abs=1e-10)
    assert all(type(v) is float for v in section["label0"]["global_shap_values"].values())

    out = _out(tmp_path)
    assert list(out.columns) == ["Age_label0", "Income_label0", "Tenure_label0"]
    np.testing.assert_allclose(out.to_numpy(), expected, atol=1e-10)
    written = json.loads((tmp_path / "analysis.json").read_text())["explanations"]["kernel_shap"]
    assert written == section
    # What public notebooks do: strip _label0, then additivity with expected_value.
    assert [c.replace("_label0", "") for c in out.columns] == dataset.features
    np.testing.assert_allclose(out.sum(axis=1) + section["label0"]["expected_value"], linear(frame), atol=1e-9)
    base_csv = pd.read_csv(tmp_path / "explanations_shap" / "baseline.csv")
    assert base_csv.to_numpy().tolist() == [[40, 2500.0, 5]]
    se = pd.read_csv(tmp_path / "explanations_shap" / "out_standard_errors.csv")
    assert list(se.columns) == list(out.columns) and (se.to_numpy() >= 0).all()
    assert manifest["baseline"] == {"source": "config", "rows": 1, "weights": [1.0]}


def test_section_serialises_like_the_developer_guide_example():
    """Shape of ``explanations.kernel_shap`` in the Clarify Developer Guide's analysis.json example."""
    example = json.loads("""{"kernel_shap": {"label0": {"global_shap_values": {"feature_0": 0.0224,
        "feature_1": 0.0073, "feature_2": 0.0068}, "expected_value": 0.5082}}}""")
    frame = pd.DataFrame({"y": [0, 1, 0, 1], "feature_0": [1.0, 2, 3, 4], "feature_1": [0.0, 1, 0, 1],
                          "feature_2": [5.0, 4, 3, 2]})
    config = load_config({"dataset_type": "text/csv", "label": "y", "headers": list(frame.columns),
                          "methods": {"shap": {"baseline": [[0, 0, 0]], "seed": 1}}})
    section, _, _, _ = _run(config, frame, lambda f: f.to_numpy().sum(axis=1) * 0.1)

    def shape(obj):
        return {k: shape(v) for k, v in obj.items()} if isinstance(obj, dict) else type(obj).__name__

    assert shape({"kernel_shap": section}) == shape(example)
    assert json.loads(json.dumps(section)) == section


def test_multi_output_label_headers_and_default_names():
    frame = _frame(6)

    def two(f):
        s = linear(f)
        return np.column_stack([s, -2.0 * s])

    config = _config({"baseline": [[40, 2500.0, 5]], "seed": 1})
    section, local, _, _ = _run(config, frame, two)
    assert list(section) == ["label0", "label1"]
    assert local.columns.tolist() == local_columns(["Age", "Income", "Tenure"], ["label0", "label1"])
    np.testing.assert_allclose(local.filter(like="_label1").to_numpy(), -2 * local.filter(like="_label0").to_numpy(),
                               atol=1e-9)

    named = _config({"baseline": [[40, 2500.0, 5]], "seed": 1},
                    predictor={"label_headers": ["stay", "churn"], "content_type": "text/csv"})
    section, local, _, _ = _run(named, frame, two)
    assert list(section) == ["stay", "churn"]
    assert local.columns[:3].tolist() == ["Age_stay", "Income_stay", "Tenure_stay"]
    assert local.columns[3:].tolist() == ["Age_churn", "Income_churn", "Tenure_churn"]


def test_features_to_explain_names_and_indices_in_feature_order():
    frame = _frame(8)
    for chosen in (["Tenure", "Age"], [2, 0]):
        config = _config({"baseline": [[40, 2500.0, 5]], "features_to_explain": chosen, "seed": 3})
        section, local, _, _ = _run(config, frame, linear)
        assert list(section["label0"]["global_shap_values"]) == ["Age", "Tenure"]
        assert local.columns.tolist() == ["Age_label0", "Tenure_label0"]
        np.testing.assert_allclose(local["Age_label0"], 0.5 * (frame["Age"] - 40), atol=1e-10)
        np.testing.assert_allclose(local["Tenure_label0"], 3.0 * (frame["Tenure"] - 5), atol=1e-10)


@pytest.mark.parametrize("entry, message", [
    ("Target", "expected one of the model-input features"),
    (5, "expected an index into the 3 model-input features"),
    (True, "expected a feature name or index"),
])
def test_features_to_explain_errors_name_the_entry(entry, message):
    with pytest.raises(ConfigError) as err:
        resolve_features(["Age", entry], ["Age", "Income", "Tenure"], "methods.shap.features_to_explain")
    assert err.value.path == "methods.shap.features_to_explain[1]"
    assert message in str(err.value)
    with pytest.raises(ConfigError, match="listed twice"):
        resolve_features(["Age", 0], ["Age", "Income", "Tenure"], "methods.shap.features_to_explain")


def test_categorical_feature_decoded_for_the_model():
    frame = pd.DataFrame({"y": [0, 1, 0, 1, 1], "colour": ["red", "blue", "green", "red", "blue"],
                          "size": [1.0, 2.0, 3.0, 4.0, 5.0]})
    effect = {"red": 1.0, "blue": -2.0, "green": 0.5}

    def model(f):
        assert f["colour"].map(type).eq(str).all()  # the model sees strings, not codes
        return f["colour"].map(effect).to_numpy(dtype=float) * f["size"].to_numpy() + f["size"].to_numpy()

    config = load_config({"dataset_type": "text/csv", "label": "y", "headers": ["y", "colour", "size"],
                          "methods": {"shap": {"baseline": [["green", 2.0]], "seed": 0}}})
    section, local, _, _ = _run(config, frame, model)
    # Two players: exact Shapley values of f(c, s) = (e(c) + 1) s against (green, 2).
    e = frame["colour"].map(effect).to_numpy()
    s = frame["size"].to_numpy()
    f = lambda ec, sv: (ec + 1) * sv  # noqa: E731
    phi_c = 0.5 * ((f(e, 2.0) - f(0.5, 2.0)) + (f(e, s) - f(0.5, s)))
    phi_s = 0.5 * ((f(0.5, s) - f(0.5, 2.0)) + (f(e, s) - f(e, 2.0)))
    np.testing.assert_allclose(local["colour_label0"], phi_c, atol=1e-10)
    np.testing.assert_allclose(local["size_label0"], phi_s, atol=1e-10)
    assert section["label0"]["expected_value"] == pytest.approx(3.0)


@pytest.mark.parametrize("method", ["median", "mean_sq", "mean_abs"])
def test_agg_method_in_section(method):
    frame = _frame(9)
    config = _config({"baseline": [[40, 2500.0, 5]], "agg_method": method, "seed": 2})
    section, _, _, _ = _run(config, frame, linear)
    got = [section["label0"]["global_shap_values"][c] for c in WEIGHTS]
    # the exact local values of the linear model, aggregated by Clarify's definitions, by hand
    for j, (column, w) in enumerate(WEIGHTS.items()):
        phi = sorted(w * (float(v) - [40, 2500.0, 5][j]) for v in frame[column])
        want = {"mean_abs": sum(abs(p) for p in phi) / len(phi), "mean_sq": sum(p * p for p in phi) / len(phi),
                "median": phi[len(phi) // 2]}[method]  # 9 records: the middle one
        assert got[j] == pytest.approx(want, abs=1e-9)


def test_aggregations_and_their_standard_errors():
    values = np.array([[1.0, -2.0], [-3.0, 4.0], [5.0, 0.0]])
    np.testing.assert_allclose(aggregate(values, "mean_abs"), [3.0, 2.0])
    np.testing.assert_allclose(aggregate(values, "median"), [1.0, 0.0])
    np.testing.assert_allclose(aggregate(values, "mean_sq"), [35 / 3, 20 / 3])
    se = np.array([[0.3, 0.0], [0.4, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(aggregate_standard_error(values, se, "mean_abs"), [0.5 / 3, 1 / 3])
    np.testing.assert_allclose(aggregate_standard_error(values, se, "median"), [0.3, 1.0])
    np.testing.assert_allclose(aggregate_standard_error(values, se, "mean_sq"),
                               [np.hypot(2 * 1 * 0.3, 2 * 3 * 0.4) / 3, 0.0])
    with pytest.raises(ConfigError, match="agg_method.*found 'mean'"):
        aggregate(values, "mean")


def test_joinsource_column_first_and_excluded_columns_not_explained(tmp_path):
    frame = _frame(5)
    frame["RecordId"] = [f"r{i}" for i in range(5)]
    config = load_config({"dataset_type": "text/csv", "label": "Target", "headers": list(frame.columns),
                          "joinsource_name_or_index": "RecordId", "excluded_columns": ["RecordId"],
                          "methods": {"shap": {"baseline": [[40, 2500.0, 5]], "seed": 0}}})
    _job(config, frame, linear, tmp_path)
    out = _out(tmp_path)
    assert out.columns.tolist() == ["RecordId", "Age_label0", "Income_label0", "Tenure_label0"]
    assert out["RecordId"].tolist() == ["r0", "r1", "r2", "r3", "r4"]
    np.testing.assert_allclose(out["Tenure_label0"], 3.0 * (frame["Tenure"] - 5), atol=1e-10)
    assert _out(tmp_path, "out_standard_errors.csv")["RecordId"].tolist() == out["RecordId"].tolist()


def test_computed_baseline_is_weighted_and_written(tmp_path):
    frame = _frame(40, seed=4)
    config = _config({"num_clusters": 3, "seed": 5})
    section, manifest, _ = _job(config, frame, linear, tmp_path)
    base = _out(tmp_path, "baseline.csv")
    w = np.array(manifest["baseline"]["weights"])
    assert len(base) == 3 and w.sum() == 40
    assert base.columns.tolist() == list(WEIGHTS)
    assert manifest["baseline"]["source"] == "k-means"
    expected_value = float(np.average(linear(base), weights=w))
    assert section["label0"]["expected_value"] == pytest.approx(expected_value, abs=1e-9)
    mean_base = np.average(base.to_numpy(dtype=float), axis=0, weights=w)
    np.testing.assert_allclose(_out(tmp_path).to_numpy(), (frame[list(WEIGHTS)].to_numpy() - mean_base) *
                               np.array(list(WEIGHTS.values())), atol=1e-9)


def test_save_local_shap_values_false_writes_only_the_baseline(tmp_path):
    config = _config({"baseline": [[40, 2500.0, 5]], "save_local_shap_values": False})
    _job(config, _frame(4), linear, tmp_path)
    assert sorted(p.name for p in (tmp_path / "explanations_shap").iterdir()) == ["baseline.csv"]
    assert (tmp_path / "analysis.json").exists()


def test_standard_errors_live_under_their_own_key():
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(12)]
    frame = pd.DataFrame(rng.normal(size=(5, 12)), columns=names)
    frame.insert(0, "y", 0)

    def interacting(f):
        a = f.to_numpy()
        return a[:, 0] * a[:, 1] + np.sin(a[:, 2]) * a[:, 3] + a.sum(axis=1)

    config = load_config({"dataset_type": "text/csv", "label": "y", "headers": list(frame.columns),
                          "methods": {"shap": {"baseline": [[0.0] * 12], "num_samples": 200, "seed": 4}}})
    section, local, extras, _ = _run(config, frame, interacting)
    se = extras["standard_error_section"]
    assert SE_SECTION_KEY == "kernel_shap_standard_errors"
    assert list(se["label0"]) == ["global_shap_values", "mean_local_standard_error", "max_local_standard_error"]
    assert list(se["label0"]["global_shap_values"]) == names
    assert max(se["label0"]["max_local_standard_error"].values()) > 0
    assert extras["standard_errors"].shape == local.shape
    assert not extras["manifest"]["exact"]
    # Additivity holds whatever the budget.
    np.testing.assert_allclose(local.sum(axis=1) + section["label0"]["expected_value"],
                               interacting(frame[names]), atol=1e-9)


def test_same_seed_same_bytes_with_one_and_two_workers(tmp_path):
    rng = np.random.default_rng(1)
    names = [f"f{i}" for i in range(13)]
    frame = pd.DataFrame(rng.normal(size=(6, 13)), columns=names)
    frame.insert(0, "y", 1)

    def model(f):
        a = f.to_numpy()
        return np.tanh(a[:, 0] * a[:, 5]) + a[:, 2] ** 2

    config = load_config({"dataset_type": "text/csv", "label": "y", "headers": list(frame.columns),
                          "methods": {"shap": {"num_clusters": 2, "num_samples": 300, "seed": 9}}})
    outputs = []
    dataset = load_dataset(config, frame)
    for workers, folder in ((1, "a"), (2, "b"), (1, "c")):
        # analyze() takes the worker count from the machine; run_job is its worker-count seam
        run_job(plan(config, dataset, model), dataset, model, workers=workers).write(tmp_path / folder)
        outputs.append([(tmp_path / folder / "explanations_shap" / n).read_bytes()
                        for n in ("out.csv", "out_standard_errors.csv", "baseline.csv")])
        analysis = json.loads((tmp_path / folder / "analysis.json").read_text())
        outputs[-1].append(json.dumps(analysis["explanations"]))
    assert outputs[0] == outputs[1] == outputs[2]


def test_use_logit_reports_log_odds():
    frame = _frame(6)

    def proba(f):
        return 1 / (1 + np.exp(-(0.05 * (f["Age"].to_numpy() - 45) + 0.2 * (f["Tenure"].to_numpy() - 5))))

    config = _config({"baseline": [[40, 2500.0, 5]], "use_logit": True, "seed": 0})
    section, local, extras, _ = _run(config, frame, proba)
    p0 = proba(pd.DataFrame({"Age": [40], "Tenure": [5]}))[0]
    assert section["label0"]["expected_value"] == pytest.approx(np.log(p0 / (1 - p0)), abs=1e-10)
    np.testing.assert_allclose(local["Age_label0"], 0.05 * (frame["Age"] - 40), atol=1e-9)
    assert extras["manifest"]["link"] == "logit"


def test_text_and_image_configs_are_not_supported():
    frame = _frame(3)
    config = _config({"text_config": {"granularity": "token", "language": "english"}})
    with pytest.raises(NotSupportedError, match="text_config"):
        _run(config, frame, linear)


@pytest.mark.parametrize("number", ["14", "16", "18"])
def test_sdk_written_shap_configs_run(number, tmp_path):
    from tests.data.conftest import sdk_config

    raw = sdk_config(number)
    config = load_config(raw)
    rng = np.random.default_rng(int(number))
    n = 30
    frame = pd.DataFrame({"Target": rng.integers(0, 2, n), "Age": rng.integers(20, 70, n),
                          "Gender": rng.integers(0, 2, n), "Income": rng.normal(4000, 900, n).round(),
                          "Occupation": rng.integers(0, 4, n)})
    if "RecordId" in raw["headers"]:
        frame["RecordId"] = np.arange(100, 100 + n)
    frame = frame[raw["headers"]]

    def model(f):
        a = f.to_numpy(dtype=float)
        return 1 / (1 + np.exp(-(0.03 * (a[:, 0] - 45) + 0.3 * a[:, 1] + 0.0005 * (a[:, 2] - 4000))))

    section, manifest, _ = _job(config, frame, model, tmp_path)
    dataset = load_dataset(config, frame)
    local = _out(tmp_path)
    shap = raw["methods"]["shap"]
    explained = shap.get("features_to_explain", dataset.features)
    label = raw["predictor"].get("label_headers", ["label0"])[0]
    assert list(section) == [label]
    assert list(section[label]["global_shap_values"]) == [f for f in dataset.features if f in explained]
    assert len(local) == n
    if "num_clusters" in shap:
        assert len(_out(tmp_path, "baseline.csv")) == shap["num_clusters"]
        assert len(manifest["baseline"]["weights"]) == shap["num_clusters"]
    if dataset.joinsource is not None:
        assert local.columns[0] == dataset.joinsource


def test_write_shap_outputs_layout_and_bytes(tmp_path):
    from clarify_engine.report._shap_outputs import write_shap_outputs

    local = pd.DataFrame({"id": ["a", "b"], "x_label0": [0.1, -2.5e-17], "y_label0": [1.0, 3.0]})
    base = pd.DataFrame({"x": [1, 2], "y": ["p", "q"]})
    paths = write_shap_outputs(tmp_path, local, local, base)
    assert [p.name for p in paths] == ["out.csv", "out_standard_errors.csv", "baseline.csv"]
    assert paths[0].read_bytes() == b"id,x_label0,y_label0\na,0.1,1.0\nb,-2.5e-17,3.0\n"
    assert paths[2].read_text() == "x,y\n1,p\n2,q\n"
    assert not list((tmp_path / "explanations_shap").glob("*.tmp"))


def test_manifest_records_the_budget_and_calls():
    config = _config({"baseline": [[40, 2500.0, 5]], "seed": 0})
    _, _, extras, _ = _run(config, _frame(4), linear)
    manifest = extras["manifest"]
    assert manifest["num_samples"] == 6 and manifest["exact"] and manifest["n_coalitions"] == 6
    assert manifest["model_rows_sent"] > 0 and manifest["labels"] == ["label0"]


def test_manifest_says_whether_the_budget_determines_every_value():
    config = _config({"baseline": [[40, 2500.0, 5]], "num_samples": 3, "seed": 0})
    _, _, extras, _ = _run(config, _frame(4), linear)
    manifest = extras["manifest"]
    assert manifest["budget_small"] is False and manifest["budget_note"] is None
    assert manifest["budget_to_determine_every_value"] == 3 and manifest["values_determined"] is True
    config = _config({"baseline": [[40, 2500.0, 5]], "num_samples": 2, "seed": 0})
    manifest = _run(config, _frame(4), linear)[2]["manifest"]
    assert manifest["budget_small"] is True and manifest["values_determined"] is False
    assert manifest["budget_note"] == budget_note(3, 2)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append((record.levelname, record.getMessage()))


def _notebook_frame(n=25, m=14, seed=3):
    rng = np.random.default_rng(seed)
    names = [f"f{j}" for j in range(m)]
    frame = pd.DataFrame(rng.normal(size=(n, m)).round(3), columns=names)
    frame.insert(0, "y", rng.integers(0, 2, n))
    return frame, names


def notebook_model(f):
    a = f.to_numpy(dtype=float)
    z = a @ np.linspace(-0.8, 0.8, a.shape[1]) + 0.6 * a[:, 0] * a[:, 3] - 0.4 * a[:, 5] * a[:, 9]
    return 1.0 / (1.0 + np.exp(-z))


def test_the_notebooks_small_budget_runs_end_to_end_and_says_so(tmp_path):
    """SHAPConfig(num_samples=15), 14 features, no seed (issue 9): the job writes every file,
    warns with the budget that would determine every value, and records it in the manifest."""
    frame, names = _notebook_frame()
    config = load_config({"dataset_type": "text/csv", "label": "y", "headers": list(frame.columns),
                          "methods": {"shap": {"baseline": [[0.0] * 14], "num_samples": 15, "use_logit": True,
                                               "save_local_shap_values": True}}})
    records = _Records()
    logger = logging.getLogger("clarify_engine")
    logger.addHandler(records)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        section, manifest, result = _job(config, frame, notebook_model, tmp_path)
    finally:
        logger.removeHandler(records)
        logger.setLevel(old_level)
    note = budget_note(14, 15)
    assert ("WARNING", "Kernel SHAP: " + note) in records.messages
    assert manifest["budget_small"] is True and manifest["budget_note"] == note
    assert manifest["budget_to_determine_every_value"] == 25 and manifest["values_determined"] is False
    assert manifest["n_coalitions"] == 15 and not manifest["exact"]
    written = json.loads((tmp_path / "run_manifest.json").read_text())
    assert written["kernel_shap"]["budget_small"] is True
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    # inf standard errors are JSON null in analysis.json (which holds no inf); the values add up
    errors = analysis["explanations"][SE_SECTION_KEY]["label0"]
    assert set(errors["global_shap_values"].values()) == {None}
    out = _out(tmp_path)
    p = notebook_model(frame[names])
    np.testing.assert_allclose(out.sum(axis=1) + analysis["explanations"]["kernel_shap"]["label0"]["expected_value"],
                               np.log(p / (1 - p)), atol=1e-9)
    assert np.isinf(_out(tmp_path, "out_standard_errors.csv").to_numpy()).all()


def test_determined_values_have_finite_standard_errors_in_analysis_json(tmp_path):
    frame, names = _notebook_frame(n=6)
    config = load_config({"dataset_type": "text/csv", "label": "y", "headers": list(frame.columns),
                          "methods": {"shap": {"baseline": [[0.0] * 14], "num_samples": 200, "seed": 1}}})
    _, manifest, _ = _job(config, frame, notebook_model, tmp_path)
    assert manifest["budget_small"] is False and manifest["values_determined"] is True
    errors = json.loads((tmp_path / "analysis.json").read_text())["explanations"][SE_SECTION_KEY]["label0"]
    assert all(isinstance(v, float) and v > 0 for v in errors["global_shap_values"].values())
