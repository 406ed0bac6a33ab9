"""``clarify_engine._io.atomic_write`` and the writers that use it (analysis.json, SHAP CSVs)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from clarify_engine._io import atomic_write
from clarify_engine.report._analysis_json import write_outputs
from clarify_engine.report._shap_outputs import write_shap_outputs


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    assert atomic_write(target, "new ✓") == target
    assert target.read_text(encoding="utf-8") == "new ✓"
    atomic_write(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_planted_tmp_symlink_does_not_redirect_the_analysis_json_write(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    # The names the old writers used for their temporary files.
    for name in ("analysis.json.tmp", "run_manifest.json.tmp"):
        os.symlink(victim, out / name)
    write_outputs(out, {"version": "1.0"}, {"engine": "x"})
    assert victim.read_text() == "keep me"
    assert (out / "analysis.json").read_text().startswith("{")
    assert not (out / "analysis.json").is_symlink()
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json", "analysis.json.tmp", "run_manifest.json",
                                                    "run_manifest.json.tmp"]


def test_a_planted_tmp_symlink_does_not_redirect_the_shap_csv_write(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    folder = tmp_path / "explanations_shap"
    folder.mkdir()
    os.symlink(victim, folder / "out.csv.tmp")
    write_shap_outputs(tmp_path, local=pd.DataFrame({"Age_label0": [0.5]}))
    assert victim.read_text() == "keep me"
    assert (folder / "out.csv").read_text() == "Age_label0\n0.5\n"


def test_a_failed_replace_keeps_the_target_and_removes_the_temporary(tmp_path):
    target = tmp_path / "results"
    target.mkdir()
    (target / "inside.txt").write_text("old")
    with pytest.raises(OSError):
        atomic_write(target, "x")  # a folder cannot be replaced by a file
    assert (target / "inside.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_a_missing_folder_is_an_os_error_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        atomic_write(tmp_path / "nowhere" / "a.txt", "x")
