"""Reports of real jobs of every kind: what each section shows."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

from clarify_engine.report import Report, write_report
from clarify_engine.report._sentences import sentence
from tests.report.jobs import page, run_job

ALL = {
    "pre_training_bias": {"methods": "all"},
    "post_training_bias": {"methods": "all"},
    "shap": {"num_clusters": 2, "seed": 7, "save_local_shap_values": True},
    "pdp": {"grid_resolution": 5, "top_k_features": 3},
}
FACETS = [
    {"name_or_index": "Gender", "value_or_threshold": [0]},
    {"name_or_index": "Occupation"},
    {"name_or_index": "Age", "value_or_threshold": [40]},
    {"name_or_index": "YearsEmployed", "value_or_threshold": [99, 98]},  # occurs in no row
]


@pytest.fixture(scope="module")
def all_job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("all") / "out"
    result = run_job(folder, ALL)
    return folder, result


@pytest.fixture(scope="module")
def bias_job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bias") / "out"
    result = run_job(folder, {"pre_training_bias": {"methods": "all"}}, facet=FACETS, group_variable=None)
    return folder, result


def _metric_rows(p):
    return [r for r in p.rows if len(r) == 4 and r[0] != "name"]


def test_job_with_every_method_writes_three_files_with_every_metric_facet_value_and_plot(all_job):
    folder, result = all_job
    analysis = result.to_dict()
    assert result.manifest["report"]["files"] == ["report.html", "report.ipynb", "report.pdf"]
    assert "report" not in [n.method for n in result.not_run]
    p = page(folder)
    assert p.heading_texts("h1") == ["Analysis Report"]
    assert "We report the following SageMaker analysis." in p.text
    assert p.heading_texts("h2") == ["Job summary", "Pre-training Bias Metrics", "Post-training Bias Metrics",
                                     "Explanations: Kernel SHAP", "Partial Dependence Plots"]
    rows = _metric_rows(p)
    alts = p.chart_alts()
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        section = analysis[key]
        assert "We computed the bias metrics for the label Target using label value(s)/threshold 1 ." in p.text
        for facet, entries in section["facets"].items():
            assert f"• {facet}" in p.heading_texts("h3")
            assert f"Bias metrics of facet {facet}" in alts
            for entry in entries:
                assert f"Value(s)/Threshold: {entry['value_or_threshold']}" in p.heading_texts("h4")
                for metric in entry["metrics"]:
                    shown = "None" if metric["value"] is None else f"{metric['value']:.6g}"
                    assert [metric["name"], metric["description"], shown, metric.get("error", "NaN")] in rows
                    reading = sentence(metric["name"], metric["value"], metric.get("error"), facet,
                                       entry["value_or_threshold"])
                    assert reading in p.text
    assert sum(a.startswith("Bias metrics of facet") for a in alts) == 4  # 2 facets x 2 stages, 6 values fit a chart
    for label, values in analysis["explanations"]["kernel_shap"].items():
        assert f"Global SHAP values of output {label}" in alts
        assert f"Local SHAP values of output {label}" in alts
        for feature, value in values["global_shap_values"].items():
            assert [feature, f"{value:.6g}",
                    f"{analysis['explanations']['kernel_shap_standard_errors'][label]['global_shap_values'][feature]:.6g}"] in p.rows
    for entry in analysis["explanations"]["pdp"]:
        assert f"Partial dependence on {entry['feature_name']}" in alts
    assert all(img["src"].startswith("data:image/png;base64,") for img in p.images)
    # the summary: data, label, facets, group variable, model, methods, calls, time
    facts = {r[0]: r[1] for r in p.rows if len(r) == 2}
    assert facts["Rows"] == "400"
    assert facts["Label"] == "Target" and facts["Positive label value(s)/threshold"] == "1"
    assert facts["Facets"] == "Gender: 0; Occupation: every value"
    assert facts["Group variable"] == "Age"
    assert facts["Model"].startswith("in-process model")
    assert facts["Methods run"] == "pre_training_bias, post_training_bias, shap, pdp"
    calls = result.manifest["kernel_shap"]["model_calls"] + result.manifest["pdp"]["model_calls"]
    calls += result.manifest["model"].get("requests", {}).get("requests_sent", 0)
    assert facts["Model calls"].startswith(f"{calls} (")
    assert facts["Time taken"].endswith(" s")
    assert facts["Values exact"] == "yes: every coalition enumerated"
    assert facts["Baseline"].startswith("k-means, 2 row(s), weights ")


def test_group_sizes_and_rates_match_the_data_and_the_metrics(all_job):
    folder, result = all_job
    stats = {(g["facet"], g["value_or_threshold"]): g for g in result.manifest["report"]["group_stats"]}
    frame = pd.read_csv(folder.parent / "loans_small.csv")
    d = frame["Gender"] == 0
    g = stats[("Gender", "0")]
    assert (g["n_d"], g["n_a"]) == (d.sum(), (~d).sum())
    assert g["label_rate_d"] == pytest.approx((frame.loc[d, "Target"] == 1).mean())
    assert g["label_rate_a"] == pytest.approx((frame.loc[~d, "Target"] == 1).mean())
    pre = result.to_dict()["pre_training_bias_metrics"]["facets"]
    post = result.to_dict()["post_training_bias_metrics"]["facets"]
    for facet, entries in pre.items():
        for entry, post_entry in zip(entries, post[facet]):
            s = stats[(facet, entry["value_or_threshold"])]
            by_name = {m["name"]: m["value"] for m in entry["metrics"]}
            post_by_name = {m["name"]: m["value"] for m in post_entry["metrics"]}
            assert by_name["CI"] == pytest.approx((s["n_a"] - s["n_d"]) / (s["n_a"] + s["n_d"]))
            assert by_name["DPL"] == pytest.approx(s["label_rate_a"] - s["label_rate_d"])
            assert post_by_name["DPPL"] == pytest.approx(s["pred_rate_a"] - s["pred_rate_d"])
    p = page(folder)
    assert ["rows", f"{g['n_d']:,}", f"{g['n_a']:,}"] in p.rows
    assert ["positive label rate", f"{100 * g['label_rate_d']:.1f}%", f"{100 * g['label_rate_a']:.1f}%"] in p.rows
    assert ["positive prediction rate", f"{100 * g['pred_rate_d']:.1f}%", f"{100 * g['pred_rate_a']:.1f}%"] in p.rows


def test_bias_only_job_with_several_facets_and_failed_metrics(bias_job):
    folder, result = bias_job
    p = page(folder)
    assert p.heading_texts("h2") == ["Job summary", "Pre-training Bias Metrics"]
    facets = result.to_dict()["pre_training_bias_metrics"]["facets"]
    assert list(facets) == ["Gender", "Occupation", "Age", "YearsEmployed"]
    age = facets["Age"][0]["value_or_threshold"]
    assert age.startswith("(40, ") and f"Value(s)/Threshold: {age}" in p.heading_texts("h4")
    rows = _metric_rows(p)
    # CDDL without a group variable fails as in Clarify's own report: value None, the error shown
    assert ["CDDL", "Conditional Demographic Disparity in Labels (CDDL)", "None",
            "Group variable is empty or not provided"] in rows
    assert "CDDL could not be computed: Group variable is empty or not provided." in p.text
    failed = [m for m in facets["YearsEmployed"][0]["metrics"] if m["value"] is None]
    assert {m["name"] for m in failed} >= {"CI", "DPL"}
    for m in failed:
        assert [m["name"], m["description"], "None", m["error"]] in rows
    assert ("Facet 'YearsEmployed' value(s)/threshold '99,98' occurs in no row: its metrics compare an empty "
            "group; check the value's spelling and type against the data") in p.text
    assert ["rows", "0", "400"] in p.rows
    # the group sizes behind every computed CI agree with it, the continuous facet included
    stats = {(g["facet"], g["value_or_threshold"]): g for g in result.manifest["report"]["group_stats"]}
    for facet, entries in facets.items():
        for entry in entries:
            s = stats[(facet, entry["value_or_threshold"])]
            ci = next(m["value"] for m in entry["metrics"] if m["name"] == "CI")
            if ci is not None:
                assert ci == pytest.approx((s["n_a"] - s["n_d"]) / (s["n_a"] + s["n_d"]))
    assert "Explanations" not in " ".join(p.heading_texts("h2"))
    assert p.images and all(a.startswith("Bias metrics of facet") for a in p.chart_alts())


def test_shap_only_job_shows_budget_error_bars_and_the_baseline(tmp_path):
    folder = tmp_path / "out"
    result = run_job(folder, {"shap": {"baseline": [[40, 1, 50000, 2, 5, 650]], "num_samples": 40, "seed": 1}},
                     facet=None, label_values_or_threshold=None, group_variable=None)
    p = page(folder)
    assert p.heading_texts("h2") == ["Job summary", "Explanations: Kernel SHAP"]
    facts = {r[0]: r[1] for r in p.rows if len(r) == 2}
    assert facts["Values exact"] == "no: sampled estimate, standard errors shown"
    assert facts["Coalitions per row (budget)"] == str(result.manifest["kernel_shap"]["n_coalitions"])
    assert facts["Baseline"].startswith(result.manifest["kernel_shap"]["baseline"]["source"] + ", 1 row(s)")
    assert ["Age", "Gender", "Income", "Occupation", "YearsEmployed", "CreditScore"] in p.rows
    assert ["40", "1", "50000", "2", "5", "650"] in p.rows
    errors = result.to_dict()["explanations"]["kernel_shap_standard_errors"]["label0"]["global_shap_values"]
    assert any(v > 0 for v in errors.values())
    assert "Global SHAP values; error bars: ± one standard error of the estimate." in p.text
    assert p.chart_alts() == ["Global SHAP values of output label0", "Local SHAP values of output label0"]
    assert "Expected value (average model output on the baseline):" in p.text


def test_small_budget_says_values_and_errors_are_undetermined(tmp_path):
    folder = tmp_path / "out"
    result = run_job(folder, {"shap": {"baseline": [[40, 1, 50000, 2, 5, 650]], "num_samples": 5, "seed": 1}},
                     facet=None, label_values_or_threshold=None, group_variable=None)
    p = page(folder)
    facts = {r[0]: r[1] for r in p.rows if len(r) == 2}
    assert facts["Values exact"] == "no: too few coalitions to determine every value (minimum-norm estimate)"
    assert facts["Budget"] == result.manifest["kernel_shap"]["budget_note"]
    assert "undetermined (budget too small)" in p.text
    assert "error bars" not in p.text


def test_pdp_only_job_draws_each_feature_and_shows_failed_entries(tmp_path):
    folder = tmp_path / "out"
    result = run_job(folder, {"pdp": {"features": ["Income", "Occupation"], "grid_resolution": 4}},
                     facet=None, label_values_or_threshold=None, group_variable=None)
    p = page(folder)
    assert p.heading_texts("h2") == ["Job summary", "Partial Dependence Plots"]
    assert p.chart_alts() == ["Partial dependence on Income", "Partial dependence on Occupation"]
    # an entry Clarify marks with an error is printed, not drawn
    analysis = json.loads((folder / "analysis.json").read_text())
    analysis["explanations"]["pdp"].append({"feature_name": "Broken", "error": "Feature Broken has no values"})
    write_report(tmp_path / "again", analysis, result.manifest)
    again = page(tmp_path / "again")
    assert "Feature Broken has no values" in again.text
    assert len(again.images) == 2


def test_methods_not_run_and_warnings_are_listed_with_their_reasons(all_job, tmp_path):
    folder, result = all_job
    manifest = dict(result.manifest)
    manifest["not_run"] = [{"method": "segment_config", "reason": "per-segment bias is not implemented yet"}]
    analysis = dict(result.to_dict())
    analysis["warnings"] = [{"message": "Column Income has 3 missing values", "code": "missing"}]
    manifest["warnings"] = [{"message": "Column Income has 3 missing values"}, {"message": "Endpoint throttled twice"},
                            {"code": "typing", "where": "facet Age", "message": "Age typed continuous.",
                             "fix": "give value_or_threshold=[threshold]"}]
    html = Report(analysis, manifest).section("summary").html
    p = type(page(folder))(html)
    assert "segment_config: per-segment bias is not implemented yet" in p.text
    assert p.text.count("Column Income has 3 missing values") == 1
    assert "Endpoint throttled twice" in p.text
    assert "Age typed continuous. Fix: give value_or_threshold=[threshold]" in p.text


def test_notebook_holds_the_same_sections_with_outputs(all_job):
    folder, _ = all_job
    nb = nbformat.read(folder / "report.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Analysis Report")
    sections = [c for c in nb.cells if c.cell_type == "code" and c.outputs]
    assert [c.source for c in sections] == [
        "report.section('summary')", "report.section('pre_training_bias_metrics')",
        "report.section('post_training_bias_metrics')", "report.section('kernel_shap')", "report.section('pdp')"]
    html = (folder / "report.html").read_text()
    for cell in sections:
        assert cell.outputs[0]["data"]["text/html"] in html


def test_pdf_is_a4_with_a_page_per_section_at_least(all_job):
    import shutil
    import subprocess

    if shutil.which("pdfinfo") is None or shutil.which("pdftotext") is None:
        pytest.fail("pdfinfo/pdftotext are not installed: the PDF test reads the report back with them; "
                    "install them with `apt-get install -y poppler-utils` (Debian) and run the test again")
    folder, _ = all_job
    pdf = folder / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89 pts (A4)" in info
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 5
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for heading in ("Analysis Report", "Pre-training Bias Metrics", "Post-training Bias Metrics",
                    "Explanations: Kernel SHAP", "Partial Dependence Plots"):
        assert heading in text
    # page breaks between sections: each section heading opens a page
    starts = [p.strip().splitlines()[0].strip() for p in text.split("\f") if p.strip()]
    for heading in ("Pre-training Bias Metrics", "Post-training Bias Metrics", "Explanations: Kernel SHAP",
                    "Partial Dependence Plots"):
        assert heading in starts
