"""The committed reliability audit runs (on a few cases, nothing timed), so it cannot rot."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO


def test_reliability_audit_runs_and_sorts_every_case():
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "reliability_audit.py"), "--only", "config", "data",
                           "--scale", "0.02"], capture_output=True, text=True, timeout=600)
    assert "| config | 40 |" in proc.stdout, proc.stdout + proc.stderr
    assert "| data | 6 |" in proc.stdout, proc.stdout + proc.stderr
    # The exit status says whether any case was a crash, hang, wrong or unsafe outcome.
    bad = [line for line in proc.stdout.splitlines() if line.startswith("- ")]
    assert proc.returncode == (1 if bad else 0), proc.stdout
