"""``clarify-engine report``, report names, and a report failure at the end of a job."""

from __future__ import annotations

import json
import shutil

import pytest

import clarify_engine
from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError
from clarify_engine.report import render_outputs, write_report
from tests.helpers import REPO, run_cli
from tests.report.jobs import config, page, run_job, small_data

CLARIFY = REPO / "tests" / "fixtures" / "clarify_report"


def test_report_of_a_real_clarify_analysis_json(tmp_path):
    proc = run_cli("report", str(CLARIFY / "analysis.json"), "--output", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stdout.splitlines() if line.startswith("wrote ")] == [f"wrote {tmp_path / n}" for n in ("report.html", "report.ipynb", "report.pdf")]
    p = page(tmp_path)
    assert p.heading_texts("h1") == ["Analysis Report"]
    assert p.heading_texts("h2") == ["Job summary", "Pre-training Bias Metrics", "Post-training Bias Metrics"]
    assert "We computed the bias metrics for the label fraud using label value(s)/threshold 0 ." in p.text
    assert "• customer_gender_female" in p.heading_texts("h3")
    assert p.heading_texts("h4") == ["Value(s)/Threshold: 1"] * 2
    rows = [r for r in p.rows if len(r) == 4]
    # Clarify's table conventions: null value -> None, no error -> NaN, <= 6 significant digits
    assert ["CDDL", "Conditional Demographic Disparity in Labels (CDDL)", "None",
            "Group variable is empty or not provided"] in rows
    assert ["KL", "Kullback-Liebler Divergence (KL)", "0.0306181", "NaN"] in rows
    assert ["DI", "Disparate Impact (DI)", "1", "NaN"] in rows
    assert len(rows) == 2 + 8 + 11
    assert p.text.count("Group sizes and rates: not available") == 2
    facts = {r[0]: r[1] for r in p.rows if len(r) == 2}
    assert facts["Rows"] == "not available" and facts["Label"] == "fraud"
    assert facts["Facets"] == "customer_gender_female: 1"
    assert facts["Methods run"] == "pre_training_bias, post_training_bias"
    assert "Not recorded: this job has no run manifest (outputs of SageMaker Clarify itself)." in p.text
    assert "DPL = -0.028285: Gender" not in p.text
    assert ("DPL = -0.028285: customer_gender_female = 1 has more positive labels than the rest of "
            "customer_gender_female; favours customer_gender_female = 1 (0 is no difference; range -1 to 1).") in p.text
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_report_rerenders_a_finished_job_with_its_recorded_name_title_and_group_sizes(tmp_path):
    folder = tmp_path / "job"
    cfg = config({"pre_training_bias": {"methods": ["CI", "DPL"]}})
    cfg["methods"]["report"] = {"name": "fairness", "title": "Loans: fairness review"}
    clarify_engine.analyze(cfg, data=small_data(tmp_path), output_dir=folder)
    first = (folder / "fairness.html").read_text()
    for suffix in (".html", ".ipynb", ".pdf"):
        (folder / f"fairness{suffix}").unlink()
    proc = run_cli("report", str(folder / "analysis.json"))
    assert proc.returncode == 0, proc.stderr
    assert (folder / "fairness.html").read_text() == first
    p = page(folder, "fairness")
    assert p.heading_texts("h1") == ["Loans: fairness review"]
    assert "Group sizes and rates: not available" not in p.text
    assert (folder / "fairness.ipynb").is_file() and (folder / "fairness.pdf").is_file()


def test_report_command_errors_name_the_file_and_the_fix(tmp_path):
    proc = run_cli("report", str(tmp_path / "analysis.json"))
    assert proc.returncode == 1
    assert (f"clarify-engine report: error: {tmp_path / 'analysis.json'}: no analysis.json in {tmp_path}; give "
            "the folder a finished job wrote (the one holding analysis.json)") in proc.stderr
    shutil.copy(CLARIFY / "analysis.json", tmp_path / "analysis.json")
    proc = run_cli("report", str(tmp_path / "analysis.json"), "--name", "../escape")
    assert proc.returncode == 1
    assert ("clarify-engine report: error: methods.report.name: the report name '../escape' would write files "
            "outside the output folder; give a plain file name without '/', '\\' or '..', e.g. \"report\"") in proc.stderr
    assert not (tmp_path.parent / "escape.html").exists()


