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


def test_shap_throughput_against_shap_and_the_floor():
    out = run("shap_throughput.py", "--quick", "--repeat", "1", "--models", "logreg", "--ms", "10", "--ks", "1")
    assert "| ours rows/s | floor rows/s | shap rows/s |" in out
    assert "| logreg | 10 | 1 |" in out


@pytest.mark.parametrize("transport", ["http", "sagemaker"])
def test_endpoint_throughput_against_the_ceiling(transport):
    out = run("endpoint_throughput.py", "--rows", "2000", "--repeat", "1", "--concurrency", "1", "2",
              "--transport", transport)
    assert f"transport={transport}" in out
    lines = [line.split() for line in out.splitlines() if line.startswith(("csv ", "jsonlines "))]
    assert [(cells[0], cells[1]) for cells in lines] == [("csv", "1"), ("csv", "2"), ("jsonlines", "1"),
                                                         ("jsonlines", "2")]
    assert all(cells[4].endswith("%") for cells in lines)  # client/ceiling printed for each cell
