"""The demo's text part runs offline end to end: trained model, HTTP server, outputs."""

from __future__ import annotations

import json

from clarify_engine.demo._text import EXPLAINED, run_text_demo
from tests.helpers import run_cli


def test_text_demo_ranks_awful_first(tmp_path):
    analysis = run_text_demo(tmp_path).to_dict()
    top = analysis["explanations"]["kernel_shap"]["label0"]["global_top_shap_text"]["Comments"]
    assert list(top)[0] == "awful" and len(top) == 10
    written = json.loads((tmp_path / "analysis.json").read_text())
    assert written["explanations"]["kernel_shap"]["label0"]["global_top_shap_text"]["Comments"] == top
    lines = (tmp_path / "explanations_shap" / "out.jsonl").read_text().splitlines()
    assert len(lines) == EXPLAINED
    manifest = json.loads((tmp_path / "run_manifest.json").read_text())
    assert manifest["kernel_shap"]["records_explained"] == EXPLAINED


def test_cli_demo_text(tmp_path):
    proc = run_cli("demo", "--text", "--output", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert "global_top_shap_text label0 Comments: awful=" in proc.stdout
    assert (tmp_path / "demo" / "explanations_shap" / "out.jsonl").exists()
