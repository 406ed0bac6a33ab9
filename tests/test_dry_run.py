"""``validate --dry-run``: rows, model records and requests counted before any work, checked
against what a real run of the same job sends."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from clarify_engine import analyze, validate
from clarify_engine._estimate import MAX_AUTO_BASELINE, estimate_job
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL
from clarify_engine.errors import DataError
from tests.helpers import run_cli


def demo_config(**pdp):
    cfg = json.loads(DEMO_CONFIG.read_text())
    cfg["methods"]["pdp"] = {"grid_resolution": 10, **pdp}
    return cfg


def test_estimate_matches_a_real_run(tmp_path):
    cfg = demo_config(features=["Age", "Occupation"])
    df = pd.read_csv(DEMO_DATA).head(200)
    est = validate(cfg, data=df, model=str(DEMO_MODEL), dry_run=True, throughput=1000).estimate
    result = analyze(cfg, data=df, model=str(DEMO_MODEL), output_dir=tmp_path)
    manifest = result.manifest
    assert est.rows == 200
    assert est.prediction_records == 200  # post-training bias, no predicted label in the data
    assert est.pdp_records == manifest["pdp"]["model_rows_sent"] == (10 + 6) * 200
    # 6 features: 62 coalitions + empty and full, x 3 baseline rows (num_clusters), x 200 records
    assert est.shap_records == 200 * 64 * 3 >= manifest["kernel_shap"]["model_rows_sent"]
    assert est.records_per_request == 1000 and est.requests == -(-est.records // 1000)
    assert est.seconds == pytest.approx(est.records / 1000)


def test_payload_limit_and_unknown_baseline_size():
    cfg = demo_config(top_k_features=2)
    del cfg["methods"]["shap"]["num_clusters"]
    df = pd.read_csv(DEMO_DATA).head(50)
    from clarify_engine import load_dataset
    from clarify_engine.config import load_config

    config = load_config(cfg)
    dataset = load_dataset(config, df)
    est = estimate_job(config, dataset, ["shap", "pdp"], max_payload_bytes=300)
    size = len(df.drop(columns="Target").to_csv(header=False, index=False).encode()) / 50
    assert est.records_per_request == int(300 // -(-size // 1))
    assert est.shap_records == 50 * 64 * MAX_AUTO_BASELINE and est.prediction_records == 0
    assert est.pdp_records == 2 * 10 * 50  # the two largest grids
    assert any("num_clusters is absent" in n for n in est.notes)
    with pytest.raises(ValueError, match="throughput must be a positive number of records per second; found 0"):
        estimate_job(config, dataset, ["shap"], throughput=0)


def test_dry_run_needs_the_dataset():
    with pytest.raises(DataError, match=r"a dry run counts the dataset's rows: give the dataset \(--data"):
        validate(demo_config(features=["Age"]), dry_run=True)


def test_cli_dry_run(tmp_path):
    config = tmp_path / "analysis_config.json"
    config.write_text(json.dumps(demo_config(features=["Age"])))
    data = tmp_path / "data.csv"
    pd.read_csv(DEMO_DATA).head(200).to_csv(data, index=False)
    done = run_cli("validate", str(config), "--data", str(data), "--model", str(DEMO_MODEL), "--dry-run",
                   "--throughput", "500")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert ("dry run: 200 rows; model records: 40600 (predictions 200, SHAP 38400, PDP 2000); requests: 41 "
            "(1000 records per request)") in lines
    assert "dry run: about 81.2 s at the given throughput" in lines
    assert lines[-1].endswith("configuration and dataset valid")

    done = run_cli("validate", str(config), "--dry-run")
    assert done.returncode == 1
    assert "a dry run counts the dataset's rows" in done.stderr
    done = run_cli("validate", str(config), "--data", str(data), "--dry-run", "--throughput", "-3")
    assert done.returncode == 2 and "argument --throughput: expected a positive number, found '-3'" in done.stderr
