"""analyze(..., chunk_rows=N): the bias job from chunks gives the in-memory job's analysis.json."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pc
import pyarrow.parquet as pq
import pytest

from clarify_engine import analyze
from clarify_engine.errors import NotSupportedError
from tests.helpers import MEMORY_CAP_CODE, run_cli


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    race = rng.integers(0, 4, n)
    age = rng.uniform(18, 90, n).round(3)
    label = (x[:, 0] - 0.4 * (race == 1) + rng.logistic(size=n) > 0).astype(np.int64)
    pred = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.int64)
    return pd.DataFrame({"label": label, "race": race, "age": age, "group": rng.integers(0, 5, n),
                         "x0": x[:, 0], "x1": x[:, 1], "pred": pred})


def _config(methods: dict | None = None, **extra) -> dict:
    config = {
        "dataset_type": "text/csv", "headers": list(_frame(1).columns), "label": "label",
        "label_values_or_threshold": [1], "predicted_label": "pred", "group_variable": "group",
        "facet": [{"name_or_index": "race", "value_or_threshold": [1]}, {"name_or_index": "age",
                                                                           "value_or_threshold": [40]}],
        "methods": methods or {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
    }
    config.update(extra)
    return config


@pytest.mark.parametrize("kind, chunk_rows", [("csv", 97), ("parquet", 250), ("csv", 5000)])
def test_streamed_job_writes_the_in_memory_analysis(tmp_path, kind, chunk_rows):
    frame = _frame(3000)
    if kind == "csv":
        path = tmp_path / "data.csv"
        frame.to_csv(path, index=False)
        config = _config()
    else:
        path = tmp_path / "data.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=400)
        config = _config(dataset_type="application/x-parquet")
    expected = analyze(config, data=str(path))
    found = analyze(config, data=str(path), chunk_rows=chunk_rows, output_dir=tmp_path / "out")
    assert json.dumps(found.analysis, sort_keys=True) == json.dumps(expected.analysis, sort_keys=True)
    assert "FT" in json.dumps(found.analysis)
    manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text())
    chunks = -(-3000 // chunk_rows)
    assert manifest["streaming"]["chunks"] == chunks and manifest["streaming"]["chunk_rows"] == chunk_rows
    assert manifest["dataset"]["rows"] == 3000 and manifest["methods_run"] == ["pre_training_bias",
                                                                                "post_training_bias"]


def test_a_job_that_holds_rows_is_refused_before_work_with_the_reason_and_the_fix(tmp_path):
    path = tmp_path / "data.csv"
    _frame(200).to_csv(path, index=False)
    config = _config({"pre_training_bias": {"methods": "all"}, "report": {"name": "report"}})
    with pytest.raises(NotSupportedError) as info:
        analyze(config, data=str(path), chunk_rows=50, output_dir=tmp_path / "out")
    assert str(info.value) == (
        "--chunk-rows 50: this job cannot stream: methods.report: the report's tables and charts read every row "
        "of the dataset (bias frame, local SHAP values for the beeswarm), which a streamed job does not hold; run "
        "without --chunk-rows (chunk_rows=None) to load the dataset, or remove methods.report")
    assert not (tmp_path / "out").exists()


def test_chunk_rows_with_a_cluster_is_refused_before_work_naming_both_and_the_fix(tmp_path):
    path = tmp_path / "data.csv"
    _frame(200).to_csv(path, index=False)
    with pytest.raises(NotSupportedError) as info:  # refused before any connection: the address is never dialled
        analyze(_config(), data=str(path), chunk_rows=50, cluster="tcp://127.0.0.1:1", output_dir=tmp_path / "out")
    assert str(info.value).startswith("--chunk-rows 50 with --cluster: a streamed job runs in this process")
    assert "Pass --chunk-rows alone for a dataset larger than memory, or --cluster alone" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_cli_chunk_rows(tmp_path):
    path = tmp_path / "data.csv"
    _frame(500).to_csv(path, index=False)
    (tmp_path / "config.json").write_text(json.dumps(_config()))
    for name, extra in (("memory", []), ("stream", ["--chunk-rows", "64"])):
        done = run_cli("analyze", "--config", str(tmp_path / "config.json"), "--data", str(path), "--output",
                       str(tmp_path / name), *extra)
        assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "stream" / "analysis.json").read_text() == (tmp_path / "memory" / "analysis.json").read_text()
    assert json.loads((tmp_path / "stream" / "run_manifest.json").read_text())["streaming"]["chunks"] == 8


CAPPED = MEMORY_CAP_CODE + textwrap.dedent("""
    import json, sys
    from clarify_engine import analyze
    config, small, big = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    analyze(config, data=small, chunk_rows=5000)  # warm up: compile kernels, start thread pools
    held = cap_and_load(config, big, int(sys.argv[4]))
    result = analyze(config, data=big, chunk_rows=100_000)
    print(json.dumps({"held": held, "analysis": result.analysis, "streaming": result.manifest["streaming"]}))
""")


def _values(analysis: dict) -> dict:
    out = {}
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for facet, entries in analysis[stage]["facets"].items():
            for entry in entries:
                for metric in entry["metrics"]:
                    out[(stage, facet, entry["value_or_threshold"], metric["name"])] = metric["value"]
    return out


def test_a_dataset_larger_than_the_memory_cap_streams_to_the_values_of_a_small_copy(tmp_path):
    small = _frame(2000, seed=5)
    small_path, big_path = tmp_path / "small.csv", tmp_path / "big.csv"
    small.to_csv(small_path, index=False)
    # the small copy 600 times over: every count scales, so every ratio (every metric but FT) is the same
    big = pa.Table.from_pandas(small, preserve_index=False)
    pc.write_csv(pa.concat_tables([big] * 600), big_path)  # 1.2M rows, about 55 MB of text
    methods = {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": ["DPPL", "DI", "AD",
                                                                                           "CDDPL", "TE"]}}
    config = _config(methods)
    expected = _values(analyze(config, data=str(small_path)).analysis)
    done = subprocess.run([sys.executable, "-c", CAPPED, json.dumps(config), str(small_path), str(big_path),
                           str(100 << 20)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["held"] is False  # the whole file does not fit under the cap
    assert out["streaming"]["chunks"] == 12
    found = _values(out["analysis"])
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
