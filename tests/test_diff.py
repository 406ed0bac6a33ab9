"""``clarify-engine diff``: real analysis.json pairs (Clarify's own, ours with segments and
intervals), the gates, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clarify_engine._diff import GATE_FAILED, diff_analyses, load_points, parse_condition
from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.bias._bootstrap import BootstrapSpec
from clarify_engine.bias._extensions import bias_extensions
from clarify_engine.bias._grouped import resolve_methods
from clarify_engine.bias._segments import Segment, Segmentation, SegmentSpec
from clarify_engine.demo import DEMO_DATA
from clarify_engine.errors import DataError
from clarify_engine.report._segments_json import extensions_dict
from tests.bias.segment_helpers import stage_spec
from tests.helpers import run_cli

CLARIFY = Path(__file__).resolve().parent / "fixtures" / "clarify_report" / "analysis.json"


def our_analysis(df: pd.DataFrame, path: Path, extensions: bool = True) -> dict:
    """analysis.json of a bias job on ``df``: Clarify's sections, and our extension keys."""
    facets = [FacetSpec("Gender", [0])]
    common = dict(label="Target", label_values=[1], facets=facets, group_variable="Age")
    doc = {"version": "1.0",
           "pre_training_bias_metrics": bias_section(df, stage="pre_training", methods="all", **common),
           "post_training_bias_metrics": bias_section(df, stage="post_training", methods=["DI", "DPPL", "AD"],
                                                      predicted_label="pred", **common)}
    if extensions:
        reqs = [stage_spec("Target", (1,), tuple(facets), "pre_training", resolve_methods("pre_training", "all"),
                            group_variable="Age"),
                stage_spec("Target", (1,), tuple(facets), "post_training", ("AD", "DI", "DPPL"),
                            predicted_label="pred", group_variable="Age")]
        spec = SegmentSpec((Segmentation("occupation", "Occupation", "Occupation",
                                         (Segment((1, 2), "office"),), "other"),))
        doc.update(extensions_dict(bias_extensions(df, reqs, segments=spec, bootstrap=BootstrapSpec(n_boot=100))))
    path.write_text(json.dumps(doc, indent=2))
    return doc


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two releases of a model on the demo data: the new one favours Gender 1 more."""
    tmp = tmp_path_factory.mktemp("diff")
    df = pd.read_csv(DEMO_DATA)
    rng = np.random.default_rng(0)
    old = df.assign(pred=np.where(rng.random(len(df)) < 0.85, df.Target, 1 - df.Target))
    flip = (df.Gender == 0) & (old.pred == 1) & (rng.random(len(df)) < 0.3)
    new = old.assign(pred=np.where(flip, 0, old.pred))
    return (tmp / "old.json", our_analysis(old, tmp / "old.json"), tmp / "new.json",
            our_analysis(new, tmp / "new.json"), tmp)


def metric(section: dict, facet: str, name: str) -> float:
    return next(m["value"] for m in section["facets"][facet][0]["metrics"] if m["name"] == name)


def test_clarify_output_against_itself():
    done = run_cli("diff", str(CLARIFY), str(CLARIFY))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["19 metrics compared: 0 changed, 0 added, 0 removed"]
    done = run_cli("diff", str(CLARIFY), str(CLARIFY), "--fail-if", "DPL<-0.02", "--fail-if", "|DPL|>0.5")
    assert done.returncode == GATE_FAILED
    assert done.stdout.splitlines()[-1] == "FAIL: [all rows] pre DPL customer_gender_female=1 = -0.028285 meets DPL<-0.02"


def test_clarify_output_against_ours(pair, tmp_path):
    """A Clarify file and ours: only the whole-dataset sections are comparable; Clarify's facet is gone."""
    old_path, _, new_path, new, _ = pair
    points = load_points(CLARIFY)
    assert {p.scope for p in points} == {"all rows"} and len(points) == 19
    result = diff_analyses(CLARIFY, new_path)
    removed = [c for c in result.changes if c.new is None]
    assert len(removed) == 19
    assert result.lines()[-1].endswith("0 changed, " f"{len(result.changes) - 19} added, 19 removed")


