"""benchmarks/image_shap.py runs end to end on a tiny input (figures are not checked: tests do not time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "image_shap.py"


@pytest.mark.timeout(300)
def test_the_image_benchmark_prints_ours_the_floor_and_shap_side_by_side():
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| image | M | images sent | ours s | floor s | ours/floor | shap s |" in done.stdout
    assert "| image | M | budget | ours RMS | ours images | shap RMS | shap images | ours/shap |" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| chelsea |")]
    assert len(rows) == 3 and all("nan" not in row for row in rows)
