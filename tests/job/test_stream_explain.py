"""analyze(..., chunk_rows=N) with SHAP, PDP and the model's predicted labels streamed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from clarify_engine import analyze
from clarify_engine.errors import PartialFailure
from clarify_engine.job import Job
from clarify_engine.job._plan_segments import SegmentsPlan
from clarify_engine.job._stream import streaming_refusal
from tests.helpers import MEMORY_CAP_CODE, ServerProcess, run_cli

FEATURES = ["a", "b", "c", "d"]


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.integers(0, 30, n),
                      "d": rng.uniform(0, 1, n)})
    label = (x.a + 0.5 * x.b + rng.logistic(size=n) > 0).astype(np.int64)
    return pd.concat([label.rename("label"), x], axis=1)


def _model(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame.loc[:, FEATURES], frame["label"])


def _config(shap: dict | None = None, **methods) -> dict:
    shap = {"num_samples": 10, "seed": 3, "agg_method": "mean_abs", "exact": False, "num_clusters": 3, **(shap or {})}
    if "baseline" in shap:
        del shap["num_clusters"]
    return {
        "dataset_type": "text/csv", "headers": ["label", *FEATURES], "label": "label",
        "label_values_or_threshold": [1], "facet": [{"name_or_index": "c", "value_or_threshold": [10]}],
        "methods": {"post_training_bias": {"methods": "all"},
                    "shap": shap,
                    "pdp": {"features": ["a", "c"], "grid_resolution": 5}, **methods},
        "predictor": {},
    }


def _files(folder) -> dict[str, bytes]:
    names = ["analysis.json", "explanations_shap/out.csv", "explanations_shap/out_standard_errors.csv",
             "explanations_shap/baseline.csv"]
    return {name: (folder / name).read_bytes() for name in names}


@pytest.mark.parametrize("chunk_rows", [600, 5000, 97])
def test_a_shap_pdp_and_predicted_label_job_streams_to_the_in_memory_bytes(tmp_path, chunk_rows):
    frame = _frame(600)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    model = _model(frame)
    config = _config()
    analyze(config, data=str(path), model=model, output_dir=tmp_path / "memory")
    result = analyze(config, data=str(path), model=model, output_dir=tmp_path / "stream", chunk_rows=chunk_rows)
    assert _files(tmp_path / "stream") == _files(tmp_path / "memory")
    manifest = json.loads((tmp_path / "stream" / "run_manifest.json").read_text())
    streaming = manifest["streaming"]
    assert streaming["chunks"] == -(-600 // chunk_rows) and streaming["chunk_rows"] == chunk_rows
    assert streaming["streamed"] == ["post_training_bias", "shap", "pdp", "predicted_labels"]
    # predicted labels: each row asked once, through the job's meter, whatever the passes over the data
    assert manifest["model"]["calls"]["predictions"]["rows"] == 600
    assert manifest["model"]["calls"]["predictions"]["calls"] == streaming["chunks"]
    assert manifest["kernel_shap"]["streaming"] == {"shards": 1, "baseline_sample_rows": 600}
    assert result.manifest["methods_run"] == ["post_training_bias", "shap", "pdp"]


def test_a_model_failing_in_the_bias_pass_fails_the_bias_stages_and_shap_still_runs(tmp_path):
    frame = _frame(200, seed=3)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    fitted = _model(frame)
    chunks_asked = []

    def model(rows: pd.DataFrame) -> np.ndarray:  # a callable model: fails on the second chunk's labels
        if len(rows) == 37:
            chunks_asked.append(len(rows))
            if len(chunks_asked) == 2:
                raise RuntimeError("the model fell over on chunk 2")
        return fitted.predict_proba(rows)[:, 1]

    config = _config({"baseline": [[0.0, 0.0, 10, 0.5]]})
    del config["methods"]["pdp"]
    with pytest.raises(PartialFailure) as info:
        analyze(config, data=str(path), model=model, chunk_rows=37, output_dir=tmp_path / "out")
    result = info.value.result
    assert [item.method for item in result.failed] == ["post_training_bias"]
    assert "the model fell over on chunk 2" in result.failed[0].reason
    assert result.manifest["methods_run"] == ["shap"] and "kernel_shap" in result.analysis["explanations"]
    assert (tmp_path / "out" / "explanations_shap" / "out.csv").exists()


def test_top_k_pdp_from_streamed_shap_and_a_given_baseline(tmp_path):
    frame = _frame(300, seed=1)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    model = _model(frame)
    config = _config({"baseline": [[0.0, 0.0, 10, 0.5]], "agg_method": "mean_sq", "save_local_shap_values": False},
                     pdp={"top_k_features": 2, "grid_resolution": 4})
    expected = analyze(config, data=str(path), model=model)
    found = analyze(config, data=str(path), model=model, chunk_rows=64, output_dir=tmp_path / "out")
    assert json.dumps(found.analysis, sort_keys=True) == json.dumps(expected.analysis, sort_keys=True)
    assert [e["feature_name"] for e in found.analysis["explanations"]["pdp"]] == ["a", "b"]
    assert sorted(p.name for p in (tmp_path / "out" / "explanations_shap").iterdir()) == ["baseline.csv"]


def test_a_median_job_streams_to_the_in_memory_bytes(tmp_path):
    frame = _frame(300, seed=4)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    model = _model(frame)
    config = _config({"agg_method": "median"})
    analyze(config, data=str(path), model=model, output_dir=tmp_path / "memory")
    analyze(config, data=str(path), model=model, chunk_rows=40, output_dir=tmp_path / "stream")
    assert _files(tmp_path / "stream") == _files(tmp_path / "memory")


def test_streaming_refusals_name_the_key_and_the_fix():
    assert streaming_refusal(Job(runnable=("pre_training_bias",), segments=SegmentsPlan())) == (
        "segment_config, bias_confidence_intervals and intersectional_facets read the rows of every segment, which "
        "a streamed job does not hold; run without --chunk-rows (chunk_rows=None) to load the dataset, or remove "
        "them from the config")
    assert streaming_refusal(Job(runnable=())) == (
        "the job computes no bias metrics and no explanations, so there is nothing to stream; run without "
        "--chunk-rows (chunk_rows=None) to load the dataset")


def test_cli_refusal_names_the_fix(tmp_path):
    frame = _frame(100)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    config = _config()
    config["methods"]["shap"]["text_config"] = {"granularity": "token", "language": "english"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    joblib.dump(_model(frame), tmp_path / "model.joblib")
    done = run_cli("analyze", "--config", str(tmp_path / "config.json"), "--data", str(path), "--output",
                   str(tmp_path / "out"), "--model", str(tmp_path / "model.joblib"), "--chunk-rows", "10")
    assert done.returncode != 0
    assert ("--chunk-rows 10: this job cannot stream: methods.shap.text_config: text explanations are not streamed "
            "(each record's text units are explained whole); run without --chunk-rows (chunk_rows=None) to load "
            "the dataset") in done.stderr


def test_cli_chunk_rows_with_a_model_server(tmp_path):
    frame = _frame(400, seed=2)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    joblib.dump(_model(frame), tmp_path / "model.joblib")
    (tmp_path / "config.json").write_text(json.dumps(_config()))
    server = ServerProcess(tmp_path / "model.joblib")
    try:
        for name, extra in (("memory", []), ("stream", ["--chunk-rows", "50"])):
            done = run_cli("analyze", "--config", str(tmp_path / "config.json"), "--data", str(path), "--output",
                           str(tmp_path / name), "--model", server.url, *extra)
            assert done.returncode == 0, done.stderr[-3000:]
    finally:
        server.stop()
    assert _files(tmp_path / "stream") == _files(tmp_path / "memory")
    manifest = json.loads((tmp_path / "stream" / "run_manifest.json").read_text())
    assert manifest["streaming"]["chunks"] == 8 and "shap" in manifest["streaming"]["streamed"]


CAPPED = MEMORY_CAP_CODE + textwrap.dedent("""
    import json, sys
    from clarify_engine import analyze
    config, small, big, url, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[6]
    analyze(config, data=small, model=url, chunk_rows=500)  # warm up: compile kernels, start thread pools
    held = cap_and_load(config, big, int(sys.argv[5]))
    result = analyze(config, data=big, model=url, chunk_rows=1000, output_dir=out)
    print(json.dumps({"held": held, "analysis": result.analysis, "manifest": result.manifest}))