def test_a_model_release_that_worsens_bias(pair):
    old_path, old, new_path, new, _ = pair
    old_dppl = metric(old["post_training_bias_metrics"], "Gender", "DPPL")
    new_dppl = metric(new["post_training_bias_metrics"], "Gender", "DPPL")
    assert abs(new_dppl) > abs(old_dppl)
    done = run_cli("diff", str(old_path), str(new_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ci = {name: next(m for m in ext["bias_confidence_intervals"]["post_training_bias_metrics"]["facets"]["Gender"][0]
                     ["metrics"] if m["name"] == "DPPL") for name, ext in (("old", old), ("new", new))}
    expected = (f"[all rows] post DPPL Gender=0: {old_dppl:.6g} [{ci['old']['lower']:.6g}, {ci['old']['upper']:.6g}] "
                f"-> {new_dppl:.6g} [{ci['new']['lower']:.6g}, {ci['new']['upper']:.6g}] ({new_dppl - old_dppl:+.6g})")
    assert expected in lines
    # pre-training metrics read labels only: unchanged, not listed
    assert not any(line.startswith("[all rows] pre ") for line in lines)
    seg_lines = [line for line in lines if line.startswith("[segment occupation/office] post DPPL")]
    assert len(seg_lines) == 1
    assert any(line.startswith("[segment occupation/other] post DI") for line in lines)

    gated = run_cli("diff", str(old_path), str(new_path), "--fail-if", f"|DPPL|>{abs(new_dppl) - 1e-9}",
                    "--fail-on-regression")
    assert gated.returncode == GATE_FAILED
    fails = [line for line in gated.stdout.splitlines() if line.startswith("FAIL: ")]
    assert f"FAIL: [all rows] post DPPL Gender=0 = {new_dppl:.6g} meets |DPPL|>{abs(new_dppl) - 1e-9}" in fails
    assert any(f.startswith("FAIL: [all rows] post DPPL Gender=0 moved away from 0: ") for f in fails)
    assert any(f.startswith("FAIL: [all rows] post DI Gender=0 moved away from 1: ") for f in fails)

    # the same files in the other order: bias went down, no regression
    back = run_cli("diff", str(new_path), str(old_path), "--fail-on-regression", "--tolerance", "0.0")
    assert not any(line.startswith("FAIL: [all rows] post DPPL") for line in back.stdout.splitlines())


def test_overlapping_intervals_are_not_a_regression(pair):
    old_path, old, _, _, tmp = pair
    nudged = json.loads(old_path.read_text())
    entry = nudged["post_training_bias_metrics"]["facets"]["Gender"][0]["metrics"]
    dppl = next(m for m in entry if m["name"] == "DPPL")
    dppl["value"] = dppl["value"] * 1.01 + (0.001 if dppl["value"] >= 0 else -0.001)  # inside its own interval
    path = tmp / "nudged.json"
    path.write_text(json.dumps(nudged))
    result = diff_analyses(old_path, path, fail_on_regression=True)
    assert result.changes and not result.failed
    plain = json.loads(old_path.read_text())
    plain.pop("bias_confidence_intervals")
    path_plain = tmp / "plain.json"
    path_plain.write_text(json.dumps(plain))
    assert diff_analyses(path_plain, path, fail_on_regression=True).failed  # no intervals: any move counts


@pytest.mark.parametrize("text, parsed", [
    ("DPPL>0.1", ("DPPL", ">", 0.1, False)), ("di <= 0.8", ("DI", "<=", 0.8, False)),
    ("|DPL|>=0.2", ("DPL", ">=", 0.2, True)), ("*>1e3", ("*", ">", 1000.0, False)),
])  # fmt: skip
def test_conditions(text, parsed):
    c = parse_condition(text)
    assert (c.metric, c.op, c.threshold, c.absolute) == parsed


@pytest.mark.parametrize("text", ["DPPL", "DPPL=0.1", "|DPPL>0.1", "DPPL>x", "> 0.1"])
def test_bad_condition(text):
    with pytest.raises(ValueError, match=r"cannot read the condition .*; write METRIC OP NUMBER"):
        parse_condition(text)
    done = run_cli("diff", str(CLARIFY), str(CLARIFY), "--fail-if", text)
    assert done.returncode == 2 and "argument --fail-if: cannot read the condition" in done.stderr


def test_bad_files(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(DataError, match=r"missing.json: no such file; give the path of an analysis.json"):
        load_points(missing)
    text = tmp_path / "notes.json"
    text.write_text("not json")
    with pytest.raises(DataError, match=r"notes.json: not a JSON file \(.*\); give the path of an analysis.json"):
        load_points(text)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(DataError, match=r"other.json: not an analysis.json \(no version, bias or explanations key\)"):
        load_points(other)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"version": "1.0", "pre_training_bias_metrics": {"facets": {"F": [
        {"value_or_threshold": "1", "metrics": [{"name": "CI", "value": "big"}]}]}}}))
    done = run_cli("diff", str(broken), str(CLARIFY))
    assert done.returncode == 1
    assert ("pre_training_bias_metrics.facets.F[0].metrics[0]: expected a number, null, \"Infinity\" or "
            "\"-Infinity\", found 'big'") in done.stderr
