"""The page is built from aggregates and a bounded sample: its size does not grow with the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clarify_engine.report import Report, write_report
from clarify_engine.report._local import MAX_LOCAL_ROWS, sample_csv, sample_frame

N_FEATURES = 50


def _wide_job(rows: int, rng) -> tuple[dict, dict, pd.DataFrame]:
    """analysis.json, manifest and local values of a job on ``rows`` rows and 50 features."""
    features = [f"feature_{i:02d}" for i in range(N_FEATURES)]
    local = pd.DataFrame(rng.normal(size=(rows, N_FEATURES)) * np.linspace(0.01, 1, N_FEATURES),
                         columns=[f"{f}_label0" for f in features])
    global_values = {f: float(np.abs(local[f"{f}_label0"]).mean()) for f in features}
    metrics = [{"name": n, "description": f"{n} metric", "value": float(rng.normal())}
               for n in ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")]
    pdp = [{"feature_name": f, "data_type": "numerical", "feature_values": list(np.linspace(0, 1, 10)),
            "data_distribution": [0.1] * 10, "model_predictions": [list(rng.random(10))], "label_headers": ["label0"]}
           for f in features[-10:]]
    analysis = {
        "version": "1.0",
        "pre_training_bias_metrics": {"label": "y", "label_value_or_threshold": "1", "facets": {
            "sex": [{"value_or_threshold": "0", "metrics": metrics}],
            "region": [{"value_or_threshold": str(v), "metrics": metrics} for v in range(12)]}},
        "explanations": {
            "kernel_shap": {"label0": {"global_shap_values": global_values, "expected_value": 0.4}},
            "kernel_shap_standard_errors": {"label0": {"global_shap_values": {f: 0.001 for f in features}}},
            "pdp": pdp,
        },
    }
    manifest = {"dataset": {"rows": rows, "columns": features, "files": ["big.parquet"]},
                "kernel_shap": {"records": rows, "exact": False, "n_coalitions": 2048}, "elapsed_seconds": 3600.0}
    return analysis, manifest, local


def test_a_large_wide_job_gives_a_page_under_2_mb_from_at_most_1000_local_rows(tmp_path):
    rng = np.random.default_rng(0)
    analysis, manifest, local = _wide_job(100_000, rng)
    paths = write_report(tmp_path, analysis, manifest, local=local)
    html = paths[0].read_bytes()
    assert len(html) < 2_000_000, len(html)
    report = Report(analysis, manifest, local=local)
    assert len(report.local) == MAX_LOCAL_ROWS
    assert html.count(b"<img class=\"chart\"") == 2 + 1 + 1 + 1 + 10  # region (12 values: 2 charts), sex, SHAP bar, swarm, 10 PDP
    assert paths[2].stat().st_size < 3_000_000
    # the features beyond the 20 largest are in the table, not the charts
    assert b"the 20 largest of 50 features" in html
    assert html.count(b"<td>feature_") == 50


def test_sample_frame_takes_every_kth_row():
    frame = pd.DataFrame({"v": np.arange(10_500)})
    sample = sample_frame(frame, max_rows=1000)
    assert list(sample["v"][:3]) == [0, 11, 22] and len(sample) == 955
    assert len(sample_frame(frame.head(700), max_rows=1000)) == 700


def test_sample_csv_reads_every_kth_line_only(tmp_path):
    path = tmp_path / "out.csv"
    pd.DataFrame({"a_label0": np.arange(25_000) * 0.5, "b_label0": np.arange(25_000)}).to_csv(path, index=False)
    counted = sample_csv(path, max_rows=1000)
    given = sample_csv(path, n_rows=25_000, max_rows=1000)
    assert counted.equals(given)
    assert list(given.columns) == ["a_label0", "b_label0"]
    assert len(given) == 1000 and list(given["b_label0"][:3]) == [0, 25, 50]