@pytest.mark.parametrize("name", ["../up", "a/b", "..", ".", "", "x\\y"])
def test_report_names_that_leave_the_output_folder_are_refused(tmp_path, name):
    analysis = json.loads((CLARIFY / "analysis.json").read_text())
    with pytest.raises(ConfigError, match="would write files outside the output folder"):
        write_report(tmp_path, analysis, name=name)
    assert list(tmp_path.iterdir()) == []


def test_a_report_failure_keeps_analysis_json_and_is_recorded(tmp_path, caplog):
    folder = tmp_path / "out"
    (folder / "report.html").mkdir(parents=True)  # a folder where the report file must go
    result = run_job(folder, {"pre_training_bias": {"methods": ["CI"]}})
    assert json.loads((folder / "analysis.json").read_text()) == result.to_dict()
    manifest = json.loads((folder / "run_manifest.json").read_text())
    assert manifest["report"]["error"].startswith("IsADirectoryError")
    assert "files" not in manifest["report"]
    assert any(r.levelname == "ERROR" and "Report not written: IsADirectoryError" in r.getMessage()
               and "clarify-engine report" in r.getMessage() for r in caplog.records)


def test_a_missing_report_library_is_recorded_with_the_install_command(tmp_path):
    data = small_data(tmp_path)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config({"pre_training_bias": {"methods": ["CI"]}})))
    script = ("import sys; sys.modules['weasyprint'] = None\n"
              "from clarify_engine.cli import main\n"
              f"sys.exit(main(['analyze', '--config', {str(cfg)!r}, '--data', {str(data)!r}, "
              f"'--output', {str(tmp_path / 'out')!r}]))\n")
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text())
    assert manifest["report"]["error"].endswith(
        "; the report needs the 'report' extra: pip install 'clarify-engine[report]'")
    assert (tmp_path / "out" / "analysis.json").is_file()


def test_time_series_jobs_write_no_report_and_say_so(caplog):
    from clarify_engine.job._plan import _report
    from tests.config._cases import TS

    cfg = load_config({**TS, "methods": {**TS["methods"], "report": {"name": "report", "title": "Analysis Report"}}})
    with caplog.at_level("INFO", logger="clarify_engine"):
        assert _report(cfg) is None  # the planner leaves the report out of the job
    assert "Report not written: Clarify writes no report for time-series jobs (methods.report is ignored)" in caplog.text


def test_rerendering_a_time_series_analysis_is_refused(tmp_path):
    (tmp_path / "analysis.json").write_text(json.dumps({"version": "1.0", "explanations": {
        "asymmetric_shapley_value": {"label0": {}}}}))
    with pytest.raises(clarify_engine.NotSupportedError, match="time-series job"):
        render_outputs(tmp_path / "analysis.json")


def test_real_clarify_explanations_without_manifest_or_standard_errors(tmp_path):
    # the shape of Clarify's explainability analysis.json (fraud-detection example): no
    # manifest, no standard errors, local values in out.csv with the _label0 suffix
    analysis = {"version": "1.0", "explanations": {"kernel_shap": {"label0": {
        "global_shap_values": {"amount": 0.0423, "customer_age": 0.0112, "num_claims": 0.0008},
        "expected_value": 0.0261}}, "pdp": [{
            "feature_name": "amount", "data_type": "numerical", "feature_values": [10.0, 20.0, 30.0],
            "data_distribution": [0.5, 0.3, 0.2], "model_predictions": [[0.1, 0.2, 0.4]], "label_headers": ["fraud"]}]}}
    (tmp_path / "analysis.json").write_text(json.dumps(analysis))
    (tmp_path / "explanations_shap").mkdir()
    (tmp_path / "explanations_shap" / "out.csv").write_text(
        "amount_label0,customer_age_label0,num_claims_label0\n" + "\n".join(
            f"{i * 0.001},{-i * 0.0005},{0.0001}" for i in range(50)) + "\n")
    written = render_outputs(tmp_path / "analysis.json")
    assert [p.name for p in written] == ["report.html", "report.ipynb", "report.pdf"]
    p = page(tmp_path)
    assert p.heading_texts("h2") == ["Job summary", "Explanations: Kernel SHAP", "Partial Dependence Plots"]
    assert ["amount", "0.0423", "not available"] in p.rows
    facts = {r[0]: r[1] for r in p.rows if len(r) == 2}
    assert facts["Values exact"] == "not available" and facts["Baseline"] == "not available"
    assert p.chart_alts() == ["Global SHAP values of output label0", "Local SHAP values of output label0",
                              "Partial dependence on amount"]
    assert "Summary of local SHAP values: 50 rows sampled evenly from the local values." in p.text
    assert "error bars" not in p.text