""")


def test_a_shap_job_larger_than_the_memory_cap_streams_against_a_model_server(tmp_path):
    small = _frame(500, seed=5)
    model_file = tmp_path / "model.joblib"
    joblib.dump(_model(small), model_file)
    # a wide text column the model does not read makes each row about 8 KB: 20 copies of the
    # small data are 10,000 rows and 80 MB of text, more than the cap leaves to hold them
    padded = small.assign(note=["x" * 8000] * len(small))
    small_path, big_path = tmp_path / "small.csv", tmp_path / "big.csv"
    padded.to_csv(small_path, index=False)
    with open(big_path, "w") as fh:
        fh.write(padded.to_csv(index=False))
        body = padded.to_csv(index=False, header=False)
        for _ in range(19):
            fh.write(body)
    config = _config({"baseline": [[0.0, 0.0, 10, 0.5]], "num_samples": 14, "save_local_shap_values": True},
                     pdp={"features": ["a", "d"], "grid_resolution": 4})  # float columns: numerical at any size
    config["headers"] = [*config["headers"], "note"]
    config["excluded_columns"] = ["note"]
    del config["methods"]["post_training_bias"]
    server = ServerProcess(model_file)
    try:
        expected = analyze(config, data=str(small_path), model=server.url).analysis
        done = subprocess.run([sys.executable, "-c", CAPPED, json.dumps(config), str(small_path), str(big_path),
                               server.url, str(60 << 20), str(tmp_path / "out")],
                              capture_output=True, text=True, timeout=900)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["held"] is False  # the whole file does not fit under the cap
    assert out["manifest"]["streaming"]["chunks"] == 10
    assert out["manifest"]["streaming"]["streamed"] == ["shap", "pdp"]
    found = out["analysis"]["explanations"]
    want = expected["explanations"]
    # the big file is the small one 20 times over: every mean is the same, up to the sums' rounding
    for feature, value in want["kernel_shap"]["label0"]["global_shap_values"].items():
        assert found["kernel_shap"]["label0"]["global_shap_values"][feature] == pytest.approx(value, rel=1e-12)
    for got, entry in zip(found["pdp"], want["pdp"]):
        assert got["feature_values"] == entry["feature_values"]
        assert got["data_distribution"] == pytest.approx(entry["data_distribution"], rel=1e-12)
        np.testing.assert_allclose(got["model_predictions"], entry["model_predictions"], rtol=1e-12)
    local = pd.read_csv(tmp_path / "out" / "explanations_shap" / "out.csv")
    assert len(local) == 10_000
    first = local.iloc[:500].to_numpy()
    for i in range(0, 10_000, 500):  # every copy's rows, in row order (the model's BLAS may move the last bit)
        np.testing.assert_allclose(local.iloc[i:i + 500].to_numpy(), first, rtol=1e-9, atol=1e-15)
