"""Segments, intervals and intersections end to end: Python API, CLI and container entrypoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import clarify_engine
from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from tests.helpers import run_cli

EXTENSIONS = {
    "segment_config": [{"name_or_index": "Age", "segments": [["[18, 35)"], ["[35, 50)", "[65, 120]"]],
                        "config_name": "ages", "display_aliases": ["young", "mid+senior", "other"]}],
    "bias_confidence_intervals": {"n_boot": 50, "seed": 3},
    "intersectional_facets": [{"name_or_index": ["Gender", "Occupation"], "min_group_size": 40}],
}


def config(extensions=True, with_predictions=True) -> dict:
    cfg = json.loads(DEMO_CONFIG.read_text())
    del cfg["methods"]["shap"], cfg["methods"]["pdp"]
    cfg["group_variable"] = "YearsEmployed"
    if with_predictions:
        del cfg["predictor"]
        cfg["headers"] = [*cfg["headers"], "Predicted"]
        cfg["predicted_label"] = "Predicted"
    if extensions:
        cfg.update(EXTENSIONS)
    return cfg


@pytest.fixture(scope="module")
def data():
    import joblib

    frame = pd.read_csv(DEMO_DATA)
    model = joblib.load(DEMO_MODEL)
    frame["Predicted"] = model.predict(frame.drop(columns=["Target"]).to_numpy(dtype=float))
    return frame


def test_python_api(data):
    result = clarify_engine.analyze(config(), data=data)
    out = result.to_dict()
    plain = clarify_engine.analyze(config(extensions=False), data=data).to_dict()
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        assert out[key] == plain[key]  # Clarify's sections do not change
    assert {"segment_analysis", "bias_confidence_intervals", "intersectional_bias_metrics"} <= set(out)
    assert not any(n["method"] in EXTENSIONS for n in result.manifest.get("not_run", []))
    (ages,) = out["segment_analysis"]
    assert [s["display_alias"] for s in ages["segments"]] == ["young", "mid+senior", "other"]
    young = ages["segments"][0]
    rows = data[(data.Age >= 18) & (data.Age < 35)]
    assert young["num_records"] == len(rows)
    want = bias_section(rows, label="Target", label_values=[1], facets=[FacetSpec("Gender", [0])],
                        stage="post_training", methods=["DPPL", "DI"], predicted_label="Predicted",
                        group_variable="YearsEmployed")
    got = {m["name"]: m["value"] for m in young["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]}
    for m in want["facets"]["Gender"][0]["metrics"]:
        assert got[m["name"]] == pytest.approx(m["value"], abs=1e-12)
    inter = out["intersectional_bias_metrics"]
    assert list(inter["pre_training_bias_metrics"]["facets"]) == ["Gender|Occupation"]
    assert inter["min_group_size"] == {"Gender|Occupation": 40}
    ci = out["bias_confidence_intervals"]
    assert (ci["n_boot"], ci["seed"]) == (50, 3)
    assert ci["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]


def test_with_predictions_from_the_model():
    cfg = config(with_predictions=False)
    out = clarify_engine.analyze(cfg, data=DEMO_DATA, model=str(DEMO_MODEL)).to_dict()
    post = out["segment_analysis"][0]["segments"][0]["post_training_bias_metrics"]
    values = {m["name"]: m["value"] for m in post["facets"]["Gender"][0]["metrics"]}
    assert isinstance(values["DPPL"], float) and isinstance(values["DI"], float)
    assert out["bias_confidence_intervals"]["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]


def test_without_bias_methods_the_keys_are_not_run(data):
    cfg = config()
    cfg["methods"] = {"pdp": {"grid_resolution": 5, "features": ["Age"]}}
    cfg.pop("predicted_label")
    cfg["headers"] = cfg["headers"][:-1]
    cfg["predictor"] = {"content_type": "text/csv", "accept_type": "text/csv"}
    result = clarify_engine.analyze(cfg, data=data.drop(columns="Predicted"), model=str(DEMO_MODEL))
    reasons = {n["method"]: n["reason"] for n in result.manifest["not_run"]}
    assert reasons["segment_config"] == ("segment_config applies to the bias metrics, and no bias method runs; add "
                                         "methods.pre_training_bias or methods.post_training_bias")
    assert "segment_analysis" not in result.to_dict()


def test_cli_and_container(tmp_path, data):
    cfg_path = tmp_path / "analysis_config.json"
    cfg_path.write_text(json.dumps(config()))
    data_path = tmp_path / "data.csv"
    data.to_csv(data_path, index=False)
    done = run_cli("analyze", "--config", str(cfg_path), "--data", str(data_path), "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    cli = json.loads((tmp_path / "out" / "analysis.json").read_text())

    root = tmp_path / "root"
    (root / "opt/ml/processing/input/config").mkdir(parents=True)
    (root / "opt/ml/processing/input/data").mkdir(parents=True)
    shutil.copy(cfg_path, root / "opt/ml/processing/input/config/analysis_config.json")
    shutil.copy(data_path, root / "opt/ml/processing/input/data/data.csv")
    done = run_cli("container", env={"CLARIFY_PROCESSING_ROOT": str(root)})
    assert done.returncode == 0, done.stderr
    container = json.loads(Path(root / "opt/ml/processing/output/analysis.json").read_text())
    api = clarify_engine.analyze(config(), data=data).to_dict()
    for key in ("segment_analysis", "bias_confidence_intervals", "intersectional_bias_metrics"):
        assert cli[key] == container[key] == api[key]
