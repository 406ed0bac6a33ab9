"""Each benchmark runs end to end on a tiny input, as a subprocess (so none of them rots).

The figures are not checked here: benchmarks measure, tests do not time. What is checked is
that every script runs, compares against its reference in the same run, and prints its table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

pytestmark = pytest.mark.timeout(300)


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bias_throughput():
    out = run("bias_throughput.py", "--sizes", "2000", "--no-smclarify", "--repeats", "1")
    for row in ("categorical  all but FT", "categorical  FT", "continuous   all but FT", "continuous   FT"):
        assert f"2000 {row}" in out


def test_bias_throughput_only_ft():
    out = run("bias_throughput.py", "--sizes", "2500", "--no-smclarify", "--repeats", "1", "--only-ft",
              "--no-compile-time")
    assert "2500 categorical  FT" in out and "2500 continuous   FT" in out
    assert "all but FT" not in out and "empty cache" not in out


def test_bias_throughput_analyze_runs_the_whole_job():
    out = run("bias_throughput.py", "--sizes", "2000", "--no-smclarify", "--repeats", "1", "--analyze")
    assert "ours+files s" in out
    row = next(line for line in out.splitlines() if line.split()[:1] == ["2000"])
    assert len(row.split()) == 11 and row.split()[-1] == "-"
    out = run("bias_throughput.py", "--sizes", "2000", "--no-smclarify", "--repeats", "1", "--analyze",
              "--facet-kinds", "categorical")
    assert "(cat)" in out and "(cat + cont)" not in out


def test_bias_throughput_segments_and_intervals():
    out = run("bias_throughput.py", "--sizes", "2000", "--no-smclarify", "--no-ft", "--repeats", "1", "--segments",
              "--n-boot", "20")
    assert "5 segments s" in out and "20 replicates s" in out
    row = next(line for line in out.splitlines() if line.split()[:1] == ["2000"] and line.count("x") == 2)
    assert len(row.split()) == 6


def test_shap_throughput_against_shap_and_the_floor():
    out = run("shap_throughput.py", "--quick", "--repeat", "1", "--models", "logreg", "--ms", "10", "--ks", "1")
    assert "| ours rows/s | floor rows/s | shap rows/s |" in out
    assert "| logreg | 10 | 1 |" in out


def test_shap_throughput_exact_paths_and_accuracy_per_call():
    out = run("shap_throughput.py", "--exact", "--accuracy", "--quick", "--repeat", "1", "--rows", "6", "--ms", "8",
              "--ks", "2", "--seeds", "1", "--factors", "1", "--models", "gbm")
    assert "| model | exact rows/s | shap Tree/LinearExplainer rows/s | Kernel SHAP rows/s |" in out
    assert out.count("| gbm margin |") == 2  # --models gbm: one row in the exact table, one in the accuracy table
    assert "| rf proba |" not in out
    assert ("| model | budget | ours | ours, plain Kernel SHAP | KernelExplainer | PermutationExplainer | ours / Kernel "
            "| ours / Permutation |") in out


@pytest.mark.parametrize("transport", ["http", "sagemaker"])
def test_endpoint_throughput_against_the_ceiling(transport):
    out = run("endpoint_throughput.py", "--rows", "2000", "--repeat", "1", "--concurrency", "1", "2",
              "--transport", transport)
    assert f"transport={transport}" in out
    lines = [line.split() for line in out.splitlines() if line.startswith(("csv ", "jsonlines "))]
    assert [(cells[0], cells[1]) for cells in lines] == [("csv", "1"), ("csv", "2"), ("jsonlines", "1"),
                                                         ("jsonlines", "2")]
    assert all(cells[4].endswith("%") for cells in lines)  # client/ceiling printed for each cell


def test_cold_start_cold_then_warm():
    out = run("cold_start.py", "--workloads", "bias", "validate", "version", "--rows", "300")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(rows) == {"bias", "validate", "version"}
    assert rows["bias"][-1] == "yes/no"  # compiled on the empty cache, loaded from it the second time
    assert rows["validate"][-1] == "no/no" and rows["version"][-1] == "no/no"
    assert all(float(cell) >= 0 for cells in rows.values() for cell in cells[1:5])


def test_cold_start_target_cost_host_vs_generic():
    out = run("cold_start.py", "--target-cost", "--rows", "2000", "--repeats", "1", "--rounds", "1")
    assert [line.split()[:2] for line in out.splitlines()[2:4]] == [["1", "host"], ["1", "generic"]]
    assert out.splitlines()[-2].startswith("best bias: host ") and "generic/host" in out.splitlines()[-1]


def test_text_shap_against_the_floor_and_shap():
    out = run("text_shap.py", "--records", "4", "--num-samples", "40")
    assert "| granularity | ours rec/s | floor rec/s | ours/floor time | ours/floor CPU (median) | shap rec/s |" in out
    assert "| sentence |" in out and "| token |" in out


def test_text_shap_over_http_against_the_floor():
    out = run("text_shap.py", "--records", "3", "--num-samples", "30", "--http", "--repeat", "1",
              "--granularities", "sentence")
    assert "served over HTTP, batched client" in out and "| sentence |" in out


def test_job_plan_overhead_runs_a_whole_job():
    out = run("job_plan_overhead.py")
    assert "kernel_shap" in out and "pdp" in out and "total" in out


def test_scale(tmp_path):
    out = run("scale.py", "--sizes", "3000", "--chunk-rows", "1000", "--dir", str(tmp_path))
    for row in ("parquet  pyarrow read", "parquet  stream, no FT", "parquet  stream, FT", "csv      pyarrow read",
                "csv      stream, no FT", "csv      stream, FT"):
        assert f"3000 {row}" in out
    # chunks/passes: one pass without FT; with FT at least one more (the gather, or the streamed kNN's)
    passes = {line.split()[1] + " " + line.split()[3]: int(line.split()[-1].split("/")[1])
              for line in out.splitlines() if line.lstrip().startswith("3000 ") and "stream" in line}
    assert {k: v for k, v in passes.items() if "no" in k} == {"parquet no": 1, "csv no": 1}
    assert all(v > 1 for k, v in passes.items() if "FT" in k) and len(passes) == 4

def test_cluster_scaling_checks_the_bytes_and_prints_its_table():
    out = run("cluster_scaling.py", "--bias-rows", "600", "--shap-rows", "12", "--workers", "1", "--repeat", "1")
    assert "results byte-identical to one process in every cell" in out
    assert "| job | one process rows/s | 1 workers rows/s |" in out
    assert out.count("| bias |") == 1 and out.count("| shap |") == 1
